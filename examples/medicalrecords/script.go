package main

import (
	"fmt"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/instrumentation"
)

// patients are the charts of the record system. Their names, dates of
// birth and SSNs appear in the tool arguments the scripted model writes;
// otelcol-audit's auditredaction processor turns them into hmac-sha256
// pseudonyms before Jaeger or the audit store sees them, and the
// end-to-end tests prove that none arrives in the clear.
var patients = []patient{
	{ID: "P-1001", Name: "Maria Garcia", DateOfBirth: "1961-03-14", SSN: "219-09-9999", Diagnoses: []string{"E11.9", "I10"}, Plan: "metformin 500 mg twice daily"},
	{ID: "P-1002", Name: "Samuel Okoro", DateOfBirth: "1948-11-02", SSN: "412-73-5580", Diagnoses: []string{"I48.91"}, Plan: "apixaban 5 mg twice daily"},
	{ID: "P-1003", Name: "Hannah Schmidt", DateOfBirth: "1990-07-21", SSN: "328-41-9076", Diagnoses: []string{"J45.909"}, Plan: "albuterol as needed"},
	{ID: "P-1004", Name: "Li Wei", DateOfBirth: "1975-01-30", SSN: "501-62-3418", Diagnoses: []string{"E11.9"}, Plan: "insulin glargine 20 units nightly"},
	{ID: "P-1007", Name: "Eleanor Vance", DateOfBirth: "1939-05-08", SSN: "274-38-1165", Diagnoses: []string{"M81.0"}, Plan: "alendronate 70 mg weekly"},
}

const (
	// burstPatient is accessed burstSize times by one user within minutes:
	// `otelaudit anomalies` reports it, and `otelaudit report` lists the
	// accesses.
	burstPatient = "P-1007"
	burstSize    = 12
	// breakGlassPatient is opened with an emergency override.
	breakGlassPatient = "P-1004"
	breakGlassReason  = "unconscious patient in the ER; no consent possible, primary physician unreachable"
)

// script returns the conversations the agent plays: clinicians and staff
// with different roles and purposes, PII in the arguments, a refused
// treatment change, a break-glass access and a burst of accesses to one
// patient.
func script() []agentkit.Conversation {
	ask := instrumentation.WithTrigger(instrumentation.TriggerUserRequest)
	followUp := instrumentation.WithTrigger(instrumentation.TriggerFollowUp)
	treatment := instrumentation.WithPurpose("treatment")
	billing := instrumentation.WithPurpose("billing")
	research := instrumentation.WithPurpose("research")
	patient := func(id string) instrumentation.CallOption { return instrumentation.WithSubject("patient", id) }
	agent := func(a instrumentation.Attribution) instrumentation.Attribution {
		a.AgentName, a.AgentID = "records-assistant", "records-assistant-ward-4"
		return a
	}
	convs := []agentkit.Conversation{
		{
			Who: agent(instrumentation.Attribution{
				UserID: "dr.chen", UserRoles: []string{"physician"}, ConversationID: "med-2001", Model: "gpt-4o",
				SessionID: "sess-chen-1", ClientAddress: "10.20.4.11", UserAgent: "ward-workstation/7.2",
			}),
			Turns: []agentkit.Turn{
				{Ask: "Pull up Maria Garcia, born 14 March 1961.", Calls: []agentkit.Call{
					{ID: "call_m1_1", Tool: "search_patients", Args: `{"first_name":"Maria","last_name":"Garcia","date_of_birth":"1961-03-14"}`, Opts: agentkit.Opts(ask, treatment)},
					{ID: "call_m1_2", Tool: "access_patient_record", Args: `{"patient_id":"P-1001","patient_name":"Maria Garcia"}`, Opts: agentkit.Opts(followUp, treatment, patient("P-1001"))},
				}},
				{Ask: "Her HbA1c is up; increase the metformin.", Calls: []agentkit.Call{
					{ID: "call_m1_3", Tool: "update_treatment", Args: `{"patient_id":"P-1001","patient_name":"Maria Garcia","plan":"metformin 1000 mg twice daily"}`, Opts: agentkit.Opts(ask, treatment, patient("P-1001"))},
				}},
			},
		},
		{
			Who: agent(instrumentation.Attribution{
				UserID: "n.okafor", UserRoles: []string{"nurse"}, ConversationID: "med-2002", Model: "claude-sonnet-4",
				SessionID: "sess-okafor-4", ClientAddress: "10.20.4.37", UserAgent: "ward-tablet/5.1",
			}),
			Turns: []agentkit.Turn{
				{Ask: "Open Samuel Okoro's chart, DOB 2 November 1948.", Calls: []agentkit.Call{
					{ID: "call_m2_1", Tool: "access_patient_record", Args: `{"patient_id":"P-1002","patient_name":"Samuel Okoro","date_of_birth":"1948-11-02"}`, Opts: agentkit.Opts(ask, treatment, patient("P-1002"))},
				}},
				{Ask: "Hold his apixaban before tomorrow's procedure.", Calls: []agentkit.Call{
					// Nurses may not change a treatment plan: refused.
					{ID: "call_m2_2", Tool: "update_treatment", Args: `{"patient_id":"P-1002","patient_name":"Samuel Okoro","plan":"hold apixaban 48 h before procedure"}`, Opts: agentkit.Opts(ask, treatment, patient("P-1002"))},
				}},
			},
		},
		{
			Who: agent(instrumentation.Attribution{
				UserID: "j.miller", UserRoles: []string{"billing_clerk"}, ConversationID: "med-2003", Model: "gpt-4o-mini",
				SessionID: "sess-miller-2", ClientAddress: "10.20.9.5", UserAgent: "billing-portal/3.0",
			}),
			Turns: []agentkit.Turn{
				{Ask: "Insurance called about the patient with SSN 328-41-9076.", Calls: []agentkit.Call{
					// The model copies the SSN into a free-text query.
					{ID: "call_m3_1", Tool: "search_patients", Args: `{"query":"patient with SSN 328-41-9076"}`, Opts: agentkit.Opts(ask, billing)},
					{ID: "call_m3_2", Tool: "access_patient_record", Args: `{"patient_id":"P-1003"}`, Opts: agentkit.Opts(followUp, billing, patient("P-1003"))},
				}},
			},
		},
		{
			Who: agent(instrumentation.Attribution{
				UserID: "r.patel", UserRoles: []string{"researcher"}, ConversationID: "med-2004", Model: "gpt-4o",
				SessionID: "sess-patel-1", ClientAddress: "10.31.0.8", UserAgent: "research-notebook/1.4",
			}),
			Turns: []agentkit.Turn{
				{Ask: "How many patients with type 2 diabetes do we have?", Calls: []agentkit.Call{
					{ID: "call_m4_1", Tool: "search_patients", Args: `{"diagnosis":"E11.9"}`, Opts: agentkit.Opts(ask, research)},
				}},
			},
		},
		{
			Who: agent(instrumentation.Attribution{
				UserID: "dr.santos", UserRoles: []string{"physician", "emergency"}, ConversationID: "med-2005", Model: "gpt-4o",
				SessionID: "sess-santos-9", ClientAddress: "10.20.1.2", UserAgent: "er-workstation/7.2",
			}),
			Turns: []agentkit.Turn{
				{Ask: "Unconscious man brought in, wallet says Li Wei, born 30 January 1975. I need his chart now.", Calls: []agentkit.Call{
					{ID: "call_m5_1", Tool: "access_patient_record", Args: `{"patient_id":"P-1004","patient_name":"Li Wei","date_of_birth":"1975-01-30"}`,
						Opts: agentkit.Opts(ask, treatment, patient(breakGlassPatient), instrumentation.WithBreakGlass(breakGlassReason))},
				}},
			},
		},
	}
	// A billing clerk's agent re-opens one chart for every line of an
	// invoice: twelve accesses to one patient within minutes.
	burst := agentkit.Conversation{Who: agent(instrumentation.Attribution{
		UserID: "m.ross", UserRoles: []string{"billing_clerk"}, ConversationID: "med-2006", Model: "gpt-4o-mini",
		SessionID: "sess-ross-5", ClientAddress: "10.20.9.14", UserAgent: "billing-portal/3.0",
	})}
	const perTurn = 3
	for i := 0; i < burstSize; i++ {
		if i%perTurn == 0 {
			burst.Turns = append(burst.Turns, agentkit.Turn{Ask: fmt.Sprintf("Check invoice lines %d-%d for Eleanor Vance.", i+1, i+perTurn)})
		}
		tu := &burst.Turns[len(burst.Turns)-1]
		trigger := followUp
		if i%perTurn == 0 {
			trigger = ask
		}
		tu.Calls = append(tu.Calls, agentkit.Call{ID: fmt.Sprintf("call_m6_%d", i+1), Tool: "access_patient_record",
			Args: `{"patient_id":"` + burstPatient + `","patient_name":"Eleanor Vance"}`, Opts: agentkit.Opts(trigger, billing, patient(burstPatient))})
	}
	return append(convs, burst)
}
