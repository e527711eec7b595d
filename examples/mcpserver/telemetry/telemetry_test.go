package telemetry

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func clearEnv(t *testing.T) {
	for _, k := range []string{EnvEndpoint, EnvTracesEndpoint, EnvProtocol, EnvTracesProtocol, "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"} {
		t.Setenv(k, "")
	}
}

func TestListing(t *testing.T) {
	clearEnv(t)
	var out bytes.Buffer
	p, err := New(context.Background(), "svc", &out)
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Tracer("t").Start(context.Background(), "work")
	span.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(p.Destination, "standard output") || !strings.Contains(out.String(), "work  internal  [ok]") ||
		!strings.Contains(out.String(), "service.name                 svc") {
		t.Errorf("destination %q, output:\n%s", p.Destination, out.String())
	}
}

func TestProtocols(t *testing.T) {
	tests := []struct {
		protocol, want string
		fails          bool
	}{
		{protocol: "", want: "OTLP/HTTP http://127.0.0.1:1"},
		{protocol: "http/protobuf", want: "OTLP/HTTP http://127.0.0.1:1"},
		{protocol: "grpc", want: "OTLP/gRPC http://127.0.0.1:1"},
		{protocol: "http/json", fails: true},
	}
	for _, tt := range tests {
		t.Run(tt.protocol, func(t *testing.T) {
			clearEnv(t)
			t.Setenv(EnvEndpoint, "http://127.0.0.1:1")
			t.Setenv(EnvTracesProtocol, tt.protocol)
			p, err := New(context.Background(), "svc", &bytes.Buffer{})
			if tt.fails {
				if err == nil || !strings.Contains(err.Error(), EnvTracesProtocol) {
					t.Errorf("New = %v, want an error naming %s", err, EnvTracesProtocol)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Destination != tt.want {
				t.Errorf("destination %q, want %q", p.Destination, tt.want)
			}
			// Nothing recorded: shutting down exports nothing and succeeds.
			if err := p.Shutdown(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
}

type failing struct{}

func (failing) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error {
	return errors.New("refused")
}
func (failing) Shutdown(context.Context) error { return nil }

func TestShutdownReportsExportErrors(t *testing.T) {
	p := NewProvider(failing{}, nil, "nowhere")
	_, span := p.Tracer("t").Start(context.Background(), "work")
	span.End()
	err := p.Shutdown(context.Background())
	if err == nil || !strings.Contains(err.Error(), "flush spans to nowhere: refused") {
		t.Errorf("Shutdown = %v", err)
	}
}

func TestLocked(t *testing.T) {
	var b bytes.Buffer
	w := Locked(&b)
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
