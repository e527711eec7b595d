package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// The standard variables of the OTLP exporter specification that choose
// where and how spans go; the signal-specific one wins.
const (
	envEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	envTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	envProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	envTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// newExporter returns the exporter the environment asks for and a
// description of where it sends spans.
func newExporter(ctx context.Context, w io.Writer, jsonOut bool) (sdktrace.SpanExporter, string, error) {
	endpoint := firstEnv(envTracesEndpoint, envEndpoint)
	if endpoint == "" {
		if jsonOut {
			exp, err := stdouttrace.New(stdouttrace.WithWriter(w), stdouttrace.WithPrettyPrint())
			return exp, "standard output (JSON)", err
		}
		return &listExporter{w: w}, "standard output (set " + envEndpoint + " to send them to a collector)", nil
	}
	// The exporters read the endpoint, headers, TLS, timeout and compression
	// from the same variables themselves.
	switch protocol := firstEnv(envTracesProtocol, envProtocol); protocol {
	case "", "http/protobuf":
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("otlp http exporter: %w", err)
		}
		return exp, "OTLP/HTTP " + endpoint, nil
	case "grpc":
		exp, err := otlptracegrpc.New(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("otlp grpc exporter: %w", err)
		}
		return exp, "OTLP/gRPC " + endpoint, nil
	default:
		return nil, "", fmt.Errorf("%s %q: unsupported, use \"http/protobuf\" or \"grpc\"", protocolVar(), protocol)
	}
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// protocolVar names the variable the protocol was read from.
func protocolVar() string {
	if os.Getenv(envTracesProtocol) != "" {
		return envTracesProtocol
	}
	return envProtocol
}

// listExporter prints each span as a header line and its attributes, one
// per line, sorted by key.
type listExporter struct {
	mu sync.Mutex
	w  io.Writer
}

func (e *listExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for _, s := range spans {
		status := "ok"
		if s.Status().Code == codes.Error {
			status = "ERROR: " + s.Status().Description
		}
		fmt.Fprintf(&b, "%s  [%s]  %s  trace=%s span=%s\n", s.Name(), status,
			s.EndTime().Sub(s.StartTime()).Round(time.Microsecond), s.SpanContext().TraceID(), s.SpanContext().SpanID())
		attrs := slices.Clone(s.Attributes())
		slices.SortFunc(attrs, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
		for _, kv := range attrs {
			fmt.Fprintf(&b, "    %-28s %s\n", kv.Key, kv.Value.Emit())
		}
		for _, ev := range s.Events() {
			fmt.Fprintf(&b, "    event %s\n", ev.Name)
		}
	}
	_, err := io.WriteString(e.w, b.String())
	return err
}

func (*listExporter) Shutdown(context.Context) error { return nil }
