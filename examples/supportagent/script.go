package main

import (
	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/instrumentation"
)

// Secrets the scripted model leaks into issue_refund's arguments, where
// the instrumentation's key-based masking cannot see them: a card number
// the customer read out, copied into a free-text note, and a payment
// gateway key inside a callback URL. otelcol-audit's auditredaction
// processor finds and masks both before Jaeger or the audit store sees the
// span; the end-to-end tests prove that neither arrives.
const (
	plantedCard     = "4111 1111 1111 1111"
	plantedCard2    = "5555-5555-5555-4444"
	plantedAPIKey   = "sk_live_51HdemoOtelaudit7Qx2vLk9Rr3"
	refundNote      = "customer read out card " + plantedCard + " for the refund"
	refundNote2     = "refund to card " + plantedCard2 + " (customer confirmed by phone)"
	refundCallback  = "https://hooks.shop.example/refunds?api_key=" + plantedAPIKey + "&order=O-5002"
	refundCallback2 = "https://hooks.shop.example/refunds?api_key=" + plantedAPIKey + "&order=O-5003"
)

// script returns the conversations the agent plays: three support
// representatives, four customers, five tools, one order that cannot be
// cancelled because it has shipped.
func script() []agentkit.Conversation {
	ask := instrumentation.WithTrigger(instrumentation.TriggerUserRequest)
	followUp := instrumentation.WithTrigger(instrumentation.TriggerFollowUp)
	proactive := instrumentation.WithTrigger(instrumentation.TriggerProactive)
	support := instrumentation.WithPurpose("support")
	customer := func(id string) instrumentation.CallOption { return instrumentation.WithSubject("customer", id) }
	agent := func(a instrumentation.Attribution) instrumentation.Attribution {
		a.AgentName, a.AgentID = "support-agent", "support-agent-eu-1"
		return a
	}
	return []agentkit.Conversation{
		{
			Who: agent(instrumentation.Attribution{
				UserID: "alice", UserRoles: []string{"support"}, ConversationID: "sup-1001", Model: "gpt-4o",
				SessionID: "sess-alice-1", ClientAddress: "203.0.113.7", UserAgent: "support-console/2.3",
			}),
			Turns: []agentkit.Turn{
				{Ask: "Jane Doe (jane.doe@example.com) wants to cancel her order O-5001.", Calls: []agentkit.Call{
					{ID: "call_s1_1", Tool: "get_customer", Args: `{"email":"jane.doe@example.com"}`, Opts: agentkit.Opts(ask, support)},
					{ID: "call_s1_2", Tool: "get_order", Args: `{"order_id":"O-5001"}`, Opts: agentkit.Opts(followUp, support, customer("C-1001"))},
					{ID: "call_s1_3", Tool: "update_order_status", Args: `{"order_id":"O-5001","status":"cancelled"}`, Opts: agentkit.Opts(ask, support, customer("C-1001"))},
				}},
			},
		},
		{
			Who: agent(instrumentation.Attribution{
				UserID: "bob", UserRoles: []string{"support"}, ConversationID: "sup-1002", Model: "claude-sonnet-4",
				SessionID: "sess-bob-7", ClientAddress: "198.51.100.23", UserAgent: "support-console/2.3",
			}),
			Turns: []agentkit.Turn{
				{Ask: "Cancel order O-5002, the customer changed their mind.", Calls: []agentkit.Call{
					{ID: "call_s2_1", Tool: "get_order", Args: `{"order_id":"O-5002"}`, Opts: agentkit.Opts(ask, support, customer("C-1002"))},
					// The order has shipped: the tool refuses, and the model
					// opens a return instead.
					{ID: "call_s2_2", Tool: "update_order_status", Args: `{"order_id":"O-5002","status":"cancelled"}`, Opts: agentkit.Opts(ask, support, customer("C-1002")),
						OnError: []agentkit.Call{
							{ID: "call_s2_3", Tool: "initiate_return", Args: `{"order_id":"O-5002","reason":"cancelled after shipment"}`, Opts: agentkit.Opts(followUp, support, customer("C-1002"))},
						}},
				}},
				{Ask: "The customer wants the money back on their card now.", Calls: []agentkit.Call{
					{ID: "call_s2_4", Tool: "issue_refund", Args: `{"order_id":"O-5002","amount":89.5,"currency":"EUR","reason":"cancelled after shipment",` +
						`"note":"` + refundNote + `","callback_url":"` + refundCallback + `"}`, Opts: agentkit.Opts(ask, support, customer("C-1002"))},
				}},
			},
		},
		{
			Who: agent(instrumentation.Attribution{
				UserID: "alice", UserRoles: []string{"support"}, ConversationID: "sup-1003", Model: "gpt-4o",
				SessionID: "sess-alice-2", ClientAddress: "203.0.113.7", UserAgent: "support-console/2.3",
			}),
			Turns: []agentkit.Turn{
				{Ask: "Ana Souza says her keyboard from O-5003 arrived broken.", Calls: []agentkit.Call{
					{ID: "call_s3_1", Tool: "get_customer", Args: `{"email":"ana.souza@example.org"}`, Opts: agentkit.Opts(ask, support)},
					{ID: "call_s3_2", Tool: "get_order", Args: `{"order_id":"O-5003"}`, Opts: agentkit.Opts(followUp, support, customer("C-1003"))},
					{ID: "call_s3_3", Tool: "initiate_return", Args: `{"order_id":"O-5003","reason":"arrived damaged"}`, Opts: agentkit.Opts(ask, support, customer("C-1003"))},
				}},
				{Ask: "Refund her in full.", Calls: []agentkit.Call{
					// The model asks for more than the order total first: the
					// tool refuses, the model corrects the amount.
					{ID: "call_s3_4", Tool: "issue_refund", Args: `{"order_id":"O-5003","amount":1299.9,"currency":"EUR","reason":"arrived damaged",` +
						`"note":"` + refundNote2 + `","callback_url":"` + refundCallback2 + `"}`, Opts: agentkit.Opts(ask, support, customer("C-1003")),
						OnError: []agentkit.Call{
							{ID: "call_s3_5", Tool: "issue_refund", Args: `{"order_id":"O-5003","amount":129.99,"currency":"EUR","reason":"arrived damaged",` +
								`"note":"` + refundNote2 + `","callback_url":"` + refundCallback2 + `"}`,
								Opts: agentkit.Opts(instrumentation.WithTrigger(instrumentation.TriggerRetry), support, customer("C-1003"))},
						}},
				}},
			},
		},
		{
			Who: agent(instrumentation.Attribution{
				UserID: "carol", UserRoles: []string{"support_lead", "support"}, ConversationID: "sup-1004", Model: "gpt-4o",
				SessionID: "sess-carol-3", ClientAddress: "192.0.2.44", UserAgent: "support-console/2.4",
			}),
			Turns: []agentkit.Turn{
				{Ask: "Any business orders still processing that need a hold?", Calls: []agentkit.Call{
					{ID: "call_s4_1", Tool: "get_customer", Args: `{"customer_id":"C-1004"}`, Opts: agentkit.Opts(ask, support)},
					{ID: "call_s4_2", Tool: "get_order", Args: `{"order_id":"O-5004"}`, Opts: agentkit.Opts(proactive, support, customer("C-1004"))},
					{ID: "call_s4_3", Tool: "update_order_status", Args: `{"order_id":"O-5004","status":"on_hold"}`, Opts: agentkit.Opts(followUp, support, customer("C-1004"))},
				}},
			},
		},
	}
}
