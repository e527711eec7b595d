package agentkit

import (
	"context"
	"fmt"
	"os"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The variables of the OTLP exporter specification that choose where and
// how spans go; the signal-specific one wins. The SDK's exporters read
// these and every other OTEL_EXPORTER_OTLP_* variable themselves.
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// newExporter returns the exporter the environment asks for and where it
// sends spans. With no endpoint variable set it returns the exporter of
// printer, or, if printer is nil, the OTLP exporter of the specification's
// default endpoint.
func newExporter(ctx context.Context, printer func() (sdktrace.SpanExporter, string, error)) (sdktrace.SpanExporter, string, error) {
	_, endpoint := firstEnv(EnvTracesEndpoint, EnvEndpoint)
	if endpoint == "" && printer != nil {
		return printer()
	}
	var (
		transport, defaultEndpoint string
		newOTLP                    func(context.Context) (sdktrace.SpanExporter, error)
	)
	switch name, protocol := firstEnv(EnvTracesProtocol, EnvProtocol); protocol {
	case "", "http/protobuf":
		transport, defaultEndpoint = "HTTP", "http://localhost:4318"
		newOTLP = func(ctx context.Context) (sdktrace.SpanExporter, error) { return otlptracehttp.New(ctx) }
	case "grpc":
		transport, defaultEndpoint = "gRPC", "http://localhost:4317"
		newOTLP = func(ctx context.Context) (sdktrace.SpanExporter, error) { return otlptracegrpc.New(ctx) }
	default:
		return nil, "", fmt.Errorf("%s=%q: unsupported, use \"http/protobuf\" or \"grpc\"", name, protocol)
	}
	if endpoint == "" {
		endpoint = defaultEndpoint // the specification's
	}
	exp, err := newOTLP(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("otlp %s exporter: %w", transport, err)
	}
	return exp, "OTLP/" + transport + " " + endpoint, nil
}

// firstEnv returns the first of the variables names that is set and not
// empty, and its value; the last name and "" when none is.
func firstEnv(names ...string) (name, value string) {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return n, v
		}
	}
	return names[len(names)-1], ""
}

// countingExporter counts the spans its exporter failed to export and
// keeps the first reason.
type countingExporter struct {
	sdktrace.SpanExporter

	mu     sync.Mutex
	failed int
	err    error
}

func (e *countingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.mu.Lock()
		e.failed += len(spans)
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return err
}

// Err returns an error saying how many spans were not exported and the
// first reason, or nil when every export succeeded.
func (e *countingExporter) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		return nil
	}
	return fmt.Errorf("%d spans not exported: %w", e.failed, e.err)
}
