package mcp

import (
	"context"
	"errors"
	"maps"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
)

const clientKind = trace.SpanKindClient

// errNilSession is returned by CallTool without a session.
var errNilSession = errors.New("mcp: CallTool: nil session")

type (
	clientSpanKey   struct{}
	callOptionsKey  struct{}
	handledCallsKey struct{}
)

// clientSpanFrom returns the client span of the tools/call request being
// sent with ctx, for the transport to complete.
func clientSpanFrom(ctx context.Context) trace.Span {
	s, _ := ctx.Value(clientSpanKey{}).(trace.Span)
	return s
}

// ContextWithCallOptions returns a copy of ctx whose tools/call requests,
// sent through ClientMiddleware, are recorded with the per-call facts of
// opts (instrumentation.WithPurpose, WithSubject, WithBreakGlass, ...),
// which are sent to the server in _meta too. Auditor.CallTool takes them
// directly.
func ContextWithCallOptions(ctx context.Context, opts ...instrumentation.CallOption) context.Context {
	return context.WithValue(ctx, callOptionsKey{}, append([]instrumentation.CallOption(nil), opts...))
}

// ClientMiddleware returns sending middleware for an *sdkmcp.Client that
// records every tools/call request the client sends as one span of kind
// CLIENT named "tools/call {tool}", with the attribution of the call's
// context (instrumentation.WithUser, WithConversation, ...) and the per-call
// facts of ContextWithCallOptions, and that writes into a copy of the
// request's _meta the trace context of that span, so the server's span
// becomes its child, and, unless WithMetaAttribution(false), the
// attribution, the facts and the call's gen_ai.tool.call.id, so the server
// records the same. The caller's parameters are not modified. Other methods
// pass through untouched.
//
//	client.AddSendingMiddleware(auditor.ClientMiddleware())
func (a *Auditor) ClientMiddleware() sdkmcp.Middleware {
	return func(next sdkmcp.MethodHandler) sdkmcp.MethodHandler {
		if a == nil {
			return next
		}
		return func(ctx context.Context, method string, req sdkmcp.Request) (sdkmcp.Result, error) {
			if method != methodToolsCall || ctx.Value(handledCallsKey{}) != nil {
				return next(ctx, method, req)
			}
			params, _ := req.GetParams().(*sdkmcp.CallToolParams)
			if params == nil {
				return next(ctx, method, req)
			}
			cs, _ := req.GetSession().(*sdkmcp.ClientSession)
			opts, _ := ctx.Value(callOptionsKey{}).([]instrumentation.CallOption)
			ctx, call, sent := a.startClient(ctx, cs, params, opts)
			switch r := req.(type) {
			case *sdkmcp.ClientRequest[sdkmcp.Params]:
				r.Params = sent
			case *sdkmcp.ClientRequest[*sdkmcp.CallToolParams]:
				r.Params = sent
			}
			var (
				res sdkmcp.Result
				err error
			)
			guard(call, func() { res, err = next(ctx, method, req) })
			ctr, _ := res.(*sdkmcp.CallToolResult)
			finish(ctx, call, ctr, err)
			return res, err
		}
	}
}

// CallTool calls a tool on session as session.CallTool does, and records
// the call as ClientMiddleware does, with the per-call facts of opts. It
// works whether or not the client has ClientMiddleware, and is recorded
// once either way. With a nil *Auditor it only calls the tool.
func (a *Auditor) CallTool(ctx context.Context, session *sdkmcp.ClientSession, params *sdkmcp.CallToolParams, opts ...instrumentation.CallOption) (*sdkmcp.CallToolResult, error) {
	if session == nil {
		return nil, errNilSession
	}
	if a == nil {
		return session.CallTool(ctx, params)
	}
	if params == nil {
		params = new(sdkmcp.CallToolParams)
	}
	ctx, call, sent := a.startClient(ctx, session, params, opts)
	var (
		res *sdkmcp.CallToolResult
		err error
	)
	guard(call, func() { res, err = session.CallTool(context.WithValue(ctx, handledCallsKey{}, true), sent) })
	finish(ctx, call, res, err)
	return res, err
}

// startClient starts the client span of a call and returns its context
// and the parameters to send: a copy of params whose _meta carries the
// span's trace context and the call's attribution.
func (a *Auditor) startClient(ctx context.Context, cs *sdkmcp.ClientSession, params *sdkmcp.CallToolParams, opts []instrumentation.CallOption) (context.Context, *instrumentation.ToolCall, *sdkmcp.CallToolParams) {
	s := callSpec{kind: clientKind, tool: params.Name, args: params.Arguments, opts: opts}
	if cs != nil {
		version := ""
		if r := cs.InitializeResult(); r != nil {
			version = r.ProtocolVersion
		}
		s.attrs = sessionAttrs(s.attrs, cs.ID(), version)
	}
	ctx, call := a.begin(ctx, &s)
	ctx = context.WithValue(ctx, clientSpanKey{}, trace.SpanFromContext(ctx))

	meta := make(map[string]any, len(params.Meta)+4)
	maps.Copy(meta, params.Meta)
	a.prop.Inject(ctx, metaCarrier(meta))
	info := callInfo{toolCallID: call.ID()}
	if a.sendAttribution {
		info = infoFrom(instrumentation.AttributionFromContext(ctx), instrumentation.FactsOf(opts...))
		info.toolCallID = call.ID()
	}
	writeMeta(meta, &info)
	sent := *params
	sent.Meta = meta
	return ctx, call, &sent
}

// guard runs f, ending call if f panics or never returns.
func guard(call *instrumentation.ToolCall, f func()) {
	returned := false
	defer func() {
		if returned {
			return
		}
		if p := recover(); p != nil {
			call.EndPanic(p)
			panic(p)
		}
		call.End(nil, errAborted)
	}()
	f()
	returned = true
}
