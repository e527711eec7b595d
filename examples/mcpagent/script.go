package main

import (
	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/instrumentation"
)

// The script's totals, which the tests check.
const (
	scriptCalls  = 6
	scriptFailed = 1
	scriptTurns  = 4
)

// secretSSN is read off an ID card into a search; the instrumentation masks
// it before any span leaves the process.
const secretSSN = "457-55-5462"

// script returns the conversations the agent plays: a nurse looking a
// patient up and changing her treatment (the last change names a patient
// who does not exist and fails), and an emergency physician identifying an
// unconscious patient by the SSN on her ID card and opening her record
// without consent (break-glass).
func script() []agentkit.Conversation {
	user := instrumentation.WithTrigger(instrumentation.TriggerUserRequest)
	followUp := instrumentation.WithTrigger(instrumentation.TriggerFollowUp)
	treatment := instrumentation.WithPurpose("treatment")
	patient := func(id string) instrumentation.CallOption { return instrumentation.WithSubject("patient", id) }
	return []agentkit.Conversation{
		{
			Who: instrumentation.Attribution{
				UserID: "n-204", UserRoles: []string{"nurse"},
				ConversationID: "mcp-3001", Model: "claude-sonnet-4",
				AgentName: "ward-assistant", AgentID: "agent-31",
				SessionID: "sess-n204", ClientAddress: "10.20.0.14", UserAgent: "ward-tablet/5.1",
			},
			Turns: []agentkit.Turn{
				{Calls: []agentkit.Call{
					{ID: "call_sp1", Tool: "search_patients", Args: `{"dob":"1980-02-14","patient_name":"Jane Roe"}`, Opts: agentkit.Opts(user, treatment)},
					{ID: "call_ap1", Tool: "access_patient_record", Args: `{"fields":["allergies","medications"],"patient_id":"P-1001"}`,
						Opts: agentkit.Opts(followUp, treatment, patient("P-1001"))},
				}},
				{Calls: []agentkit.Call{
					{ID: "call_ut1", Tool: "update_treatment", Args: `{"dosage":"250 mg daily for 5 days","medication":"azithromycin",` +
						`"notes":"penicillin allergy on file","patient_id":"P-1001","patient_name":"Jane Roe"}`,
						Opts: agentkit.Opts(user, treatment, patient("P-1001"))},
				}},
				{Calls: []agentkit.Call{
					// A mistyped patient id: the server answers with an
					// error result, and both spans record the failure.
					{ID: "call_ut2", Tool: "update_treatment", Args: `{"dosage":"400 mg as needed","medication":"ibuprofen",` +
						`"patient_id":"P-1099","patient_name":"Jane Roe"}`,
						Opts: agentkit.Opts(user, treatment, patient("P-1099"))},
				}},
			},
		},
		{
			Who: instrumentation.Attribution{
				UserID: "d-77", UserRoles: []string{"physician", "emergency"},
				ConversationID: "mcp-3002", Model: "claude-sonnet-4",
				AgentName: "er-assistant", AgentID: "agent-32",
				SessionID: "sess-d77", ClientAddress: "10.20.9.3", UserAgent: "er-console/1.4",
			},
			Turns: []agentkit.Turn{
				{Calls: []agentkit.Call{
					{ID: "call_sp2", Tool: "search_patients", Args: `{"patient_name":"Maria","ssn":"` + secretSSN + `"}`, Opts: agentkit.Opts(user, treatment)},
					{ID: "call_ap2", Tool: "access_patient_record", Args: `{"patient_id":"P-1003"}`, Opts: agentkit.Opts(followUp, treatment, patient("P-1003"),
						instrumentation.WithBreakGlass("patient unresponsive in the ER, no consent possible"))},
				}},
			},
		},
	}
}
