package mcp

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

func TestHTTPCallJoinsTrace(t *testing.T) {
	sp := newSpans(t)
	sa, ca := sp.auditor(t), sp.auditor(t)
	h := &handled{}
	endpoint := httpServer(t, sa, newTestServer(sa, h), nil)

	client := sdkmcp.NewClient(&sdkmcp.Implementation{Name: "agent", Version: "1"}, nil)
	client.AddSendingMiddleware(ca.ClientMiddleware())
	ctx := context.Background()
	cs, err := client.Connect(ctx, ca.Transport(&sdkmcp.StreamableClientTransport{Endpoint: endpoint}), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()

	// The middleware path: the session's own CallTool, with per-call facts
	// in the context.
	callCtx := ContextWithCallOptions(attributed(), instrumentation.WithPurpose("treatment"),
		instrumentation.WithBreakGlass("patient unresponsive"))
	params := &sdkmcp.CallToolParams{Name: "lookup", Arguments: map[string]any{"patient_id": "P-1001", "ssn": testSSN}}
	if res, err := cs.CallTool(callCtx, params); err != nil || res.IsError {
		t.Fatalf("CallTool = %+v, %v", res, err)
	}

	client1, server := sp.one(t, trace.SpanKindClient), sp.one(t, trace.SpanKindServer)
	if server.SpanContext().TraceID() != client1.SpanContext().TraceID() || server.Parent().SpanID() != client1.SpanContext().SpanID() {
		t.Errorf("server span %s (parent %s) is not the child of client span %s",
			server.SpanContext().SpanID(), server.Parent().SpanID(), client1.SpanContext().SpanID())
	}
	u, _ := url.Parse(endpoint)
	port, _ := strconv.Atoi(u.Port())
	// Server side: who called from where, over what.
	for key, want := range map[string]string{
		attrkey.ClientAddress: "127.0.0.1", "network.transport": "tcp", "network.protocol.name": "http",
		"network.protocol.version": "1.1", attrkey.MCPSessionID: cs.ID(), attrkey.UserID: "n-204",
		attrkey.Purpose: "treatment", attrkey.BreakGlassReason: "patient unresponsive",
	} {
		if got := str(t, server, key); got != want {
			t.Errorf("server span: %s = %q, want %q", key, got, want)
		}
	}
	if p := attrs(server)["client.port"].AsInt64(); p <= 0 || p == int64(port) {
		t.Errorf("server span: client.port = %d, want the client's ephemeral port", p)
	}
	if ua := str(t, server, attrkey.UserAgentOriginal); !strings.Contains(ua, "Go-http-client") {
		t.Errorf("server span: user_agent.original = %q", ua)
	}
	if !attrs(server)[attrkey.BreakGlass].AsBool() {
		t.Error("server span: audit.break_glass is not true")
	}
	// Client side: the server it called.
	if got := str(t, client1, "server.address"); got != "127.0.0.1" {
		t.Errorf("client span: server.address = %q", got)
	}
	if got := attrs(client1)["server.port"].AsInt64(); got != int64(port) {
		t.Errorf("client span: server.port = %d, want %d", got, port)
	}
	for _, key := range []string{attrkey.JSONRPCRequestID, attrkey.MCPSessionID, attrkey.GenAIToolCallID} {
		if c, s := str(t, client1, key), str(t, server, key); c != s || c == "" {
			t.Errorf("%s: client %q, server %q, want one non-empty value", key, c, s)
		}
	}
	if user, sc := h.get(); user != "n-204" || sc.SpanID() != server.SpanContext().SpanID() {
		t.Errorf("handler context: user %q span %s", user, sc.SpanID())
	}
}

// statelessServer serves the test tools without sessions, so that raw
// POSTs need no handshake.
func statelessServer(t *testing.T, sa *Auditor, jsonResponse bool, wrap ...func(http.Handler) http.Handler) string {
	t.Helper()
	return httpServer(t, sa, newTestServer(sa, nil), &sdkmcp.StreamableHTTPOptions{Stateless: true, JSONResponse: jsonResponse}, wrap...)
}

func TestHTTPMalformedRequests(t *testing.T) {
	type want struct {
		span      string
		errorType string
		id        string // jsonrpc.request.id, "" for none
		status    int    // http.response.status_code, 0 for none
	}
	tests := []struct {
		name   string
		body   string
		header http.Header
		spans  []want
	}{
		{
			name:  "not JSON",
			body:  `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":{"ssn":"` + testSSN,
			spans: []want{{span: "tools/call", errorType: "400", status: 400}},
		},
		{
			name:  "name not a string",
			body:  toolsCall(7, `{"name":5,"arguments":{"ssn":"`+testSSN+`"},"_meta":{"traceparent":"`+traceparent+`"}}`),
			spans: []want{{span: "tools/call", errorType: "-32602", id: "7", status: 200}},
		},
		{
			name:  "no id",
			body:  toolsCall(nil, `{"name":"lookup","arguments":{}}`),
			spans: []want{{span: "tools/call lookup", errorType: "400", status: 400}},
		},
		{
			name:  "no params",
			body:  `{"jsonrpc":"2.0","id":"q-4","method":"tools/call"}`,
			spans: []want{{span: "tools/call", errorType: "400", id: "q-4", status: 400}},
		},
		{
			name:  "unknown tool",
			body:  toolsCall("q-5", `{"name":"nope","arguments":{}}`),
			spans: []want{{span: "tools/call nope", errorType: "-32602", id: "q-5"}},
		},
		{
			name:   "forged exchange header",
			body:   toolsCall(6, `{"name":"lookup","arguments":{"patient_id":"P-6"}}`),
			header: http.Header{tokenHeader: {"forged"}},
			spans:  []want{{span: "tools/call lookup", id: "6"}},
		},
		{
			name:  "escaped method name",
			body:  `{"jsonrpc":"2.0","id":8,"method":"tools\/call","params":{"name":"lookup","arguments":{"patient_id":"P-8"}}}`,
			spans: []want{{span: "tools/call lookup", id: "8"}},
		},
		{
			name: "batch with one bad call",
			body: "[" + toolsCall(11, `{"name":"lookup","arguments":{"patient_id":"P-11"}}`) + "," +
				toolsCall(12, `{"name":["x"]}`) + "]",
			spans: []want{{span: "tools/call lookup", id: "11"}, {span: "tools/call", errorType: "-32602", id: "12", status: 200}},
		},
	}
	for _, mode := range []struct {
		name string
		json bool
	}{{"sse", false}, {"json", true}} {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				sp := newSpans(t)
				sa := sp.auditor(t)
				endpoint := statelessServer(t, sa, mode.json)
				status, body := post(t, endpoint, tt.body, tt.header)
				got := sp.ended(t, trace.SpanKindServer, len(tt.spans))
				for _, w := range tt.spans {
					s := findSpan(t, got, w.span, w.id)
					if s == nil {
						t.Fatalf("no span %q with id %q among %v (HTTP %d %s)", w.span, w.id, names(got), status, body)
					}
					if w.errorType == "" {
						if s.Status().Code == codes.Error {
							t.Errorf("span %q failed: %+v", s.Name(), s.Status())
						}
					} else {
						if got := str(t, s, attrkey.ErrorType); got != w.errorType {
							t.Errorf("span %q: error.type %q, want %q (HTTP %d %s)", s.Name(), got, w.errorType, status, body)
						}
						if s.Status().Code != codes.Error || s.Status().Description == "" {
							t.Errorf("span %q: status %+v", s.Name(), s.Status())
						}
					}
					if w.status != 0 {
						if got := attrs(s)["http.response.status_code"].AsInt64(); got != int64(w.status) {
							t.Errorf("span %q: http.response.status_code %d, want %d", s.Name(), got, w.status)
						}
					}
					if w.id == "" {
						absent(t, s, attrkey.JSONRPCRequestID)
					}
					if got := str(t, s, attrkey.ClientAddress); got != "127.0.0.1" {
						t.Errorf("span %q: client.address %q", s.Name(), got)
					}
					if a := attrs(s)[attrkey.GenAIToolCallArgs].AsString(); strings.Contains(a, testSSN) {
						t.Errorf("span %q: arguments %s hold the ssn", s.Name(), a)
					}
				}
			})
		}
	}
}

func findSpan(t *testing.T, ss []sdktrace.ReadOnlySpan, name, id string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range ss {
		if s.Name() != name {
			continue
		}
		if got, ok := attrs(s)[attrkey.JSONRPCRequestID]; (id == "" && !ok) || (ok && got.AsString() == id) {
			return s
		}
	}
	return nil
}

func TestHTTPNotJSONArguments(t *testing.T) {
	// A body that is not JSON is kept as a marker of its size and error,
	// never its bytes.
	sp := newSpans(t)
	sa := sp.auditor(t)
	endpoint := statelessServer(t, sa, false)
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":{"note":"free text ` + testSSN
	if status, _ := post(t, endpoint, body, nil); status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", status)
	}
	s := sp.one(t, trace.SpanKindServer)
	args := jsonAttr(t, s, attrkey.GenAIToolCallArgs)
	if args["_invalid_json"] == nil || args["_size"] != float64(len(body)) {
		t.Errorf("arguments %v, want the invalid-JSON marker with the size", args)
	}
}

func TestHTTPLargeBodyPassesThrough(t *testing.T) {
	sp := newSpans(t)
	sa := sp.auditor(t, WithMaxRequestBytes(256))
	endpoint := statelessServer(t, sa, false)
	big := strings.Repeat("x", 1000)
	if status, body := post(t, endpoint, toolsCall(1, `{"name":"lookup","arguments":{"patient_id":"`+big+`"}}`), nil); status != http.StatusOK {
		t.Fatalf("status %d %s", status, body)
	}
	s := sp.one(t, trace.SpanKindServer)
	// Recorded by the middleware, without what the handler would add.
	if str(t, s, attrkey.GenAIToolName) != "lookup" {
		t.Errorf("tool %q", str(t, s, attrkey.GenAIToolName))
	}
	absent(t, s, attrkey.JSONRPCRequestID, attrkey.ClientAddress)
}

func TestHeaderAttribution(t *testing.T) {
	meta := `{"otelaudit/user.id":"meta-user","otelaudit/purpose":"billing","otelaudit/user.roles":["clerk"]}`
	header := http.Header{
		HeaderUserID:           {"hdr-user"},
		HeaderUserRoles:        {"doctor, er"},
		HeaderPurpose:          {"treatment"},
		HeaderBreakGlass:       {"true"},
		HeaderBreakGlassReason: {"cardiac arrest"},
		HeaderSubjectType:      {"patient"},
		HeaderSubjectID:        {"P-7"},
		"Authorization":        {"Bearer good"},
	}
	tests := []struct {
		name     string
		trusted  bool
		token    bool // the server verifies a bearer token naming token-user
		body     string
		user     string
		roles    string
		purpose  string
		subject  string
		glass    bool
		failType string
	}{
		{name: "headers ignored", body: toolsCall(1, `{"name":"lookup","arguments":{},"_meta":`+meta+`}`), user: "meta-user", roles: "clerk", purpose: "billing"},
		{name: "headers trusted", trusted: true, body: toolsCall(1, `{"name":"lookup","arguments":{},"_meta":`+meta+`}`), user: "hdr-user", roles: "doctor,er", purpose: "treatment", subject: "P-7", glass: true},
		{name: "token wins", token: true, body: toolsCall(1, `{"name":"lookup","arguments":{},"_meta":`+meta+`}`), user: "token-user", roles: "clerk", purpose: "billing"},
		{name: "token wins over trusted headers", trusted: true, token: true, body: toolsCall(1, `{"name":"lookup","arguments":{},"_meta":`+meta+`}`), user: "token-user", roles: "doctor,er", purpose: "treatment", subject: "P-7", glass: true},
		{name: "refused call, headers trusted", trusted: true, token: true, body: toolsCall(2, `{"name":7,"_meta":`+meta+`}`), user: "token-user", roles: "doctor,er", purpose: "treatment", subject: "P-7", glass: true, failType: "-32602"},
		{name: "refused call, headers ignored", body: toolsCall(2, `{"name":7,"_meta":`+meta+`}`), user: "meta-user", roles: "clerk", purpose: "billing", failType: "-32602"},
	}
	verifier := func(_ context.Context, token string, _ *http.Request) (*auth.TokenInfo, error) {
		if token != "good" {
			return nil, auth.ErrInvalidToken
		}
		return &auth.TokenInfo{UserID: "token-user", Expiration: time.Now().Add(time.Hour)}, nil
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := newSpans(t)
			var opts []Option
			if tt.trusted {
				opts = append(opts, WithTrustedHeaders())
			}
			sa := sp.auditor(t, opts...)
			var wrap []func(http.Handler) http.Handler
			if tt.token {
				wrap = append(wrap, auth.RequireBearerToken(verifier, nil))
			}
			endpoint := statelessServer(t, sa, false, wrap...)
			post(t, endpoint, tt.body, header)
			s := sp.one(t, trace.SpanKindServer)
			if got := str(t, s, attrkey.UserID); got != tt.user {
				t.Errorf("user.id %q, want %q", got, tt.user)
			}
			if got := strings.Join(attrs(s)[attrkey.UserRoles].AsStringSlice(), ","); got != tt.roles {
				t.Errorf("user.roles %q, want %q", got, tt.roles)
			}
			if got := str(t, s, attrkey.Purpose); got != tt.purpose {
				t.Errorf("audit.purpose %q, want %q", got, tt.purpose)
			}
			if tt.subject != "" {
				if got := str(t, s, attrkey.SubjectID); got != tt.subject {
					t.Errorf("audit.subject.id %q, want %q", got, tt.subject)
				}
			} else {
				absent(t, s, attrkey.SubjectID)
			}
			if got := attrs(s)[attrkey.BreakGlass].AsBool(); got != tt.glass {
				t.Errorf("audit.break_glass %v, want %v", got, tt.glass)
			}
			if tt.failType != "" {
				if got := str(t, s, attrkey.ErrorType); got != tt.failType {
					t.Errorf("error.type %q, want %q", got, tt.failType)
				}
			}
		})
	}
}

func TestHTTPOtherRequestsPassThrough(t *testing.T) {
	sp := newSpans(t)
	sa := sp.auditor(t)
	endpoint := statelessServer(t, sa, false)
	status, body := post(t, endpoint, `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`, nil)
	if status != http.StatusOK || !strings.Contains(body, `"lookup"`) {
		t.Fatalf("tools/list: %d %s", status, body)
	}
	resp, err := http.Get(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET on a stateless server: %d, want 405", resp.StatusCode)
	}
	if n := len(sp.sr.Ended()); n != 0 {
		t.Errorf("%d spans recorded, want none", n)
	}
}

func TestHTTPClientGoneBeforeResponse(t *testing.T) {
	// A client that hangs up while its call runs: the call is still
	// recorded once, by the middleware, and not as refused.
	sp := newSpans(t)
	sa := sp.auditor(t)
	started, release := make(chan struct{}), make(chan struct{})
	server := sdkmcp.NewServer(&sdkmcp.Implementation{Name: "slow", Version: "1"}, nil)
	sdkmcp.AddTool(server, &sdkmcp.Tool{Name: "slow"}, func(ctx context.Context, _ *sdkmcp.CallToolRequest, _ map[string]any) (*sdkmcp.CallToolResult, any, error) {
		close(started)
		<-release
		return nil, map[string]any{"ok": true}, nil
	})
	server.AddReceivingMiddleware(sa.ServerMiddleware())
	endpoint := httpServer(t, sa, server, &sdkmcp.StreamableHTTPOptions{Stateless: true})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-started
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(toolsCall(1, `{"name":"slow","arguments":{}}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		// The headers came; read until the cancellation cuts the stream.
		buf := make([]byte, 512)
		for err == nil {
			_, err = resp.Body.Read(buf)
		}
		resp.Body.Close()
	}
	close(release)
	s := sp.one(t, trace.SpanKindServer)
	if s.Name() != "tools/call slow" || s.Status().Code == codes.Error {
		t.Errorf("span %q status %+v", s.Name(), s.Status())
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(sp.sr.Ended()); n != 1 {
		t.Errorf("%d spans, want exactly 1", n)
	}
}

// Ensure a loopback listener is what the tests use.
func TestHTTPServerIsLoopback(t *testing.T) {
	sp := newSpans(t)
	endpoint := statelessServer(t, sp.auditor(t), false)
	u, _ := url.Parse(endpoint)
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Errorf("test server on %s, want loopback", u.Host)
	}
}

func TestHTTPCallBeforeInitialize(t *testing.T) {
	// A stateful server refuses a call outside an initialised session, in
	// the session's goroutine: the handler audits the refusal.
	sp := newSpans(t)
	sa := sp.auditor(t)
	endpoint := httpServer(t, sa, newTestServer(sa, nil), nil)
	status, body := post(t, endpoint, toolsCall(2, `{"name":"lookup","arguments":{"patient_id":"P-1"},"_meta":{"otelaudit/user.id":"mallory"}}`), nil)
	s := sp.one(t, trace.SpanKindServer)
	if got := str(t, s, attrkey.ErrorType); got != "0" {
		t.Errorf("error.type %q, want the JSON-RPC code 0 (HTTP %d %s)", got, status, body)
	}
	if !strings.Contains(s.Status().Description, "invalid during session initialization") {
		t.Errorf("status %+v", s.Status())
	}
	if str(t, s, attrkey.UserID) != "mallory" || str(t, s, attrkey.GenAIToolName) != "lookup" || str(t, s, attrkey.JSONRPCRequestID) != "2" {
		t.Errorf("span %v", keys(s))
	}
}
