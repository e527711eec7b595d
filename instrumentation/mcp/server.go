package mcp

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// ServerMiddleware returns receiving middleware for an *sdkmcp.Server that
// records every tools/call request as one span of kind SERVER named
// "tools/call {tool}": the span contract of an execute_tool span (tool,
// masked arguments, result summary, attribution) and the MCP conventions
// (mcp.method.name, mcp.session.id, mcp.protocol.version, and, with
// Transport or Handler, jsonrpc.request.id, client.address and the network
// attributes).
//
// The span is a child of the span whose trace context the request carries
// in _meta. Attribution comes from the _meta keys documented in README.md,
// from the X-Otelaudit-* headers with WithTrustedHeaders, and the user id
// from the TokenInfo of the SDK's bearer-token middleware, which the server
// verified itself and which therefore wins. A result with isError set fails
// the span with error.type "tool_error"; a JSON-RPC error (an unknown tool,
// invalid parameters) fails it with the error code as error.type. The tool
// handler runs with the span and the attribution in its context. Other
// methods pass through untouched.
//
//	server.AddReceivingMiddleware(auditor.ServerMiddleware())
func (a *Auditor) ServerMiddleware() sdkmcp.Middleware {
	return func(next sdkmcp.MethodHandler) sdkmcp.MethodHandler {
		if a == nil {
			return next
		}
		return func(ctx context.Context, method string, req sdkmcp.Request) (sdkmcp.Result, error) {
			r, ok := req.(*sdkmcp.CallToolRequest)
			if method != methodToolsCall || !ok || r.Params == nil {
				return next(ctx, method, req)
			}
			return a.serve(ctx, method, r, next)
		}
	}
}

func (a *Auditor) serve(ctx context.Context, method string, r *sdkmcp.CallToolRequest, next sdkmcp.MethodHandler) (res sdkmcp.Result, err error) {
	in := a.claim(r)
	s := callSpec{kind: trace.SpanKindServer, tool: r.Params.Name, args: argsOf(r.Params.Arguments)}
	readMeta(r.Params.Meta, &s.info)
	if r.Extra != nil {
		a.readTrusted(r.Extra.Header, r.Extra.TokenInfo, &s.info)
	}
	sessionID := ""
	if r.Session != nil {
		sessionID = r.Session.ID()
	}
	s.attrs = sessionAttrs(s.attrs, sessionID, r.ProtocolVersion())
	if in != nil {
		s.peer = in.peer
		if in.id.IsValid() {
			s.attrs = append(s.attrs, semconv.JSONRPCRequestID(idString(in.id)))
		}
	}
	s.opts = s.info.facts().Options()
	ctx, s.links = a.extract(ctx, r.Params.Meta)
	ctx, call := a.begin(ctx, &s)

	guard(call, func() { res, err = next(ctx, method, r) })
	ctr, _ := res.(*sdkmcp.CallToolResult)
	finish(ctx, call, ctr, err)
	return res, err
}

// readTrusted lays the attribution of trusted sources over c: the headers
// when the operator trusts them, then the user the server's own token
// verification established.
func (a *Auditor) readTrusted(h http.Header, ti *auth.TokenInfo, c *callInfo) {
	if a.trustHeaders {
		readHeaders(h, c)
	}
	if ti != nil && ti.UserID != "" {
		c.userID = bound(ti.UserID, maxIDBytes)
	}
}

func sessionAttrs(kvs []attribute.KeyValue, sessionID, protocolVersion string) []attribute.KeyValue {
	if sessionID != "" {
		kvs = append(kvs, semconv.McpSessionID(bound(sessionID, maxIDBytes)))
	}
	if protocolVersion != "" {
		kvs = append(kvs, semconv.McpProtocolVersion(bound(protocolVersion, maxIDBytes)))
	}
	return kvs
}

// claim returns the request as a wrapped transport or handler saw it
// arrive, marked as recorded, or nil.
func (a *Auditor) claim(r *sdkmcp.CallToolRequest) *inbound {
	if r.Extra == nil {
		return nil
	}
	if v, ok := a.byExtra.LoadAndDelete(r.Extra); ok {
		in := v.(*inbound)
		in.claimed.Store(true)
		return in
	}
	if tok := r.Extra.Header.Get(tokenHeader); tok != "" {
		if v, ok := a.byToken.Load(tok); ok {
			return v.(*exchange).claim(r.Params.Name, r.Params.Arguments)
		}
	}
	return nil
}

// rejection is a tools/call request that the SDK answered without running
// the middleware: its parameters did not decode, it had no id, or the HTTP
// handler refused it.
type rejection struct {
	in              *inbound
	sessionID       string
	protocolVersion string
	header          http.Header
	token           *auth.TokenInfo
	err             error // not nil
	attrs           []attribute.KeyValue
}

// reject records a refused request as a failed span, so that it is in the
// audit trail like any other call. What the parameters say is taken as far
// as they can be read.
func (a *Auditor) reject(ctx context.Context, rj *rejection) {
	p := looseParams(rj.in.params)
	s := callSpec{
		kind:  trace.SpanKindServer,
		tool:  bound(p.name, maxIDBytes),
		args:  p.args,
		peer:  rj.in.peer,
		start: rj.in.start,
	}
	readMeta(p.meta, &s.info)
	a.readTrusted(rj.header, rj.token, &s.info)
	s.attrs = sessionAttrs(s.attrs, rj.sessionID, rj.protocolVersion)
	if rj.in.id.IsValid() {
		s.attrs = append(s.attrs, semconv.JSONRPCRequestID(idString(rj.in.id)))
	}
	s.attrs = append(s.attrs, rj.attrs...)
	s.opts = s.info.facts().Options()
	ctx, s.links = a.extract(ctx, p.meta)
	ctx, call := a.begin(ctx, &s)
	finish(ctx, call, nil, rj.err)
}

type loose struct {
	name string
	args any
	meta map[string]any
}

// looseParams reads what it can of tools/call parameters that the SDK
// could not decode. Parameters that are not JSON at all are kept as the
// arguments, which the Auditor records as a marker with their size, never
// their bytes.
func looseParams(raw json.RawMessage) loose {
	var p loose
	if len(raw) == 0 {
		return p
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		if !json.Valid(raw) {
			p.args = raw
		}
		return p
	}
	_ = json.Unmarshal(m["name"], &p.name)
	if args := m["arguments"]; len(args) > 0 {
		p.args = args
	}
	_ = json.Unmarshal(m["_meta"], &p.meta)
	return p
}
