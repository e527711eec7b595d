package mcp

import (
	"net"
	"net/http"
	"net/url"
	"strconv"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// peer is what the transport says about the other end of a session.
type peer struct {
	transport    string // network.transport: "tcp", "pipe"
	protoName    string // network.protocol.name: "http"
	protoVersion string // network.protocol.version: "1.1", "2"
	// addr and port are the peer's: client.* on a server span, server.* on
	// a client span.
	addr      string
	port      int
	userAgent string // user_agent.original, server side only
}

// appendAttrs appends the network attributes of a span of kind to kvs.
// client.address and user_agent.original travel in the attribution.
func (p *peer) appendAttrs(kvs []attribute.KeyValue, kind trace.SpanKind) []attribute.KeyValue {
	if p.transport != "" {
		kvs = append(kvs, semconv.NetworkTransportKey.String(p.transport))
	}
	if p.protoName != "" {
		kvs = append(kvs, semconv.NetworkProtocolName(p.protoName))
	}
	if p.protoVersion != "" {
		kvs = append(kvs, semconv.NetworkProtocolVersion(p.protoVersion))
	}
	switch kind {
	case trace.SpanKindServer:
		if p.addr != "" && p.port > 0 {
			kvs = append(kvs, semconv.ClientPort(p.port))
		}
	case trace.SpanKindClient:
		if p.addr != "" {
			kvs = append(kvs, semconv.ServerAddress(p.addr))
			if p.port > 0 {
				kvs = append(kvs, semconv.ServerPort(p.port))
			}
		}
	}
	return kvs
}

// httpPeer describes the client of an HTTP request. The address is the
// connection's: forwarding headers are claims that only a trusted proxy
// could vouch for.
func httpPeer(r *http.Request) *peer {
	p := &peer{
		transport:    "tcp",
		protoName:    "http",
		protoVersion: httpVersion(r),
		userAgent:    bound(r.UserAgent(), maxTextBytes),
	}
	if host, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		p.addr = host
		p.port, _ = strconv.Atoi(port)
	} else if r.RemoteAddr != "" {
		p.addr = bound(r.RemoteAddr, maxIDBytes)
	}
	return p
}

func httpVersion(r *http.Request) string {
	switch {
	case r.ProtoMajor == 1 && r.ProtoMinor == 1:
		return "1.1"
	case r.ProtoMajor == 1 && r.ProtoMinor == 0:
		return "1.0"
	case r.ProtoMajor >= 2:
		return strconv.Itoa(r.ProtoMajor)
	}
	return ""
}

// transportPeer describes the other end of a session over t, as far as the
// SDK's transport types tell: the server of an HTTP client transport, a
// pipe for standard I/O and in-memory transports.
func transportPeer(t sdkmcp.Transport) *peer {
	switch t := t.(type) {
	case *sdkmcp.StreamableClientTransport:
		return endpointPeer(t.Endpoint)
	case *sdkmcp.SSEClientTransport:
		return endpointPeer(t.Endpoint)
	case *sdkmcp.StdioTransport, *sdkmcp.IOTransport, *sdkmcp.CommandTransport, *sdkmcp.InMemoryTransport:
		return &peer{transport: "pipe"}
	}
	return &peer{}
}

func endpointPeer(endpoint string) *peer {
	p := &peer{transport: "tcp", protoName: "http"}
	u, err := url.Parse(endpoint)
	if err != nil {
		return p
	}
	p.addr = u.Hostname()
	switch port := u.Port(); {
	case port != "":
		p.port, _ = strconv.Atoi(port)
	case u.Scheme == "https":
		p.port = 443
	case u.Scheme == "http":
		p.port = 80
	}
	return p
}
