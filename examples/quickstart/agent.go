package main

import (
	"context"
	"fmt"
	"time"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/instrumentation"
)

// script returns the two conversations the agent plays.
func script() []agentkit.Conversation {
	user := instrumentation.WithTrigger(instrumentation.TriggerUserRequest)
	followUp := instrumentation.WithTrigger(instrumentation.TriggerFollowUp)
	proactive := instrumentation.WithTrigger(instrumentation.TriggerProactive)
	support := instrumentation.WithPurpose("support")
	customer := instrumentation.WithSubject("customer", "C-4471")
	treatment := instrumentation.WithPurpose("treatment")
	patient := instrumentation.WithSubject("patient", "P-1001")
	return []agentkit.Conversation{
		{
			Who: instrumentation.Attribution{
				UserID: "alice", UserRoles: []string{"support"},
				ConversationID: "conv-1001", Model: "gpt-4o",
				AgentName: "support-agent", AgentID: "agent-7",
				SessionID: "sess-a1", ClientAddress: "203.0.113.7", UserAgent: "support-console/2.3",
			},
			Turns: []agentkit.Turn{
				{Calls: []agentkit.Call{
					{ID: "call_lc1", Tool: "lookup_customer", Args: `{"email":"jane.doe@example.com"}`, Opts: agentkit.Opts(user, support)},
					{ID: "call_go1", Tool: "get_order", Args: `{"order_id":"O-88231"}`, Opts: agentkit.Opts(followUp, support, customer)},
				}},
				{Calls: []agentkit.Call{
					{ID: "call_ir1", Tool: "issue_refund", Args: `{"order_id":"O-88231","amount":129.99,"reason":"arrived damaged"}`, Opts: agentkit.Opts(user, support, customer)},
					// The model copied a credential into the arguments: it is
					// masked before the span leaves the process.
					{ID: "call_sn1", Tool: "send_notification", Args: `{"to":"jane.doe@example.com","template":"refund_issued","smtp_password":"hunter2-not-a-real-password"}`, Opts: agentkit.Opts(followUp, support, customer)},
				}},
			},
		},
		{
			Who: instrumentation.Attribution{
				UserID: "bob", UserRoles: []string{"nurse"},
				ConversationID: "conv-2002", Model: "claude-sonnet-4",
				AgentName: "care-assistant", AgentID: "agent-12",
				SessionID: "sess-b7", ClientAddress: "198.51.100.23", UserAgent: "ward-tablet/5.1",
			},
			Turns: []agentkit.Turn{
				{Calls: []agentkit.Call{
					{ID: "call_ap1", Tool: "access_patient_record", Args: `{"patient_id":"P-1001"}`, Opts: agentkit.Opts(user, treatment, patient)},
					{ID: "call_di1", Tool: "check_drug_interactions", Args: `{"medications":["warfarin","ibuprofen"]}`, Opts: agentkit.Opts(proactive, treatment, patient)},
				}},
				{Calls: []agentkit.Call{
					// Nurses may not change a treatment plan: this call fails.
					{ID: "call_ut1", Tool: "update_treatment", Args: `{"patient_id":"P-1001","plan":"stop ibuprofen"}`, Opts: agentkit.Opts(user, treatment, patient)},
				}},
				{Calls: []agentkit.Call{
					{ID: "call_ap2", Tool: "access_patient_record", Args: `{"patient_id":"P-2002"}`, Opts: agentkit.Opts(user, treatment,
						instrumentation.WithSubject("patient", "P-2002"),
						instrumentation.WithBreakGlass("patient unresponsive in the ER, attending physician unavailable"))},
				}},
			},
		},
	}
}

// permissionError is a typed error: its error.type is its own name.
type permissionError struct{ role, action string }

func (e *permissionError) Error() string {
	return fmt.Sprintf("role %q may not %s: a physician must sign off", e.role, e.action)
}

func (*permissionError) ErrorType() string { return "permission_denied" }

// register adds the agent's tools, backed by in-memory data, to r.
func register(r *instrumentation.Registry) error {
	work := func() { time.Sleep(2 * time.Millisecond) } // a back-end round trip
	reg := []struct {
		tool instrumentation.Tool
		h    instrumentation.Handler
	}{
		{instrumentation.Tool{Name: "lookup_customer", Type: "datastore", Description: "Finds a customer by e-mail"},
			instrumentation.Typed(func(_ context.Context, a struct {
				Email string `json:"email"`
			}) (map[string]any, error) {
				work()
				return map[string]any{"customer_id": "C-4471", "name": "Jane Doe", "status": "active", "email": a.Email}, nil
			})},
		{instrumentation.Tool{Name: "get_order", Type: "datastore"},
			instrumentation.Typed(func(_ context.Context, a struct {
				OrderID string `json:"order_id"`
			}) (map[string]any, error) {
				work()
				return map[string]any{"order_id": a.OrderID, "customer_id": "C-4471", "status": "delivered", "total": 129.99,
					"items": []any{map[string]any{"sku": "KB-2", "name": "keyboard"}}}, nil
			})},
		{instrumentation.Tool{Name: "issue_refund", Type: "extension", Description: "Refunds an order to the original payment method"},
			instrumentation.Typed(func(_ context.Context, a struct {
				OrderID string  `json:"order_id"`
				Amount  float64 `json:"amount"`
				Reason  string  `json:"reason"`
			}) (map[string]any, error) {
				work()
				return map[string]any{"refund_id": "R-5521", "order_id": a.OrderID, "status": "issued", "amount": a.Amount}, nil
			})},
		{instrumentation.Tool{Name: "send_notification", Type: "extension"},
			instrumentation.Typed(func(_ context.Context, a struct {
				To       string `json:"to"`
				Template string `json:"template"`
			}) (map[string]any, error) {
				work()
				return map[string]any{"message_id": "M-301", "status": "queued"}, nil
			})},
		{instrumentation.Tool{Name: "access_patient_record", Type: "datastore", Description: "Reads a patient's chart"},
			instrumentation.Typed(func(_ context.Context, a struct {
				PatientID string `json:"patient_id"`
			}) (map[string]any, error) {
				work()
				return map[string]any{"patient_id": a.PatientID, "name": "(chart)", "allergies": []any{"penicillin"},
					"medications": []any{"warfarin", "ibuprofen"}}, nil
			})},
		{instrumentation.Tool{Name: "check_drug_interactions", Type: "extension"},
			instrumentation.Typed(func(_ context.Context, a struct {
				Medications []string `json:"medications"`
			}) (map[string]any, error) {
				work()
				return map[string]any{"status": "interaction_found", "interaction_count": 1,
					"detail": "warfarin + ibuprofen: bleeding risk"}, nil
			})},
		{instrumentation.Tool{Name: "update_treatment", Type: "extension"},
			instrumentation.Typed(func(ctx context.Context, a struct {
				PatientID string `json:"patient_id"`
				Plan      string `json:"plan"`
			}) (map[string]any, error) {
				work()
				role := ""
				if roles := instrumentation.AttributionFromContext(ctx).UserRoles; len(roles) > 0 {
					role = roles[0]
				}
				if role != "physician" {
					return nil, &permissionError{role: role, action: "change a treatment plan"}
				}
				return map[string]any{"patient_id": a.PatientID, "status": "updated"}, nil
			})},
	}
	for _, t := range reg {
		if err := r.Register(t.tool, t.h); err != nil {
			return err
		}
	}
	return nil
}
