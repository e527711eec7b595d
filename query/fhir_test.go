package query

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/query/internal/fhircheck"
	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

var fhirClock = WithFHIRClock(func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) })

func bundleJSON(t testing.TB, b *Bundle) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Render(&buf, FormatJSON, b))
	return buf.Bytes()
}

// TestFHIRBundleConforms exports every scenario call (and a store's, with
// chain fields) and checks the bundle against the R4 structure.
func TestFHIRBundleConforms(t *testing.T) {
	st := newTestStore(t)
	stored := st.fetch(t, Filter{})
	for name, res := range map[string]*Result{"otlp": result(scenarioRecords(t)...), "store": stored} {
		t.Run(name, func(t *testing.T) {
			b := FHIRBundle(res, fhirClock)
			require.Len(t, b.Entry, scenario.CallCount)
			data := bundleJSON(t, b)
			assert.Empty(t, fhircheck.CheckBundle(data))
			for i, e := range b.Entry {
				one, err := json.Marshal(e.Resource)
				require.NoError(t, err)
				assert.Empty(t, fhircheck.CheckAuditEvent(one), "entry %d", i)
			}
		})
	}
}

// TestFHIRGolden pins the export of the scenario (run with -update).
func TestFHIRGolden(t *testing.T) {
	data := bundleJSON(t, FHIRBundle(result(scenarioRecords(t)...), fhirClock))
	golden := filepath.Join("..", "testdata", "query", "fhir-bundle.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, data, 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), string(data))
}

func TestFHIRMapping(t *testing.T) {
	byTool := map[string]AuditEvent{}
	var recs []auditlog.Record
	for _, r := range scenarioRecords(t) {
		if r.ConversationID == scenario.SupportConversation || r.ConversationID == scenario.CareConversation || r.BreakGlass {
			recs = append(recs, r)
		}
	}
	b := FHIRBundle(result(recs...), fhirClock)
	for i, e := range b.Entry {
		r := recs[i]
		byTool[r.ToolName+"/"+turnString(r.TurnNumber)+"/"+r.UserID] = e.Resource
		ev := e.Resource
		assert.Equal(t, r.TraceID+"-"+r.SpanID, ev.ID)
		assert.True(t, strings.HasPrefix(e.FullURL, "urn:uuid:"))
		// The trace entity links back to the trace.
		var traced bool
		for _, en := range ev.Entity {
			if en.What != nil && en.What.Identifier != nil && en.What.Identifier.System == FHIRTraceIDSystem {
				traced = en.What.Identifier.Value == r.TraceID
			}
		}
		assert.True(t, traced, "trace entity of %s", r.ToolName)
		// Exactly one requestor.
		n := 0
		for _, a := range ev.Agent {
			if a.Requestor {
				n++
			}
		}
		assert.Equal(t, 1, n)
		assert.Len(t, ev.Agent, 2, "human and AI agent")
	}

	failedCall := byTool["update_order_status/3/alice"]
	assert.Equal(t, "U", failedCall.Action)
	assert.Equal(t, "4", failedCall.Outcome, "refused with a result")
	assert.Equal(t, "business_rule: Cannot cancel shipped order", failedCall.OutcomeDesc)
	assert.Equal(t, "execute_tool", failedCall.Type.Code)
	human := failedCall.Agent[0]
	assert.True(t, human.Requestor)
	assert.Equal(t, "alice", human.Who.Identifier.Value)
	assert.Equal(t, "support_agent", human.Role[0].Text)
	assert.Equal(t, &AgentNetwork{Address: "10.0.0.7", Type: "2"}, human.Network)
	ai := failedCall.Agent[1]
	assert.False(t, ai.Requestor)
	assert.Equal(t, "110150", ai.Type.Coding[0].Code)
	assert.Equal(t, "support-agent (model gpt-4o)", ai.Who.Display)
	subj := failedCall.Entity[0]
	assert.Equal(t, "customer/C-778", subj.What.Display)
	assert.Equal(t, "19", subj.Role.Code)
	details := map[string]string{}
	for _, d := range subj.Detail {
		details[d.Type] = d.ValueString
	}
	assert.Equal(t, `{"order_id":"ORD-456","status":"cancelled"}`, details["arguments"])
	assert.Equal(t, `{"error":"Cannot cancel shipped order","success":false}`, details["result_summary"])
	assert.Equal(t, "update_order_status", details["tool"])
	q, err := base64.StdEncoding.DecodeString(failedCall.Entity[1].Query)
	require.NoError(t, err)
	assert.Equal(t, `{"order_id":"ORD-456","status":"cancelled"}`, string(q))
	assert.Equal(t, "24", failedCall.Entity[1].Role.Code)

	read := byTool["access_patient_record/1/dr-bob"]
	assert.Equal(t, "R", read.Action)
	assert.Equal(t, "0", read.Outcome)
	assert.Equal(t, "110110", read.Type.Code)
	assert.Equal(t, "Patient/P-1001", read.Entity[0].What.Reference)
	assert.Equal(t, "TREAT", read.PurposeOfEvent[0].Coding[0].Code)

	timeout := byTool["access_patient_record/3/dr-bob"]
	assert.Equal(t, "8", timeout.Outcome, "failed without a result")
	assert.False(t, timeout.Agent[0].Requestor, "proactive: the AI agent asked")
	assert.True(t, timeout.Agent[1].Requestor)

	bg := byTool["access_patient_record/1/nurse-carol"]
	require.Len(t, bg.PurposeOfEvent, 2)
	assert.Equal(t, "ETREAT", bg.PurposeOfEvent[0].Coding[0].Code)
	// HL7 v3 ActReason BTG (checked in the code system of the FHIR R4
	// definitions), then otelaudit's own code.
	require.Len(t, bg.PurposeOfEvent[1].Coding, 2)
	assert.Equal(t, Coding{System: "http://terminology.hl7.org/CodeSystem/v3-ActReason", Code: "BTG", Display: "break the glass"},
		bg.PurposeOfEvent[1].Coding[0])
	assert.Equal(t, "break-glass", bg.PurposeOfEvent[1].Coding[1].Code)
	assert.Equal(t, "patient unconscious in ER", bg.PurposeOfEvent[1].Text)

	assert.Equal(t, "C", byTool["create_ticket/3/alice"].Action)
}

func TestToolAction(t *testing.T) {
	for tool, want := range map[string]string{
		"get_order": "R", "getOrder": "R", "list-patients": "R", "search": "R", "access_patient_record": "R",
		"create_ticket": "C", "add.item": "C", "bookAppointment": "C",
		"update_order_status": "U", "cancel_order": "U", "set_status": "U", "issue_refund": "U",
		"delete_user": "D", "removeItem": "D", "revoke_token": "D",
		"send_email": "E", "run": "E", "": "E", "GET": "R",
	} {
		assert.Equal(t, want, ToolAction(tool), tool)
	}
}

// TestFHIRChecker proves the checker rejects what R4 forbids: each case
// mutates a valid bundle in one way.
func TestFHIRChecker(t *testing.T) {
	recs := scenarioRecords(t)[:3]
	valid := bundleJSON(t, FHIRBundle(result(recs...), fhirClock))
	require.Empty(t, fhircheck.CheckBundle(valid))
	cases := []struct {
		name   string
		mutate func(b map[string]any, ev map[string]any)
		want   string
	}{
		{"missing type", func(_, ev map[string]any) { delete(ev, "type") }, "type: required element missing"},
		{"missing recorded", func(_, ev map[string]any) { delete(ev, "recorded") }, "recorded: required element missing"},
		{"bad recorded", func(_, ev map[string]any) { ev["recorded"] = "2026-11-26 10:00" }, "not a valid instant"},
		{"recorded without zone", func(_, ev map[string]any) { ev["recorded"] = "2026-11-26T10:00:00" }, "not a valid instant"},
		{"action not in value set", func(_, ev map[string]any) { ev["action"] = "X" }, "required value set"},
		{"outcome not in value set", func(_, ev map[string]any) { ev["outcome"] = "1" }, "required value set"},
		{"no agent", func(_, ev map[string]any) { delete(ev, "agent") }, "agent: required element missing"},
		{"empty agents", func(_, ev map[string]any) { ev["agent"] = []any{} }, "empty array"},
		{"agent without requestor", func(_, ev map[string]any) { delete(ev["agent"].([]any)[0].(map[string]any), "requestor") }, "requestor: required"},
		{"requestor as string", func(_, ev map[string]any) { ev["agent"].([]any)[0].(map[string]any)["requestor"] = "true" }, "JSON boolean"},
		{"no source", func(_, ev map[string]any) { delete(ev, "source") }, "source: required"},
		{"no observer", func(_, ev map[string]any) { delete(ev["source"].(map[string]any), "observer") }, "observer: required"},
		{"name and query", func(_, ev map[string]any) { ev["entity"].([]any)[1].(map[string]any)["name"] = "x" }, "sev-1"},
		{"bad base64 query", func(_, ev map[string]any) { ev["entity"].([]any)[1].(map[string]any)["query"] = "%%%" }, "base64Binary"},
		{"detail without value", func(_, ev map[string]any) {
			ev["entity"].([]any)[0].(map[string]any)["detail"] = []any{map[string]any{"type": "x"}}
		}, "value[x]"},
		{"unknown element", func(_, ev map[string]any) { ev["purpose"] = "x" }, `unknown element "purpose"`},
		{"empty string", func(_, ev map[string]any) { ev["outcomeDesc"] = "" }, "empty string"},
		{"null", func(_, ev map[string]any) { ev["outcomeDesc"] = nil }, "null"},
		{"type as array", func(_, ev map[string]any) { ev["type"] = []any{ev["type"]} }, "must not be an array"},
		{"bad id", func(_, ev map[string]any) { ev["id"] = "has space" }, "not a valid id"},
		{"network type", func(_, ev map[string]any) {
			ev["agent"].([]any)[0].(map[string]any)["network"] = map[string]any{"address": "x", "type": "9"}
		}, "required value set"},
		{"period reversed", func(_, ev map[string]any) {
			ev["period"] = map[string]any{"start": "2026-11-26T10:00:01Z", "end": "2026-11-26T10:00:00Z"}
		}, "per-1"},
		{"bundle type", func(b, _ map[string]any) { b["type"] = "bag" }, "required value set"},
		{"total in collection", func(b, _ map[string]any) { b["total"] = 3 }, "bdl-1"},
		{"duplicate fullUrl", func(b, _ map[string]any) {
			e := b["entry"].([]any)
			e[1].(map[string]any)["fullUrl"] = e[0].(map[string]any)["fullUrl"]
		}, "bdl-7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b map[string]any
			require.NoError(t, json.Unmarshal(valid, &b))
			ev := b["entry"].([]any)[0].(map[string]any)["resource"].(map[string]any)
			c.mutate(b, ev)
			data, err := json.Marshal(b)
			require.NoError(t, err)
			problems := fhircheck.CheckBundle(data)
			require.NotEmpty(t, problems)
			assert.Contains(t, strings.Join(problems, "\n"), c.want)
		})
	}
}

// TestFHIRAwkwardRecords exports records with missing fields, odd tool
// names, ids outside the FHIR id syntax and fields that hold only
// whitespace: the bundle must still conform.
func TestFHIRAwkwardRecords(t *testing.T) {
	recs := []auditlog.Record{
		{},
		{ToolName: "  two  spaces ", Subject: Subject{Type: "patient", ID: "has space/slash"}, UserID: "u", UserRoles: []string{"", " "}},
		{ToolName: "x", TraceID: "not-hex!", SpanID: strings.Repeat("a", 80), Timestamp: "garbage", DurationMS: -5,
			Session: auditlog.Session{ClientAddress: "host.example"}, Purpose: "  ", BreakGlass: true},
		{ToolName: "y", Subject: Subject{Type: "Weird Type!", ID: "1"}, Agent: auditlog.Agent{ID: "agent-7"}, Success: false,
			Error: &auditlog.Error{}, Arguments: json.RawMessage("null")},
		// Whitespace is not a FHIR string: every field that only holds
		// some is left out (found by FuzzFHIRRecord).
		{ToolName: " ", ToolCallID: " ", UserID: "  ", Session: auditlog.Session{ID: " ", ClientAddress: " "},
			Agent: auditlog.Agent{ID: " ", Name: "\t"}, Model: " ", ConversationID: " ", Trigger: "\n",
			Subject: Subject{Type: " ", ID: " "}, TraceID: " ", SpanID: " ", ParentSpanID: "\t", ChainID: " ", Hash: " ",
			Error: &auditlog.Error{Type: "\t", Message: " "}, BreakGlass: true, BreakGlassReason: " ", Purpose: " "},
		{ToolName: "z", Subject: Subject{Type: "patient", ID: " "}, TraceID: "\t", UserID: "u", Session: auditlog.Session{ID: " "}},
		{ToolName: "w", Subject: Subject{Type: "customer", ID: " \t"}, Agent: auditlog.Agent{Name: " "}},
	}
	b := FHIRBundle(result(recs...), fhirClock)
	require.Len(t, b.Entry, len(recs))
	assert.Empty(t, fhircheck.CheckBundle(bundleJSON(t, b)))

	// Nothing made of whitespace alone is named: no subject entity, no
	// model in the agent's name.
	blank := b.Entry[4].Resource
	assert.Len(t, blank.Entity, 2, "tool call and trace only")
	assert.Equal(t, "AI agent", blank.Agent[len(blank.Agent)-1].Who.Display)
}

// TestFHIRSameCallSameEntry: one call exported from the store and from its
// trace is one entry, with the same id and fullUrl, so that a FHIR server
// fed both keeps one AuditEvent. The two records differ in what only the
// store adds (seq, prev_hash, hash), which the fullUrl was once named by.
// Two records of one span with different content (a redelivery that
// changed) still get entries of their own.
func TestFHIRSameCallSameEntry(t *testing.T) {
	st := newTestStore(t)
	stored := FHIRBundle(st.fetch(t, Filter{}), fhirClock)
	traced := FHIRBundle(result(scenarioRecords(t)...), fhirClock)
	require.Len(t, stored.Entry, len(traced.Entry))
	urls := map[string]string{}
	for _, e := range traced.Entry {
		urls[e.Resource.ID] = e.FullURL
	}
	for _, e := range stored.Entry {
		want, ok := urls[e.Resource.ID]
		require.True(t, ok, "store entry %s is not among the trace's", e.Resource.ID)
		assert.Equal(t, want, e.FullURL, "entry %s", e.Resource.ID)
	}

	recs := scenarioRecords(t)[:2]
	changed := recs[0]
	changed.Hash, changed.ResultSummary = "ff"+changed.Hash, json.RawMessage(`{"changed":true}`)
	b := FHIRBundle(result(recs[0], changed, recs[1]), fhirClock)
	require.Len(t, b.Entry, 3)
	ids, full := map[string]bool{}, map[string]bool{}
	for _, e := range b.Entry {
		ids[e.Resource.ID], full[e.FullURL] = true, true
	}
	assert.Len(t, ids, 3, "ids")
	assert.Len(t, full, 3, "fullUrls")
	assert.Empty(t, fhircheck.CheckBundle(bundleJSON(t, b)))
}
