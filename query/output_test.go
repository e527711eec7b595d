package query

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"text/tabwriter"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelaudit/otelaudit/auditlog"
)

// manyRecords returns n scenario records, each call once: copies get span
// ids and hashes of their own.
func manyRecords(t testing.TB, n int) []auditlog.Record {
	t.Helper()
	base := scenarioRecords(t)
	out := make([]auditlog.Record, n)
	for i := range out {
		r := base[i%len(base)]
		if i >= len(base) {
			r.SpanID = fmt.Sprintf("%016x", i)
			r.Hash = fmt.Sprintf("%064x", i)
		}
		out[i] = r
	}
	return out
}

// wholeCSV is Render's CSV form of v, written from Table.
func wholeCSV(t testing.TB, v Renderable) string {
	t.Helper()
	var b bytes.Buffer
	header, rows := v.Table()
	cw := csv.NewWriter(&b)
	require.NoError(t, cw.Write(header))
	require.NoError(t, cw.WriteAll(rows))
	return b.String()
}

// TestStreamedOutputMatchesWhole holds Render's item-by-item output of calls
// and of the FHIR export to the encoding of the whole value, byte for byte.
func TestStreamedOutputMatchesWhole(t *testing.T) {
	odd := scenarioRecords(t)[0]
	odd.Arguments = json.RawMessage(`{"q":"a<b && c>d","deep":[[[{"x":"\u2028"}]]],"s":"tab\there"}`)
	odd.ResultSummary = json.RawMessage(`"<script>"`)
	odd.UserID = "o'brien \"quoted\", comma\nnewline"
	dup := scenarioRecords(t)[1]

	cases := map[string][]auditlog.Record{
		"empty":      nil,
		"one":        {odd},
		"scenario":   scenarioRecords(t),
		"many":       manyRecords(t, 2500),
		"duplicates": {dup, odd, dup, dup},
	}
	for name, recs := range cases {
		t.Run(name, func(t *testing.T) {
			res := result(recs...)

			calls := Calls(Filter{}, res)
			var whole, streamed bytes.Buffer
			require.NoError(t, writeJSON(&whole, calls))
			require.NoError(t, Render(&streamed, FormatJSON, calls))
			require.Equal(t, whole.String(), streamed.String())
			var back CallsResult
			require.NoError(t, json.Unmarshal(streamed.Bytes(), &back))
			assert.Len(t, back.Records, len(calls.Records))

			streamed.Reset()
			require.NoError(t, Render(&streamed, FormatCSV, calls))
			require.Equal(t, wholeCSV(t, calls), streamed.String())

			bundle := FHIRBundle(res, fhirClock)
			export := NewFHIRExport(res, fhirClock)
			for _, f := range []Format{FormatJSON, FormatText, FormatCSV} {
				var want, got bytes.Buffer
				require.NoError(t, Render(&want, f, bundle))
				require.NoError(t, Render(&got, f, export))
				require.Equal(t, want.String(), got.String(), "format %s", f)
			}
			h, rows := export.Table()
			wh, wrows := bundle.Table()
			assert.Equal(t, wh, h)
			assert.Equal(t, wrows, rows)
		})
	}
}

// TestFHIRExportMatchesBundle keeps bundleHead, the head of the streamed
// export, in step with Bundle: the same members, in the same order.
func TestFHIRExportMatchesBundle(t *testing.T) {
	x := NewFHIRExport(result(scenarioRecords(t)...), fhirClock)
	b := FHIRBundle(result(scenarioRecords(t)...), fhirClock)
	head := x.list().head.(*bundleHead)
	wholeHead, err := json.Marshal(Bundle{ResourceType: b.ResourceType, ID: b.ID, Type: b.Type, Timestamp: b.Timestamp, Entry: b.Entry[:1]})
	require.NoError(t, err)
	head.Entry = b.Entry[:1]
	streamedHead, err := json.Marshal(head)
	require.NoError(t, err)
	assert.Equal(t, string(wholeHead), string(streamedHead))
	assert.Equal(t, b.ID, head.ID)
}

// writeLog is a writer that keeps the size of every write, and fails from
// write failAt on (never when zero).
type writeLog struct {
	sizes  []int
	total  int
	failAt int
}

var errFull = errors.New("disk full")

func (w *writeLog) Write(p []byte) (int, error) {
	w.sizes = append(w.sizes, len(p))
	if w.failAt > 0 && len(w.sizes) >= w.failAt {
		return 0, errFull
	}
	w.total += len(p)
	return len(p), nil
}

// TestRenderWritesInPieces checks that long lists go out as they are
// encoded, in pieces of about outputBuffer or one chunk of items, not as
// one text held whole, and that a failed write stops the output.
func TestRenderWritesInPieces(t *testing.T) {
	recs := manyRecords(t, 5000)
	res := result(recs...)
	for _, tc := range []struct {
		name string
		v    Renderable
		f    Format
	}{
		{"calls json", Calls(Filter{}, res), FormatJSON},
		{"calls csv", Calls(Filter{}, res), FormatCSV},
		{"fhir json", NewFHIRExport(res), FormatJSON},
		{"fhir csv", NewFHIRExport(res), FormatCSV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w writeLog
			require.NoError(t, Render(&w, tc.f, tc.v))
			// A piece is a buffer's worth, or in JSON one chunk of encoded
			// items (an item here is under 16 KiB).
			piece := outputBuffer
			if tc.f == FormatJSON {
				piece = max(outputBuffer, jsonChunk*16<<10)
			}
			require.Greater(t, w.total, 4*piece, "the test needs a long output")
			assert.Greater(t, len(w.sizes), w.total/(2*piece), "written in few large pieces: %v", w.sizes)
			for _, n := range w.sizes {
				assert.LessOrEqual(t, n, piece+16<<10)
			}

			failing := writeLog{failAt: 3}
			err := Render(&failing, tc.f, tc.v)
			require.ErrorIs(t, err, errFull)
			assert.Len(t, failing.sizes, 3, "writes after the failure")
		})
	}
}

// TestCallsKeepsSourceRecords checks that Calls does not copy a result
// whose records all match, and still filters one whose records do not.
func TestCallsKeepsSourceRecords(t *testing.T) {
	recs := scenarioRecords(t)
	res := result(recs...).innermost() // its own innermost
	c := Calls(Filter{}, res)
	require.NotEmpty(t, c.Records)
	assert.Same(t, &res.Records[0], &c.Records[0])

	tool := recs[0].ToolName
	c = Calls(Filter{Tool: tool}, res)
	require.NotEmpty(t, c.Records)
	for _, r := range c.Records {
		assert.Equal(t, tool, r.ToolName)
	}
	assert.Less(t, len(c.Records), len(res.Records))
	assert.NotSame(t, &res.Records[0], &c.Records[0])
}

// TestJSONListStopsOnWriteError checks that a failed write ends the
// encoding too, not only the output: a full disk must not cost the time of
// encoding a million more items.
func TestJSONListStopsOnWriteError(t *testing.T) {
	recs := manyRecords(t, 5000)
	var encoded atomic.Int64
	l := Calls(Filter{}, result(recs...)).list()
	item := l.item
	l.item = func(i int) any { encoded.Add(1); return item(i) }
	w := writeLog{failAt: 2}
	require.ErrorIs(t, writeJSONList(&w, l), errFull)
	// Items are encoded a round of chunks at a time; the failure comes at
	// the second write, within the first two rounds.
	round := runtime.GOMAXPROCS(0) * jsonChunk
	assert.LessOrEqual(t, encoded.Load(), int64(2*round), "items encoded after the write failed")
	assert.Less(t, 2*round, len(recs), "the test needs more items than two rounds")
}

// TestJSONListChunks checks the item-by-item JSON around the edges of the
// chunks and rounds it is encoded in, and with one processor.
func TestJSONListChunks(t *testing.T) {
	recs := manyRecords(t, 3*jsonChunk+2)
	for _, procs := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(procs), func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
			for _, n := range []int{1, jsonChunk - 1, jsonChunk, jsonChunk + 1, 2 * jsonChunk, len(recs)} {
				calls := Calls(Filter{}, result(recs[:n]...))
				var whole, streamed bytes.Buffer
				require.NoError(t, writeJSON(&whole, calls))
				require.NoError(t, Render(&streamed, FormatJSON, calls))
				require.Equal(t, whole.String(), streamed.String(), "%d items", n)
			}
		})
	}
}

// tabwriterTable is writeRows as it was written with text/tabwriter, which
// held the whole table: the reference for TestWriteRowsMatchesTabwriter.
func tabwriterTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, cells := range append([][]string{header}, rows...) {
		for i, c := range cells {
			if i > 0 {
				io.WriteString(tw, "\t")
			}
			io.WriteString(tw, sanitize(c))
		}
		io.WriteString(tw, "\n")
	}
	return tw.Flush()
}

// TestWriteRowsMatchesTabwriter holds writeRows to text/tabwriter's output
// for the same cells, byte for byte.
func TestWriteRowsMatchesTabwriter(t *testing.T) {
	scenario := Calls(Filter{}, result(scenarioRecords(t)...))
	sh, srows := rowSource{
		header: []string{"TIME", "USER", "TOOL"},
		n:      len(scenario.Records),
		row: func(i int) []string {
			r := &scenario.Records[i]
			return []string{r.Timestamp, r.UserID, r.ToolName}
		},
	}.all()
	cases := map[string]struct {
		header []string
		rows   [][]string
	}{
		"no rows":       {[]string{"A", "BB", "C"}, nil},
		"one column":    {[]string{"ONLY"}, [][]string{{"x"}, {"longer"}, {""}}},
		"empty cells":   {[]string{"A", "B", "C"}, [][]string{{"", "", ""}, {"x", "", "y"}}},
		"wide last":     {[]string{"A", "B"}, [][]string{{"a", strings.Repeat("z", 300)}}},
		"unicode":       {[]string{"NAME", "CITY", "N"}, [][]string{{"Zoë", "Zürich", "1"}, {"李小龍", "東京", "22"}, {"a\u0301", "x", "3"}}},
		"unsafe":        {[]string{"A", "B", "C"}, [][]string{{"tab\there", "new\nline", "esc\x1b[31m"}, {"\u202eevil", "bad\xffutf8", "ok"}}},
		"header widest": {[]string{"A_VERY_LONG_HEADER", "B"}, [][]string{{"a", "b"}}},
		"scenario":      {sh, srows},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var want, got bytes.Buffer
			require.NoError(t, tabwriterTable(&want, tc.header, tc.rows))
			require.NoError(t, writeTable(&got, tc.header, tc.rows))
			assert.Equal(t, want.String(), got.String())
		})
	}
	var want, got bytes.Buffer
	require.NoError(t, scenario.WriteText(&got))
	h, rows := rowSource{
		header: []string{"TIME", "USER", "TOOL", "SUBJECT", "OUTCOME", "MS", "CONVERSATION", "TURN", "TRACE"},
		n:      len(scenario.Records),
		row: func(i int) []string {
			r := &scenario.Records[i]
			return []string{r.Timestamp, dash(r.UserID), r.ToolName, dash(subjectString(r.Subject)), outcome(r),
				FormatDuration(r.DurationMS), dash(r.ConversationID), dash(turnString(r.TurnNumber)), r.TraceID}
		},
	}.all()
	require.NoError(t, tabwriterTable(&want, h, rows))
	assert.Equal(t, want.String(), got.String())

	assert.Error(t, writeTable(&got, []string{"A", "B"}, [][]string{{"only one"}}), "a row shorter than its header")
}

func TestCSVCell(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"alice", "alice"},
		{`=HYPERLINK("http://evil.example","x")`, `'=HYPERLINK("http://evil.example","x")`},
		{"+1+2", "'+1+2"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"-1.5", "-1.5"},
		{"+7", "+7"},
		{"-", "'-"},
		{"a=b", "a=b"},
	}
	for _, tt := range tests {
		if got := CSVCell(tt.in); got != tt.want {
			t.Errorf("CSVCell(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestCSVFormulaCells renders a row whose cells a spreadsheet would run as
// formulas: every one comes out as text, and the parsed CSV holds the
// values behind an apostrophe only.
func TestCSVFormulaCells(t *testing.T) {
	cells := []string{"=1+1", "@cmd", "-5", "bob"}
	var buf bytes.Buffer
	err := writeCSV(&buf, rowsOf([]string{"a", "b", "c", "d"}, [][]string{cells}))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"'=1+1", "'@cmd", "-5", "bob"}
	if len(recs) != 2 || !slices.Equal(recs[1], want) {
		t.Fatalf("rows = %q, want %q", recs, want)
	}
	if cells[0] != "=1+1" {
		t.Errorf("writeCSV changed the caller's row: %q", cells)
	}
}
