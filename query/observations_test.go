package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

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

// agentOverMCP is one access recorded twice, as an agent and a third-party
// MCP server record it: the agent's execute_tool span knows the user, the
// patient, the conversation and break-glass; the server's span beneath it,
// the innermost observation, knows only the tool and what it did.
func agentOverMCP(i int, breakGlass bool) []auditlog.Record {
	at := time.Duration(i) * 5 * time.Minute
	outer := rec("get_patient_chart", at, withUser("ivan"), withSubject("patient", "P-600"), withConv("c-nest"), withTurn(int64(i+1)),
		func(r *auditlog.Record) {
			r.UserRoles = []string{"physician"}
			r.Purpose, r.Trigger, r.ToolCallID = "treatment", "user_request", fmt.Sprintf("call-%d", i)
			r.BreakGlass = breakGlass
			if breakGlass {
				r.BreakGlassReason = "code blue"
			}
			r.Attribution = auditlog.Attribution{Initiator: "ivan", InitiatorType: auditlog.InitiatorUser, InitiatorRole: "physician", Tool: r.ToolName, Trigger: r.Trigger}
		})
	inner := rec("get_patient_chart", at+2*time.Millisecond, func(r *auditlog.Record) {
		r.TraceID, r.ParentSpanID, r.SpanID = outer.TraceID, outer.SpanID, "inner"+outer.SpanID[5:]
		r.Success, r.Error = false, &auditlog.Error{Type: "tool_error", Message: "chart locked"}
		r.Source.Service = "mcp-server"
		r.Attribution = auditlog.Attribution{Tool: r.ToolName}
	})
	return []auditlog.Record{outer, inner}
}

// TestInnermostKeepsAttribution: the call counted once carries what its
// outer observations know of who asked and whose data it was, and what its
// innermost one knows of what happened, in every analysis.
func TestInnermostKeepsAttribution(t *testing.T) {
	var recs []auditlog.Record
	for i := range 10 {
		recs = append(recs, agentOverMCP(i, i == 0)...)
	}
	res := result(recs...)
	got := res.innermost().Records
	require.Len(t, got, 10)
	first := got[0]
	assert.True(t, strings.HasPrefix(first.SpanID, "inner"), "the innermost observation is counted")
	assert.False(t, first.Success, "what happened is the innermost observation's")
	assert.Equal(t, "chart locked", first.Error.Message)
	assert.Equal(t, "mcp-server", first.Source.Service)
	assert.Equal(t, "ivan", first.UserID)
	assert.Equal(t, []string{"physician"}, first.UserRoles)
	assert.Equal(t, Subject{Type: "patient", ID: "P-600"}, first.Subject)
	assert.True(t, first.BreakGlass)
	assert.Equal(t, "code blue", first.BreakGlassReason)
	assert.Equal(t, "c-nest", first.ConversationID)
	assert.Equal(t, int64(1), *first.TurnNumber)
	assert.Equal(t, "treatment", first.Purpose)
	assert.Equal(t, "call-0", first.ToolCallID)
	assert.Equal(t, auditlog.Attribution{Initiator: "ivan", InitiatorType: auditlog.InitiatorUser, InitiatorRole: "physician",
		Tool: "get_patient_chart", Trigger: "user_request"}, first.Attribution, "the initiator follows the filled fields")
	assert.False(t, got[1].BreakGlass, "break-glass of one call is not another's")
	assert.Equal(t, "", res.Records[1].UserID, "the source's records are not modified")

	kinds := map[string]int{}
	for _, a := range Anomalies(res).Anomalies {
		kinds[a.Kind]++
		if a.Kind == AnomalySubjectBurst {
			assert.Equal(t, 10, a.Count)
		}
	}
	assert.Equal(t, map[string]int{AnomalyBreakGlass: 1, AnomalySubjectBurst: 1}, kinds)
	calls := Calls(Filter{}, res)
	require.Equal(t, 10, calls.Count)
	for _, r := range calls.Records {
		assert.Equal(t, "ivan", r.UserID)
		assert.Equal(t, "P-600", r.Subject.ID)
	}
	assert.Equal(t, 1, Stats(res).Total.UniqueUsers)
	patients := 0
	for _, e := range FHIRBundle(res).Entry {
		for _, en := range e.Resource.Entity {
			if en.What != nil && en.What.Reference == "Patient/P-600" {
				patients++
			}
		}
	}
	assert.Equal(t, 10, patients)
	rep := Report(Subject{Type: "patient", ID: "P-600"}, time.Time{}, time.Time{}, res)
	assert.Equal(t, 10, rep.Totals.Accesses)
	assert.Equal(t, 1, rep.Totals.BreakGlass)
	assert.Equal(t, 10, rep.Totals.Failed, "the outcome is the innermost observation's")
	assert.Len(t, Timeline("c-nest", res).Calls, 10)
	// calls' JSON and CSV mark each filled record with what was filled
	// and where from; json.Marshal writes what Render writes.
	var out bytes.Buffer
	require.NoError(t, Render(&out, FormatJSON, calls))
	whole, err := json.Marshal(calls)
	require.NoError(t, err)
	var a, b any
	require.NoError(t, json.Unmarshal(out.Bytes(), &a))
	require.NoError(t, json.Unmarshal(whole, &b))
	assert.Equal(t, a, b)
	var parsed struct {
		Records []struct {
			SpanID string        `json:"span_id"`
			Hash   string        `json:"hash"`
			Filled []FilledField `json:"filled_from_outer"`
		} `json:"records"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &parsed))
	outerSpan := res.Records[0].SpanID
	assert.Equal(t, []FilledField{
		{"user_id", outerSpan}, {"user_roles", outerSpan}, {"subject", outerSpan}, {"break_glass", outerSpan},
		{"break_glass_reason", outerSpan}, {"turn_number", outerSpan}, {"conversation_id", outerSpan},
		{"trigger", outerSpan}, {"purpose", outerSpan}, {"tool_call_id", outerSpan},
	}, parsed.Records[0].Filled)
	out.Reset()
	require.NoError(t, Render(&out, FormatCSV, calls))
	assert.Contains(t, out.String(), ",filled_from_outer\n")
	assert.Contains(t, out.String(), "user_id="+outerSpan+" user_roles="+outerSpan)
	plain := Calls(Filter{}, result(rec("x", 0)))
	out.Reset()
	require.NoError(t, Render(&out, FormatJSON, plain))
	assert.NotContains(t, out.String(), "filled_from_outer", "a stored record as it is carries no marker")

	// A filter on what only the outer observation records selects the
	// call once, as it does unfiltered.
	assert.Equal(t, 10, Calls(Filter{UserID: "ivan"}, res).Count)
}

// obs is one observation in a nesting table: span id, parent span id,
// tool, and what it records (user, subject TYPE/ID, tool call id,
// conversation; "" records nothing).
type obs struct {
	span, parent, tool      string
	user, subject, id, conv string
	breakGlass              bool
}

func (o obs) record(i int) auditlog.Record {
	return rec(o.tool, time.Duration(i)*time.Millisecond, func(r *auditlog.Record) {
		r.TraceID, r.SpanID, r.ParentSpanID = "t-nest", o.span, o.parent
		r.UserID, r.ToolCallID, r.ConversationID = o.user, o.id, o.conv
		if o.subject != "" {
			typ, id, _ := strings.Cut(o.subject, "/")
			r.Subject = Subject{Type: typ, ID: id}
		}
		if o.breakGlass {
			r.BreakGlass, r.BreakGlassReason = true, "code blue"
		}
	})
}

// TestNestedObservationRule: a child span of the same tool is an
// observation of its parent's call only when nothing both record tells
// them apart (tool call id, user, conversation, subject); otherwise each
// is a call of its own, with its own attribution. Each call is listed as
// span user subject break-glass.
func TestNestedObservationRule(t *testing.T) {
	for _, tc := range []struct {
		name string
		obs  []obs
		want []string
	}{{
		name: "a tool calling itself for another user and patient",
		obs: []obs{
			{span: "s1", tool: "task", user: "alice", subject: "patient/P-1", id: "call-outer", conv: "c-s1", breakGlass: true},
			{span: "s2", parent: "s1", tool: "task", user: "bob", subject: "patient/P-2", id: "call-inner", conv: "c-s1-sub"},
		},
		want: []string{"s1 alice patient/P-1 true", "s2 bob patient/P-2 false"},
	}, {
		name: "only the tool call ids differ",
		obs: []obs{
			{span: "s1", tool: "task", user: "alice", id: "call-1", breakGlass: true},
			{span: "s2", parent: "s1", tool: "task", id: "call-2"},
		},
		want: []string{"s1 alice - true", "s2 - - false"},
	}, {
		name: "no user but its own subject",
		obs: []obs{
			{span: "s1", tool: "task", user: "alice", subject: "patient/P-1"},
			{span: "s2", parent: "s1", tool: "task", subject: "patient/P-2"},
		},
		want: []string{"s1 alice patient/P-1 false", "s2 - patient/P-2 false"},
	}, {
		name: "only the users differ",
		obs: []obs{
			{span: "s1", tool: "task", user: "alice"},
			{span: "s2", parent: "s1", tool: "task", user: "bob"},
		},
		want: []string{"s1 alice - false", "s2 bob - false"},
	}, {
		name: "only the conversations differ",
		obs: []obs{
			{span: "s1", tool: "task", user: "alice", conv: "c1"},
			{span: "s2", parent: "s1", tool: "task", conv: "c2"},
		},
		want: []string{"s1 alice - false", "s2 - - false"},
	}, {
		name: "an MCP server's span of the same call",
		obs: []obs{
			{span: "s1", tool: "chart", user: "ivan", subject: "patient/P-8", id: "call-1", breakGlass: true},
			{span: "s2", parent: "s1", tool: "chart", id: "call-1"},
		},
		want: []string{"s2 ivan patient/P-8 true"},
	}, {
		name: "a subject type without an id names no one",
		obs: []obs{
			{span: "s1", tool: "chart", user: "ivan", subject: "patient/P-8"},
			{span: "s2", parent: "s1", tool: "chart", subject: "customer/"},
		},
		want: []string{"s2 ivan patient/P-8 false"},
	}, {
		name: "a subject type in another case is the same subject",
		obs: []obs{
			{span: "s1", tool: "chart", user: "ivan", subject: "patient/P-8"},
			{span: "s2", parent: "s1", tool: "chart", subject: "Patient/P-8"},
		},
		want: []string{"s2 ivan Patient/P-8 false"},
	}, {
		name: "X calls Y calls X: three calls",
		obs: []obs{
			{span: "s1", tool: "x", user: "alice", subject: "patient/P-1"},
			{span: "s2", parent: "s1", tool: "y"},
			{span: "s3", parent: "s2", tool: "x"},
		},
		want: []string{"s1 alice patient/P-1 false", "s2 - - false", "s3 - - false"},
	}, {
		name: "alice, then an observation with no user, then bob",
		obs: []obs{
			{span: "s1", tool: "task", user: "alice", breakGlass: true},
			{span: "s2", parent: "s1", tool: "task"},
			{span: "s3", parent: "s2", tool: "task", user: "bob"},
		},
		want: []string{"s2 alice - true", "s3 bob - false"},
	}, {
		name: "three observations of one call",
		obs: []obs{
			{span: "s1", tool: "chart", user: "ivan", id: "c"},
			{span: "s2", parent: "s1", tool: "chart", subject: "patient/P-8"},
			{span: "s3", parent: "s2", tool: "chart", id: "c"},
		},
		want: []string{"s3 ivan patient/P-8 false"},
	}, {
		name: "a cycle of parent ids",
		obs: []obs{
			{span: "s1", parent: "s2", tool: "x", user: "alice"},
			{span: "s2", parent: "s1", tool: "x"},
		},
		want: []string{"s1 alice - false"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			var recs []auditlog.Record
			for i, o := range tc.obs {
				recs = append(recs, o.record(i))
			}
			res := result(recs...)
			var got []string
			for _, r := range res.innermost().Records {
				got = append(got, fmt.Sprintf("%s %s %s %v", r.SpanID, dash(r.UserID), dash(subjectString(r.Subject)), r.BreakGlass))
			}
			assert.Equal(t, tc.want, got)
			// Every analysis agrees: as many calls, break-glass where the
			// table has it.
			assert.Equal(t, len(tc.want), Calls(Filter{}, res).Count)
			assert.Len(t, FHIRBundle(res).Entry, len(tc.want))
			bg := 0
			for _, w := range tc.want {
				if strings.HasSuffix(w, "true") {
					bg++
				}
			}
			n := 0
			for _, a := range Anomalies(res).Anomalies {
				if a.Kind == AnomalyBreakGlass {
					n++
				}
			}
			assert.Equal(t, bg, n)
		})
	}
}
