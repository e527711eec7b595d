package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/examples/internal/agenttest"
	"github.com/otelaudit/otelaudit/examples/mcpserver/medical"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// clearEnv unsets the variables that would send the test's spans, or its
// calls, elsewhere.
func clearEnv(t *testing.T) { agenttest.ClearEnv(t, "MCP_SERVER_URL") }

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

func (m *memory) provider(_ context.Context, service string, _ io.Writer) (*agentkit.Provider, error) {
	res, err := agentkit.NewResource(service)
	if err != nil {
		return nil, err
	}
	return agentkit.NewProvider(&memExporter{m: m, service: service}, res, "memory"), nil
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
		sa, ca := agenttest.Attrs(s), agenttest.Attrs(c)
		for _, key := range []string{attrkey.GenAIToolName, attrkey.GenAIToolCallID, attrkey.UserID, attrkey.GenAIConversationID,
			attrkey.Purpose, attrkey.Trigger, attrkey.JSONRPCRequestID, attrkey.MCPSessionID} {
			if sv, cv := fmt.Sprint(sa[key]), fmt.Sprint(ca[key]); sv != cv || sa[key] == nil || sv == "" {
				t.Errorf("%s: %s = %q on the server, %q on the client", s.Name(), key, sv, cv)
			}
		}
		if sa[attrkey.ClientAddress] != "127.0.0.1" {
			t.Errorf("%s: client.address %v", s.Name(), sa[attrkey.ClientAddress])
		}
		if s.Status().Code == codes.Error {
			failed++
			if sa[attrkey.ErrorType] != "tool_error" || c.Status().Code != codes.Error {
				t.Errorf("%s failed with error.type %v, client status %v", s.Name(), sa[attrkey.ErrorType], c.Status())
			}
		}
		if sa[attrkey.BreakGlass] == true {
			glass++
			if reason, _ := sa[attrkey.BreakGlassReason].(string); sa[attrkey.SubjectID] != "P-1003" || sa[attrkey.UserID] != "d-77" || reason == "" {
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
				if strings.Contains(kv.Value.String(), secretSSN) {
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

func TestRunOverOTLP(t *testing.T) {
	clearEnv(t)
	r := agenttest.NewReceiver(t, "http", "demo-token")
	r.PointAt(t, "demo-token")
	var out bytes.Buffer
	if err := run(context.Background(), config{out: &out}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "spans exported to OTLP/HTTP "+r.URL) {
		t.Errorf("output:\n%s", out.String())
	}
	if r.Refused() != 0 {
		t.Errorf("%d requests without the token", r.Refused())
	}
	tools := map[string]int{}
	for _, s := range r.Spans() {
		if strings.HasPrefix(s.Name, "tools/call ") {
			tools[s.Resource["service.name"]]++
		}
	}
	if tools[agentService] != scriptCalls || tools[serverService] != scriptCalls {
		t.Errorf("tool spans by service %v, want %d each", tools, scriptCalls)
	}
}

// Both providers, the agent's and the in-process server's, fail the run
// when their spans are refused.
func TestRunExportsOrFails(t *testing.T) {
	clearEnv(t)
	agenttest.CheckExport(t, func(ctx context.Context, w io.Writer) error { return run(ctx, config{out: w}) },
		2*scriptCalls+scriptTurns, fmt.Sprintf("mcpagent: %d tool calls (%d failed) over MCP to the in-process server at http://127.0.0.1:", scriptCalls, scriptFailed))
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
