package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// methodToolsCall is the one MCP method this package records.
const methodToolsCall = "tools/call"

// errAborted ends the span of a handler that called runtime.Goexit.
var errAborted = &kindError{typ: "aborted", err: errors.New("mcp: handler did not return (runtime.Goexit)")}

// Auditor records the tools/call requests of MCP servers and clients built
// with the official Go SDK as audit spans. Create one with New; it is safe
// for concurrent use and may serve any number of servers, clients and
// sessions. A nil *Auditor records nothing: its middleware, handler and
// transport wrappers pass everything through.
type Auditor struct {
	aud             *instrumentation.Auditor
	prop            propagation.TextMapPropagator
	trustHeaders    bool
	sendAttribution bool
	maxBody         int64

	// Requests seen by a wrapped transport or handler before they reach
	// ServerMiddleware, which claims them: by their *sdkmcp.RequestExtra
	// (Transport) or by the token that Handler puts in their header.
	byExtra sync.Map // *sdkmcp.RequestExtra → *inbound
	byToken sync.Map // string → *exchange
}

// New returns an Auditor configured by opts, or an error naming the option
// and value that are not acceptable.
func New(opts ...Option) (*Auditor, error) {
	c := newConfig(opts)
	if c.maxBody < 1 {
		return nil, fmt.Errorf("mcp: WithMaxRequestBytes(%d): must be positive", c.maxBody)
	}
	tp := c.tp
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	prop := c.prop
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	aopts := append(slices.Clone(c.auditOpts), instrumentation.WithTracerProvider(&tracerProvider{tp: tp}))
	aud, err := instrumentation.New(aopts...)
	if err != nil {
		return nil, fmt.Errorf("mcp: %w", err)
	}
	return &Auditor{
		aud:             aud,
		prop:            prop,
		trustHeaders:    c.trustHeaders,
		sendAttribution: c.sendAttribution,
		maxBody:         c.maxBody,
	}, nil
}

// inbound is a tools/call request that a wrapped transport or handler saw
// arrive.
type inbound struct {
	id     jsonrpc.ID // not valid for a request without id
	start  time.Time
	params json.RawMessage
	// name and args identify the request among the others of one HTTP
	// batch.
	name string
	args json.RawMessage
	peer *peer
	// extra is the key of the request in Auditor.byExtra.
	extra *sdkmcp.RequestExtra
	// claimed is set by the middleware that records the call; a request
	// nobody claims was refused before it reached the middleware.
	claimed atomic.Bool
}

// callSpec is a tools/call span to start.
type callSpec struct {
	kind  trace.SpanKind
	tool  string
	args  any
	info  callInfo // what a server's request says; unused on a client
	peer  *peer
	attrs []attribute.KeyValue
	links []trace.Link
	start time.Time
	opts  []instrumentation.CallOption
}

// begin starts the span of s through the instrumentation.Auditor, which
// records the tool, arguments (masked, bounded, as captured) and the
// attribution.
func (a *Auditor) begin(ctx context.Context, s *callSpec) (context.Context, *instrumentation.ToolCall) {
	if s.kind == trace.SpanKindServer {
		// Lay what the request says over the context's attribution. A
		// client span records its context's attribution as it is.
		at := s.info.attribution()
		if s.peer != nil {
			at.ClientAddress = s.peer.addr
			at.UserAgent = s.peer.userAgent
		}
		ctx = instrumentation.WithAttribution(ctx, at)
	}
	ctx = withShape(ctx, &shape{kind: s.kind, links: s.links, start: s.start})
	opts := s.opts
	attrs := make([]attribute.KeyValue, 0, len(s.attrs)+6)
	attrs = append(attrs, semconv.McpMethodNameToolsCall)
	attrs = append(attrs, s.attrs...)
	if s.peer != nil {
		attrs = s.peer.appendAttrs(attrs, s.kind)
	}
	opts = append(opts[:len(opts):len(opts)], instrumentation.WithAttributes(attrs...))
	return a.aud.Start(ctx, s.tool, s.args, opts...)
}

// finish records the outcome of a call whose span ctx holds and ends it.
func finish(ctx context.Context, call *instrumentation.ToolCall, res *sdkmcp.CallToolResult, err error) {
	if err != nil {
		kvs, cerr := callError(err)
		if len(kvs) > 0 {
			trace.SpanFromContext(ctx).SetAttributes(kvs...)
		}
		call.End(nil, cerr)
		return
	}
	if res != nil && res.IsError {
		call.End(resultPayload(res), toolErrorOf(res))
		return
	}
	call.End(resultPayload(res), nil)
}

// extract returns ctx with the trace context (and baggage) of a request's
// _meta, which makes the span a child of the caller's, and a link to the
// span ctx held before, as the MCP conventions ask: the transport's context
// (an HTTP request's span, say) is not the call's parent.
func (a *Auditor) extract(ctx context.Context, meta map[string]any) (context.Context, []trace.Link) {
	if len(meta) == 0 {
		return ctx, nil
	}
	ambient := trace.SpanContextFromContext(ctx)
	ctx = a.prop.Extract(ctx, metaCarrier(meta))
	remote := trace.SpanContextFromContext(ctx)
	if !ambient.IsValid() || !remote.IsRemote() || remote.Equal(ambient) {
		return ctx, nil
	}
	return ctx, []trace.Link{{SpanContext: ambient}}
}

// argsOf returns raw tool arguments as the Auditor records them: nil for
// none.
func argsOf(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return raw
}
