package mcp

import (
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// DefaultMaxRequestBytes is the largest HTTP request body Handler inspects:
// the MCP SDK's own default limit, sdkmcp.DefaultMaxRequestBodyBytes.
const DefaultMaxRequestBytes = sdkmcp.DefaultMaxRequestBodyBytes

// Option configures an Auditor.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tp              trace.TracerProvider
	prop            propagation.TextMapPropagator
	auditOpts       []instrumentation.Option
	trustHeaders    bool
	sendAttribution bool
	maxBody         int64
}

func newConfig(opts []Option) config {
	c := config{
		sendAttribution: true,
		maxBody:         DefaultMaxRequestBytes,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithTracerProvider sets the TracerProvider the spans are recorded with.
// The default is otel.GetTracerProvider() at the time New is called, which
// follows a global provider set later. It takes precedence over an
// instrumentation.WithTracerProvider given to WithAuditorOptions.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithPropagators sets how trace context is written to and read from a
// request's _meta. The default is the W3C Trace Context and Baggage
// propagators, the keys (traceparent, tracestate, baggage) that the MCP
// semantic conventions name; pass otel.GetTextMapPropagator() to follow the
// process's global setting instead, which is a no-op until one is set.
func WithPropagators(p propagation.TextMapPropagator) Option {
	return optionFunc(func(c *config) { c.prop = p })
}

// WithAuditorOptions configures the instrumentation.Auditor that records
// the spans: sensitive keys and mask, capture of arguments and results,
// payload bounds and per-tool settings (instrumentation.WithTools). They
// behave as they do for any other tool call. Calls add to earlier ones.
func WithAuditorOptions(opts ...instrumentation.Option) Option {
	return optionFunc(func(c *config) { c.auditOpts = append(c.auditOpts, opts...) })
}

// WithTrustedHeaders makes the server take attribution from the
// X-Otelaudit-* HTTP headers of a request (see README.md), which then win
// over the request's _meta. Off by default.
//
// Enable it only when every request reaches the server through a gateway
// that authenticates the caller and sets these headers itself, dropping
// any the client sent. A header is an identity claim that nothing in MCP
// verifies: on a server that clients reach directly, any client could
// name any user, and the audit trail would record the forgery as the
// gateway's word. Attribution in _meta, by contrast, is always recorded,
// as what it is: the calling agent's own statement.
func WithTrustedHeaders() Option {
	return optionFunc(func(c *config) { c.trustHeaders = true })
}

// WithMetaAttribution sets whether calls made through ClientMiddleware or
// Auditor.CallTool write the attribution of their context (user, roles,
// conversation, turn, model, agent, session) and the per-call facts into
// the request's _meta for the server to record. The default is true; turn
// it off for servers that should not learn who the agent acts for. Trace
// context is sent either way.
func WithMetaAttribution(send bool) Option {
	return optionFunc(func(c *config) { c.sendAttribution = send })
}

// WithMaxRequestBytes sets the largest HTTP request body that Handler
// reads to find the JSON-RPC ids of tools/call requests and to audit the
// ones the SDK rejects (default DefaultMaxRequestBytes). Keep it equal to
// the handler's StreamableHTTPOptions.MaxRequestBodyBytes. A larger body
// is passed on unread: its calls are still audited by ServerMiddleware,
// without jsonrpc.request.id, client.address and client.port.
func WithMaxRequestBytes(n int64) Option {
	return optionFunc(func(c *config) { c.maxBody = n })
}
