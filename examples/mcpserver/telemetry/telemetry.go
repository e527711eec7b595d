// Package telemetry sets up the TracerProvider of the MCP example's server
// and agent: OTLP export configured by the standard OTEL_EXPORTER_OTLP_*
// variables, or a compact span listing on a writer when no endpoint is
// set.
package telemetry

import (
	"context"
	"errors"
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
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// The standard variables of the OTLP exporter specification that choose
// where and how spans go; the signal-specific one wins. The exporters read
// the others (headers, TLS, timeout, compression) themselves.
const (
	EnvEndpoint       = "OTEL_EXPORTER_OTLP_ENDPOINT"
	EnvTracesEndpoint = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	EnvProtocol       = "OTEL_EXPORTER_OTLP_PROTOCOL"
	EnvTracesProtocol = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
)

// Provider is a TracerProvider with a description of where its spans go.
type Provider struct {
	*sdktrace.TracerProvider
	// Destination says where the spans go, for messages.
	Destination string
	exp         *errExporter
}

// NewProvider returns a Provider whose spans exp exports in batches, for
// tests and other exporters.
func NewProvider(exp sdktrace.SpanExporter, res *resource.Resource, destination string) *Provider {
	e := &errExporter{SpanExporter: exp}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(e)}
	if res != nil {
		opts = append(opts, sdktrace.WithResource(res))
	}
	return &Provider{TracerProvider: sdktrace.NewTracerProvider(opts...), Destination: destination, exp: e}
}

// Shutdown flushes the spans still buffered and stops the provider,
// waiting at most 10 seconds: without it the last spans are lost. It
// returns an error if any batch could not be exported, then or before.
func (p *Provider) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := errors.Join(p.TracerProvider.Shutdown(ctx), p.exp.Err()); err != nil {
		return fmt.Errorf("flush spans to %s: %w", p.Destination, err)
	}
	return nil
}

// errExporter remembers the first export error, which the batch processor
// would otherwise only log.
type errExporter struct {
	sdktrace.SpanExporter
	mu  sync.Mutex
	err error
}

func (e *errExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return err
}

// Err returns the first export error.
func (e *errExporter) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// New returns the TracerProvider of service: OTLP when an endpoint
// variable is set, else a listing on w, one Write per batch (wrap a writer
// shared with other providers in Locked). OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override the resource.
func New(ctx context.Context, service string, w io.Writer) (*Provider, error) {
	exp, dest, err := newExporter(ctx, w)
	if err != nil {
		return nil, err
	}
	res, err := NewResource(service)
	if err != nil {
		return nil, err
	}
	return NewProvider(exp, res, dest), nil
}

func newExporter(ctx context.Context, w io.Writer) (sdktrace.SpanExporter, string, error) {
	endpoint := firstEnv(EnvTracesEndpoint, EnvEndpoint)
	if endpoint == "" {
		return &listExporter{w: w}, "standard output (set " + EnvEndpoint + " to send them to a collector)", nil
	}
	switch protocol := firstEnv(EnvTracesProtocol, EnvProtocol); protocol {
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
		name := EnvProtocol
		if os.Getenv(EnvTracesProtocol) != "" {
			name = EnvTracesProtocol
		}
		return nil, "", fmt.Errorf("%s %q: unsupported, use \"http/protobuf\" or \"grpc\"", name, protocol)
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

// NewResource describes service with the schema of semconv v1.43.0, which
// resource.Default carries in this SDK version; the environment has the
// last word.
func NewResource(service string) (*resource.Resource, error) {
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service)))
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	if res, err = resource.Merge(res, resource.Environment()); err != nil {
		return nil, fmt.Errorf("resource from the environment: %w", err)
	}
	return res, nil
}

// listExporter prints each span as a header line and its attributes, one
// per line, sorted by key.
type listExporter struct {
	w io.Writer
}

func (e *listExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	var b strings.Builder
	for _, s := range spans {
		status := "ok"
		if s.Status().Code == codes.Error {
			status = "ERROR: " + s.Status().Description
		}
		service := ""
		if v, ok := s.Resource().Set().Value(semconv.ServiceNameKey); ok {
			service = v.AsString()
		}
		fmt.Fprintf(&b, "%s  %s  [%s]  %s  trace=%s span=%s parent=%s\n", s.Name(), s.SpanKind(), status,
			s.EndTime().Sub(s.StartTime()).Round(time.Microsecond), s.SpanContext().TraceID(), s.SpanContext().SpanID(), s.Parent().SpanID())
		fmt.Fprintf(&b, "    %-28s %s\n", "service.name", service)
		attrs := slices.Clone(s.Attributes())
		slices.SortFunc(attrs, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
		for _, kv := range attrs {
			fmt.Fprintf(&b, "    %-28s %s\n", kv.Key, kv.Value.Emit())
		}
	}
	_, err := io.WriteString(e.w, b.String())
	return err
}

func (*listExporter) Shutdown(context.Context) error { return nil }

// Locked returns a writer that passes each Write to w under a lock, for
// providers that share one writer.
func Locked(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
