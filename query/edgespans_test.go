package query

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

// edgeService names the spans of edgeTraces in Jaeger, apart from the
// scenario's.
const edgeService = "edge-cases"

// edgeStart is when the edge spans start: after the scenario's window, so
// that tests counting the scenario's spans do not see them.
var edgeStart = scenario.Base.Add(72 * time.Hour)

// edgeTraces are legal tool spans that trace backends store in their own
// way: a string attribute that is not valid UTF-8, a span of zero length,
// turn numbers beyond 2^53.
func edgeTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", edgeService)
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	add := func(i int, d time.Duration, set func(pcommon.Map)) {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{0xed, 0x6e, byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
		s.SetSpanID(pcommon.SpanID{0xed, byte(i), 1, 2, 3, 4, 5, 6})
		s.SetName("execute_tool lookup")
		start := edgeStart.Add(time.Duration(i) * time.Second)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
		a := s.Attributes()
		a.PutStr("gen_ai.operation.name", "execute_tool")
		a.PutStr("gen_ai.tool.name", "lookup")
		a.PutStr("gen_ai.conversation.id", "conv-edge")
		a.PutStr("user.id", "u-1")
		set(a)
	}
	add(1, 5*time.Millisecond, func(a pcommon.Map) {
		a.PutStr("user.id", "badutf8_\xff bad")
		a.PutStr("audit.purpose", "\xc3(")
	})
	add(2, 0, func(pcommon.Map) {})
	add(3, 7*time.Millisecond, func(a pcommon.Map) { a.PutInt("audit.turn_number", 1<<62) })
	add(4, 7*time.Millisecond, func(a pcommon.Map) { a.PutInt("audit.turn_number", math.MaxInt64) })
	add(6, 7*time.Millisecond, func(a pcommon.Map) { a.PutInt("audit.turn_number", 1<<53-1) })
	add(5, 7*time.Millisecond, func(a pcommon.Map) { a.PutInt("audit.redaction.count", -(1<<60)-3) })
	return td
}

// TestEdgeSpansAgree writes the edge spans to a store as the exporter maps
// them and sends them to a real Jaeger and to an OTLP JSON file: every
// source must give the store's records, and reconcile find nothing.
func TestEdgeSpansAgree(t *testing.T) {
	j := fedJaeger(t)
	ctx := context.Background()
	td := edgeTraces()
	n := td.SpanCount()

	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+j.OTLPHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	_, _, signer, verifiers, err := scenario.Keys("edge")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, scenario.WriteStore(dir, signer, scenario.Records([]ptrace.Traces{td}), 1, 1<<20))
	window := Filter{Since: edgeStart, Until: edgeStart.Add(time.Minute)}
	audit, err := NewStoreSource(dir, verifiers).Fetch(ctx, window)
	require.NoError(t, err)
	require.True(t, audit.Integrity.Verified, "%+v", audit.Integrity.Findings)
	require.Len(t, audit.Records, n)
	byID := map[string]int{}
	for i, r := range audit.Records {
		byID[r.SpanID] = i
	}
	stored := func(i int) *struct{ user, purpose, turn string } {
		r := audit.Records[byID[fmt.Sprintf("ed%02x010203040506", i)]]
		turn := "nil"
		if r.TurnNumber != nil {
			turn = fmt.Sprint(*r.TurnNumber)
		}
		return &struct{ user, purpose, turn string }{r.UserID, r.Purpose, turn}
	}
	// What the exporter wrote.
	assert.Equal(t, "badutf8_\ufffd bad", stored(1).user)
	assert.Equal(t, "\ufffd(", stored(1).purpose)
	// A turn number no JSON number holds exactly is not written at all
	// (2^63 − 1 was written as 9223372036854776000, which no reader could
	// read back); the largest exact one is.
	assert.Equal(t, "nil", stored(3).turn)
	assert.Equal(t, "nil", stored(4).turn)
	assert.Equal(t, "9007199254740991", stored(6).turn)

	otlp := writeFile(t, "edge.json", scenarioJSONL(t, []ptrace.Traces{td}))
	v3, _ := NewJaegerSource(j.QueryURL, WithJaegerService(edgeService))
	legacy, _ := NewJaegerSource(j.QueryURL, WithJaegerService(edgeService), WithJaegerLegacyAPI())
	for name, src := range map[string]Source{"otlp json": NewOTLPFileSource([]string{otlp}), "jaeger v3": v3, "jaeger legacy": legacy} {
		var traces *Result
		require.Eventually(t, func() bool {
			traces, err = src.Fetch(ctx, window)
			return err == nil && len(traces.Records) == n
		}, 10*time.Second, 100*time.Millisecond, "%s: %v", name, err)
		rec := Reconcile(traces, audit)
		assert.True(t, rec.Consistent, "%s: %+v %+v %s", name, rec.MissingInAudit, rec.MissingInTraces, diffText(rec.Differences))
		assert.Equal(t, timelineLines(Timeline("conv-edge", audit)), timelineLines(Timeline("conv-edge", traces)), name)
	}
}

func diffText(ds []FieldDiff) string {
	var b bytes.Buffer
	for _, d := range ds {
		fmt.Fprintf(&b, "\n%s %s: trace %s ≠ audit %s", d.SpanID, d.Field, d.Trace, d.Audit)
	}
	return b.String()
}
