package main

import (
	"github.com/otelaudit/otelaudit/instrumentation"
)

// conversation is a scripted exchange between one user and the agent.
type conversation struct {
	attribution instrumentation.Attribution
	turns       [][]toolCall
}

// toolCall is a call as a model emits it: an id, a tool and arguments.
type toolCall struct {
	id   string
	tool string
	args map[string]any
	opts []instrumentation.CallOption
}

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
func script() []conversation {
	user := instrumentation.WithTrigger(instrumentation.TriggerUserRequest)
	followUp := instrumentation.WithTrigger(instrumentation.TriggerFollowUp)
	treatment := instrumentation.WithPurpose("treatment")
	patient := func(id string) instrumentation.CallOption { return instrumentation.WithSubject("patient", id) }
	opts := func(o ...instrumentation.CallOption) []instrumentation.CallOption { return o }
	return []conversation{
		{
			attribution: instrumentation.Attribution{
				UserID: "n-204", UserRoles: []string{"nurse"},
				ConversationID: "mcp-3001", Model: "claude-sonnet-4",
				AgentName: "ward-assistant", AgentID: "agent-31",
				SessionID: "sess-n204", ClientAddress: "10.20.0.14", UserAgent: "ward-tablet/5.1",
			},
			turns: [][]toolCall{
				{
					{"call_sp1", "search_patients", map[string]any{"patient_name": "Jane Roe", "dob": "1980-02-14"}, opts(user, treatment)},
					{"call_ap1", "access_patient_record", map[string]any{"patient_id": "P-1001", "fields": []string{"allergies", "medications"}},
						opts(followUp, treatment, patient("P-1001"))},
				},
				{
					{"call_ut1", "update_treatment", map[string]any{
						"patient_id": "P-1001", "patient_name": "Jane Roe", "medication": "azithromycin",
						"dosage": "250 mg daily for 5 days", "notes": "penicillin allergy on file",
					}, opts(user, treatment, patient("P-1001"))},
				},
				{
					// A mistyped patient id: the server answers with an
					// error result, and both spans record the failure.
					{"call_ut2", "update_treatment", map[string]any{
						"patient_id": "P-1099", "patient_name": "Jane Roe",
						"medication": "ibuprofen", "dosage": "400 mg as needed",
					}, opts(user, treatment, patient("P-1099"))},
				},
			},
		},
		{
			attribution: instrumentation.Attribution{
				UserID: "d-77", UserRoles: []string{"physician", "emergency"},
				ConversationID: "mcp-3002", Model: "claude-sonnet-4",
				AgentName: "er-assistant", AgentID: "agent-32",
				SessionID: "sess-d77", ClientAddress: "10.20.9.3", UserAgent: "er-console/1.4",
			},
			turns: [][]toolCall{
				{
					{"call_sp2", "search_patients", map[string]any{"patient_name": "Maria", "ssn": secretSSN}, opts(user, treatment)},
					{"call_ap2", "access_patient_record", map[string]any{"patient_id": "P-1003"}, opts(followUp, treatment, patient("P-1003"),
						instrumentation.WithBreakGlass("patient unresponsive in the ER, no consent possible"))},
				},
			},
		},
	}
}
