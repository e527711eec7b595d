package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The variables of the OTLP exporter specification that choose the
// transport; the signal-specific one wins. The exporters read every other
// OTEL_EXPORTER_OTLP_* variable (endpoint, headers, TLS, timeout,
// compression) themselves.
const (
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// newExporter returns the OTLP exporter the environment asks for,
// HTTP/protobuf unless the protocol is "grpc", and where it sends spans.
func newExporter(ctx context.Context) (*checkedExporter, string, error) {
	endpoint := firstEnv(envTracesEndpoint, envEndpoint)
	protocol := firstEnv(envTracesProtocol, envProtocol)
	var (
		exp sdktrace.SpanExporter
		err error
	)
	switch protocol {
	case "", "http/protobuf":
		if endpoint == "" {
			endpoint = "http://localhost:4318" // the specification's default
		}
		exp, err = otlptracehttp.New(ctx)
		endpoint = "OTLP/HTTP " + endpoint
	case "grpc":
		if endpoint == "" {
			endpoint = "http://localhost:4317"
		}
		exp, err = otlptracegrpc.New(ctx)
		endpoint = "OTLP/gRPC " + endpoint
	default:
		return nil, "", fmt.Errorf("%s=%q: unsupported, use \"http/protobuf\" or \"grpc\"", envProtocol, protocol)
	}
	if err != nil {
		return nil, "", fmt.Errorf("otlp exporter: %w", err)
	}
	return &checkedExporter{SpanExporter: exp}, endpoint, nil
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// checkedExporter remembers failed exports. The batch span processor
// reports a failed background export only to the global error handler, so
// without this a program could not tell that its spans were lost.
type checkedExporter struct {
	sdktrace.SpanExporter

	mu     sync.Mutex
	failed int
	err    error
}

func (e *checkedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
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
func (e *checkedExporter) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err == nil {
		return nil
	}
	return fmt.Errorf("%d spans not exported: %w", e.failed, e.err)
}
