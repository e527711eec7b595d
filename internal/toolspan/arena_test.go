package toolspan

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
)

// sampleFiles are the span samples of every convention.
var sampleFiles = []string{"genai.json", "openinference.json", "traceloop.json", "vercel_ai.json", "mcp.json"}

// TestMapperMatchesMap maps every sample span, many times over so that the
// Mapper's blocks fill up and new ones start, and compares each record
// with Map's, field by field.
func TestMapperMatchesMap(t *testing.T) {
	var refs []spanRef
	for _, file := range sampleFiles {
		refs = append(refs, loadSpans(t, file)...)
	}
	m := NewMapper(Options{MaxPayloadBytes: 4096})
	type pair struct{ got, want any }
	var kept []pair
	for round := range 300 {
		for _, ref := range refs {
			want, wantOK := Map(ref.res, ref.scope, ref.span, Options{MaxPayloadBytes: 4096})
			got, ok := m.Map(ref.res, ref.scope, ref.span)
			require.Equal(t, wantOK, ok)
			require.Equal(t, want, got, "span %s", ref.span.SpanID())
			if round%50 == 0 {
				kept = append(kept, pair{got: got, want: want})
			}
		}
	}
	// Records mapped long ago are untouched by everything mapped since.
	for _, p := range kept {
		assert.Equal(t, p.want, p.got)
	}
}

// TestMapperPiecesAreCapped checks that appending to one record's payload
// or roles copies them rather than overwriting the next record's.
func TestMapperPiecesAreCapped(t *testing.T) {
	m := NewMapper(Options{})
	span := typicalSpan()
	r1, ok := m.Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span)
	require.True(t, ok)
	r2, ok := m.Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span)
	require.True(t, ok)
	before := fmt.Sprintf("%s %s %v %s", r2.Arguments, r2.ResultSummary, r2.UserRoles, r2.TraceID)
	_ = append(r1.Arguments, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	_ = append(r1.ResultSummary, "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"...)
	_ = append(r1.UserRoles, "intruder", "intruder", "intruder")
	assert.Equal(t, before, fmt.Sprintf("%s %s %v %s", r2.Arguments, r2.ResultSummary, r2.UserRoles, r2.TraceID))
}

// TestMapperLargePieces maps payloads larger than a block and a span with
// many roles: they take memory of their own, with the same result as Map.
func TestMapperLargePieces(t *testing.T) {
	span := typicalSpan()
	big := `{"blob":"` + strings.Repeat("b", 3*arenaBytes) + `","a":1}`
	span.Attributes().PutStr("gen_ai.tool.call.arguments", big)
	roles := span.Attributes().PutEmptySlice("user.roles")
	for i := range 3 * arenaStrings {
		roles.AppendEmpty().SetStr(fmt.Sprint("role-", i))
	}
	m := NewMapper(Options{MaxPayloadBytes: -1})
	for range 3 {
		want, _ := Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span, Options{MaxPayloadBytes: -1})
		got, ok := m.Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span)
		require.True(t, ok)
		require.Equal(t, want, got)
		assert.True(t, strings.HasPrefix(string(got.Arguments), `{"a":1,"blob":"bbb`))
	}
}

func TestMapperFormatTime(t *testing.T) {
	m := NewMapper(Options{})
	for _, ts := range []time.Time{
		time.Date(2026, 1, 1, 10, 15, 0, 123, time.UTC),
		time.Date(2026, 1, 1, 10, 15, 0, 0, time.FixedZone("CET", 3600)),
		time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC), // beyond four-digit years
		time.Date(-5, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		assert.Equal(t, FormatTime(ts), m.FormatTime(ts))
	}
}

// FuzzMapper checks that a Mapper maps arbitrary OTLP JSON exactly as Map
// does.
func FuzzMapper(f *testing.F) {
	for _, name := range sampleFiles {
		raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "spans", name))
		require.NoError(f, err)
		f.Add(raw)
	}
	m := NewMapper(Options{MaxPayloadBytes: 1024})
	f.Fuzz(func(t *testing.T, raw []byte) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
		if err != nil {
			return
		}
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					want, wantOK := Map(rs.Resource(), ss.Scope(), sp, Options{MaxPayloadBytes: 1024})
					got, ok := m.Map(rs.Resource(), ss.Scope(), sp)
					require.Equal(t, wantOK, ok)
					require.Equal(t, want, got)
				}
			}
		}
	})
}

// FuzzReusingMapper maps the spans of each input with one reusing Mapper,
// reset between inputs as the exporter resets between batches: all the
// records of an input must equal Map's once the input is mapped.
func FuzzReusingMapper(f *testing.F) {
	for _, name := range sampleFiles {
		raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "spans", name))
		require.NoError(f, err)
		f.Add(raw)
	}
	m := NewReusingMapper(Options{MaxPayloadBytes: 1024})
	f.Fuzz(func(t *testing.T, raw []byte) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
		if err != nil {
			return
		}
		m.Reset()
		var got, want []auditlog.Record
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					w, wantOK := Map(rs.Resource(), ss.Scope(), sp, Options{MaxPayloadBytes: 1024})
					r, ok := m.Map(rs.Resource(), ss.Scope(), sp)
					require.Equal(t, wantOK, ok)
					got, want = append(got, r), append(want, w)
				}
			}
		}
		require.Equal(t, want, got)
	})
}

// typicalSpan is the span of BenchmarkMapTypical.
func typicalSpan() ptrace.Span {
	span := ptrace.NewSpan()
	span.SetName("execute_tool lookup_order")
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	span.SetParentSpanID(pcommon.SpanID{8, 7, 6, 5, 4, 3, 2, 1})
	span.SetStartTimestamp(1767262500_000000000)
	span.SetEndTimestamp(1767262500_023456789)
	at := span.Attributes()
	at.PutStr("gen_ai.operation.name", "execute_tool")
	at.PutStr("gen_ai.tool.name", "lookup_order")
	at.PutStr("gen_ai.tool.call.id", "call_0000002a")
	at.PutStr("gen_ai.tool.type", "function")
	at.PutStr("gen_ai.tool.call.arguments", `{"order_id":"A-1042","customer_id":"C-2042","include_history":true,"reason":"customer asked where the parcel is","currency":"EUR"}`)
	at.PutStr("gen_ai.tool.call.result", `{"status":"shipped","order_id":"A-1042","count":3,"_result_size":2048}`)
	at.PutStr("gen_ai.conversation.id", "conv-0004")
	at.PutInt("audit.turn_number", 3)
	at.PutStr("gen_ai.request.model", "gpt-4o")
	at.PutStr("gen_ai.agent.name", "support-agent")
	at.PutStr("user.id", "u-042")
	roles := at.PutEmptySlice("user.roles")
	roles.AppendEmpty().SetStr("support")
	roles.AppendEmpty().SetStr("refund_approver")
	at.PutStr("session.id", "sess-0004")
	at.PutStr("client.address", "203.0.113.7")
	at.PutStr("audit.trigger", "user_request")
	at.PutStr("audit.purpose", "support")
	at.PutStr("audit.subject.type", "customer")
	at.PutStr("audit.subject.id", "C-2042")
	return span
}

// BenchmarkMapperTypical is BenchmarkMapTypical through a Mapper, as the
// exporter maps.
func BenchmarkMapperTypical(b *testing.B) {
	span := typicalSpan()
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "support-agent")
	scope := pcommon.NewInstrumentationScope()
	m := NewMapper(Options{})
	b.ReportAllocs()
	for b.Loop() {
		m.Map(res, scope, span)
	}
}

// BenchmarkReusingMapperBatch maps 1,000 spans of the varied kinds per op
// with a reusing Mapper reset between ops, as the exporter maps a batch.
// Its time is mostly the SHA-256 of the fifth of them whose 64 KiB
// arguments are over the limit; its allocations are the bytes payloads'
// copies (pdata's AsRaw), one per fifth span.
func BenchmarkReusingMapperBatch(b *testing.B) {
	res, scope := pcommon.NewResource(), pcommon.NewInstrumentationScope()
	spans := variedSpans()
	recs := make([]auditlog.Record, 1000)
	m := NewReusingMapper(Options{})
	b.ReportAllocs()
	for b.Loop() {
		m.Reset()
		for i := range recs {
			m.MapInto(&recs[i], res, scope, spans[i%len(spans)])
		}
	}
}

// TestIsASCII puts one byte >= 0x80 at every position of strings around
// the eight-byte words isASCII reads.
func TestIsASCII(t *testing.T) {
	for n := 0; n <= 33; n++ {
		plain := strings.Repeat("a", n)
		assert.True(t, isASCII(plain), "%d plain bytes", n)
		for at := 0; at < n; at++ {
			for _, c := range []byte{0x80, 0xc3, 0xff} {
				s := plain[:at] + string([]byte{c}) + plain[at+1:]
				assert.False(t, isASCII(s), "%q", s)
			}
		}
	}
}

// FuzzValidUTF8 checks validUTF8 against strings.ToValidUTF8.
func FuzzValidUTF8(f *testing.F) {
	for _, s := range []string{"", "ascii only", "é€😀", "\xff", "abcdefgh\xc3", "\xed\xa0\x80 surrogate", "\x7f\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.ToValidUTF8(s, "\uFFFD")
		if got := validUTF8(s); got != want {
			t.Fatalf("validUTF8(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestMapperMapInto checks that MapInto overwrites a used record whole:
// with the span's record, or with the zero record for other spans.
func TestMapperMapInto(t *testing.T) {
	m := NewMapper(Options{})
	res, scope := pcommon.NewResource(), pcommon.NewInstrumentationScope()
	span := typicalSpan()
	want, ok := Map(res, scope, span, Options{})
	require.True(t, ok)
	dirty := want
	dirty.ChainID, dirty.Hash, dirty.BreakGlass = "chain", "hash", true
	dirty.Error = &auditlog.Error{Type: "x"}
	r := dirty
	require.True(t, m.MapInto(&r, res, scope, span))
	assert.Equal(t, want, r)

	other := ptrace.NewSpan()
	other.SetName("GET /")
	r = dirty
	require.False(t, m.MapInto(&r, res, scope, other))
	assert.Zero(t, r)
}

// FuzzFormatTime checks FormatTime against the time package on arbitrary
// instants, digit by digit.
func FuzzFormatTime(f *testing.F) {
	f.Add(int64(1767262500), int64(23456789))
	f.Add(int64(0), int64(999999999))
	f.Add(int64(253402300799), int64(1)) // 9999-12-31T23:59:59
	f.Add(int64(-62135596800), int64(0)) // 0001-01-01
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		ts := time.Unix(sec, nsec%1e9)
		if got, want := FormatTime(ts), ts.UTC().Format(auditlog.TimeFormat); got != want {
			t.Fatalf("FormatTime(%v) = %q, want %q", ts, got, want)
		}
	})
}

// TestReusingMapperMatchesMap maps the sample spans in batches through one
// reusing Mapper, resetting it between batches as the exporter does. Each
// batch is many copies of the samples in a rotating order, so that every
// batch lays its pieces out differently over the blocks the previous one
// used; every record of a batch must equal Map's when the whole batch has
// been mapped, just before the reset that ends its life.
func TestReusingMapperMatchesMap(t *testing.T) {
	var refs []spanRef
	for _, file := range sampleFiles {
		refs = append(refs, loadSpans(t, file)...)
	}
	opts := Options{MaxPayloadBytes: 4096}
	m := NewReusingMapper(opts)
	for batch := range 12 {
		var got, want []auditlog.Record
		// Batches of different sizes, from part of one block to several:
		// some use fewer blocks than the one before, some more.
		n := 100 + 600*(batch%4)
		for i := range n {
			ref := refs[(i*7+batch)%len(refs)]
			w, wantOK := Map(ref.res, ref.scope, ref.span, opts)
			var r auditlog.Record
			ok := m.MapInto(&r, ref.res, ref.scope, ref.span)
			require.Equal(t, wantOK, ok)
			if ok {
				got, want = append(got, r), append(want, w)
			}
		}
		require.NotEmpty(t, got)
		for i := range got {
			require.Equal(t, want[i], got[i], "batch %d, record %d", batch, i)
		}
		m.Reset()
	}
	assert.GreaterOrEqual(t, len(m.a.byteBlocks.all), 3, "the Mapper kept its blocks")
}

// TestReusingMapperReusesMemory checks that once a reusing Mapper has
// mapped one batch, mapping another of the same spans after Reset makes
// no allocation of its own, whatever path each payload takes, and that
// without Reset, or with NewMapper, it does.
func TestReusingMapperReusesMemory(t *testing.T) {
	res, scope := pcommon.NewResource(), pcommon.NewInstrumentationScope()
	spans := variedSpans()
	recs := make([]auditlog.Record, 500)
	mapBatch := func(m *Mapper) {
		for i := range recs {
			if !m.MapInto(&recs[i], res, scope, spans[i%len(spans)]) {
				t.Fatal("not a tool span")
			}
		}
	}
	// The one allocation left is pdata's: the copy of a bytes payload
	// that ByteSlice.AsRaw makes.
	bytesPayloads := 0
	for i := range recs {
		if v, ok := spans[i%len(spans)].Attributes().Get("gen_ai.tool.call.arguments"); ok && v.Type() == pcommon.ValueTypeBytes {
			bytesPayloads++
		}
	}
	require.NotZero(t, bytesPayloads)
	reusing := NewReusingMapper(Options{})
	mapBatch(reusing)
	afterReset := testing.AllocsPerRun(5, func() {
		reusing.Reset()
		mapBatch(reusing)
	})
	if !raceEnabled {
		assert.Equal(t, float64(bytesPayloads), afterReset, "a reusing Mapper after Reset")
	}
	assert.NotZero(t, testing.AllocsPerRun(5, func() { mapBatch(reusing) }), "a reusing Mapper without Reset")

	for i, r := range recs {
		want, _ := Map(res, scope, spans[i%len(spans)], Options{})
		require.Equal(t, want, r, "record %d", i)
	}

	fresh := NewMapper(Options{})
	mapBatch(fresh)
	assert.NotZero(t, testing.AllocsPerRun(5, func() {
		fresh.Reset()
		mapBatch(fresh)
	}), "a Mapper from NewMapper")
}

// TestMapperResetKeepsRecordsOfNewMapper checks that Reset on a Mapper
// from NewMapper leaves the records it mapped intact: only a reusing
// Mapper hands memory out twice.
func TestMapperResetKeepsRecordsOfNewMapper(t *testing.T) {
	res, scope := pcommon.NewResource(), pcommon.NewInstrumentationScope()
	first := typicalSpan()
	want, ok := Map(res, scope, first, Options{})
	require.True(t, ok)
	m := NewMapper(Options{})
	got, ok := m.Map(res, scope, first)
	require.True(t, ok)
	m.Reset()
	other := typicalSpan()
	other.Attributes().PutStr("gen_ai.tool.call.arguments", `{"other":"`+strings.Repeat("z", 200)+`"}`)
	other.SetTraceID(pcommon.TraceID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	for range 200 {
		_, ok := m.Map(res, scope, other)
		require.True(t, ok)
	}
	assert.Equal(t, want, got)
}

// TestReusingMapperBoundsKeptMemory maps a batch of payloads far larger
// than maxKeptBytes: after Reset the Mapper keeps no more than that, and
// it still maps correctly with what it kept.
func TestReusingMapperBoundsKeptMemory(t *testing.T) {
	res, scope := pcommon.NewResource(), pcommon.NewInstrumentationScope()
	span := typicalSpan()
	// Under the arena's large-piece limit, so that it comes from blocks.
	args := `{"blob":"` + strings.Repeat("b", arenaBytes/4-64) + `"}`
	span.Attributes().PutStr("gen_ai.tool.call.arguments", args)
	m := NewReusingMapper(Options{MaxPayloadBytes: -1})
	n := 3 * maxKeptBytes / len(args)
	for range n {
		_, ok := m.Map(res, scope, span)
		require.True(t, ok)
	}
	require.Greater(t, len(m.a.byteBlocks.all)*arenaBytes, maxKeptBytes, "the batch took more than the bound")
	m.Reset()
	assert.LessOrEqual(t, len(m.a.byteBlocks.all)*arenaBytes, maxKeptBytes)
	assert.LessOrEqual(t, len(m.a.strBlocks.all)*arenaBytes, maxKeptBytes)
	assert.LessOrEqual(t, len(m.a.intBlocks.all)*arenaBytes, maxKeptBytes)

	want, _ := Map(res, scope, span, Options{MaxPayloadBytes: -1})
	var got []auditlog.Record
	for range n {
		r, ok := m.Map(res, scope, span)
		require.True(t, ok)
		got = append(got, r)
	}
	for i := range got {
		require.Equal(t, want, got[i], "record %d", i)
	}
}

// TestReusingMapperDropsSpanStrings checks that Reset clears the string
// blocks: the roles of the last batch, views of its span data, must not
// stay reachable from a pooled Mapper.
func TestReusingMapperDropsSpanStrings(t *testing.T) {
	m := NewReusingMapper(Options{})
	r, ok := m.Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), typicalSpan())
	require.True(t, ok)
	require.Equal(t, []string{"support", "refund_approver"}, r.UserRoles)
	m.Reset()
	for _, b := range m.a.strBlocks.all {
		for _, s := range b {
			assert.Empty(t, s)
		}
	}
}

// variedSpans returns typical spans whose payloads, lists and outcomes
// take every path of the mapping that builds memory: JSON text, plain
// text, map, slice, bytes, integer, double and oversized payloads, roles
// as an array and as a comma-separated string, failures.
func variedSpans() []ptrace.Span {
	var out []ptrace.Span
	add := func(edit func(at pcommon.Map, s ptrace.Span)) {
		s := typicalSpan()
		edit(s.Attributes(), s)
		out = append(out, s)
	}
	add(func(pcommon.Map, ptrace.Span) {})
	add(func(at pcommon.Map, _ ptrace.Span) {
		at.PutStr("gen_ai.tool.call.result", "the parcel left the depot at 9:40")
		at.PutStr("user.roles", "support, refund_approver,,auditor")
	})
	add(func(at pcommon.Map, _ ptrace.Span) {
		m := at.PutEmptyMap("gen_ai.tool.call.arguments")
		m.PutStr("order_id", "A-1")
		m.PutDouble("amount", 12.5)
		m.PutEmptySlice("items").AppendEmpty().SetStr("x")
		sl := at.PutEmptySlice("gen_ai.tool.call.result")
		sl.AppendEmpty().SetInt(1)
		sl.AppendEmpty().SetBool(true)
	})
	add(func(at pcommon.Map, s ptrace.Span) {
		at.PutEmptyBytes("gen_ai.tool.call.arguments").FromRaw([]byte{0, 1, 2, 0xff})
		at.PutInt("gen_ai.tool.call.result", 42)
		at.PutStr("audit.redaction.paths", "args.card,args.cvv")
		s.Status().SetCode(ptrace.StatusCodeError)
		s.Status().SetMessage("card declined")
		at.PutStr("error.type", "PaymentError")
	})
	add(func(at pcommon.Map, s ptrace.Span) {
		at.PutDouble("gen_ai.tool.call.result", 0.25)
		at.PutStr("gen_ai.tool.call.arguments", strings.Repeat("x", DefaultMaxPayloadBytes+1))
		ev := s.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.type", "Timeout")
		ev.Attributes().PutStr("exception.message", "no answer")
		s.Status().SetCode(ptrace.StatusCodeError)
	})
	return out
}
