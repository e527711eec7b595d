package main

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// conversation is a scripted exchange between one user and the agent.
type conversation struct {
	attribution instrumentation.Attribution
	turns       [][]toolCall
}

// toolCall is a call as a model emits it: a name, an id and JSON arguments.
type toolCall struct {
	id   string
	tool string
	args string
	opts []instrumentation.CallOption
}

// script returns the two conversations the agent plays.
func script() []conversation {
	user := instrumentation.WithTrigger(instrumentation.TriggerUserRequest)
	followUp := instrumentation.WithTrigger(instrumentation.TriggerFollowUp)
	proactive := instrumentation.WithTrigger(instrumentation.TriggerProactive)
	support := instrumentation.WithPurpose("support")
	customer := instrumentation.WithSubject("customer", "C-4471")
	treatment := instrumentation.WithPurpose("treatment")
	patient := instrumentation.WithSubject("patient", "P-1001")
	return []conversation{
		{
			attribution: instrumentation.Attribution{
				UserID: "alice", UserRoles: []string{"support"},
				ConversationID: "conv-1001", Model: "gpt-4o",
				AgentName: "support-agent", AgentID: "agent-7",
				SessionID: "sess-a1", ClientAddress: "203.0.113.7", UserAgent: "support-console/2.3",
			},
			turns: [][]toolCall{
				{
					{"call_lc1", "lookup_customer", `{"email":"jane.doe@example.com"}`, opts(user, support)},
					{"call_go1", "get_order", `{"order_id":"O-88231"}`, opts(followUp, support, customer)},
				},
				{
					{"call_ir1", "issue_refund", `{"order_id":"O-88231","amount":129.99,"reason":"arrived damaged"}`, opts(user, support, customer)},
					// The model copied a credential into the arguments: it is
					// masked before the span leaves the process.
					{"call_sn1", "send_notification", `{"to":"jane.doe@example.com","template":"refund_issued","smtp_password":"hunter2-not-a-real-password"}`, opts(followUp, support, customer)},
				},
			},
		},
		{
			attribution: instrumentation.Attribution{
				UserID: "bob", UserRoles: []string{"nurse"},
				ConversationID: "conv-2002", Model: "claude-sonnet-4",
				AgentName: "care-assistant", AgentID: "agent-12",
				SessionID: "sess-b7", ClientAddress: "198.51.100.23", UserAgent: "ward-tablet/5.1",
			},
			turns: [][]toolCall{
				{
					{"call_ap1", "access_patient_record", `{"patient_id":"P-1001"}`, opts(user, treatment, patient)},
					{"call_di1", "check_drug_interactions", `{"medications":["warfarin","ibuprofen"]}`, opts(proactive, treatment, patient)},
				},
				{
					// Nurses may not change a treatment plan: this call fails.
					{"call_ut1", "update_treatment", `{"patient_id":"P-1001","plan":"stop ibuprofen"}`, opts(user, treatment, patient)},
				},
				{
					{"call_ap2", "access_patient_record", `{"patient_id":"P-2002"}`, opts(user, treatment,
						instrumentation.WithSubject("patient", "P-2002"),
						instrumentation.WithBreakGlass("patient unresponsive in the ER, attending physician unavailable"))},
				},
			},
		},
	}
}

func opts(o ...instrumentation.CallOption) []instrumentation.CallOption { return o }

// playScript plays every conversation: each turn is an invoke_agent span
// whose tool calls are execute_tool spans. It returns the number of tool
// calls; a failed call is part of the script, not an error.
func playScript(ctx context.Context, auditor *instrumentation.Auditor, tracer trace.Tracer) (int, error) {
	tools, err := registerTools(auditor)
	if err != nil {
		return 0, err
	}
	calls := 0
	for _, conv := range script() {
		cctx := instrumentation.WithAttribution(ctx, conv.attribution)
		for i, turn := range conv.turns {
			tctx := instrumentation.WithTurn(cctx, i+1)
			tctx, span := tracer.Start(tctx, "invoke_agent "+conv.attribution.AgentName,
				trace.WithAttributes(
					semconv.GenAIOperationNameInvokeAgent,
					semconv.GenAIAgentName(conv.attribution.AgentName),
					semconv.GenAIConversationID(conv.attribution.ConversationID),
					attribute.Int(attrkey.TurnNumber, i+1),
				))
			for _, c := range turn {
				if err := ctx.Err(); err != nil {
					span.End()
					return calls, err
				}
				_, _ = tools.Execute(tctx, c.tool, []byte(c.args), append(c.opts, instrumentation.WithToolCallID(c.id))...)
				calls++
			}
			span.End()
		}
	}
	return calls, nil
}

// permissionError is a typed error: its error.type is its own name.
type permissionError struct{ role, action string }

func (e *permissionError) Error() string {
	return fmt.Sprintf("role %q may not %s: a physician must sign off", e.role, e.action)
}

func (*permissionError) ErrorType() string { return "permission_denied" }

// registerTools registers the agent's tools, backed by in-memory data.
func registerTools(a *instrumentation.Auditor) (*instrumentation.Registry, error) {
	r := a.NewRegistry()
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
			return nil, err
		}
	}
	return r, nil
}
