package mcp

import (
	"context"
	"strings"
	"time"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// ScopeName is the instrumentation scope name of the spans this package
// records.
const ScopeName = "github.com/otelaudit/otelaudit/instrumentation/mcp"

// The instrumentation.Auditor names its spans "execute_tool {tool}" with
// kind INTERNAL. The MCP conventions want "tools/call {tool}" with kind
// SERVER or CLIENT, a start time for requests audited after the fact, and
// links. Rather than fork the Auditor, which owns masking, capture and the
// attribution attributes, the Auditor is given a TracerProvider whose
// tracer reshapes the one span start that carries a shape in its context.

type shapeKey struct{}

// shape is how the next span started with the context is to be reshaped.
type shape struct {
	kind  trace.SpanKind
	links []trace.Link
	start time.Time // zero: now
}

func withShape(ctx context.Context, s *shape) context.Context {
	return context.WithValue(ctx, shapeKey{}, s)
}

type tracerProvider struct {
	embedded.TracerProvider
	tp trace.TracerProvider
}

// Tracer ignores the name the Auditor asks for: the spans are this
// package's.
func (p *tracerProvider) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return &tracer{t: p.tp.Tracer(ScopeName,
		trace.WithInstrumentationVersion(instrumentation.Version()),
		trace.WithSchemaURL(semconv.SchemaURL))}
}

type tracer struct {
	embedded.Tracer
	t trace.Tracer
}

const (
	genericSpanPrefix = "execute_tool"
	mcpSpanPrefix     = "tools/call"
)

func (t *tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	s, _ := ctx.Value(shapeKey{}).(*shape)
	if s == nil {
		return t.t.Start(ctx, name, opts...)
	}
	// The shape is for this span only, not for spans started below it.
	ctx = context.WithValue(ctx, shapeKey{}, (*shape)(nil))
	if rest, ok := strings.CutPrefix(name, genericSpanPrefix); ok {
		name = mcpSpanPrefix + rest
	}
	opts = append(opts[:len(opts):len(opts)], trace.WithSpanKind(s.kind))
	if len(s.links) > 0 {
		opts = append(opts, trace.WithLinks(s.links...))
	}
	if !s.start.IsZero() {
		opts = append(opts, trace.WithTimestamp(s.start))
	}
	return t.t.Start(ctx, name, opts...)
}
