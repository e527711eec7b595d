package mcp

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

func TestClientRecordsOnce(t *testing.T) {
	// CallTool on a client that also has the middleware, and the session's
	// own CallTool through the middleware: one client span each.
	sp := newSpans(t)
	sa, ca := sp.auditor(t), sp.auditor(t)
	cs := pair(t, newTestServer(sa, nil), sa, ca)
	args := map[string]any{"patient_id": "P-1"}
	if _, err := ca.CallTool(context.Background(), cs, &sdkmcp.CallToolParams{Name: "lookup", Arguments: args},
		instrumentation.WithPurpose("first")); err != nil {
		t.Fatal(err)
	}
	ctx := ContextWithCallOptions(context.Background(), instrumentation.WithPurpose("second"))
	if _, err := cs.CallTool(ctx, &sdkmcp.CallToolParams{Name: "lookup", Arguments: args}); err != nil {
		t.Fatal(err)
	}
	clients := sp.ended(t, trace.SpanKindClient, 2)
	servers := sp.ended(t, trace.SpanKindServer, 2)
	for i, want := range []string{"first", "second"} {
		if got := str(t, clients[i], attrkey.Purpose); got != want {
			t.Errorf("client span %d purpose %q, want %q", i, got, want)
		}
		if got := str(t, servers[i], attrkey.Purpose); got != want {
			t.Errorf("server span %d purpose %q, want %q", i, got, want)
		}
		if servers[i].Parent().SpanID() != clients[i].SpanContext().SpanID() {
			t.Errorf("server span %d is not the child of client span %d", i, i)
		}
	}
}

func TestMetaAttributionOff(t *testing.T) {
	sp := newSpans(t)
	sa, ca := sp.auditor(t), sp.auditor(t, WithMetaAttribution(false))
	cs := pair(t, newTestServer(sa, nil), sa, ca)
	if _, err := ca.CallTool(attributed(), cs, &sdkmcp.CallToolParams{Name: "lookup", Arguments: map[string]any{}},
		instrumentation.WithSubject("patient", "P-1"), instrumentation.WithToolCallID("call_model_1")); err != nil {
		t.Fatal(err)
	}
	client, server := sp.one(t, trace.SpanKindClient), sp.one(t, trace.SpanKindServer)
	// The client records its attribution; the server learns none of it,
	// but the call still joins the trace and keeps its id.
	if str(t, client, attrkey.UserID) != "n-204" || str(t, client, attrkey.SubjectID) != "P-1" {
		t.Errorf("client span lacks its own attribution: %v", keys(client))
	}
	absent(t, server, attrkey.UserID, attrkey.UserRoles, attrkey.GenAIConversationID, attrkey.SubjectID, attrkey.GenAIRequestModel)
	if server.Parent().SpanID() != client.SpanContext().SpanID() {
		t.Error("the server span is not the child of the client span")
	}
	if c, s := str(t, client, attrkey.GenAIToolCallID), str(t, server, attrkey.GenAIToolCallID); c != "call_model_1" || s != c {
		t.Errorf("tool call ids: client %q server %q, want call_model_1 on both", c, s)
	}
}

func TestCaptureSwitches(t *testing.T) {
	tests := []struct {
		name       string
		opts       []instrumentation.Option
		args       bool   // arguments recorded
		resultHas  string // in gen_ai.tool.call.result, "" for absent
		resultLack string
	}{
		{name: "defaults", args: true, resultHas: `"status":"active"`, resultLack: "Jane Roe"},
		{name: "arguments off", opts: []instrumentation.Option{instrumentation.WithArgumentCapture(instrumentation.CaptureOff)}, resultHas: `"success":true`},
		{name: "result full", opts: []instrumentation.Option{instrumentation.WithResultCapture(instrumentation.CaptureFull)}, args: true, resultHas: "Jane Roe"},
		{name: "result off", opts: []instrumentation.Option{instrumentation.WithResultCapture(instrumentation.CaptureOff)}, args: true},
		{
			name: "per tool",
			opts: []instrumentation.Option{instrumentation.WithTools(instrumentation.Tool{
				Name: "lookup", Type: "extension", Arguments: instrumentation.CaptureOff, Result: instrumentation.CaptureFull,
			})},
			resultHas: "Jane Roe",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := newSpans(t)
			sa := sp.auditor(t, WithAuditorOptions(tt.opts...))
			ca := sp.auditor(t, WithAuditorOptions(tt.opts...))
			cs := pair(t, newTestServer(sa, nil), sa, ca)
			if _, err := ca.CallTool(context.Background(), cs, &sdkmcp.CallToolParams{Name: "lookup",
				Arguments: map[string]any{"patient_id": "P-1", "ssn": testSSN}}); err != nil {
				t.Fatal(err)
			}
			for _, s := range []sdktrace.ReadOnlySpan{sp.one(t, trace.SpanKindClient), sp.one(t, trace.SpanKindServer)} {
				a, hasArgs := attrs(s)[attrkey.GenAIToolCallArgs]
				if hasArgs != tt.args {
					t.Errorf("%s span: arguments recorded %v, want %v", s.SpanKind(), hasArgs, tt.args)
				}
				if strings.Contains(a.AsString(), testSSN) {
					t.Errorf("%s span: the ssn is recorded", s.SpanKind())
				}
				r, hasResult := attrs(s)[attrkey.GenAIToolCallResult]
				if (tt.resultHas != "") != hasResult || !strings.Contains(r.AsString(), tt.resultHas) {
					t.Errorf("%s span: result %q, want it to hold %q", s.SpanKind(), r.AsString(), tt.resultHas)
				}
				if tt.resultLack != "" && strings.Contains(r.AsString(), tt.resultLack) {
					t.Errorf("%s span: result %q holds %q", s.SpanKind(), r.AsString(), tt.resultLack)
				}
			}
		})
	}
}

func TestMaskingOptions(t *testing.T) {
	sp := newSpans(t)
	opts := WithAuditorOptions(instrumentation.WithSensitiveKeys("patient_name"), instrumentation.WithMask("[x]"))
	sa, ca := sp.auditor(t, opts), sp.auditor(t, opts)
	cs := pair(t, newTestServer(sa, nil), sa, ca)
	if _, err := ca.CallTool(context.Background(), cs, &sdkmcp.CallToolParams{Name: "lookup",
		Arguments: map[string]any{"patient_id": "P-1", "patient_name": "Jane Roe", "nested": map[string]any{"api_key": "k-1"}}}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []sdktrace.ReadOnlySpan{sp.one(t, trace.SpanKindClient), sp.one(t, trace.SpanKindServer)} {
		args := jsonAttr(t, s, attrkey.GenAIToolCallArgs)
		nested, _ := args["nested"].(map[string]any)
		if args["patient_name"] != "[x]" || nested["api_key"] != "[x]" || args["patient_id"] != "P-1" {
			t.Errorf("%s span: arguments %v", s.SpanKind(), args)
		}
	}
}

func TestClientTransportFailure(t *testing.T) {
	sp := newSpans(t)
	sa, ca := sp.auditor(t), sp.auditor(t)
	cs := pair(t, newTestServer(sa, nil), sa, ca)
	_ = cs.Close()
	_, err := ca.CallTool(context.Background(), cs, &sdkmcp.CallToolParams{Name: "lookup"})
	if err == nil {
		t.Fatal("CallTool on a closed session succeeded")
	}
	s := sp.one(t, trace.SpanKindClient)
	if s.Status().Code != codes.Error {
		t.Errorf("status %+v", s.Status())
	}
	if got := str(t, s, attrkey.ErrorType); got != ErrorTypeConnectionClosed {
		t.Errorf("error.type %q, want %q (err %v)", got, ErrorTypeConnectionClosed, err)
	}
}

func TestClientCanceled(t *testing.T) {
	sp := newSpans(t)
	ca := sp.auditor(t)
	release, started := make(chan struct{}), make(chan struct{})
	server := sdkmcp.NewServer(&sdkmcp.Implementation{Name: "slow", Version: "1"}, nil)
	sdkmcp.AddTool(server, &sdkmcp.Tool{Name: "slow"}, func(ctx context.Context, _ *sdkmcp.CallToolRequest, _ map[string]any) (*sdkmcp.CallToolResult, any, error) {
		close(started)
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil, nil, nil
	})
	cs := pair(t, server, nil, ca)
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	if _, err := ca.CallTool(ctx, cs, &sdkmcp.CallToolParams{Name: "slow"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if got := str(t, sp.one(t, trace.SpanKindClient), attrkey.ErrorType); got != ErrorTypeCanceled {
		t.Errorf("error.type %q, want %q", got, ErrorTypeCanceled)
	}
}

func TestPropagators(t *testing.T) {
	// With a propagator that writes nothing, no trace joins: the server
	// span is a root, and the call is still recorded on both sides.
	sp := newSpans(t)
	none := propagation.NewCompositeTextMapPropagator()
	sa, ca := sp.auditor(t, WithPropagators(none)), sp.auditor(t, WithPropagators(none))
	cs := pair(t, newTestServer(sa, nil), sa, ca)
	if _, err := ca.CallTool(context.Background(), cs, &sdkmcp.CallToolParams{Name: "lookup", Arguments: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	client, server := sp.one(t, trace.SpanKindClient), sp.one(t, trace.SpanKindServer)
	if server.Parent().IsValid() || server.SpanContext().TraceID() == client.SpanContext().TraceID() {
		t.Error("the trace joined without a propagator")
	}
}

func TestNilAuditor(t *testing.T) {
	var a *Auditor
	server := newTestServer(nil, nil)
	server.AddReceivingMiddleware(a.ServerMiddleware())
	st, ct := sdkmcp.NewInMemoryTransports()
	if a.Transport(st) != sdkmcp.Transport(st) {
		t.Error("a nil Auditor wrapped the transport")
	}
	ss, err := server.Connect(context.Background(), a.Transport(st), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Wait()
	client := sdkmcp.NewClient(&sdkmcp.Implementation{Name: "c", Version: "1"}, nil)
	client.AddSendingMiddleware(a.ClientMiddleware())
	cs, err := client.Connect(context.Background(), a.Transport(ct), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := a.CallTool(context.Background(), cs, &sdkmcp.CallToolParams{Name: "lookup", Arguments: map[string]any{"patient_id": "P-1"}})
	if err != nil || res.IsError {
		t.Fatalf("CallTool = %+v, %v", res, err)
	}
	if a.Handler(nil) != nil {
		t.Error("Handler(nil) of a nil Auditor is not nil")
	}
	if _, err := a.CallTool(context.Background(), nil, nil); !errors.Is(err, errNilSession) {
		t.Errorf("CallTool without a session: %v", err)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{name: "max request bytes", opts: []Option{WithMaxRequestBytes(0)}, want: "mcp: WithMaxRequestBytes(0): must be positive"},
		{name: "auditor option", opts: []Option{WithAuditorOptions(instrumentation.WithMaxDepth(0))}, want: "mcp: instrumentation: WithMaxDepth(0)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.opts...)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("New = %v, %v; want an error starting %q", a, err, tt.want)
			}
		})
	}
	// Nil options are skipped; the defaults are usable.
	if a, err := New(nil); err != nil || a == nil {
		t.Errorf("New(nil) = %v, %v", a, err)
	}
}
