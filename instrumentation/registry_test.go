package instrumentation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

type orderArgs struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason"`
}

type refundResult struct {
	RefundID string `json:"refund_id"`
	Status   string `json:"status"`
	Body     string `json:"body"`
}

func newRegistry(t *testing.T, opts ...Option) (*recorder, *Registry, *int) {
	t.Helper()
	r := newRecorder(t, opts...)
	reg := r.NewRegistry()
	calls := new(int)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(reg.Register(Tool{Name: "issue_refund", Type: "extension", Description: "Refunds an order"},
		Typed(func(_ context.Context, a orderArgs) (refundResult, error) {
			*calls++
			if a.OrderID == "" {
				return refundResult{}, errors.New("order_id is required")
			}
			return refundResult{RefundID: "R-" + a.OrderID, Status: "issued", Body: "long text"}, nil
		})))
	must(reg.Register(Tool{Name: "raw_echo", Result: CaptureFull}, func(_ context.Context, args json.RawMessage) (any, error) {
		*calls++
		return args, nil
	}))
	must(reg.Register(Tool{Name: "explode"}, func(context.Context, json.RawMessage) (any, error) {
		*calls++
		panic("registry panic")
	}))
	return r, reg, calls
}

func TestRegistryExecute(t *testing.T) {
	r, reg, calls := newRegistry(t)
	res, err := reg.Execute(context.Background(), "issue_refund", json.RawMessage(` {"order_id": "O-1", "reason": "damaged", "api_key": "k"} `),
		WithTrigger(TriggerUserRequest), WithToolCallID("call_9"))
	if err != nil || res.(refundResult).RefundID != "R-O-1" || *calls != 1 {
		t.Fatalf("Execute = %v, %v (%d calls)", res, err, *calls)
	}
	s := r.only(t)
	if s.Name() != "execute_tool issue_refund" {
		t.Errorf("name %q", s.Name())
	}
	for key, want := range map[string]string{
		attrkey.GenAIToolType:        "extension",
		attrkey.GenAIToolDescription: "Refunds an order",
		attrkey.GenAIToolCallID:      "call_9",
		attrkey.Trigger:              "user_request",
		attrkey.GenAIToolCallArgs:    `{"order_id":"O-1","reason":"damaged","api_key":"***REDACTED***"}`,
		attrkey.GenAIToolCallResult:  `{"success":true,"refund_id":"R-O-1","status":"issued"}`,
	} {
		if got := str(t, s, key); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
}

func TestRegistryFailures(t *testing.T) {
	tests := []struct {
		name     string
		tool     string
		args     string
		wantErr  string
		wantType string
		wantArgs string // "" for absent
		ran      bool
	}{
		{"unknown tool", "delete_everything", `{"confirm":true,"token":"t"}`, `instrumentation: unknown tool "delete_everything"`, "unknown_tool",
			`{"confirm":true,"token":"***REDACTED***"}`, false},
		{"empty name", "", `{}`, "instrumentation: empty tool name", "invalid_call", `{}`, false},
		{"malformed JSON", "issue_refund", `{"order_id":"O-1",`, `instrumentation: tool "issue_refund": invalid arguments: invalid JSON at offset 18: expected a string key`,
			"invalid_arguments", `{"_invalid_json":"invalid JSON at offset 18: expected a string key","_size":18}`, false},
		{"invalid UTF-8", "issue_refund", "{\"order_id\":\"O-\xff\"}", `invalid arguments: invalid JSON at offset 15: invalid UTF-8`,
			"invalid_arguments", `{"_invalid_json":"invalid JSON at offset 15: invalid UTF-8","_size":18}`, false},
		{"trailing garbage", "issue_refund", `{"order_id":"O-1"} {"x":1}`, "unexpected data after the JSON value", "invalid_arguments",
			`{"_invalid_json":"invalid JSON at offset 19: unexpected data after the JSON value","_size":26}`, false},
		{"wrong shape", "issue_refund", `{"order_id":42}`, `instrumentation: tool "issue_refund": invalid arguments: json: cannot unmarshal number`,
			"invalid_arguments", `{"order_id":42}`, false},
		{"handler error", "issue_refund", `{"reason":"x"}`, "order_id is required", "*errors.errorString", `{"reason":"x"}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, reg, calls := newRegistry(t)
			res, err := reg.Execute(context.Background(), tt.tool, json.RawMessage(tt.args))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Execute = %v, %v; want error %q", res, err, tt.wantErr)
			}
			if (*calls == 1) != tt.ran {
				t.Errorf("handler ran %d times", *calls)
			}
			s := r.only(t)
			if s.Status().Code != codes.Error || s.Status().Description != err.Error() {
				t.Errorf("status = %+v", s.Status())
			}
			if got := str(t, s, attrkey.ErrorType); got != tt.wantType {
				t.Errorf("error.type = %q, want %q", got, tt.wantType)
			}
			if tt.wantArgs == "" {
				absent(t, s, attrkey.GenAIToolCallArgs)
			} else if got := str(t, s, attrkey.GenAIToolCallArgs); got != tt.wantArgs {
				t.Errorf("arguments = %s\nwant        %s", got, tt.wantArgs)
			}
		})
	}
}

func TestRegistryErrorTypes(t *testing.T) {
	_, reg, _ := newRegistry(t)
	_, err := reg.Execute(context.Background(), "nope", nil)
	var ute *UnknownToolError
	if !errors.As(err, &ute) || ute.Name != "nope" {
		t.Errorf("unknown tool error = %#v", err)
	}
	_, err = reg.Execute(context.Background(), "issue_refund", json.RawMessage(`[`))
	var ae *ArgumentError
	if !errors.As(err, &ae) || ae.Tool != "issue_refund" || ae.Unwrap() == nil {
		t.Errorf("argument error = %#v", err)
	}
}

func TestRegistryNoArguments(t *testing.T) {
	for _, args := range []json.RawMessage{nil, {}, json.RawMessage("  \n")} {
		r, reg, calls := newRegistry(t)
		var got json.RawMessage = json.RawMessage("unset")
		if err := reg.Register(Tool{Name: "noargs"}, func(_ context.Context, a json.RawMessage) (any, error) {
			got = a
			return "ok", nil
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := reg.Execute(context.Background(), "noargs", args); err != nil {
			t.Fatal(err)
		}
		if got != nil {
			t.Errorf("handler got %q for %q, want nil", got, args)
		}
		absent(t, r.only(t), attrkey.GenAIToolCallArgs)
		// Typed handlers get the zero value.
		if _, err := reg.Execute(context.Background(), "issue_refund", args); err == nil || !strings.Contains(err.Error(), "order_id is required") || *calls != 1 {
			t.Errorf("typed handler without arguments: %v", err)
		}
	}
}

func TestRegistryFullResultAndPanic(t *testing.T) {
	r, reg, _ := newRegistry(t)
	res, err := reg.Execute(context.Background(), "raw_echo", json.RawMessage(`{"a":[1,2],"password":"p"}`))
	if err != nil || string(res.(json.RawMessage)) != `{"a":[1,2],"password":"p"}` {
		t.Fatalf("Execute = %s, %v", res, err)
	}
	if got := str(t, r.only(t), attrkey.GenAIToolCallResult); got != `{"a":[1,2],"password":"***REDACTED***"}` {
		t.Errorf("full result = %s", got)
	}
	defer func() {
		if v := recover(); v != "registry panic" {
			t.Errorf("recovered %v", v)
		}
		spans := r.sr.Ended()
		if len(spans) != 2 || str(t, spans[1], attrkey.ErrorType) != "panic" {
			t.Errorf("panic not recorded: %d spans", len(spans))
		}
	}()
	_, _ = reg.Execute(context.Background(), "explode", nil)
}

func TestRegister(t *testing.T) {
	_, reg, _ := newRegistry(t)
	h := func(context.Context, json.RawMessage) (any, error) { return nil, nil }
	tests := []struct {
		tool Tool
		h    Handler
		want string
	}{
		{Tool{Name: "issue_refund"}, h, `instrumentation: register tool "issue_refund": already registered`},
		{Tool{Name: "x"}, nil, `instrumentation: register tool "x": nil handler`},
		{Tool{Name: "y"}, Typed[int, int](nil), `instrumentation: register tool "y": nil handler`},
		{Tool{}, h, "instrumentation: register: tool name: must not be empty"},
		{Tool{Name: "z", Arguments: Capture(9)}, h, `instrumentation: register: tool "z": arguments capture 9: unknown value`},
		{Tool{Name: "w", ResultKeys: []string{"*"}}, h, `instrumentation: register: tool "w": result keys: key "": must contain a letter`},
	}
	for _, tt := range tests {
		if err := reg.Register(tt.tool, tt.h); err == nil || err.Error() != tt.want {
			t.Errorf("Register(%+v) = %v, want %q", tt.tool, err, tt.want)
		}
	}
	keys := []string{"k_id"}
	if err := reg.Register(Tool{Name: "a_first", ResultKeys: keys}, h); err != nil {
		t.Fatal(err)
	}
	keys[0] = "changed"
	var names []string
	for _, tool := range reg.Tools() {
		names = append(names, tool.Name)
		if tool.Name == "a_first" && tool.ResultKeys[0] != "k_id" {
			t.Error("Register kept the caller's slice")
		}
	}
	if strings.Join(names, ",") != "a_first,explode,issue_refund,raw_echo" {
		t.Errorf("Tools = %v", names)
	}
}
