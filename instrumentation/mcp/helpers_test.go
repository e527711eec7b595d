package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// spans is a real SDK TracerProvider recording into memory.
type spans struct {
	sr *tracetest.SpanRecorder
	tp *sdktrace.TracerProvider
}

func newSpans(t testing.TB) *spans {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &spans{sr: sr, tp: tp}
}

func (s *spans) auditor(t testing.TB, opts ...Option) *Auditor {
	t.Helper()
	a, err := New(append([]Option{WithTracerProvider(s.tp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ended returns the ended spans of kind, waiting a little for spans that
// end on another goroutine after the response was sent.
func (s *spans) ended(t testing.TB, kind trace.SpanKind, want int) []sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out []sdktrace.ReadOnlySpan
		for _, sp := range s.sr.Ended() {
			if sp.SpanKind() == kind {
				out = append(out, sp)
			}
		}
		if len(out) >= want || time.Now().After(deadline) {
			if len(out) != want {
				t.Fatalf("%d %s spans ended, want %d: %v", len(out), kind, want, names(out))
			}
			return out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// one returns the one ended span of kind.
func (s *spans) one(t testing.TB, kind trace.SpanKind) sdktrace.ReadOnlySpan {
	t.Helper()
	return s.ended(t, kind, 1)[0]
}

func names(ss []sdktrace.ReadOnlySpan) []string {
	var n []string
	for _, s := range ss {
		n = append(n, s.Name())
	}
	return n
}

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := make(map[string]attribute.Value)
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// str returns the string attribute key of s, failing if it is absent.
func str(t testing.TB, s sdktrace.ReadOnlySpan, key string) string {
	t.Helper()
	v, ok := attrs(s)[key]
	if !ok {
		t.Fatalf("span %q has no attribute %s; it has %v", s.Name(), key, keys(s))
	}
	if v.Type() != attribute.STRING {
		t.Fatalf("attribute %s of span %q is a %s, want a string", key, s.Name(), v.Type())
	}
	return v.AsString()
}

func keys(s sdktrace.ReadOnlySpan) []string {
	var k []string
	for key := range attrs(s) {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func absent(t testing.TB, s sdktrace.ReadOnlySpan, keys ...string) {
	t.Helper()
	m := attrs(s)
	for _, k := range keys {
		if v, ok := m[k]; ok {
			t.Errorf("span %q has attribute %s = %s, want none", s.Name(), k, v.String())
		}
	}
}

// jsonAttr decodes the JSON string attribute key of s.
func jsonAttr(t testing.TB, s sdktrace.ReadOnlySpan, key string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(str(t, s, key)), &v); err != nil {
		t.Fatalf("%s is not a JSON object: %v", key, err)
	}
	return v
}

// The test tools: a patient lookup whose arguments hold a secret, a tool
// that fails with an isError result, and one that answers with a JSON-RPC
// error.
type lookupIn struct {
	PatientID string `json:"patient_id"`
	SSN       string `json:"ssn,omitempty"`
}

type lookupOut struct {
	PatientID string `json:"patient_id"`
	Name      string `json:"name"`
	Status    string `json:"status"`
}

const testSSN = "123-45-6789"

// handled records what the lookup handler saw in its context.
type handled struct {
	mu   sync.Mutex
	user string
	span trace.SpanContext
}

func (h *handled) get() (string, trace.SpanContext) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.user, h.span
}

func newTestServer(a *Auditor, h *handled) *sdkmcp.Server {
	s := sdkmcp.NewServer(&sdkmcp.Implementation{Name: "test-server", Version: "1"}, nil)
	sdkmcp.AddTool(s, &sdkmcp.Tool{Name: "lookup", Description: "look a patient up"},
		func(ctx context.Context, _ *sdkmcp.CallToolRequest, in lookupIn) (*sdkmcp.CallToolResult, lookupOut, error) {
			if h != nil {
				h.mu.Lock()
				h.user = instrumentation.AttributionFromContext(ctx).UserID
				h.span = trace.SpanContextFromContext(ctx)
				h.mu.Unlock()
			}
			return nil, lookupOut{PatientID: in.PatientID, Name: "Jane Roe", Status: "active"}, nil
		})
	sdkmcp.AddTool(s, &sdkmcp.Tool{Name: "fail"},
		func(context.Context, *sdkmcp.CallToolRequest, lookupIn) (*sdkmcp.CallToolResult, lookupOut, error) {
			return nil, lookupOut{}, errors.New("patient P-404 not found")
		})
	s.AddTool(&sdkmcp.Tool{Name: "rpcfail", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *sdkmcp.CallToolRequest) (*sdkmcp.CallToolResult, error) {
			return nil, &jsonrpc.Error{Code: -32001, Message: "backend unavailable"}
		})
	if a != nil {
		s.AddReceivingMiddleware(a.ServerMiddleware())
	}
	return s
}

// pair connects a client to a server over the SDK's in-memory transports,
// each side wrapped by its Auditor (either may be nil).
func pair(t testing.TB, server *sdkmcp.Server, sa, ca *Auditor) *sdkmcp.ClientSession {
	t.Helper()
	ctx := context.Background()
	st, ct := sdkmcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, sa.Transport(st), nil)
	if err != nil {
		t.Fatal(err)
	}
	client := sdkmcp.NewClient(&sdkmcp.Implementation{Name: "test-client", Version: "1"}, nil)
	if ca != nil {
		client.AddSendingMiddleware(ca.ClientMiddleware())
	}
	cs, err := client.Connect(ctx, ca.Transport(ct), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		_ = ss.Wait()
	})
	return cs
}

// httpServer serves server over streamable HTTP on a loopback port.
func httpServer(t testing.TB, a *Auditor, server *sdkmcp.Server, opts *sdkmcp.StreamableHTTPOptions, wrap ...func(http.Handler) http.Handler) string {
	t.Helper()
	var h http.Handler = sdkmcp.NewStreamableHTTPHandler(func(*http.Request) *sdkmcp.Server { return server }, opts)
	h = a.Handler(h)
	for _, w := range wrap {
		h = w(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

// post sends one raw JSON-RPC POST to a stateless MCP endpoint and returns
// the status and body.
func post(t testing.TB, url, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

func toolsCall(id any, params string) string {
	if id == nil {
		return fmt.Sprintf(`{"jsonrpc":"2.0","method":"tools/call","params":%s}`, params)
	}
	idJSON, _ := json.Marshal(id)
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":%s}`, idJSON, params)
}
