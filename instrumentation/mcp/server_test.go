package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// attributed returns a context attributed as an agent acting for a nurse.
func attributed() context.Context {
	ctx := instrumentation.WithUser(context.Background(), "n-204", "nurse", "ward-3")
	ctx = instrumentation.WithConversation(ctx, "conv-1")
	ctx = instrumentation.WithTurn(ctx, 3)
	ctx = instrumentation.WithModel(ctx, "model-x")
	ctx = instrumentation.WithAgent(ctx, "ward-agent", "agent-7")
	return instrumentation.WithSession(ctx, "sess-5", "10.9.8.7", "browser/1")
}

func TestInMemoryCallJoinsTrace(t *testing.T) {
	sp := newSpans(t)
	sa, ca := sp.auditor(t), sp.auditor(t)
	h := &handled{}
	cs := pair(t, newTestServer(sa, h), sa, ca)

	params := &sdkmcp.CallToolParams{Name: "lookup", Arguments: map[string]any{"patient_id": "P-1001", "ssn": testSSN}}
	res, err := ca.CallTool(attributed(), cs, params,
		instrumentation.WithPurpose("treatment"), instrumentation.WithSubject("patient", "P-1001"),
		instrumentation.WithTrigger(instrumentation.TriggerUserRequest))
	if err != nil || res.IsError {
		t.Fatalf("CallTool = %+v, %v", res, err)
	}
	if params.Meta != nil {
		t.Errorf("the caller's params were modified: _meta = %v", params.Meta)
	}

	client, server := sp.one(t, trace.SpanKindClient), sp.one(t, trace.SpanKindServer)
	for _, s := range []sdktrace.ReadOnlySpan{client, server} {
		if s.Name() != "tools/call lookup" {
			t.Errorf("span name %q, want %q", s.Name(), "tools/call lookup")
		}
		if s.InstrumentationScope().Name != ScopeName {
			t.Errorf("scope %q, want %q", s.InstrumentationScope().Name, ScopeName)
		}
		if s.Status().Code != codes.Unset {
			t.Errorf("%s span status %v, want unset", s.SpanKind(), s.Status())
		}
		for key, want := range map[string]string{
			attrkey.GenAIOperationName: "execute_tool", attrkey.GenAIToolName: "lookup",
			attrkey.MCPMethodName: "tools/call", "network.transport": "pipe",
			attrkey.UserID: "n-204", attrkey.GenAIConversationID: "conv-1", attrkey.GenAIRequestModel: "model-x",
			attrkey.GenAIAgentName: "ward-agent", attrkey.GenAIAgentID: "agent-7", attrkey.SessionID: "sess-5",
			attrkey.Purpose: "treatment", attrkey.SubjectType: "patient", attrkey.SubjectID: "P-1001",
			attrkey.Trigger: "user_request", "mcp.protocol.version": cs.InitializeResult().ProtocolVersion,
		} {
			if got := str(t, s, key); got != want {
				t.Errorf("%s span: %s = %q, want %q", s.SpanKind(), key, got, want)
			}
		}
		if got := attrs(s)[attrkey.UserRoles].AsStringSlice(); strings.Join(got, ",") != "nurse,ward-3" {
			t.Errorf("%s span: user.roles = %v", s.SpanKind(), got)
		}
		if got := attrs(s)[attrkey.TurnNumber].AsInt64(); got != 3 {
			t.Errorf("%s span: audit.turn_number = %d, want 3", s.SpanKind(), got)
		}
		args := jsonAttr(t, s, attrkey.GenAIToolCallArgs)
		if args["ssn"] != instrumentation.DefaultMask || args["patient_id"] != "P-1001" {
			t.Errorf("%s span: arguments %v, want the ssn masked", s.SpanKind(), args)
		}
		result := jsonAttr(t, s, attrkey.GenAIToolCallResult)
		if result["success"] != true || result["patient_id"] != "P-1001" || result["status"] != "active" {
			t.Errorf("%s span: result summary %v", s.SpanKind(), result)
		}
		if strings.Contains(str(t, s, attrkey.GenAIToolCallResult), "Jane Roe") {
			t.Errorf("%s span: the summary holds the patient's name", s.SpanKind())
		}
	}
	// One trace: the server span is the remote child of the client span.
	if server.SpanContext().TraceID() != client.SpanContext().TraceID() {
		t.Errorf("trace ids differ: client %s, server %s", client.SpanContext().TraceID(), server.SpanContext().TraceID())
	}
	if server.Parent().SpanID() != client.SpanContext().SpanID() || !server.Parent().IsRemote() {
		t.Errorf("server parent %s (remote %v), want the client span %s", server.Parent().SpanID(), server.Parent().IsRemote(), client.SpanContext().SpanID())
	}
	// Both sides name the call alike.
	for _, key := range []string{attrkey.GenAIToolCallID, attrkey.JSONRPCRequestID} {
		if c, s := str(t, client, key), str(t, server, key); c != s || c == "" {
			t.Errorf("%s: client %q, server %q, want one non-empty value", key, c, s)
		}
	}
	// Addresses are the transport's, not the agent's user's.
	absent(t, server, attrkey.ClientAddress)
	if got := str(t, client, attrkey.ClientAddress); got != "10.9.8.7" {
		t.Errorf("client span: client.address = %q, want the agent's attribution", got)
	}
	// The tool handler runs in the server span, attributed.
	user, sc := h.get()
	if user != "n-204" || sc.SpanID() != server.SpanContext().SpanID() {
		t.Errorf("handler context: user %q, span %s; want n-204 in span %s", user, sc.SpanID(), server.SpanContext().SpanID())
	}
}

func TestToolErrorResult(t *testing.T) {
	sp := newSpans(t)
	sa, ca := sp.auditor(t), sp.auditor(t)
	cs := pair(t, newTestServer(sa, nil), sa, ca)
	res, err := ca.CallTool(context.Background(), cs, &sdkmcp.CallToolParams{Name: "fail", Arguments: map[string]any{"patient_id": "P-404"}})
	if err != nil || !res.IsError {
		t.Fatalf("CallTool = %+v, %v; want an isError result", res, err)
	}
	for _, s := range []sdktrace.ReadOnlySpan{sp.one(t, trace.SpanKindClient), sp.one(t, trace.SpanKindServer)} {
		if s.Status().Code != codes.Error || s.Status().Description != "patient P-404 not found" {
			t.Errorf("%s span status %+v", s.SpanKind(), s.Status())
		}
		if got := str(t, s, attrkey.ErrorType); got != ErrorTypeTool {
			t.Errorf("%s span error.type %q, want %q", s.SpanKind(), got, ErrorTypeTool)
		}
		if r := jsonAttr(t, s, attrkey.GenAIToolCallResult); r["success"] != false {
			t.Errorf("%s span result %v, want success false", s.SpanKind(), r)
		}
		absent(t, s, "rpc.response.status_code")
	}
}

func TestProtocolErrors(t *testing.T) {
	tests := []struct {
		name      string
		params    *sdkmcp.CallToolParams
		errorType string
		rpcCode   string // rpc.response.status_code, "" for none
		span      string
	}{
		{
			name:      "unknown tool",
			params:    &sdkmcp.CallToolParams{Name: "no_such_tool", Arguments: map[string]any{"password": "hunter2"}},
			errorType: "-32602", rpcCode: "-32602", span: "tools/call no_such_tool",
		},
		{
			name:      "error response of the tool",
			params:    &sdkmcp.CallToolParams{Name: "rpcfail"},
			errorType: "-32001", rpcCode: "-32001", span: "tools/call rpcfail",
		},
		{
			name:      "arguments of the wrong type",
			params:    &sdkmcp.CallToolParams{Name: "lookup", Arguments: map[string]any{"patient_id": 5}},
			errorType: ErrorTypeTool, span: "tools/call lookup",
		},
		{
			name:      "arguments not an object",
			params:    &sdkmcp.CallToolParams{Name: "lookup", Arguments: []string{"P-1"}},
			errorType: ErrorTypeTool, span: "tools/call lookup",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := newSpans(t)
			sa, ca := sp.auditor(t), sp.auditor(t)
			cs := pair(t, newTestServer(sa, nil), sa, ca)
			res, err := ca.CallTool(context.Background(), cs, tt.params)
			if tt.rpcCode != "" {
				var wire *jsonrpc.Error
				if !errors.As(err, &wire) {
					t.Fatalf("CallTool = %+v, %v; want a JSON-RPC error", res, err)
				}
			} else if err != nil || !res.IsError {
				t.Fatalf("CallTool = %+v, %v; want an isError result", res, err)
			}
			for _, s := range []sdktrace.ReadOnlySpan{sp.one(t, trace.SpanKindClient), sp.one(t, trace.SpanKindServer)} {
				if s.Name() != tt.span {
					t.Errorf("%s span name %q, want %q", s.SpanKind(), s.Name(), tt.span)
				}
				if s.Status().Code != codes.Error || s.Status().Description == "" {
					t.Errorf("%s span status %+v, want an error with a message", s.SpanKind(), s.Status())
				}
				if got := str(t, s, attrkey.ErrorType); got != tt.errorType {
					t.Errorf("%s span error.type %q, want %q", s.SpanKind(), got, tt.errorType)
				}
				if tt.rpcCode != "" {
					if got := str(t, s, "rpc.response.status_code"); got != tt.rpcCode {
						t.Errorf("%s span rpc.response.status_code %q, want %q", s.SpanKind(), got, tt.rpcCode)
					}
				}
				if a := attrs(s)[attrkey.GenAIToolCallArgs].AsString(); strings.Contains(a, "hunter2") {
					t.Errorf("%s span arguments %s hold the password", s.SpanKind(), a)
				}
			}
		})
	}
}

// rawSession connects to server over a wrapped in-memory transport and
// initialises the session by hand, returning the client's end of the raw
// JSON-RPC connection.
func rawSession(t *testing.T, server *sdkmcp.Server, sa *Auditor) sdkmcp.Connection {
	t.Helper()
	ctx := context.Background()
	st, ct := sdkmcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, sa.Transport(st), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := ct.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		_ = ss.Wait()
	})
	write(t, conn, float64(1), "initialize", `{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}`)
	if resp := read(t, conn); resp.Error != nil {
		t.Fatalf("initialize: %v", resp.Error)
	}
	write(t, conn, nil, "notifications/initialized", `{}`)
	return conn
}

func write(t *testing.T, conn sdkmcp.Connection, id any, method, params string) {
	t.Helper()
	req := &jsonrpc.Request{Method: method, Params: json.RawMessage(params)}
	if id != nil {
		var err error
		if req.ID, err = jsonrpc.MakeID(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := conn.Write(context.Background(), req); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, conn sdkmcp.Connection) *jsonrpc.Response {
	t.Helper()
	for {
		msg, err := conn.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if resp, ok := msg.(*jsonrpc.Response); ok {
			return resp
		}
	}
}

const (
	parentTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	parentSpan  = "00f067aa0ba902b7"
	traceparent = "00-" + parentTrace + "-" + parentSpan + "-01"
)

func TestMalformedRequestsInMemory(t *testing.T) {
	tests := []struct {
		name      string
		id        any // nil: no id
		params    string
		errorType string
		span      string
		user      string
		joined    bool // a child of traceparent
	}{
		{
			name:      "name not a string",
			id:        float64(7),
			params:    `{"name":5,"arguments":{"ssn":"` + testSSN + `"},"_meta":{"otelaudit/user.id":"u-9","traceparent":"` + traceparent + `"}}`,
			errorType: "-32602", span: "tools/call", user: "u-9", joined: true,
		},
		{name: "params a string", id: "req-2", params: `"lookup"`, errorType: "-32602", span: "tools/call"},
		{name: "params an array", id: float64(3), params: `[1,2]`, errorType: "-32602", span: "tools/call"},
		{
			name:      "no id",
			params:    `{"name":"lookup","arguments":{"ssn":"` + testSSN + `"},"_meta":{"user.id":"u-8"}}`,
			errorType: "-32600", span: "tools/call lookup", user: "u-8",
		},
		{
			name:      "unknown tool",
			id:        float64(9),
			params:    `{"name":"nope","arguments":{},"_meta":{"traceparent":"` + traceparent + `"}}`,
			errorType: "-32602", span: "tools/call nope", joined: true,
		},
		{name: "arguments a string", id: float64(10), params: `{"name":"lookup","arguments":"P-1"}`, errorType: ErrorTypeTool, span: "tools/call lookup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := newSpans(t)
			sa := sp.auditor(t)
			conn := rawSession(t, newTestServer(sa, nil), sa)
			write(t, conn, tt.id, "tools/call", tt.params)
			if tt.id != nil {
				resp := read(t, conn)
				if tt.errorType != ErrorTypeTool && resp.Error == nil {
					t.Fatalf("response %+v, want an error", resp)
				}
			}
			s := sp.one(t, trace.SpanKindServer)
			if s.Name() != tt.span {
				t.Errorf("span name %q, want %q", s.Name(), tt.span)
			}
			if s.Status().Code != codes.Error || s.Status().Description == "" {
				t.Errorf("status %+v, want an error with a message", s.Status())
			}
			if got := str(t, s, attrkey.ErrorType); got != tt.errorType {
				t.Errorf("error.type %q, want %q", got, tt.errorType)
			}
			if str(t, s, attrkey.MCPMethodName) != "tools/call" || str(t, s, attrkey.GenAIOperationName) != "execute_tool" {
				t.Errorf("not recognisable as a tool call: %v", keys(s))
			}
			if tt.id != nil {
				want, _ := jsonrpc.MakeID(tt.id)
				if got := str(t, s, attrkey.JSONRPCRequestID); got != idString(want) {
					t.Errorf("jsonrpc.request.id %q, want %q", got, idString(want))
				}
			} else {
				absent(t, s, attrkey.JSONRPCRequestID)
			}
			if tt.user != "" {
				if got := str(t, s, attrkey.UserID); got != tt.user {
					t.Errorf("user.id %q, want %q", got, tt.user)
				}
			}
			if a, ok := attrs(s)[attrkey.GenAIToolCallArgs]; ok && strings.Contains(a.AsString(), testSSN) {
				t.Errorf("arguments %s hold the ssn", a.AsString())
			}
			if joined := s.Parent().TraceID().String() == parentTrace && s.Parent().SpanID().String() == parentSpan; joined != tt.joined {
				t.Errorf("parent %s/%s, joined %v, want %v", s.Parent().TraceID(), s.Parent().SpanID(), joined, tt.joined)
			}
		})
	}
}

func TestServerWithoutTransportWrapper(t *testing.T) {
	// The middleware alone records the call, without what only the
	// transport knows.
	sp := newSpans(t)
	sa := sp.auditor(t)
	server := newTestServer(sa, nil)
	cs := pair(t, server, nil, nil)
	if _, err := cs.CallTool(context.Background(), &sdkmcp.CallToolParams{Name: "lookup", Arguments: map[string]any{"patient_id": "P-1"}}); err != nil {
		t.Fatal(err)
	}
	s := sp.one(t, trace.SpanKindServer)
	if str(t, s, attrkey.GenAIToolName) != "lookup" {
		t.Errorf("tool %q", str(t, s, attrkey.GenAIToolName))
	}
	absent(t, s, attrkey.JSONRPCRequestID, "network.transport")
	if s.Parent().IsValid() {
		t.Errorf("parent %s, want a root span without client instrumentation", s.Parent().SpanID())
	}
}

func TestOtherMethodsPassThrough(t *testing.T) {
	sp := newSpans(t)
	sa, ca := sp.auditor(t), sp.auditor(t)
	cs := pair(t, newTestServer(sa, nil), sa, ca)
	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := cs.Ping(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if n := len(sp.sr.Ended()); n != 0 {
		t.Errorf("%d spans recorded for tools/list and ping, want none", n)
	}
}

// TestUnsampledTraceparentStillAudited checks that a peer cannot switch
// the server's audit off by sending a traceparent marked "not sampled":
// the call is recorded in a trace of its own, linked to the peer's.
func TestUnsampledTraceparentStillAudited(t *testing.T) {
	sp := newSpans(t)
	sa := sp.auditor(t)
	h := &handled{}
	conn := rawSession(t, newTestServer(sa, h), sa)
	unsampled := "00-" + parentTrace + "-" + parentSpan + "-00"
	write(t, conn, float64(1), "tools/call", `{"name":"lookup","arguments":{"patient_id":"P-1001","ssn":"`+testSSN+`"},"_meta":{"otelaudit/user.id":"u-7","traceparent":"`+unsampled+`"}}`)
	if resp := read(t, conn); resp.Error != nil {
		t.Fatalf("tools/call: %v", resp.Error)
	}
	s := sp.one(t, trace.SpanKindServer)
	if s.Name() != "tools/call lookup" || str(t, s, "user.id") != "u-7" {
		t.Errorf("span %q, user %q", s.Name(), str(t, s, "user.id"))
	}
	if !s.SpanContext().IsSampled() || s.SpanContext().TraceID().String() == parentTrace || s.Parent().IsValid() {
		t.Errorf("span context %v, parent %v: want a new, sampled trace", s.SpanContext(), s.Parent())
	}
	if l := s.Links(); len(l) != 1 || l[0].SpanContext.TraceID().String() != parentTrace || l[0].SpanContext.SpanID().String() != parentSpan {
		t.Errorf("links = %+v, want one to the peer's span", l)
	}
	if strings.Contains(str(t, s, "gen_ai.tool.call.arguments"), testSSN) {
		t.Error("the arguments hold the SSN")
	}
	if _, sc := h.get(); sc.SpanID() != s.SpanContext().SpanID() {
		t.Errorf("the handler ran under span %s, the call is %s", sc.SpanID(), s.SpanContext().SpanID())
	}
}
