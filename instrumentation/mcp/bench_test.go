package mcp

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// discard is an exporter that drops spans, behind the SDK's batch
// processor as in production.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

func benchAuditor(b *testing.B) *Auditor {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	a, err := New(WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkToolsCall measures one tools/call round trip with its typical
// arguments and structured result, bare (the SDK alone, the peer) and
// audited, over the in-memory and the streamable HTTP transports. The
// ratio of audited to bare is the cost of the audit.
func BenchmarkToolsCall(b *testing.B) {
	args := map[string]any{"patient_id": "P-1001", "ssn": testSSN}
	cases := []struct {
		name           string
		server, client bool
	}{
		{"bare", false, false},
		{"server", true, false},
		{"both", true, true},
	}
	for _, transport := range []string{"inmemory", "http"} {
		for _, c := range cases {
			b.Run(transport+"/"+c.name, func(b *testing.B) {
				var sa, ca *Auditor
				if c.server {
					sa = benchAuditor(b)
				}
				if c.client {
					ca = benchAuditor(b)
				}
				server := newTestServer(sa, nil)
				var cs *sdkmcp.ClientSession
				switch transport {
				case "inmemory":
					cs = pair(b, server, sa, ca)
				case "http":
					h := sa.Handler(sdkmcp.NewStreamableHTTPHandler(func(*http.Request) *sdkmcp.Server { return server }, nil))
					ts := httptest.NewServer(h)
					b.Cleanup(ts.Close)
					client := sdkmcp.NewClient(&sdkmcp.Implementation{Name: "bench", Version: "1"}, nil)
					if ca != nil {
						client.AddSendingMiddleware(ca.ClientMiddleware())
					}
					var err error
					cs, err = client.Connect(context.Background(), ca.Transport(&sdkmcp.StreamableClientTransport{Endpoint: ts.URL}), nil)
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { _ = cs.Close() })
				}
				ctx := attributed()
				params := &sdkmcp.CallToolParams{Name: "lookup", Arguments: args}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					res, err := ca.CallTool(ctx, cs, params)
					if err != nil || res.IsError {
						b.Fatal(res, err)
					}
				}
			})
		}
	}
}
