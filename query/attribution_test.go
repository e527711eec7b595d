package query

import (
	"bytes"
	"context"
	"fmt"
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

// The services of attributionTraces in Jaeger, apart from the scenario's
// and the edge spans'.
const (
	attrAgentService = "attr-agent"
	attrMCPService   = "attr-mcp-server"
)

// attrStart is when attributionTraces start: after the scenario's window
// and the edge spans.
var attrStart = scenario.Base.Add(96 * time.Hour)

// attrWindow covers attributionTraces.
var attrWindow = Filter{Since: attrStart, Until: attrStart.Add(3 * time.Hour)}

// attributionTraces are the calls whose attribution the analyses used to
// lose or split:
//   - ten accesses to patient P-600 within 45 minutes, each recorded by the
//     agent's execute_tool span (user ivan, the patient, break-glass on the
//     first) and by a third-party MCP server's span beneath it that records
//     none of these;
//   - ten accesses to patient P-1 within 50 minutes by ten users, whose
//     agents spell the subject type "patient" and "Patient";
//   - one call by a user id of spaces.
func attributionTraces() ptrace.Traces {
	td := ptrace.NewTraces()
	newSpans := func(service string) ptrace.SpanSlice {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		return rs.ScopeSpans().AppendEmpty().Spans()
	}
	agent, server := newSpans(attrAgentService), newSpans(attrMCPService)
	span := func(spans ptrace.SpanSlice, trace, id, parent byte, i int, name string, start time.Time, d time.Duration) pcommon.Map {
		s := spans.AppendEmpty()
		s.SetTraceID(pcommon.TraceID{0xa7, trace, byte(i), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13})
		s.SetSpanID(pcommon.SpanID{0xa7, id, byte(i), 1, 2, 3, 4, 5})
		if parent != 0 {
			s.SetParentSpanID(pcommon.SpanID{0xa7, parent, byte(i), 1, 2, 3, 4, 5})
		}
		s.SetName(name)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
		return s.Attributes()
	}
	for i := range 10 {
		start := attrStart.Add(time.Duration(i) * 5 * time.Minute)
		a := span(agent, 1, 1, 0, i, "execute_tool get_patient_chart", start, 30*time.Millisecond)
		a.PutStr("gen_ai.operation.name", "execute_tool")
		a.PutStr("gen_ai.tool.name", "get_patient_chart")
		a.PutStr("gen_ai.tool.call.id", fmt.Sprintf("call-%d", i))
		a.PutStr("gen_ai.conversation.id", "c-nest")
		a.PutInt("audit.turn_number", int64(i+1))
		a.PutStr("user.id", "ivan")
		a.PutStr("audit.purpose", "treatment")
		a.PutStr("audit.subject.type", "patient")
		a.PutStr("audit.subject.id", "P-600")
		if i == 0 {
			a.PutBool("audit.break_glass", true)
			a.PutStr("audit.break_glass.reason", "code blue")
		}
		m := span(server, 1, 2, 1, i, "tools/call get_patient_chart", start.Add(2*time.Millisecond), 23*time.Millisecond)
		m.PutStr("mcp.method.name", "tools/call")
		m.PutStr("gen_ai.tool.name", "get_patient_chart")
	}
	for i := range 10 {
		typ := "patient"
		if i%2 == 1 {
			typ = "Patient"
		}
		a := span(agent, 2, 3, 0, i, "execute_tool access_patient_record", attrStart.Add(time.Hour+time.Duration(i)*5*time.Minute), time.Millisecond)
		a.PutStr("gen_ai.operation.name", "execute_tool")
		a.PutStr("gen_ai.tool.name", "access_patient_record")
		a.PutStr("user.id", fmt.Sprintf("u%d", i))
		a.PutStr("audit.subject.type", typ)
		a.PutStr("audit.subject.id", "P-1")
	}
	a := span(agent, 3, 4, 0, 0, "execute_tool lookup", attrStart.Add(2*time.Hour), time.Millisecond)
	a.PutStr("gen_ai.operation.name", "execute_tool")
	a.PutStr("gen_ai.tool.name", "lookup")
	a.PutStr("user.id", "   ")
	return td
}

// everySource holds td in every kind of source: an audit store written as
// the exporter maps td (small segments, so that segment summaries and
// proven sealed segments are used), a real Jaeger (v3 and legacy API) fed
// over OTLP/HTTP, and an OTLP JSON file. It waits until Jaeger returns all
// of td's tool spans in window.
func everySource(t *testing.T, td ptrace.Traces, window Filter, services ...string) map[string]Source {
	t.Helper()
	j := fedJaeger(t)
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+j.OTLPHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	_, _, signer, verifiers, err := scenario.Keys("every")
	require.NoError(t, err)
	dir := t.TempDir()
	recs := scenario.Records([]ptrace.Traces{td})
	require.NoError(t, scenario.WriteStore(dir, signer, recs, 1, 1500))

	v3, err := NewJaegerSource(j.QueryURL, WithJaegerService(services...))
	require.NoError(t, err)
	legacy, err := NewJaegerSource(j.QueryURL, WithJaegerService(services...), WithJaegerLegacyAPI())
	require.NoError(t, err)
	sources := map[string]Source{
		"store":         NewStoreSource(dir, verifiers),
		"otlp json":     NewOTLPFileSource([]string{writeFile(t, "td.json", scenarioJSONL(t, []ptrace.Traces{td}))}),
		"jaeger v3":     v3,
		"jaeger legacy": legacy,
	}
	for _, name := range []string{"jaeger v3", "jaeger legacy"} {
		var res *Result
		require.Eventually(t, func() bool {
			res, err = sources[name].Fetch(context.Background(), window)
			return err == nil && len(res.Records) == len(recs)
		}, 10*time.Second, 100*time.Millisecond, "%s: %v", name, err)
	}
	return sources
}

// TestAttributionFromEverySource: every source gives the same answers for
// calls recorded twice (the counted call keeps the outer observation's
// attribution), for subject types spelled in another case, and for a
// blank user id, whether the query is filtered or not.
func TestAttributionFromEverySource(t *testing.T) {
	sources := everySource(t, attributionTraces(), attrWindow, attrAgentService, attrMCPService)
	ctx := context.Background()
	for name, src := range sources {
		t.Run(name, func(t *testing.T) {
			fetch := func(f Filter) *Result {
				f.Since, f.Until = attrWindow.Since, attrWindow.Until
				res, err := src.Fetch(ctx, f)
				require.NoError(t, err)
				require.False(t, res.Integrity.Failed(), "%+v", res.Integrity.Findings)
				return res
			}
			all := fetch(Filter{})

			// F1: the calls recorded twice.
			kinds := map[string]int{}
			for _, a := range Anomalies(all).Anomalies {
				kinds[a.Kind+" "+a.Subject.ID] = a.Count
			}
			assert.Equal(t, map[string]int{"break_glass P-600": 1, "subject_burst P-600": 10, "subject_burst P-1": 10}, kinds)
			users := map[string]int{}
			for _, r := range Calls(Filter{Tool: "get_patient_chart"}, all).Records {
				users[r.UserID+" "+subjectString(r.Subject)]++
			}
			assert.Equal(t, map[string]int{"ivan patient/P-600": 10}, users)
			patients := 0
			for _, e := range FHIRBundle(all).Entry {
				for _, en := range e.Resource.Entity {
					if en.What != nil && en.What.Reference == "Patient/P-600" {
						patients++
					}
				}
			}
			assert.Equal(t, 10, patients)
			for _, f := range []Filter{{}, {Tool: "get_patient_chart"}, {Subject: Subject{Type: "patient", ID: "P-600"}}, {UserID: "ivan"}} {
				c := Calls(Filter{Tool: "get_patient_chart"}, fetch(f))
				assert.Equal(t, 10, c.Count, "%+v", f)
				rep := Report(Subject{Type: "patient", ID: "P-600"}, time.Time{}, time.Time{}, fetch(f))
				assert.Equal(t, 10, rep.Totals.Accesses, "%+v", f)
				assert.Equal(t, 1, rep.Totals.BreakGlass, "%+v", f)
			}

			// F2: one patient, two spellings of its type.
			for _, typ := range []string{"patient", "Patient", "PATIENT"} {
				s := Subject{Type: typ, ID: "P-1"}
				rep := Report(s, time.Time{}, time.Time{}, fetch(Filter{Subject: s}))
				assert.Equal(t, 10, rep.Totals.Accesses, typ)
				assert.Equal(t, 10, Calls(Filter{Subject: s}, fetch(Filter{Subject: s})).Count, typ)
			}
			assert.Zero(t, Calls(Filter{}, fetch(Filter{Subject: Subject{Type: "patient", ID: "p-1"}})).Count, "ids are exact")

			// F6b: a user id of spaces is no user.
			assert.Equal(t, 11, Stats(all).Total.UniqueUsers, "ivan, u0…u9 and nobody else")
			for _, s := range Stats(all).Tools {
				if s.Tool == "lookup" {
					assert.Zero(t, s.UniqueUsers)
				}
			}
		})
	}
}
