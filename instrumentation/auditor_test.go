package instrumentation

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

func fullContext() context.Context {
	ctx := WithAttribution(context.Background(), Attribution{
		UserID:         "u-42",
		UserRoles:      []string{"nurse", "oncall"},
		ConversationID: "conv-7",
		TurnNumber:     3,
		Model:          "gpt-test",
		AgentName:      "care-agent",
		AgentID:        "agent-1",
		SessionID:      "sess-9",
		ClientAddress:  "192.0.2.10",
		UserAgent:      "curl/8.0",
	})
	return ctx
}

func TestExecuteRecordsEveryAttribute(t *testing.T) {
	r := newRecorder(t)
	ctx, parent := r.tp.Tracer("test").Start(fullContext(), "agent turn")
	var inner trace.SpanContext
	args := map[string]any{"patient_id": "P-1001", "fields": []any{"allergies"}, "api_key": "sk-live-123"}
	res, err := r.Execute(ctx, "get_patient_record", args, func(ctx context.Context) (any, error) {
		inner = trace.SpanContextFromContext(ctx)
		return map[string]any{"patient_id": "P-1001", "status": "found", "record": map[string]any{"allergies": "none"}}, nil
	},
		WithTrigger(TriggerUserRequest),
		WithPurpose("treatment"),
		WithSubject("patient", "P-1001"),
		WithBreakGlass("cardiac arrest, attending unavailable"),
		WithToolCallID("call_abc"),
		WithAttributes(attribute.String("mcp.method.name", "tools/call")),
	)
	parent.End()
	if err != nil || res.(map[string]any)["status"] != "found" {
		t.Fatalf("Execute = %v, %v", res, err)
	}
	spans := r.sr.Ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the tool span and its parent", len(spans))
	}
	s := spans[0]
	if s.Name() != "execute_tool get_patient_record" {
		t.Errorf("name = %q", s.Name())
	}
	if s.SpanKind() != trace.SpanKindInternal {
		t.Errorf("kind = %v, want internal", s.SpanKind())
	}
	if s.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("the tool span is not a child of the context's span")
	}
	if inner.SpanID() != s.SpanContext().SpanID() {
		t.Error("the handler's context does not hold the tool span")
	}
	scope := s.InstrumentationScope()
	if scope.Name != ScopeName || scope.Version != Version() || scope.SchemaURL != semconv.SchemaURL {
		t.Errorf("scope = %+v", scope)
	}
	if s.Status().Code != codes.Unset {
		t.Errorf("status = %+v, want unset", s.Status())
	}

	want := map[string]attribute.Value{
		attrkey.GenAIOperationName:  attribute.StringValue("execute_tool"),
		attrkey.GenAIToolName:       attribute.StringValue("get_patient_record"),
		attrkey.GenAIToolCallID:     attribute.StringValue("call_abc"),
		attrkey.GenAIToolType:       attribute.StringValue("function"),
		attrkey.GenAIToolCallArgs:   attribute.StringValue(`{"api_key":"***REDACTED***","fields":["allergies"],"patient_id":"P-1001"}`),
		attrkey.GenAIToolCallResult: attribute.StringValue(`{"success":true,"patient_id":"P-1001","status":"found"}`),
		attrkey.GenAIConversationID: attribute.StringValue("conv-7"),
		attrkey.TurnNumber:          attribute.IntValue(3),
		attrkey.GenAIRequestModel:   attribute.StringValue("gpt-test"),
		attrkey.GenAIAgentName:      attribute.StringValue("care-agent"),
		attrkey.GenAIAgentID:        attribute.StringValue("agent-1"),
		attrkey.UserID:              attribute.StringValue("u-42"),
		attrkey.UserRoles:           attribute.StringSliceValue([]string{"nurse", "oncall"}),
		attrkey.SessionID:           attribute.StringValue("sess-9"),
		attrkey.ClientAddress:       attribute.StringValue("192.0.2.10"),
		attrkey.UserAgentOriginal:   attribute.StringValue("curl/8.0"),
		attrkey.Trigger:             attribute.StringValue("user_request"),
		attrkey.Purpose:             attribute.StringValue("treatment"),
		attrkey.SubjectType:         attribute.StringValue("patient"),
		attrkey.SubjectID:           attribute.StringValue("P-1001"),
		attrkey.BreakGlass:          attribute.BoolValue(true),
		attrkey.BreakGlassReason:    attribute.StringValue("cardiac arrest, attending unavailable"),
		"mcp.method.name":           attribute.StringValue("tools/call"),
	}
	got := attrMap(s)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %s, want %s", k, got[k].String(), v.String())
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected attribute %s = %s", k, v.String())
		}
	}
	if s.DroppedAttributes() != 0 {
		t.Errorf("%d attributes dropped", s.DroppedAttributes())
	}
}

func TestMinimalCallRecordsOnlyWhatIsKnown(t *testing.T) {
	r := newRecorder(t)
	if _, err := r.Execute(context.Background(), "ping", nil, func(context.Context) (any, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	s := r.only(t)
	absent(t, s, attrkey.GenAIToolCallArgs, attrkey.GenAIConversationID, attrkey.TurnNumber, attrkey.UserID,
		attrkey.UserRoles, attrkey.Trigger, attrkey.Purpose, attrkey.SubjectType, attrkey.BreakGlass,
		attrkey.BreakGlassReason, attrkey.ErrorType, attrkey.GenAIToolDescription)
	if got := str(t, s, attrkey.GenAIToolCallResult); got != `{"success":true}` {
		t.Errorf("result = %s", got)
	}
	if id := str(t, s, attrkey.GenAIToolCallID); !regexp.MustCompile(`^call_[0-9a-f]{32}$`).MatchString(id) {
		t.Errorf("generated call id %q", id)
	}
}

type quotaError struct{ left int }

func (e *quotaError) Error() string     { return fmt.Sprintf("quota exceeded, %d left", e.left) }
func (e *quotaError) ErrorType() string { return "quota_exceeded" }

type plainError struct{}

func (plainError) Error() string { return "plain failure" }

func TestExecuteError(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantType string
	}{
		{"typed error", &quotaError{left: 0}, "quota_exceeded"},
		{"wrapped typed error", fmt.Errorf("charge: %w", &quotaError{}), "quota_exceeded"},
		{"named type", plainError{}, "github.com/otelaudit/otelaudit/instrumentation.plainError"},
		{"wrapped named type", fmt.Errorf("ctx: %w", plainError{}), "github.com/otelaudit/otelaudit/instrumentation.plainError"},
		{"errors.New", errors.New("boom"), "*errors.errorString"},
		{"fs error", &fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, "*fs.PathError"},
		{"context", context.DeadlineExceeded, "context.deadlineExceededError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			res, err := r.Execute(context.Background(), "charge_payment", map[string]any{"amount": 5},
				func(context.Context) (any, error) { return map[string]any{"payment_id": "pay-1"}, tt.err })
			if err != tt.err {
				t.Errorf("returned error %v, want %v", err, tt.err)
			}
			if res.(map[string]any)["payment_id"] != "pay-1" {
				t.Errorf("result %v not returned", res)
			}
			s := r.only(t)
			if s.Status().Code != codes.Error || s.Status().Description != tt.err.Error() {
				t.Errorf("status = %+v, want Error %q", s.Status(), tt.err.Error())
			}
			if got := str(t, s, attrkey.ErrorType); got != tt.wantType {
				t.Errorf("error.type = %q, want %q", got, tt.wantType)
			}
			res2 := jsonAttr(t, s, attrkey.GenAIToolCallResult)
			if res2["success"] != false || res2["error"] != tt.err.Error() || res2["payment_id"] != "pay-1" {
				t.Errorf("result summary = %v", res2)
			}
		})
	}
}

type nilUnsafeError struct{ msg string }

func (e *nilUnsafeError) Error() string     { return e.msg }
func (e *nilUnsafeError) ErrorType() string { return e.msg }

func TestTypedNilError(t *testing.T) {
	r := newRecorder(t)
	var typedNil *nilUnsafeError
	_, err := r.Execute(context.Background(), "t", nil, func(context.Context) (any, error) { return nil, typedNil })
	if err == nil {
		t.Fatal("the typed nil error was not returned")
	}
	s := r.only(t)
	want := "*instrumentation.nilUnsafeError"
	if s.Status().Code != codes.Error || !strings.HasPrefix(s.Status().Description, want+" (Error method panicked") {
		t.Errorf("status = %+v", s.Status())
	}
	if got := str(t, s, attrkey.ErrorType); got != want {
		t.Errorf("error.type = %q, want %q", got, want)
	}
}

func TestErrorMessageBounded(t *testing.T) {
	r := newRecorder(t)
	msg := strings.Repeat("é", 5000) + "\xff"
	_, _ = r.Execute(context.Background(), "t", nil, func(context.Context) (any, error) { return nil, errors.New(msg) })
	st := r.only(t).Status()
	if len(st.Description) > maxStatusBytes || !strings.HasPrefix(st.Description, "ééé") || !utf8Valid(st.Description) {
		t.Errorf("status description of %d bytes, valid UTF-8 %v", len(st.Description), utf8Valid(st.Description))
	}
}

func TestExecutePanic(t *testing.T) {
	for _, value := range []any{"boom", errors.New("bad state"), 42} {
		t.Run(fmt.Sprint(value), func(t *testing.T) {
			r := newRecorder(t)
			var recovered any
			func() {
				defer func() { recovered = recover() }()
				_, _ = r.Execute(context.Background(), "explode", map[string]any{"x": 1}, func(context.Context) (any, error) {
					panic(value)
				})
				t.Error("Execute returned after a panic")
			}()
			if recovered != value {
				t.Fatalf("re-raised %v, want %v", recovered, value)
			}
			s := r.only(t)
			wantMsg := fmt.Sprint(value)
			if s.Status().Code != codes.Error || s.Status().Description != "panic: "+wantMsg {
				t.Errorf("status = %+v", s.Status())
			}
			if got := str(t, s, attrkey.ErrorType); got != "panic" {
				t.Errorf("error.type = %q", got)
			}
			res := jsonAttr(t, s, attrkey.GenAIToolCallResult)
			if res["success"] != false || res["error"] != "panic: "+wantMsg || len(res) != 2 {
				// Nothing was cut: no "_truncated" marker.
				t.Errorf("result = %v, want success and error only", res)
			}
			events := s.Events()
			if len(events) != 1 || events[0].Name != "exception" {
				t.Fatalf("events = %+v, want one exception", events)
			}
			ev := map[string]string{}
			for _, kv := range events[0].Attributes {
				ev[string(kv.Key)] = kv.Value.AsString()
			}
			if ev["exception.type"] != typeName(value) || ev["exception.message"] != wantMsg {
				t.Errorf("exception attributes = %v", ev)
			}
			if !strings.Contains(ev["exception.stacktrace"], "TestExecutePanic") {
				t.Errorf("stack trace does not show the panicking function:\n%s", ev["exception.stacktrace"])
			}
		})
	}
}

// TestPanicFlushes checks that a panicking call's span, and the spans a
// batching processor held before it, are exported before the panic goes
// on: a panic nothing recovers ends the process without main's deferred
// Shutdown.
func TestPanicFlushes(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts []Option
		want int
	}{
		{"default", nil, 3},
		{"off", []Option{WithPanicFlushTimeout(0)}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			// A batch timeout no test waits for: only a flush exports.
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp, sdktrace.WithBatchTimeout(time.Hour)))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			a, err := New(append([]Option{WithTracerProvider(tp)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			for range 2 {
				_, _ = a.Execute(context.Background(), "ok", nil, noop)
			}
			exported := -1
			func() {
				defer func() {
					_ = recover()
					exported = len(exp.GetSpans())
				}()
				_, _ = a.Execute(context.Background(), "explode", nil, func(context.Context) (any, error) { panic("boom") })
			}()
			if exported != tt.want {
				t.Errorf("%d spans exported when the panic left Execute, want %d", exported, tt.want)
			}
		})
	}
}

// body is a named []byte, as SDKs declare request bodies.
type body []byte

// hexBytes is a named []byte with a MarshalJSON of its own, which is used.
type hexBytes []byte

func (h hexBytes) MarshalJSON() ([]byte, error) {
	return []byte(`"hex:` + hex.EncodeToString(h) + `"`), nil
}

// TestBytesForms checks the other shapes []byte arguments come in.
func TestBytesForms(t *testing.T) {
	sec := []byte(`{"password":"hunter2","card_number":"4111111111111111"}`)
	const masked = `{"password":"***REDACTED***","card_number":"***REDACTED***"}`
	tests := []struct {
		name string
		args any
		want string
	}{
		{"named []byte", body(sec), masked},
		{"pointer to []byte", &sec, masked},
		{"pointer to named []byte", func() *body { b := body(sec); return &b }(), masked},
		{"byte order mark", append([]byte("\xef\xbb\xbf"), sec...), masked},
		{"string with byte order mark", "\ufeff" + string(sec), masked},
		{"named []byte, text", body("plain text"), `"plain text"`},
		{"in a map", map[string]any{"b": body(sec), "p": &sec}, `{"b":` + masked + `,"p":` + masked + `}`},
		{"own MarshalJSON", hexBytes{1, 2}, `"hex:0102"`},
		{"nil pointer", (*[]byte)(nil), `null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t)
			_, _ = r.Execute(context.Background(), "charge", tt.args, noop)
			if got := str(t, r.only(t), attrkey.GenAIToolCallArgs); got != tt.want {
				t.Errorf("arguments = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestBytesArguments checks that []byte arguments and results are recorded
// as the JSON or text they hold, masked, and never as base64, in which no
// key or detector would find a secret.
func TestBytesArguments(t *testing.T) {
	const card, pw = "4111111111111111", "hunter2"
	tests := []struct {
		name string
		args []byte
		want string
	}{
		{"JSON object", []byte(`{"card_number":"` + card + `","password":"` + pw + `","amount":3}`),
			`{"card_number":"***REDACTED***","password":"***REDACTED***","amount":3}`},
		{"JSON array", []byte(` [{"token":"` + pw + `"}]`), `[{"token":"***REDACTED***"}]`},
		{"text", []byte("charge " + card), `"charge ` + card + `"`},
		{"binary", []byte{0xde, 0xad, 0xbe, 0xef}, `"[binary 4 bytes]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t, WithResultCapture(CaptureFull))
			_, _ = r.Execute(context.Background(), "charge", tt.args, func(context.Context) (any, error) {
				return map[string]any{"body": tt.args}, nil
			})
			s := r.only(t)
			if got := str(t, s, attrkey.GenAIToolCallArgs); got != tt.want {
				t.Errorf("arguments = %s, want %s", got, tt.want)
			}
			if got, want := str(t, s, attrkey.GenAIToolCallResult), `{"body":`+tt.want+`}`; got != want {
				t.Errorf("result = %s, want %s", got, want)
			}
			for _, kv := range s.Attributes() {
				v := kv.Value.String()
				if strings.Contains(v, base64.StdEncoding.EncodeToString(tt.args)[:8]) {
					t.Errorf("%s holds the base64 of the bytes: %s", kv.Key, v)
				}
				if tt.name != "text" && strings.Contains(v, pw) {
					t.Errorf("%s holds the password: %s", kv.Key, v)
				}
			}
		})
	}
}

func TestExecuteGoexit(t *testing.T) {
	r := newRecorder(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = r.Execute(context.Background(), "quit", nil, func(context.Context) (any, error) {
			runtime.Goexit()
			return nil, nil
		})
	}()
	<-done
	s := r.only(t)
	if s.Status().Code != codes.Error || str(t, s, attrkey.ErrorType) != "aborted" {
		t.Errorf("status = %+v, error.type = %q", s.Status(), str(t, s, attrkey.ErrorType))
	}
}

func TestInvalidCalls(t *testing.T) {
	r := newRecorder(t)
	ran := false
	_, err := r.Execute(context.Background(), "", nil, func(context.Context) (any, error) { ran = true; return nil, nil })
	if !errors.Is(err, ErrNoToolName) || ran {
		t.Errorf("empty name: err = %v, ran = %v", err, ran)
	}
	//lint:ignore SA1012 a nil context must not crash
	_, err = r.Execute(nil, "t", nil, nil)
	if !errors.Is(err, ErrNilHandler) {
		t.Errorf("nil handler: err = %v", err)
	}
	_, err = Run[int, int](context.Background(), r.Auditor, "typed", 1, nil)
	if !errors.Is(err, ErrNilHandler) {
		t.Errorf("Run nil handler: err = %v", err)
	}
	spans := r.sr.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	if spans[0].Name() != "execute_tool" || spans[1].Name() != "execute_tool t" {
		t.Errorf("names %q, %q", spans[0].Name(), spans[1].Name())
	}
	// An empty name is not known: nothing empty is written.
	absent(t, spans[0], attrkey.GenAIToolName)
	for _, s := range spans {
		if s.Status().Code != codes.Error || str(t, s, attrkey.ErrorType) != "invalid_call" {
			t.Errorf("span %q: status %+v", s.Name(), s.Status())
		}
	}
}

func TestNilAuditorRunsHandlers(t *testing.T) {
	var a *Auditor
	res, err := a.Execute(context.Background(), "t", nil, func(context.Context) (any, error) { return 7, nil })
	if res != 7 || err != nil {
		t.Errorf("Execute = %v, %v", res, err)
	}
	n, err := Run(context.Background(), a, "t", 2, func(_ context.Context, x int) (int, error) { return x * 2, nil })
	if n != 4 || err != nil {
		t.Errorf("Run = %v, %v", n, err)
	}
	ctx, call := a.Start(context.Background(), "t", nil)
	call.End(nil, nil)
	call.EndPanic("x")
	if ctx == nil || call.ID() != "" {
		t.Error("nil Auditor Start")
	}
	reg := a.NewRegistry()
	if err := reg.Register(Tool{Name: "echo"}, func(_ context.Context, args json.RawMessage) (any, error) { return string(args), nil }); err != nil {
		t.Fatal(err)
	}
	if res, err := reg.Execute(context.Background(), "echo", json.RawMessage(`{"a":1}`)); res != `{"a":1}` || err != nil {
		t.Errorf("nil Auditor registry = %v, %v", res, err)
	}
	if _, err := reg.Execute(context.Background(), "", nil); !errors.Is(err, ErrNoToolName) {
		t.Errorf("nil Auditor registry, empty name: err = %v, want ErrNoToolName", err)
	}
	var ute *UnknownToolError
	if _, err := reg.Execute(context.Background(), "nope", nil); !errors.As(err, &ute) || ute.Name != "nope" {
		t.Errorf("nil Auditor registry, unknown tool: err = %v", err)
	}
}

func TestRunTyped(t *testing.T) {
	type args struct {
		OrderID string `json:"order_id"`
		Token   string `json:"token"`
	}
	type refund struct {
		RefundID string  `json:"refund_id"`
		Status   string  `json:"status"`
		Amount   float64 `json:"amount"`
	}
	r := newRecorder(t)
	got, err := Run(context.Background(), r.Auditor, "issue_refund", args{OrderID: "O-1", Token: "t0k"},
		func(_ context.Context, a args) (refund, error) {
			return refund{RefundID: "R-" + a.OrderID, Status: "issued", Amount: 12.5}, nil
		})
	if err != nil || got.RefundID != "R-O-1" {
		t.Fatalf("Run = %+v, %v", got, err)
	}
	s := r.only(t)
	if a := str(t, s, attrkey.GenAIToolCallArgs); a != `{"order_id":"O-1","token":"***REDACTED***"}` {
		t.Errorf("arguments = %s", a)
	}
	if res := str(t, s, attrkey.GenAIToolCallResult); res != `{"success":true,"refund_id":"R-O-1","status":"issued"}` {
		t.Errorf("result = %s", res)
	}
}

func TestStartEnd(t *testing.T) {
	r := newRecorder(t)
	ctx, call := r.Start(context.Background(), "stream_report", map[string]any{"report_id": "r1"}, WithToolCallID("call_1"))
	if call.ID() != "call_1" {
		t.Errorf("ID = %q", call.ID())
	}
	if !trace.SpanContextFromContext(ctx).IsValid() {
		t.Error("Start did not return the span's context")
	}
	if len(r.sr.Ended()) != 0 {
		t.Fatal("span ended before End")
	}
	if started := r.sr.Started(); len(started) != 1 || started[0].SpanContext().SpanID() != trace.SpanContextFromContext(ctx).SpanID() {
		t.Error("the returned context does not hold the started span")
	}
	call.End(map[string]any{"report_id": "r1", "rows": 3}, nil)
	call.End(nil, errors.New("second end"))
	call.EndPanic("third end")
	s := r.only(t)
	if s.Status().Code != codes.Unset || str(t, s, attrkey.GenAIToolCallResult) != `{"success":true,"report_id":"r1"}` {
		t.Errorf("status %+v, result %s", s.Status(), str(t, s, attrkey.GenAIToolCallResult))
	}

	r2 := newRecorder(t)
	_, call = r2.Start(context.Background(), "p", nil)
	func() {
		defer func() {
			if v := recover(); v != nil {
				call.EndPanic(v)
			}
		}()
		panic("manual")
	}()
	if s := r2.only(t); str(t, s, attrkey.ErrorType) != "panic" || len(s.Events()) != 1 {
		t.Errorf("EndPanic: error.type %q, %d events", str(t, s, attrkey.ErrorType), len(s.Events()))
	}
}

func TestCallIDsAreUnique(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		var b [callIDLen]byte
		newCallID(&b)
		id := string(b[:])
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
}

func TestToolTypeAndDescription(t *testing.T) {
	r := newRecorder(t, WithTools(Tool{Name: "search_kb", Type: "datastore", Description: "Searches the knowledge base"}))
	fn := func(context.Context) (any, error) { return nil, nil }
	_, _ = r.Execute(context.Background(), "search_kb", nil, fn)
	_, _ = r.Execute(context.Background(), "search_kb", nil, fn, WithToolType("extension"))
	spans := r.sr.Ended()
	if str(t, spans[0], attrkey.GenAIToolType) != "datastore" || str(t, spans[0], attrkey.GenAIToolDescription) != "Searches the knowledge base" {
		t.Errorf("declared tool: %v", attrMap(spans[0]))
	}
	if str(t, spans[1], attrkey.GenAIToolType) != "extension" {
		t.Errorf("WithToolType: %v", attrMap(spans[1]))
	}
}

func TestHostileNamesAndValues(t *testing.T) {
	r := newRecorder(t)
	name := "bad\xffname" + strings.Repeat("n", 1000)
	ctx := WithUser(context.Background(), "u\xfe", "r\xfd")
	_, _ = r.Execute(ctx, name, nil, func(context.Context) (any, error) { return nil, nil },
		WithPurpose("p\xff"), WithToolCallID("id\xff"), WithTrigger("t\xff"), WithSubject("s\xff", "i\xff"))
	s := r.only(t)
	if !utf8Valid(s.Name()) || len(s.Name()) > len("execute_tool ")+maxNameBytes {
		t.Errorf("span name %d bytes, valid %v", len(s.Name()), utf8Valid(s.Name()))
	}
	for _, kv := range s.Attributes() {
		switch kv.Value.Type() {
		case attribute.STRING:
			if !utf8Valid(kv.Value.AsString()) {
				t.Errorf("%s is not valid UTF-8", kv.Key)
			}
		case attribute.STRINGSLICE:
			for _, v := range kv.Value.AsStringSlice() {
				if !utf8Valid(v) {
					t.Errorf("%s is not valid UTF-8", kv.Key)
				}
			}
		}
	}
}

func TestNotRecordingSkipsEncoding(t *testing.T) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()))
	a, err := New(WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	c := &countingMarshaler{}
	for range 10 {
		res, err := a.Execute(context.Background(), "t", c, func(context.Context) (any, error) { return c, nil })
		if res != c || err != nil {
			t.Fatalf("Execute = %v, %v", res, err)
		}
	}
	// Only the first call, before the Auditor has seen that spans are not
	// recorded, encodes its arguments.
	if c.n != 1 {
		t.Errorf("arguments and results were encoded %d times for 10 unsampled spans, want 1", c.n)
	}
}

// TestSamplingChanges checks that arguments are recorded whichever way the
// sampling decision changes between calls.
func TestSamplingChanges(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	sampled := []bool{false, true, true, false, true, false, false, true}
	i := 0
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(samplerFunc(func() bool {
		defer func() { i++ }()
		return sampled[i]
	})))
	a, err := New(WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	for n := range sampled {
		_, _ = a.Execute(context.Background(), "t", map[string]any{"n": n}, noop)
	}
	spans := sr.Ended()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	for k, n := range []int{1, 2, 4, 7} {
		if got := str(t, spans[k], attrkey.GenAIToolCallArgs); got != fmt.Sprintf(`{"n":%d}`, n) {
			t.Errorf("span %d arguments = %s", k, got)
		}
		if c := strings.Count(fmt.Sprint(spans[k].Attributes()), attrkey.GenAIToolCallArgs); c != 1 {
			t.Errorf("span %d has %d argument attributes", k, c)
		}
	}
}

type samplerFunc func() bool

func (f samplerFunc) ShouldSample(sdktrace.SamplingParameters) sdktrace.SamplingResult {
	if f() {
		return sdktrace.SamplingResult{Decision: sdktrace.RecordAndSample}
	}
	return sdktrace.SamplingResult{Decision: sdktrace.Drop}
}

func (samplerFunc) Description() string { return "test" }

type countingMarshaler struct{ n int }

func (c *countingMarshaler) MarshalJSON() ([]byte, error) { c.n++; return []byte(`{}`), nil }

func TestGlobalTracerProvider(t *testing.T) {
	a, err := New()
	if err != nil {
		t.Fatal(err)
	}
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	otel.SetTracerProvider(tp)
	_, _ = a.Execute(context.Background(), "t", nil, func(context.Context) (any, error) { return nil, nil })
	if len(sr.Ended()) != 1 {
		t.Errorf("%d spans through the global provider, want 1", len(sr.Ended()))
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		opt  Option
		want string
	}{
		{WithMaxPayloadBytes(10), "instrumentation: WithMaxPayloadBytes(10): must be between 256 and"},
		{WithMaxDepth(0), "instrumentation: WithMaxDepth(0): must be between 1 and 1000"},
		{WithMaxDepth(1001), "WithMaxDepth(1001)"},
		{WithMask(strings.Repeat("*", 65)), "instrumentation: WithMask(\"*****"},
		{WithMask(""), `instrumentation: WithMask(""): must not be empty`},
		{WithMask("\xff\xfe"), `instrumentation: WithMask("\xff\xfe"): not valid UTF-8`},
		{WithPanicFlushTimeout(-time.Second), "instrumentation: WithPanicFlushTimeout(-1s): must not be negative"},
		{WithSensitiveKeys("ok", "___"), `instrumentation: WithSensitiveKeys: key "___": must contain a letter`},
		{WithResultKeys("*7"), `instrumentation: WithResultKeys: key "7"`},
		{WithArgumentCapture(Capture(9)), "instrumentation: WithArgumentCapture(9): unknown value"},
		{WithArgumentCapture(CaptureDefault), "WithArgumentCapture(0)"},
		{WithResultCapture(Capture(7)), "instrumentation: WithResultCapture(7): unknown value"},
		{WithTools(Tool{}), "instrumentation: WithTools: tool name: must not be empty"},
		{WithTools(Tool{Name: "a"}, Tool{Name: "a"}), `instrumentation: WithTools: tool "a": declared twice`},
		{WithTools(Tool{Name: "a", Result: Capture(5)}), `tool "a": result capture 5: unknown value`},
		{WithTools(Tool{Name: "a", ResultKeys: []string{""}}), `tool "a": result keys: key "": must contain a letter`},
	}
	for _, tt := range tests {
		_, err := New(tt.opt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New error = %v, want %q", err, tt.want)
		}
	}
	if _, err := New(nil, WithMaxDepth(1), WithMaxPayloadBytes(256)); err != nil {
		t.Errorf("New with limits at their minimum: %v", err)
	}
}

func TestKeysMatchSemconv(t *testing.T) {
	pairs := map[string]attribute.Key{
		attrkey.GenAIOperationName:   semconv.GenAIOperationNameKey,
		attrkey.GenAIToolName:        semconv.GenAIToolNameKey,
		attrkey.GenAIToolCallID:      semconv.GenAIToolCallIDKey,
		attrkey.GenAIToolType:        semconv.GenAIToolTypeKey,
		attrkey.GenAIToolDescription: semconv.GenAIToolDescriptionKey,
		attrkey.GenAIToolCallArgs:    semconv.GenAIToolCallArgumentsKey,
		attrkey.GenAIToolCallResult:  semconv.GenAIToolCallResultKey,
		attrkey.GenAIConversationID:  semconv.GenAIConversationIDKey,
		attrkey.GenAIRequestModel:    semconv.GenAIRequestModelKey,
		attrkey.GenAIAgentName:       semconv.GenAIAgentNameKey,
		attrkey.GenAIAgentID:         semconv.GenAIAgentIDKey,
		attrkey.UserID:               semconv.UserIDKey,
		attrkey.UserRoles:            semconv.UserRolesKey,
		attrkey.SessionID:            semconv.SessionIDKey,
		attrkey.ClientAddress:        semconv.ClientAddressKey,
		attrkey.UserAgentOriginal:    semconv.UserAgentOriginalKey,
		attrkey.ErrorType:            semconv.ErrorTypeKey,
	}
	for want, key := range pairs {
		if string(key) != want {
			t.Errorf("attrkey %q, semconv %q", want, key)
		}
	}
	if semconv.GenAIOperationNameExecuteTool.Value.AsString() != attrkey.OperationExecuteTool {
		t.Error("execute_tool operation name differs")
	}
}

// TestConcurrentCalls hammers one Auditor and one Registry from many
// goroutines with different attribution, under the race detector, and checks
// that no call's attributes leak into another's span.
func TestConcurrentCalls(t *testing.T) {
	r := newRecorder(t)
	reg := r.NewRegistry()
	if err := reg.Register(Tool{Name: "lookup"}, Typed(func(_ context.Context, a struct {
		User string `json:"user"`
	}) (map[string]any, error) {
		return map[string]any{"user_id": a.User}, nil
	})); err != nil {
		t.Fatal(err)
	}
	const workers, calls = 16, 100
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				user := fmt.Sprintf("u-%d-%d", w, i)
				ctx := WithUser(context.Background(), user, "role")
				ctx = WithTurn(ctx, i+1)
				args := map[string]any{"user": user, "password": user}
				switch i % 3 {
				case 0:
					_, _ = r.Execute(ctx, "echo", args, func(context.Context) (any, error) { return map[string]any{"user_id": user}, nil })
				case 1:
					b, _ := json.Marshal(args)
					_, _ = reg.Execute(ctx, "lookup", b)
				default:
					_, _ = r.Execute(ctx, "fail", args, func(context.Context) (any, error) { return nil, errors.New(user) })
				}
			}
		})
	}
	wg.Wait()
	spans := r.sr.Ended()
	if len(spans) != workers*calls {
		t.Fatalf("%d spans, want %d", len(spans), workers*calls)
	}
	ids := map[string]bool{}
	for _, s := range spans {
		user := str(t, s, attrkey.UserID)
		args := jsonAttr(t, s, attrkey.GenAIToolCallArgs)
		if args["user"] != user || args["password"] != DefaultMask {
			t.Fatalf("span of %s has arguments %v", user, args)
		}
		res := jsonAttr(t, s, attrkey.GenAIToolCallResult)
		if s.Name() == "execute_tool fail" {
			if res["error"] != user {
				t.Fatalf("span of %s has result %v", user, res)
			}
		} else if res["user_id"] != user {
			t.Fatalf("span of %s has result %v", user, res)
		}
		id := str(t, s, attrkey.GenAIToolCallID)
		if ids[id] {
			t.Fatalf("duplicate call id %s", id)
		}
		ids[id] = true
	}
}
