package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/otelaudit/otelaudit/examples/mcpserver/medical"
	"github.com/otelaudit/otelaudit/examples/mcpserver/telemetry"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// clearEnv unsets the variables that would send the test's spans
// elsewhere.
func clearEnv(t *testing.T) {
	for _, k := range []string{telemetry.EnvEndpoint, telemetry.EnvTracesEndpoint, telemetry.EnvProtocol, telemetry.EnvTracesProtocol,
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "MCP_SERVER_URL"} {
		t.Setenv(k, "")
	}
}

// memory keeps the spans of every provider it made, by service.
type memory struct {
	mu    sync.Mutex
	spans map[string][]sdktrace.ReadOnlySpan
}

type memExporter struct {
	m       *memory
	service string
}

func (e *memExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.m.mu.Lock()
	defer e.m.mu.Unlock()
	e.m.spans[e.service] = append(e.m.spans[e.service], spans...)
	return nil
}

func (*memExporter) Shutdown(context.Context) error { return nil }

func (m *memory) provider(_ context.Context, service string, _ io.Writer) (*telemetry.Provider, error) {
	res, err := telemetry.NewResource(service)
	if err != nil {
		return nil, err
	}
	return telemetry.NewProvider(&memExporter{m: m, service: service}, res, "memory"), nil
}

func (m *memory) of(service string, kind trace.SpanKind) []sdktrace.ReadOnlySpan {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sdktrace.ReadOnlySpan
	for _, s := range m.spans[service] {
		if s.SpanKind() == kind {
			out = append(out, s)
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

var summary = regexp.MustCompile(fmt.Sprintf(`(?m)^mcpagent: %d tool calls \(%d failed\) over MCP to the (in-process server|server) at http://127\.0\.0\.1:\d+/mcp, in 2 conversations; spans exported to memory$`, scriptCalls, scriptFailed))

func TestRunInProcess(t *testing.T) {
	clearEnv(t)
	m := &memory{spans: map[string][]sdktrace.ReadOnlySpan{}}
	var out bytes.Buffer
	if err := run(context.Background(), config{out: &out, provider: m.provider}); err != nil {
		t.Fatal(err)
	}
	if !summary.MatchString(out.String()) || !strings.Contains(out.String(), "in-process server") {
		t.Errorf("output lacks the summary line:\n%s", out.String())
	}
	clients := m.of(agentService, trace.SpanKindClient)
	servers := m.of(serverService, trace.SpanKindServer)
	turns := m.of(agentService, trace.SpanKindInternal)
	if len(clients) != scriptCalls || len(servers) != scriptCalls || len(turns) != scriptTurns {
		t.Fatalf("%d client, %d server, %d turn spans; want %d, %d, %d", len(clients), len(servers), len(turns), scriptCalls, scriptCalls, scriptTurns)
	}
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	turnIDs := map[trace.SpanID]bool{}
	for _, s := range clients {
		byID[s.SpanContext().SpanID()] = s
	}
	for _, s := range turns {
		turnIDs[s.SpanContext().SpanID()] = true
	}
	for _, c := range clients {
		if !turnIDs[c.Parent().SpanID()] {
			t.Errorf("client span %s is not in an invoke_agent span", c.Name())
		}
	}
	failed, glass := 0, 0
	for _, s := range servers {
		c, ok := byID[s.Parent().SpanID()]
		if !ok || c.SpanContext().TraceID() != s.SpanContext().TraceID() {
			t.Errorf("server span %s has no client parent in its trace", s.Name())
			continue
		}
		sa, ca := attrs(s), attrs(c)
		for _, key := range []string{attrkey.GenAIToolName, attrkey.GenAIToolCallID, attrkey.UserID, attrkey.GenAIConversationID,
			attrkey.Purpose, attrkey.Trigger, attrkey.JSONRPCRequestID, attrkey.MCPSessionID} {
			if sa[key].Emit() != ca[key].Emit() || sa[key].Emit() == "" {
				t.Errorf("%s: %s = %q on the server, %q on the client", s.Name(), key, sa[key].Emit(), ca[key].Emit())
			}
		}
		if sa[attrkey.ClientAddress].AsString() != "127.0.0.1" {
			t.Errorf("%s: client.address %q", s.Name(), sa[attrkey.ClientAddress].AsString())
		}
		if s.Status().Code == codes.Error {
			failed++
			if sa[attrkey.ErrorType].AsString() != "tool_error" || c.Status().Code != codes.Error {
				t.Errorf("%s failed with error.type %q, client status %v", s.Name(), sa[attrkey.ErrorType].AsString(), c.Status())
			}
		}
		if sa[attrkey.BreakGlass].AsBool() {
			glass++
			if sa[attrkey.SubjectID].AsString() != "P-1003" || sa[attrkey.UserID].AsString() != "d-77" || sa[attrkey.BreakGlassReason].AsString() == "" {
				t.Errorf("break-glass span %s: %v", s.Name(), sa)
			}
		}
	}
	if failed != scriptFailed || glass != 1 {
		t.Errorf("%d failed, %d break-glass server spans; want %d, 1", failed, glass, scriptFailed)
	}
	for _, service := range []string{agentService, serverService} {
		for _, s := range m.spans[service] {
			for _, kv := range s.Attributes() {
				if strings.Contains(kv.Value.Emit(), secretSSN) {
					t.Errorf("%s span %s: %s holds the SSN", service, s.Name(), kv.Key)
				}
			}
		}
	}
}

func TestRunAgainstServer(t *testing.T) {
	clearEnv(t)
	m := &memory{spans: map[string][]sdktrace.ReadOnlySpan{}}
	srvTP, _ := m.provider(context.Background(), serverService, nil)
	srv, err := startServer(srvTP)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := run(context.Background(), config{server: srv.URL, out: &out, provider: m.provider}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if err := srvTP.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
	if !summary.MatchString(out.String()) || strings.Contains(out.String(), "in-process") {
		t.Errorf("output lacks the summary line:\n%s", out.String())
	}
	if n, k := len(m.of(agentService, trace.SpanKindClient)), len(m.of(serverService, trace.SpanKindServer)); n != scriptCalls || k != scriptCalls {
		t.Errorf("%d client and %d server spans, want %d each", n, k, scriptCalls)
	}
}

func TestRunUnreachableServer(t *testing.T) {
	clearEnv(t)
	m := &memory{spans: map[string][]sdktrace.ReadOnlySpan{}}
	srv, err := medical.Serve("127.0.0.1:0", nil, medical.NewRecords())
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL
	_ = srv.Shutdown(context.Background())
	err = run(context.Background(), config{server: url, out: io.Discard, provider: m.provider})
	if err == nil || !strings.Contains(err.Error(), "connect to "+url) {
		t.Errorf("run against a closed port: %v", err)
	}
}

// otlpCollector accepts OTLP/HTTP export requests that carry the bearer
// token, refusing others with 401.
type otlpCollector struct {
	token    string
	mu       sync.Mutex
	spans    map[string][]*tracepb.Span // by service
	refused  int
	requests int
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+c.token {
		c.refused++
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(r.Body)
	req := &coltracepb.ExportTraceServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(body, req)
	}
	if err != nil || r.URL.Path != "/v1/traces" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	c.requests++
	for _, rs := range req.ResourceSpans {
		service := ""
		for _, kv := range rs.Resource.GetAttributes() {
			if kv.Key == "service.name" {
				service = kv.Value.GetStringValue()
			}
		}
		for _, ss := range rs.ScopeSpans {
			c.spans[service] = append(c.spans[service], ss.Spans...)
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(b)
}

func TestRunOverOTLP(t *testing.T) {
	clearEnv(t)
	c := &otlpCollector{token: "demo-token", spans: map[string][]*tracepb.Span{}}
	ts := httptest.NewServer(c)
	defer ts.Close()
	t.Setenv(telemetry.EnvEndpoint, ts.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20demo-token")
	var out bytes.Buffer
	if err := run(context.Background(), config{out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "spans exported to OTLP/HTTP "+ts.URL) {
		t.Errorf("output:\n%s", out.String())
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refused != 0 {
		t.Errorf("%d requests without the token", c.refused)
	}
	tools := map[string]int{}
	for service, spans := range c.spans {
		for _, s := range spans {
			if strings.HasPrefix(s.Name, "tools/call ") {
				tools[service]++
			}
		}
	}
	if tools[agentService] != scriptCalls || tools[serverService] != scriptCalls {
		t.Errorf("tool spans by service %v, want %d each", tools, scriptCalls)
	}
}

func TestRunFailsWhenExportIsRefused(t *testing.T) {
	clearEnv(t)
	c := &otlpCollector{token: "right", spans: map[string][]*tracepb.Span{}}
	ts := httptest.NewServer(c)
	defer ts.Close()
	t.Setenv(telemetry.EnvEndpoint, ts.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20wrong")
	var out bytes.Buffer
	err := run(context.Background(), config{out: &out})
	if err == nil || !strings.Contains(err.Error(), "flush spans to OTLP/HTTP") {
		t.Errorf("run = %v, want an export error", err)
	}
	if strings.Contains(out.String(), "mcpagent: ") {
		t.Errorf("summary printed despite the failure:\n%s", out.String())
	}
}

func TestRunPrintsSpans(t *testing.T) {
	clearEnv(t)
	var out bytes.Buffer
	if err := run(context.Background(), config{out: &out}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"tools/call access_patient_record  server  [ok]",
		"tools/call update_treatment  client  [ERROR: patient \"P-1099\" not found]",
		"audit.break_glass.reason     patient unresponsive in the ER, no consent possible",
		"service.name                 mcp-medical-records",
		"service.name                 mcp-agent",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, secretSSN) {
		t.Error("the SSN reached the output")
	}
}
