package mcp

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// Transport returns t wrapped so that the calls made over its sessions are
// recorded with what only the transport knows. Wrap the transport of a
// server (standard I/O, in-memory, a custom one) and ServerMiddleware adds
// jsonrpc.request.id and network.transport to its spans, and tools/call
// requests that the SDK answers with an error before any middleware runs
// (parameters that do not decode, a missing id) are recorded as failed
// spans instead of being lost. Wrap the transport of a client and
// ClientMiddleware adds jsonrpc.request.id, server.address, server.port and
// the network attributes.
//
// The SDK's streamable HTTP handler creates its transports itself: wrap
// the handler with Handler instead. A wrapped connection hides optional
// SDK-internal interfaces of the connection it wraps, as the SDK's own
// LoggingTransport does; for the standard I/O and in-memory transports that
// only leaves JSON-RPC batches (which protocol 2025-06-18 removed) to be
// refused later than they would be. With a nil *Auditor, Transport returns
// t.
func (a *Auditor) Transport(t sdkmcp.Transport) sdkmcp.Transport {
	if a == nil || t == nil {
		return t
	}
	return &transport{a: a, t: t, peer: transportPeer(t)}
}

type transport struct {
	a    *Auditor
	t    sdkmcp.Transport
	peer *peer
}

func (t *transport) Connect(ctx context.Context) (sdkmcp.Connection, error) {
	c, err := t.t.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Connection: c, a: t.a, peer: t.peer, pending: make(map[jsonrpc.ID]*inbound)}, nil
}

// SupportsProtocolVersion answers for the wrapped transport.
func (t *transport) SupportsProtocolVersion(version string) bool {
	if s, ok := t.t.(sdkmcp.ProtocolVersionSupporter); ok {
		return s.SupportsProtocolVersion(version)
	}
	return true
}

type conn struct {
	sdkmcp.Connection
	a    *Auditor
	peer *peer

	mu      sync.Mutex
	pending map[jsonrpc.ID]*inbound // tools/call requests awaiting their response
	closed  bool
}

// Read notes each tools/call request that arrives, with a RequestExtra the
// middleware will find it by.
func (c *conn) Read(ctx context.Context) (jsonrpc.Message, error) {
	msg, err := c.Connection.Read(ctx)
	if err != nil {
		return msg, err
	}
	req, ok := msg.(*jsonrpc.Request)
	if !ok || req.Method != methodToolsCall {
		return msg, nil
	}
	in := &inbound{id: req.ID, start: time.Now(), params: req.Params, peer: c.peer}
	if !req.IsCall() {
		// The SDK drops a call without id, answering nothing.
		c.a.reject(context.Background(), &rejection{
			in:        in,
			sessionID: c.SessionID(),
			err:       &rpcError{code: jsonrpc.CodeInvalidRequest, msg: fmt.Sprintf("missing id for %q", methodToolsCall)},
		})
		return msg, nil
	}
	extra, _ := req.Extra.(*sdkmcp.RequestExtra)
	if extra == nil && req.Extra == nil {
		extra = &sdkmcp.RequestExtra{}
		req.Extra = extra
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return msg, nil
	}
	if _, dup := c.pending[req.ID]; !dup {
		c.pending[req.ID] = in
		if extra != nil {
			in.extra = extra
			c.a.byExtra.Store(extra, in)
		}
	}
	c.mu.Unlock()
	return msg, nil
}

// Write records, as a failed call, each error response to a tools/call
// request that no middleware claimed, and gives the client span of an
// outgoing tools/call request its id and peer.
func (c *conn) Write(ctx context.Context, msg jsonrpc.Message) error {
	switch m := msg.(type) {
	case *jsonrpc.Response:
		c.mu.Lock()
		in := c.pending[m.ID]
		delete(c.pending, m.ID)
		c.mu.Unlock()
		if in != nil {
			c.forget(in)
			if !in.claimed.Load() && m.Error != nil {
				c.a.reject(context.WithoutCancel(ctx), &rejection{in: in, sessionID: c.SessionID(), err: m.Error})
			}
		}
	case *jsonrpc.Request:
		if m.Method == methodToolsCall && m.IsCall() {
			if span := clientSpanFrom(ctx); span != nil {
				kvs := c.peer.appendAttrs(nil, clientKind)
				kvs = append(kvs, semconv.JSONRPCRequestID(idString(m.ID)))
				span.SetAttributes(kvs...)
			}
		}
	}
	return c.Connection.Write(ctx, msg)
}

// Close forgets the requests still awaiting a response: they will get
// none.
func (c *conn) Close() error {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.closed = true
	c.mu.Unlock()
	for _, in := range pending {
		c.forget(in)
	}
	return c.Connection.Close()
}

func (c *conn) forget(in *inbound) {
	if in.extra != nil {
		c.a.byExtra.CompareAndDelete(in.extra, in)
	}
}
