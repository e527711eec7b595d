package agentkit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/examples/internal/agenttest"
	"github.com/otelaudit/otelaudit/instrumentation"
)

// oneSpan records a span named "work" and shuts p down.
func oneSpan(t *testing.T, p *agentkit.Provider) error {
	t.Helper()
	_, span := p.Tracer("test").Start(context.Background(), "work")
	span.End()
	return p.Shutdown(context.Background())
}

// agentkit.New picks the transport and endpoint from the standard variables, the
// signal-specific ones first, and the resource from the environment last.
func TestNewFollowsEnvironment(t *testing.T) {
	tests := []struct {
		name     string
		receiver string // the protocol the receiver speaks
		env      map[string]string
		wantDest string
		service  string
	}{
		{name: "http by default", receiver: "http", env: map[string]string{agentkit.EnvEndpoint: "URL"}, wantDest: "OTLP/HTTP URL"},
		{name: "http/protobuf", receiver: "http", env: map[string]string{agentkit.EnvEndpoint: "URL", agentkit.EnvProtocol: "http/protobuf"}, wantDest: "OTLP/HTTP URL"},
		{name: "traces endpoint", receiver: "http", env: map[string]string{agentkit.EnvTracesEndpoint: "URL/v1/traces", agentkit.EnvEndpoint: "http://127.0.0.1:1"}, wantDest: "OTLP/HTTP URL/v1/traces"},
		{name: "grpc", receiver: "grpc", env: map[string]string{agentkit.EnvEndpoint: "URL", agentkit.EnvProtocol: "grpc"}, wantDest: "OTLP/gRPC URL"},
		{name: "traces protocol wins", receiver: "grpc", env: map[string]string{agentkit.EnvEndpoint: "URL", agentkit.EnvProtocol: "http/protobuf", agentkit.EnvTracesProtocol: "grpc"}, wantDest: "OTLP/gRPC URL"},
		{name: "service name from the environment", receiver: "http", env: map[string]string{agentkit.EnvEndpoint: "URL", "OTEL_SERVICE_NAME": "billing-agent"},
			wantDest: "OTLP/HTTP URL", service: "billing-agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			agenttest.ClearEnv(t)
			r := agenttest.NewReceiver(t, tt.receiver, "")
			for k, v := range tt.env {
				t.Setenv(k, strings.Replace(v, "URL", r.URL, 1))
			}
			p, err := agentkit.New(context.Background(), "svc")
			if err != nil {
				t.Fatal(err)
			}
			if want := strings.Replace(tt.wantDest, "URL", r.URL, 1); p.Destination != want {
				t.Errorf("destination %q, want %q", p.Destination, want)
			}
			if err := oneSpan(t, p); err != nil {
				t.Fatal(err)
			}
			spans := r.Spans()
			service := tt.service
			if service == "" {
				service = "svc"
			}
			if len(spans) != 1 || spans[0].Name != "work" || spans[0].Resource["service.name"] != service ||
				spans[0].Resource["service.version"] != instrumentation.Version() || spans[0].SchemaURL != semconv.SchemaURL {
				t.Errorf("received %+v, want the span of %s", spans, service)
			}
		})
	}
}

// Without an endpoint, and without a listing, the spans go to the
// specification's default endpoint. Nothing is sent: no span is recorded.
func TestNewDefaultEndpoint(t *testing.T) {
	for protocol, want := range map[string]string{"": "OTLP/HTTP http://localhost:4318", "grpc": "OTLP/gRPC http://localhost:4317"} {
		agenttest.ClearEnv(t)
		t.Setenv(agentkit.EnvProtocol, protocol)
		p, err := agentkit.New(context.Background(), "svc")
		if err != nil {
			t.Fatal(err)
		}
		if p.Destination != want {
			t.Errorf("protocol %q: destination %q, want %q", protocol, p.Destination, want)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Errorf("shutdown with nothing to flush: %v", err)
		}
	}
}

func TestNewRefusesUnknownProtocol(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{env: map[string]string{agentkit.EnvProtocol: "http/json"},
			want: `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": unsupported, use "http/protobuf" or "grpc"`},
		{env: map[string]string{agentkit.EnvProtocol: "grpc", agentkit.EnvTracesProtocol: "thrift"},
			want: `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="thrift": unsupported, use "http/protobuf" or "grpc"`},
	}
	for _, tt := range tests {
		agenttest.ClearEnv(t)
		t.Setenv(agentkit.EnvEndpoint, "http://127.0.0.1:1")
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		if _, err := agentkit.New(context.Background(), "svc", agentkit.WithListing(io.Discard)); err == nil || err.Error() != tt.want {
			t.Errorf("New = %v, want %s", err, tt.want)
		}
	}
}

func TestListing(t *testing.T) {
	agenttest.ClearEnv(t)
	var out bytes.Buffer
	p, err := agentkit.New(context.Background(), "svc", agentkit.WithJSON(io.Discard), agentkit.WithListing(&out))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := p.Tracer("test").Start(context.Background(), "turn")
	_, span := p.Tracer("test").Start(ctx, "call", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("zeta", "last"), attribute.Int("alpha", 1), attribute.StringSlice("mid", []string{"x", "y"})))
	span.AddEvent("retry")
	span.SetStatus(codes.Error, "it broke")
	span.End()
	parent.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Destination, "standard output (set OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Errorf("destination %q", p.Destination)
	}
	sc := span.SpanContext()
	want := "call  client  [ERROR: it broke]  "
	wantIDs := "  trace=" + sc.TraceID().String() + " span=" + sc.SpanID().String() + " parent=" + parent.SpanContext().SpanID().String() + "\n" +
		"    service.name                 svc\n" +
		"    alpha                        1\n" +
		"    mid                          [\"x\",\"y\"]\n" +
		"    zeta                         last\n" +
		"    event retry\n" +
		"turn  internal  [ok]  "
	text := out.String()
	if !strings.HasPrefix(text, want) || !strings.Contains(text, wantIDs) {
		t.Errorf("listing:\n%s\nwant it to start with %q and hold %q", text, want, wantIDs)
	}
}

func TestJSON(t *testing.T) {
	agenttest.ClearEnv(t)
	var out bytes.Buffer
	p, err := agentkit.New(context.Background(), "svc", agentkit.WithListing(io.Discard), agentkit.WithJSON(&out))
	if err != nil {
		t.Fatal(err)
	}
	if err := oneSpan(t, p); err != nil {
		t.Fatal(err)
	}
	var span struct {
		Name     string
		Resource []struct{ Key string }
	}
	if err := json.Unmarshal(out.Bytes(), &span); err != nil || span.Name != "work" || p.Destination != "standard output (JSON)" {
		t.Errorf("span %+v, error %v, destination %q; output:\n%s", span, err, p.Destination, out.String())
	}
}

// failFirst fails its first export when fail is set, and records the
// spans of the others. (The SDK's in-memory exporter forgets its spans on
// Shutdown.)
type failFirst struct {
	fail     bool
	mu       sync.Mutex
	calls    int
	exported []string
}

func (e *failFirst) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.calls++
	if e.fail && e.calls == 1 {
		return errors.New("refused")
	}
	for _, s := range spans {
		e.exported = append(e.exported, s.Name())
	}
	return nil
}

func (*failFirst) Shutdown(context.Context) error { return nil }

// A batch lost in the background, which the SDK only logs, fails Shutdown
// with the count of the lost spans, however many batches follow.
func TestShutdownReportsLostSpans(t *testing.T) {
	exp := &failFirst{fail: true}
	p := agentkit.NewProvider(exp, nil, "nowhere")
	tr := p.Tracer("test")
	for _, name := range []string{"a", "b", "c"} {
		_, s := tr.Start(context.Background(), name)
		s.End()
	}
	if err := p.ForceFlush(context.Background()); err == nil {
		t.Error("the failed flush returned no error")
	}
	_, s := tr.Start(context.Background(), "d")
	s.End()
	want := "flush spans to nowhere: 3 spans not exported: refused"
	if err := p.Shutdown(context.Background()); err == nil || err.Error() != want {
		t.Errorf("Shutdown = %v, want %s", err, want)
	}
	if strings.Join(exp.exported, ",") != "d" {
		t.Errorf("exported %v, want [d]", exp.exported)
	}
	if err := p.Shutdown(context.Background()); err == nil || err.Error() != want {
		t.Errorf("second Shutdown = %v, want %s", err, want)
	}
}

// An interrupted agent still flushes: Shutdown ignores ctx's cancellation.
func TestShutdownFlushesAfterCancel(t *testing.T) {
	exp := &failFirst{}
	p := agentkit.NewProvider(exp, nil, "memory")
	ctx, cancel := context.WithCancel(context.Background())
	_, s := p.Tracer("test").Start(ctx, "work")
	s.End()
	cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Join(exp.exported, ",") != "work" {
		t.Errorf("exported %v, want [work]", exp.exported)
	}
}

func TestNewResource(t *testing.T) {
	agenttest.ClearEnv(t)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test,service.name=from-attributes")
	res, err := agentkit.NewResource("svc")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, kv := range res.Attributes() {
		got[string(kv.Key)] = kv.Value.String()
	}
	if got["service.name"] != "from-attributes" || got["deployment.environment.name"] != "test" ||
		got["service.version"] != instrumentation.Version() || res.SchemaURL() != semconv.SchemaURL {
		t.Errorf("resource %v, schema %q", got, res.SchemaURL())
	}
}

func TestLocked(t *testing.T) {
	var b bytes.Buffer
	w := agentkit.Locked(&b)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_, _ = w.Write([]byte("x"))
			}
		})
	}
	wg.Wait()
	if b.Len() != 800 {
		t.Errorf("%d bytes written, want 800", b.Len())
	}
}
