package query

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelaudit/otelaudit/auditlog"
)

// mcpCall is one access observed three times on its way to the tool: the
// agent's execute_tool span, the MCP client span beneath it and the MCP
// server span beneath that.
func mcpCall(trace string, user string) []auditlog.Record {
	obs := func(span, parent string) auditlog.Record {
		return rec("access_patient_record", 0, withUser(user), withSubject("patient", "P-1"), withConv("c1"), withTurn(1),
			func(r *auditlog.Record) { r.TraceID, r.SpanID, r.ParentSpanID = trace, span, parent })
	}
	return []auditlog.Record{obs("a1", ""), obs("a2", "a1"), obs("a3", "a2")}
}

func TestInnermostObservation(t *testing.T) {
	other := rec("search_patients", 0, withUser("u1"), withSubject("patient", "P-1"), withConv("c1"), withTurn(2),
		func(r *auditlog.Record) { r.TraceID, r.SpanID, r.ParentSpanID = "t1", "b1", "a3" })
	recs := append(mcpCall("t1", "u1"), other)
	res := result(recs...)

	got := res.innermost()
	require.Len(t, got.Records, 2)
	assert.Equal(t, "a3", got.Records[0].SpanID, "the server's observation is the one kept")
	assert.Equal(t, "b1", got.Records[1].SpanID, "a child call of another tool is a call of its own")
	assert.Len(t, res.Records, 4, "the source's result is not modified")

	// Each analysis counts the access once.
	rep := Report(Subject{Type: "patient", ID: "P-1"}, t0.Add(-1e9), t0.Add(1e9), res)
	assert.Len(t, rep.Accesses, 2)
	assert.Len(t, Timeline("c1", res).Calls, 2)
	assert.Equal(t, 2, Calls(Filter{}, res).Count)
	assert.Len(t, FHIRBundle(res).Entry, 2)
	for _, s := range Stats(res).Tools {
		assert.Equal(t, 1, s.Calls, s.Tool)
	}

	// Same span ids in another trace are other calls.
	two := result(append(mcpCall("t1", "u1"), mcpCall("t2", "u1")...)...)
	assert.Len(t, two.innermost().Records, 2)

	// Nothing nested: the result itself comes back.
	plain := result(rec("x", 0), rec("y", 1))
	assert.Same(t, plain, plain.innermost())
}
