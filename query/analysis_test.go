package query

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelaudit/otelaudit/auditlog"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// rec builds a record; opts adjust it.
func rec(tool string, at time.Duration, opts ...func(*auditlog.Record)) auditlog.Record {
	r := auditlog.Record{
		Timestamp: t0.Add(at).Format(auditlog.TimeFormat), ToolName: tool, Success: true, DurationMS: 10,
		TraceID: fmt.Sprintf("%032x", int64(at)+1), SpanID: fmt.Sprintf("%016x", int64(at)+1),
		Arguments: json.RawMessage(`{"a":1}`), ResultSummary: json.RawMessage(`{"ok":true}`),
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

func withUser(u string) func(*auditlog.Record) { return func(r *auditlog.Record) { r.UserID = u } }
func withSubject(typ, id string) func(*auditlog.Record) {
	return func(r *auditlog.Record) { r.Subject = Subject{Type: typ, ID: id} }
}
func withTurn(n int64) func(*auditlog.Record) { return func(r *auditlog.Record) { r.TurnNumber = &n } }
func withConv(c string) func(*auditlog.Record) {
	return func(r *auditlog.Record) { r.ConversationID = c }
}
func withDur(ms float64) func(*auditlog.Record) {
	return func(r *auditlog.Record) { r.DurationMS = ms }
}
func failed(typ, msg string) func(*auditlog.Record) {
	return func(r *auditlog.Record) { r.Success = false; r.Error = &auditlog.Error{Type: typ, Message: msg} }
}

func result(recs ...auditlog.Record) *Result {
	return &Result{Source: SourceOTLPJSON, Records: recs, Integrity: notChecked("test")}
}

func TestParseTime(t *testing.T) {
	cases := []struct {
		in    string
		upper bool
		want  time.Time
		err   bool
	}{
		{in: "", want: time.Time{}},
		{in: "2026-11-26", want: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)},
		{in: "2026-11-26", upper: true, want: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)},
		{in: "2026-12-31", upper: true, want: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{in: "2026-11-26T14:00:00Z", upper: true, want: time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)},
		{in: "2026-11-26T14:00:00.5+02:00", want: time.Date(2026, 11, 26, 12, 0, 0, 5e8, time.UTC)},
		{in: "26/11/2026", err: true},
		{in: "2026-11-26T14:00:00", err: true},
		{in: "yesterday", err: true},
		{in: "2026-13-01", err: true},
		// RFC 3339 §5.6: T and Z may be lowercase.
		{in: "2026-01-01t10:20:00z", want: time.Date(2026, 1, 1, 10, 20, 0, 0, time.UTC)},
		{in: "2026-01-01T10:20:00.25z", upper: true, want: time.Date(2026, 1, 1, 10, 20, 0, 25e7, time.UTC)},
		{in: "2026-01-01x10:20:00Z", err: true},
		// Bounds past what RFC 3339 can name (years 0000–9999) are held
		// to its last (or first) instant, so that every source can be
		// asked for them and their labels stay RFC 3339.
		{in: "9999-12-31", upper: true, want: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{in: "9999-12-31", want: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)},
		{in: "9999-12-31T23:30:00-01:00", want: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{in: "0000-01-01T00:30:00+01:00", want: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got, err := ParseTime(c.in, c.upper)
		if c.err {
			assert.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.True(t, c.want.Equal(got), "%s: got %s want %s", c.in, got, c.want)
		assert.Equal(t, time.UTC, got.Location())
	}
}

func TestParseSubject(t *testing.T) {
	for in, want := range map[string]Subject{
		"patient/P-1001": {Type: "patient", ID: "P-1001"},
		"doc/a/b/c":      {Type: "doc", ID: "a/b/c"},
		"customer/C 1":   {Type: "customer", ID: "C 1"},
	} {
		got, err := ParseSubject(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{"", "patient", "/P-1", "patient/", "/"} {
		_, err := ParseSubject(in)
		assert.Error(t, err, in)
	}
}

func TestFilterMatch(t *testing.T) {
	r := rec("get_order", time.Minute, withUser("alice"), withSubject("customer", "C-1"), withConv("c1"), failed("x", "y"))
	cases := []struct {
		f    Filter
		want bool
	}{
		{Filter{}, true},
		{Filter{UserID: "alice"}, true},
		{Filter{UserID: "bob"}, false},
		{Filter{Tool: "get_order"}, true},
		{Filter{Tool: "get"}, false},
		{Filter{ConversationID: "c1"}, true},
		{Filter{ConversationID: "c2"}, false},
		{Filter{Subject: Subject{Type: "customer", ID: "C-1"}}, true},
		{Filter{Subject: Subject{Type: "patient", ID: "C-1"}}, false},
		{Filter{Subject: Subject{Type: "Customer", ID: "C-1"}}, true},
		{Filter{Subject: Subject{Type: "CUSTOMER", ID: "C-1"}}, true},
		{Filter{Subject: Subject{Type: "customer", ID: "c-1"}}, false},
		{Filter{FailedOnly: true}, true},
		{Filter{Since: t0.Add(time.Minute)}, true},
		{Filter{Since: t0.Add(time.Minute + 1)}, false},
		{Filter{Until: t0.Add(time.Minute)}, false},
		{Filter{Until: t0.Add(time.Minute + 1)}, true},
		{Filter{UserID: "alice", Tool: "get_order", FailedOnly: true, Since: t0, Until: t0.Add(time.Hour)}, true},
	}
	for i, c := range cases {
		assert.Equal(t, c.want, c.f.Match(&r), "case %d: %+v", i, c.f)
	}
	ok := rec("x", 0)
	assert.False(t, (&Filter{FailedOnly: true}).Match(&ok))
}

func TestTimelineLine(t *testing.T) {
	cases := []struct {
		name string
		r    auditlog.Record
		want string
	}{
		{"spec example", rec("update_order_status", 0, withTurn(3), withDur(38.2), failed("business_rule", "Cannot cancel shipped order"),
			func(r *auditlog.Record) {
				r.Arguments = json.RawMessage(`{"order_id":"ORD-456","status":"cancelled"}`)
				r.ResultSummary = json.RawMessage(`{"error":"Cannot cancel shipped order","success":false}`)
			}),
			`[Turn 3] ❌ update_order_status({"order_id":"ORD-456","status":"cancelled"}) → {"success":false,"error":"Cannot cancel shipped order"} [38ms]`},
		{"outcome first, identifiers after", rec("get_order", 0, withTurn(1), withDur(4), func(r *auditlog.Record) {
			r.ResultSummary = json.RawMessage(`{"_result_size":812,"order_id":"ORD-9","status":"shipped","success":true}`)
		}), `[Turn 1] ✅ get_order({"a":1}) → {"success":true,"_result_size":812,"order_id":"ORD-9","status":"shipped"} [4ms]`},
		{"moved members keep the canonical text of the others", rec("get", 0, withTurn(1), withDur(4), func(r *auditlog.Record) {
			r.ResultSummary = json.RawMessage(`{"a<b&c":"x>y","success":true}`)
		}), `[Turn 1] ✅ get({"a":1}) → {"success":true,"a<b&c":"x>y"} [4ms]`},
		{"result that is not an object", rec("count", 0, withTurn(1), withDur(4), func(r *auditlog.Record) {
			r.ResultSummary = json.RawMessage(`[1,2]`)
		}), `[Turn 1] ✅ count({"a":1}) → [1,2] [4ms]`},
		{"success", rec("get", 0, withTurn(1), withDur(12.5)), `[Turn 1] ✅ get({"a":1}) → {"ok":true} [13ms]`},
		{"no turn, no args", rec("ping", 0, withDur(0.25), func(r *auditlog.Record) { r.Arguments = nil }), `[Turn ?] ✅ ping() → {"ok":true} [0.25ms]`},
		{"error without result", rec("x", 0, withTurn(2), failed("timeout", "took too long"), func(r *auditlog.Record) { r.ResultSummary = nil }),
			`[Turn 2] ❌ x({"a":1}) → error: timeout: took too long [10ms]`},
		{"null result", rec("x", 0, withTurn(2), func(r *auditlog.Record) { r.ResultSummary = json.RawMessage("null") }),
			`[Turn 2] ✅ x({"a":1}) → null [10ms]`},
		{"string args", rec("x", 0, withTurn(0), func(r *auditlog.Record) { r.Arguments = json.RawMessage(`"free text"`) }),
			`[Turn 0] ✅ x("free text") → {"ok":true} [10ms]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, TimelineLine(&c.r))
		})
	}
}

func TestFormatDuration(t *testing.T) {
	for in, want := range map[float64]string{
		38: "38ms", 38.4: "38ms", 38.5: "39ms", 1: "1ms", 0.999: "0.999ms", 0.25: "0.25ms",
		0.0004: "0ms", 0: "0ms", 1234567: "1234567ms", -1: "?ms",
	} {
		assert.Equal(t, want, FormatDuration(in), "%v", in)
	}
}

func TestTimelineOrder(t *testing.T) {
	recs := []auditlog.Record{
		rec("t3-late", 50*time.Second, withConv("c"), withTurn(3)),
		rec("none-early", 1*time.Second, withConv("c")),
		rec("t1", 40*time.Second, withConv("c"), withTurn(1)),
		rec("other-conv", 0, withConv("d"), withTurn(1)),
		rec("t3-early", 45*time.Second, withConv("c"), withTurn(3)),
		rec("t2", 10*time.Second, withConv("c"), withTurn(2)),
	}
	tl := Timeline("c", result(recs...))
	var got []string
	for _, c := range tl.Calls {
		got = append(got, c.Tool)
	}
	assert.Equal(t, []string{"t1", "t2", "t3-early", "t3-late", "none-early"}, got)
	assert.Equal(t, 5, tl.Count)
}

func TestTextIsSanitised(t *testing.T) {
	r := rec("evil\x1b[31mtool", 0, withConv("c"), withTurn(1), func(r *auditlog.Record) {
		r.ResultSummary = json.RawMessage("\"\u009b2J\u202ereversed\"")
	})
	var b bytes.Buffer
	require.NoError(t, Timeline("c", result(r)).WriteText(&b))
	out := b.String()
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\u009b")
	assert.NotContains(t, out, "\u202e")
	assert.Contains(t, out, `evil\u001b[31mtool`)
	assert.Contains(t, out, `\u009b2J\u202ereversed`)
	// JSON keeps the data as it is.
	b.Reset()
	require.NoError(t, Render(&b, FormatJSON, Timeline("c", result(r))))
	assert.Contains(t, b.String(), `"tool": "evil\u001b[31mtool"`)
}

func TestStats(t *testing.T) {
	var recs []auditlog.Record
	for i := 1; i <= 20; i++ {
		opts := []func(*auditlog.Record){withDur(float64(i)), withUser(fmt.Sprintf("u%d", i%3))}
		if i%4 == 0 {
			opts = append(opts, failed("x", ""))
		}
		recs = append(recs, rec("a", time.Duration(i)*time.Second, opts...))
	}
	recs = append(recs, rec("b", time.Hour, withDur(7)), rec("b", 2*time.Hour, withDur(3), withUser("u9")))
	s := Stats(result(recs...))
	require.Len(t, s.Tools, 2)
	a := s.Tools[0]
	assert.Equal(t, ToolStats{Tool: "a", Calls: 20, Failures: 5, SuccessRate: 0.75, P50MS: 10, P95MS: 19, MaxMS: 20, UniqueUsers: 3}, a)
	b := s.Tools[1]
	assert.Equal(t, ToolStats{Tool: "b", Calls: 2, Failures: 0, SuccessRate: 1, P50MS: 3, P95MS: 7, MaxMS: 7, UniqueUsers: 1}, b)
	assert.Equal(t, 22, s.Total.Calls)
	assert.Equal(t, 4, s.Total.UniqueUsers)
	assert.Equal(t, "*", s.Total.Tool)

	empty := Stats(result())
	assert.Empty(t, empty.Tools)
	assert.Equal(t, 0, empty.Total.Calls)
}

func TestPercentile(t *testing.T) {
	assert.Equal(t, 5.0, percentile([]float64{5}, 50))
	assert.Equal(t, 5.0, percentile([]float64{5}, 95))
	assert.Equal(t, 1.0, percentile([]float64{1, 2}, 50))
	assert.Equal(t, 2.0, percentile([]float64{1, 2}, 95))
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(i + 1)
	}
	assert.Equal(t, 50.0, percentile(hundred, 50))
	assert.Equal(t, 95.0, percentile(hundred, 95))
}

func TestReport(t *testing.T) {
	p := withSubject("patient", "P-1")
	recs := []auditlog.Record{
		rec("read", 0, p, withUser("bob"), func(r *auditlog.Record) {
			r.UserRoles = []string{"physician", "admin"}
			r.Purpose = "treatment"
		}),
		rec("read", time.Hour, p, withUser("bob"), failed("denied", "no"), func(r *auditlog.Record) {
			r.Attribution = auditlog.Attribution{Initiator: "bob", InitiatorType: "user", InitiatorRole: "physician"}
		}),
		rec("read", 2*time.Hour, p, withUser("carol"), func(r *auditlog.Record) { r.BreakGlass, r.BreakGlassReason = true, "ER" }),
		rec("summarise", 3*time.Hour, p, withUser("bob"), func(r *auditlog.Record) {
			r.Attribution = auditlog.Attribution{Initiator: "gpt-4o", InitiatorType: "model", InitiatorRole: "ai_agent"}
		}),
		rec("read", 4*time.Hour, withSubject("patient", "P-2"), withUser("dave")),
		rec("read", 48*time.Hour, p, withUser("erin")),
	}
	rep := Report(Subject{Type: "patient", ID: "P-1"}, t0, t0.Add(24*time.Hour), result(recs...))
	require.Len(t, rep.Accesses, 4)
	assert.Equal(t, AccessTotals{Accesses: 4, Succeeded: 3, Failed: 1, BreakGlass: 1, UniqueUsers: 2, Users: []string{"bob", "carol"}}, rep.Totals)
	a := rep.Accesses
	assert.Equal(t, "bob", a[0].Who)
	assert.Equal(t, "physician,admin", a[0].Role)
	assert.Equal(t, "treatment", a[0].Purpose)
	assert.Equal(t, "failure", a[1].Outcome)
	assert.Equal(t, "physician", a[1].Role)
	assert.True(t, a[2].BreakGlass)
	assert.Equal(t, "ER", a[2].BreakGlassReason)
	assert.Equal(t, "gpt-4o", a[3].Who)
	assert.Equal(t, "model", a[3].WhoType)
	assert.Equal(t, "2026-11-26T10:00:00Z", rep.From)
	assert.Equal(t, "2026-11-27T10:00:00Z", rep.To)

	var b bytes.Buffer
	require.NoError(t, rep.WriteText(&b))
	assert.Contains(t, b.String(), "Totals: 4 accesses (3 succeeded, 1 failed), 1 break-glass, 2 unique users (bob, carol)")
	assert.Contains(t, b.String(), "YES: ER")
	assert.Contains(t, b.String(), "Integrity verified: not checked: test data carries no integrity proof")
	assert.Contains(t, b.String(), "Period: 2026-11-26T10:00:00Z (inclusive) to 2026-11-27T10:00:00Z (exclusive)\n")

	tampered := result(recs...)
	tampered.Integrity = Integrity{Checked: true, Verified: false, Findings: []Finding{{Chain: "general", Segment: "x.jsonl", Seq: 3, Kind: "modified", Detail: "content does not match its hash"}}}
	b.Reset()
	require.NoError(t, Report(Subject{Type: "patient", ID: "P-1"}, time.Time{}, time.Time{}, tampered).WriteText(&b))
	assert.Contains(t, b.String(), "integrity NOT verified")
	assert.Contains(t, b.String(), "general segment=x.jsonl seq=3 modified: content does not match its hash")
}

func TestAnomalies(t *testing.T) {
	p := func(id string) func(*auditlog.Record) { return withSubject("patient", id) }
	burst := func(n int, step time.Duration, start time.Duration, id, user string) []auditlog.Record {
		var out []auditlog.Record
		for i := range n {
			out = append(out, rec("read", start+time.Duration(i)*step, p(id), withUser(user)))
		}
		return out
	}
	spread := func(n int, step time.Duration, user string) []auditlog.Record {
		var out []auditlog.Record
		for i := range n {
			out = append(out, rec("read", 100*time.Hour+time.Duration(i)*step, p(fmt.Sprintf("S-%d", i)), withUser(user)))
		}
		return out
	}
	kinds := func(a *AnomaliesResult) []string {
		var out []string
		for _, x := range a.Anomalies {
			who := x.UserID
			if x.Kind == AnomalyUserSpread {
				who = x.Initiator
			}
			out = append(out, fmt.Sprintf("%s:%s%s:%d", x.Kind, x.Subject.ID, who, x.Count))
		}
		return out
	}
	cases := []struct {
		name string
		recs []auditlog.Record
		opts []AnomalyOption
		want []string
	}{
		{"nothing", burst(9, time.Minute, 0, "P-1", "a"), nil, nil},
		{"ten in an hour", burst(10, 6*time.Minute, 0, "P-1", "a"), nil, []string{"subject_burst:P-1:10"}},
		{"ten spread over exactly one hour", burst(10, 400*time.Second, 0, "P-1", "a"), nil, []string{"subject_burst:P-1:10"}},
		{"ten over more than an hour", burst(10, 401*time.Second, 0, "P-1", "a"), nil, nil},
		{"two separate bursts", append(burst(10, time.Minute, 0, "P-1", "a"), burst(10, time.Minute, 5*time.Hour, "P-1", "b")...), nil,
			[]string{"subject_burst:P-1:10", "subject_burst:P-1:10"}},
		{"overlapping windows merge", burst(30, 5*time.Minute, 0, "P-1", "a"), nil, []string{"subject_burst:P-1:30"}},
		{"custom threshold", burst(3, time.Minute, 0, "P-1", "a"), []AnomalyOption{WithBurst(3, 5*time.Minute)}, []string{"subject_burst:P-1:3"}},
		{"burst disabled", burst(30, time.Minute, 0, "P-1", "a"), []AnomalyOption{WithBurst(0, time.Hour)}, nil},
		{"spread", spread(20, 10*time.Minute, "m"), nil, []string{"user_spread:m:20"}},
		{"spread below threshold", spread(19, 10*time.Minute, "m"), nil, nil},
		{"spread outside window", spread(20, 2*time.Hour, "m"), nil, nil},
		{"spread over the whole range", spread(20, 2*time.Hour, "m"), []AnomalyOption{WithSpread(20, 0)}, []string{"user_spread:m:20"}},
		{"break glass", []auditlog.Record{rec("read", 0, p("P-1"), withUser("c"), func(r *auditlog.Record) { r.BreakGlass = true })}, nil,
			[]string{"break_glass:P-1c:1"}},
		{"one subject however its type is spelled", func() []auditlog.Record {
			recs := burst(10, 5*time.Minute, 0, "P-1", "a")
			for i := range recs {
				if i%2 == 1 {
					recs[i].Subject.Type = "Patient"
				}
			}
			return recs
		}(), nil, []string{"subject_burst:P-1:10"}},
		{"ids differing in case are two subjects", func() []auditlog.Record {
			recs := burst(10, 5*time.Minute, 0, "P-1", "a")
			for i := range recs {
				if i%2 == 1 {
					recs[i].Subject.ID = "p-1"
				}
			}
			return recs
		}(), nil, nil},
		{"spread by an agent without a user", func() []auditlog.Record {
			recs := spread(25, time.Second, "")
			for i := range recs {
				recs[i].Agent.Name = "night-batch"
			}
			return recs
		}(), nil, []string{"user_spread:night-batch:25"}},
		{"spread by a user of spaces is the agent's", func() []auditlog.Record {
			recs := spread(25, time.Second, "  ")
			for i := range recs {
				recs[i].Source.Service = "svc"
			}
			return recs
		}(), nil, []string{"user_spread:svc:25"}},
		{"no subject, no user", []auditlog.Record{rec("x", 0), rec("x", time.Second)}, []AnomalyOption{WithBurst(1, time.Hour), WithSpread(1, time.Hour)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Anomalies(result(c.recs...), c.opts...)
			assert.Equal(t, c.want, kinds(got))
			assert.Equal(t, len(got.Anomalies), got.Count)
		})
	}
	// The evidence of a burst points at every access of the run.
	a := Anomalies(result(burst(12, time.Minute, 0, "P-7", "eve")...))
	require.Len(t, a.Anomalies, 1)
	assert.Len(t, a.Anomalies[0].Evidence, 12)
	assert.Equal(t, 12, a.Anomalies[0].MaxInWindow)
	assert.Equal(t, []string{"eve"}, a.Anomalies[0].Users)
}

// TestRenderAll renders every result type in every format: CSV rows have
// as many cells as the header, JSON parses, text is not empty.
func TestRenderAll(t *testing.T) {
	res := result(scenarioRecords(t)...)
	items := map[string]Renderable{
		"timeline":  Timeline("conv-support-1", res),
		"calls":     Calls(Filter{}, res),
		"stats":     Stats(res),
		"report":    Report(Subject{Type: "patient", ID: "P-1001"}, time.Time{}, time.Time{}, res),
		"anomalies": Anomalies(res),
		"fhir":      FHIRBundle(res),
		"reconcile": Reconcile(res, res),
	}
	for name, v := range items {
		for _, f := range []Format{FormatText, FormatJSON, FormatCSV} {
			var b bytes.Buffer
			require.NoError(t, Render(&b, f, v), "%s %s", name, f)
			require.NotEmpty(t, b.String())
			switch f {
			case FormatJSON:
				var m map[string]any
				require.NoError(t, json.Unmarshal(b.Bytes(), &m), name)
			case FormatCSV:
				rows, err := csv.NewReader(&b).ReadAll()
				require.NoError(t, err, name)
				require.NotEmpty(t, rows)
				for _, r := range rows {
					assert.Len(t, r, len(rows[0]), name)
				}
			}
		}
	}
	_, err := ParseFormat("xml")
	assert.Error(t, err)
	assert.Error(t, Render(&bytes.Buffer{}, "xml", Stats(res)))
}

func TestReconcileUnit(t *testing.T) {
	traces := result(rec("a", 0), rec("b", time.Second), rec("c", 2*time.Second, withUser("u")))
	audit := result(rec("b", time.Second), rec("c", 2*time.Second, withUser("v")), rec("d", 3*time.Second))
	audit.Source = SourceStore
	r := Reconcile(traces, audit)
	assert.False(t, r.Consistent)
	assert.Equal(t, 3, r.Spans)
	assert.Equal(t, 3, r.Records)
	assert.Equal(t, 2, r.Matched)
	require.Len(t, r.MissingInAudit, 1)
	assert.Equal(t, "a", r.MissingInAudit[0].Tool)
	require.Len(t, r.MissingInTraces, 1)
	assert.Equal(t, "d", r.MissingInTraces[0].Tool)
	require.Len(t, r.Differences, 1, "%+v", r.Differences)
	assert.Equal(t, "user_id", r.Differences[0].Field)
	assert.Equal(t, "c", r.Differences[0].Tool)

	// Microsecond sources: a timestamp and duration truncated to µs match.
	exact := rec("x", 1500*time.Nanosecond, withDur(1.234567))
	coarse := exact
	coarse.Timestamp = t0.Add(time.Microsecond).Format(auditlog.TimeFormat)
	coarse.DurationMS = 1.234
	tr := result(coarse)
	tr.Precision = time.Microsecond
	assert.True(t, Reconcile(tr, result(exact)).Consistent)
	assert.False(t, Reconcile(result(coarse), result(exact)).Consistent, "at nanosecond precision they differ")

	// A bounded trace range leaves older audit records out.
	old := rec("old", -time.Hour)
	in := rec("in", time.Minute)
	tr = result(in)
	tr.From, tr.To = t0, t0.Add(time.Hour)
	rr := Reconcile(tr, result(old, in))
	assert.True(t, rr.Consistent)
	assert.Equal(t, 1, rr.Records)

	// ... and the spans of in-range traces that lie outside it, whose
	// records the range left out of the audit side (a span dated 1970 or
	// 2262 in a trace searched this week); a span outside the range by
	// less than the precision still counts.
	tr = result(in, rec("old", -time.Hour), rec("edge", -500*time.Nanosecond))
	tr.From, tr.To, tr.Precision = t0, t0.Add(time.Hour), time.Microsecond
	rr = Reconcile(tr, result(old, in))
	assert.Equal(t, 2, rr.Spans)
	require.Len(t, rr.MissingInAudit, 1)
	assert.Equal(t, "edge", rr.MissingInAudit[0].Tool)

	var b bytes.Buffer
	require.NoError(t, r.WriteText(&b))
	assert.Contains(t, b.String(), "missing in audit: 1, missing in traces: 1, differing fields:")
	assert.Contains(t, b.String(), "NOT consistent")
	assert.True(t, strings.Contains(b.String(), "user_id: trace \"u\" ≠ audit \"v\""), b.String())
}

func TestReportPeriod(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"", "", "all records (no --from or --to)"},
		{"2026-11-26T00:00:00Z", "", "from 2026-11-26T00:00:00Z (inclusive)"},
		{"", "2026-11-27T00:00:00Z", "until 2026-11-27T00:00:00Z (exclusive)"},
		{"2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z", "2026-11-26T00:00:00Z (inclusive) to 2026-11-27T00:00:00Z (exclusive)"},
	} {
		assert.Equal(t, tc.want, period(tc.from, tc.to), "from %q to %q", tc.from, tc.to)
	}
}

// TestAnomaliesRulesText: the summary line says what the rules did, not
// "0+ accesses" for a rule turned off or "within 0s" for the whole range.
func TestAnomaliesRulesText(t *testing.T) {
	cases := []struct {
		opts []AnomalyOption
		want string
	}{
		{nil, "(burst: 10+ accesses to one subject within 1h0m0s; spread: 20+ subjects per initiator within 24h0m0s; every break-glass access)"},
		{[]AnomalyOption{WithBurst(0, time.Hour)}, "(burst: off; spread: 20+ subjects per initiator within 24h0m0s;"},
		{[]AnomalyOption{WithSpread(5, 0)}, "spread: 5+ subjects per initiator in the queried range;"},
		{[]AnomalyOption{WithSpread(0, time.Hour)}, "spread: off;"},
	}
	for _, c := range cases {
		var b bytes.Buffer
		require.NoError(t, Anomalies(result(), c.opts...).WriteText(&b))
		assert.Contains(t, b.String(), c.want)
	}
}

// TestBlankUserIsNoUser: a user id of white space names no one, in every
// analysis, as in the FHIR export (whose strings must hold content).
func TestBlankUserIsNoUser(t *testing.T) {
	res := result(rec("read", 0, withUser("   "), withSubject("patient", "P-1"), func(r *auditlog.Record) { r.BreakGlass = true }),
		rec("read", time.Second, withUser("\t"), withSubject("patient", "P-1")), rec("read", 2*time.Second, withUser("ann"), withSubject("patient", "P-1")))
	assert.Equal(t, 1, Stats(res).Total.UniqueUsers)
	rep := Report(Subject{Type: "patient", ID: "P-1"}, time.Time{}, time.Time{}, res)
	assert.Equal(t, 1, rep.Totals.UniqueUsers)
	assert.Equal(t, []string{"ann"}, rep.Totals.Users)
	for _, a := range Anomalies(res, WithBurst(3, time.Hour)).Anomalies {
		assert.NotContains(t, a.Users, "   ", a.Kind)
		assert.NotContains(t, a.Users, "\t", a.Kind)
	}
}
