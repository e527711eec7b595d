package instrumentation_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// newExampleProvider returns a real SDK TracerProvider that records ended
// spans in memory, so that the examples can show what they produced. A
// program would use an OTLP exporter instead.
func newExampleProvider() (*sdktrace.TracerProvider, *tracetest.SpanRecorder) {
	sr := tracetest.NewSpanRecorder()
	return sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr)), sr
}

// printSpans prints each span's name, status and attributes (keys sorted),
// leaving out generated call ids.
func printSpans(sr *tracetest.SpanRecorder) {
	for _, s := range sr.Ended() {
		fmt.Printf("%s [%s]\n", s.Name(), s.Status().Code)
		attrs := slices.Clone(s.Attributes())
		slices.SortFunc(attrs, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
		for _, kv := range attrs {
			if kv.Key == "gen_ai.tool.call.id" && strings.HasPrefix(kv.Value.AsString(), "call_") && len(kv.Value.AsString()) == 37 {
				continue
			}
			fmt.Printf("  %s = %s\n", kv.Key, kv.Value.String())
		}
	}
}

func ExampleAuditor_Execute() {
	tp, sr := newExampleProvider()
	auditor, err := instrumentation.New(instrumentation.WithTracerProvider(tp))
	if err != nil {
		panic(err)
	}

	// Set once where it is known; it reaches every call below.
	ctx := instrumentation.WithAttribution(context.Background(), instrumentation.Attribution{
		UserID:         "u-17",
		UserRoles:      []string{"support"},
		ConversationID: "conv-1",
		TurnNumber:     2,
		Model:          "gpt-4o",
		AgentName:      "support-agent",
	})

	args := map[string]any{"order_id": "O-1001", "reason": "damaged", "api_key": "sk-live-123"}
	res, err := auditor.Execute(ctx, "issue_refund", args,
		func(ctx context.Context) (any, error) {
			return map[string]any{"refund_id": "R-7", "status": "issued", "ledger": []any{"..."}}, nil
		},
		instrumentation.WithToolCallID("call_42"),
		instrumentation.WithTrigger(instrumentation.TriggerUserRequest),
		instrumentation.WithPurpose("support"),
		instrumentation.WithSubject("customer", "C-9"),
	)
	fmt.Println(res.(map[string]any)["refund_id"], err)
	printSpans(sr)
	// Output:
	// R-7 <nil>
	// execute_tool issue_refund [Unset]
	//   audit.purpose = support
	//   audit.subject.id = C-9
	//   audit.subject.type = customer
	//   audit.trigger = user_request
	//   audit.turn_number = 2
	//   gen_ai.agent.name = support-agent
	//   gen_ai.conversation.id = conv-1
	//   gen_ai.operation.name = execute_tool
	//   gen_ai.request.model = gpt-4o
	//   gen_ai.tool.call.arguments = {"api_key":"***REDACTED***","order_id":"O-1001","reason":"damaged"}
	//   gen_ai.tool.call.id = call_42
	//   gen_ai.tool.call.result = {"success":true,"refund_id":"R-7","status":"issued"}
	//   gen_ai.tool.name = issue_refund
	//   gen_ai.tool.type = function
	//   user.id = u-17
	//   user.roles = ["support"]
}

func ExampleRun() {
	tp, sr := newExampleProvider()
	auditor, _ := instrumentation.New(instrumentation.WithTracerProvider(tp))

	type lookup struct {
		PatientID string `json:"patient_id"`
	}
	type record struct {
		PatientID string   `json:"patient_id"`
		Allergies []string `json:"allergies"`
	}
	ctx := instrumentation.WithUser(context.Background(), "dr-house", "physician")
	rec, err := instrumentation.Run(ctx, auditor, "access_patient_record", lookup{PatientID: "P-1001"},
		func(ctx context.Context, in lookup) (record, error) {
			return record{PatientID: in.PatientID, Allergies: []string{"penicillin"}}, nil
		},
		instrumentation.WithPurpose("treatment"),
		instrumentation.WithSubject("patient", "P-1001"),
		instrumentation.WithBreakGlass("emergency admission"),
	)
	fmt.Println(rec.Allergies, err)
	printSpans(sr)
	// Output:
	// [penicillin] <nil>
	// execute_tool access_patient_record [Unset]
	//   audit.break_glass = true
	//   audit.break_glass.reason = emergency admission
	//   audit.purpose = treatment
	//   audit.subject.id = P-1001
	//   audit.subject.type = patient
	//   gen_ai.operation.name = execute_tool
	//   gen_ai.tool.call.arguments = {"patient_id":"P-1001"}
	//   gen_ai.tool.call.result = {"success":true,"patient_id":"P-1001"}
	//   gen_ai.tool.name = access_patient_record
	//   gen_ai.tool.type = function
	//   user.id = dr-house
	//   user.roles = ["physician"]
}

func ExampleRegistry() {
	tp, sr := newExampleProvider()
	auditor, _ := instrumentation.New(instrumentation.WithTracerProvider(tp))
	tools := auditor.NewRegistry()

	type orderArgs struct {
		OrderID string `json:"order_id"`
	}
	err := tools.Register(instrumentation.Tool{Name: "get_order", Description: "Looks up an order"},
		instrumentation.Typed(func(ctx context.Context, a orderArgs) (map[string]any, error) {
			if a.OrderID == "" {
				return nil, errors.New("order_id is required")
			}
			return map[string]any{"order_id": a.OrderID, "status": "shipped", "items": 3}, nil
		}))
	if err != nil {
		panic(err)
	}

	// Tool calls as a model sends them: a name and JSON arguments.
	calls := []struct{ name, args string }{
		{"get_order", `{"order_id": "O-1"}`},
		{"get_order", `{"order_id": `},
		{"cancel_everything", `{}`},
	}
	for i, c := range calls {
		_, err := tools.Execute(context.Background(), c.name, json.RawMessage(c.args),
			instrumentation.WithToolCallID(fmt.Sprint("call_", i)))
		fmt.Println("error:", err)
	}
	printSpans(sr)
	// Output:
	// error: <nil>
	// error: instrumentation: tool "get_order": invalid arguments: invalid JSON at offset 13: unexpected end of input
	// error: instrumentation: unknown tool "cancel_everything"
	// execute_tool get_order [Unset]
	//   gen_ai.operation.name = execute_tool
	//   gen_ai.tool.call.arguments = {"order_id":"O-1"}
	//   gen_ai.tool.call.id = call_0
	//   gen_ai.tool.call.result = {"success":true,"order_id":"O-1","status":"shipped"}
	//   gen_ai.tool.description = Looks up an order
	//   gen_ai.tool.name = get_order
	//   gen_ai.tool.type = function
	// execute_tool get_order [Error]
	//   error.type = invalid_arguments
	//   gen_ai.operation.name = execute_tool
	//   gen_ai.tool.call.arguments = {"_invalid_json":"invalid JSON at offset 13: unexpected end of input","_size":13}
	//   gen_ai.tool.call.id = call_1
	//   gen_ai.tool.call.result = {"success":false,"error":"instrumentation: tool \"get_order\": invalid arguments: invalid JSON at offset 13: unexpected end of input"}
	//   gen_ai.tool.description = Looks up an order
	//   gen_ai.tool.name = get_order
	//   gen_ai.tool.type = function
	// execute_tool cancel_everything [Error]
	//   error.type = unknown_tool
	//   gen_ai.operation.name = execute_tool
	//   gen_ai.tool.call.arguments = {}
	//   gen_ai.tool.call.id = call_2
	//   gen_ai.tool.call.result = {"success":false,"error":"instrumentation: unknown tool \"cancel_everything\""}
	//   gen_ai.tool.name = cancel_everything
	//   gen_ai.tool.type = function
}

func ExampleAuditor_Start() {
	tp, sr := newExampleProvider()
	auditor, _ := instrumentation.New(instrumentation.WithTracerProvider(tp))

	// For work that does not fit a callback, such as a streamed result.
	ctx, call := auditor.Start(context.Background(), "export_report", map[string]any{"report_id": "Q3"},
		instrumentation.WithToolCallID("call_7"), instrumentation.WithTrigger(instrumentation.TriggerSystem))
	_ = ctx // pass ctx to the work, so that its spans are children of the call
	call.End(nil, errors.New("storage quota exceeded"))
	printSpans(sr)
	// Output:
	// execute_tool export_report [Error]
	//   audit.trigger = system
	//   error.type = *errors.errorString
	//   gen_ai.operation.name = execute_tool
	//   gen_ai.tool.call.arguments = {"report_id":"Q3"}
	//   gen_ai.tool.call.id = call_7
	//   gen_ai.tool.call.result = {"success":false,"error":"storage quota exceeded"}
	//   gen_ai.tool.name = export_report
	//   gen_ai.tool.type = function
}

func ExampleWithTools() {
	tp, sr := newExampleProvider()
	auditor, _ := instrumentation.New(
		instrumentation.WithTracerProvider(tp),
		instrumentation.WithSensitiveKeys("mrn"),
		instrumentation.WithTools(
			// Free-text notes are not recorded at all.
			instrumentation.Tool{Name: "write_note", Arguments: instrumentation.CaptureOff},
			// Small, non-sensitive results are recorded in full.
			instrumentation.Tool{Name: "get_weather", Type: "extension", Result: instrumentation.CaptureFull},
		),
	)
	ctx := context.Background()
	_, _ = auditor.Execute(ctx, "write_note", map[string]any{"text": "patient reports ..."},
		func(context.Context) (any, error) { return map[string]any{"note_id": "N-1"}, nil },
		instrumentation.WithToolCallID("call_1"))
	_, _ = auditor.Execute(ctx, "get_weather", `{"city":"Paris","mrn":"123"}`,
		func(context.Context) (any, error) { return map[string]any{"temp_c": 21, "sky": "clear"}, nil },
		instrumentation.WithToolCallID("call_2"))
	printSpans(sr)
	// Output:
	// execute_tool write_note [Unset]
	//   gen_ai.operation.name = execute_tool
	//   gen_ai.tool.call.id = call_1
	//   gen_ai.tool.call.result = {"success":true,"note_id":"N-1"}
	//   gen_ai.tool.name = write_note
	//   gen_ai.tool.type = function
	// execute_tool get_weather [Unset]
	//   gen_ai.operation.name = execute_tool
	//   gen_ai.tool.call.arguments = {"city":"Paris","mrn":"***REDACTED***"}
	//   gen_ai.tool.call.id = call_2
	//   gen_ai.tool.call.result = {"sky":"clear","temp_c":21}
	//   gen_ai.tool.name = get_weather
	//   gen_ai.tool.type = extension
}

func ExampleWithAttribution() {
	// An HTTP middleware knows the user and session...
	ctx := instrumentation.WithAttribution(context.Background(), instrumentation.Attribution{
		UserID:        "u-1",
		UserRoles:     []string{"analyst"},
		SessionID:     "s-1",
		ClientAddress: "203.0.113.5",
	})
	// ...and the agent loop the conversation, turn and model.
	ctx = instrumentation.WithConversation(ctx, "conv-9")
	ctx = instrumentation.WithTurn(ctx, 1)
	ctx = instrumentation.WithModel(ctx, "claude-sonnet")

	a := instrumentation.AttributionFromContext(ctx)
	fmt.Println(a.UserID, a.UserRoles, a.SessionID, a.ConversationID, a.TurnNumber, a.Model)
	// Output:
	// u-1 [analyst] s-1 conv-9 1 claude-sonnet
}
