package agentkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// FlushTimeout bounds Provider.Shutdown.
const FlushTimeout = 15 * time.Second

// Provider is a TracerProvider that exports its spans in batches, says
// where they go, and remembers the spans it could not export: the batch
// span processor reports a failed background export only to the global
// error handler, which logs it, so without this a program could not tell
// that its spans were lost. It is safe for concurrent use.
type Provider struct {
	*sdktrace.TracerProvider
	// Destination says where the spans go, for messages: "OTLP/HTTP URL",
	// "OTLP/gRPC URL" or "standard output ...".
	Destination string

	exp *countingExporter
}

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	// printer, when not nil, returns the exporter to use when no endpoint
	// variable is set.
	printer func() (sdktrace.SpanExporter, string, error)
}

// WithListing makes New print the spans to w when neither
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT nor OTEL_EXPORTER_OTLP_ENDPOINT is set,
// instead of sending them to the default endpoint: per span a header line
// (name, kind, status, duration, ids), its service.name, its attributes
// sorted by key and its events. Each batch is one Write; wrap a writer
// shared with other providers in Locked. The last of WithListing and
// WithJSON wins.
func WithListing(w io.Writer) Option {
	return optionFunc(func(c *config) {
		c.printer = func() (sdktrace.SpanExporter, string, error) {
			return &listExporter{w: w}, "standard output (set " + EnvEndpoint + " to send them to a collector)", nil
		}
	})
}

// WithJSON is WithListing with the spans written as the SDK's stdout
// exporter writes them, as indented JSON.
func WithJSON(w io.Writer) Option {
	return optionFunc(func(c *config) {
		c.printer = func() (sdktrace.SpanExporter, string, error) {
			exp, err := newJSONExporter(w)
			return exp, "standard output (JSON)", err
		}
	})
}

// New returns the Provider of service. Its spans go over OTLP as the
// standard variables say: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318, or
// http://localhost:4317 for gRPC, unless WithListing or WithJSON print
// them instead), OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or
// OTEL_EXPORTER_OTLP_PROTOCOL ("http/protobuf", the default, or "grpc"),
// and the other OTEL_EXPORTER_OTLP_* variables (headers, TLS, timeout,
// compression), which the SDK's exporters read. Its resource is
// NewResource(service).
func New(ctx context.Context, service string, opts ...Option) (*Provider, error) {
	var cfg config
	for _, o := range opts {
		o.apply(&cfg)
	}
	exp, dest, err := newExporter(ctx, cfg.printer)
	if err != nil {
		return nil, err
	}
	res, err := NewResource(service)
	if err != nil {
		return nil, errors.Join(err, exp.Shutdown(ctx))
	}
	return NewProvider(exp, res, dest), nil
}

// NewProvider returns a Provider whose spans exp exports in batches, for
// tests and exporters of other kinds. res nil is the SDK's default
// resource.
func NewProvider(exp sdktrace.SpanExporter, res *resource.Resource, destination string) *Provider {
	e := &countingExporter{SpanExporter: exp}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(e)}
	if res != nil {
		opts = append(opts, sdktrace.WithResource(res))
	}
	return &Provider{TracerProvider: sdktrace.NewTracerProvider(opts...), Destination: destination, exp: e}
}

// Shutdown flushes the spans still buffered and stops the provider:
// without it the last spans are lost. It waits at most FlushTimeout, even
// when ctx is already cancelled (an interrupted agent still flushes). It
// returns an error if any span could not be exported, then or before,
// saying how many and the first reason. Calling it again reports the same
// export failures.
func (p *Provider) Shutdown(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FlushTimeout)
	defer cancel()
	if err := errors.Join(p.TracerProvider.Shutdown(ctx), p.exp.Err()); err != nil {
		return fmt.Errorf("flush spans to %s: %w", p.Destination, err)
	}
	return nil
}

// NewResource describes service, with the version of the instrumentation
// as service.version, in the schema of semconv v1.43.0, which
// resource.Default carries in this SDK version. OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES have the last word.
func NewResource(service string) (*resource.Resource, error) {
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(service), semconv.ServiceVersion(instrumentation.Version())))
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	if res, err = resource.Merge(res, resource.Environment()); err != nil {
		return nil, fmt.Errorf("resource from the environment: %w", err)
	}
	return res, nil
}
