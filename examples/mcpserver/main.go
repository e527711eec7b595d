// Command mcpserver serves fictitious medical records to AI agents over the
// Model Context Protocol (streamable HTTP, on 127.0.0.1 only), and records
// every tools/call as an audit span with otelaudit's MCP instrumentation:
// the tool, the masked arguments, a result summary, the outcome, and who
// the calling agent acts for, as its request's _meta says.
//
// Tools: access_patient_record, update_treatment and search_patients. The
// examples/mcpagent command calls them; it starts this server in its own
// process unless given --server.
//
// The address comes from --addr, else MCPSERVER_ADDR, else 127.0.0.1:8931.
// Spans go over OTLP as the standard variables say
// (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL,
// OTEL_EXPORTER_OTLP_HEADERS, ...), or are printed when no endpoint is
// set. On SIGINT or SIGTERM the server stops and flushes its spans.
//
//	go run ./examples/mcpserver --addr 127.0.0.1:8931
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	auditmcp "github.com/otelaudit/otelaudit/instrumentation/mcp"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/examples/mcpserver/medical"
)

const (
	name = "mcpserver"
	// serviceName is the server's service.name unless OTEL_SERVICE_NAME
	// or OTEL_RESOURCE_ATTRIBUTES say otherwise.
	serviceName = "mcp-medical-records"
	defaultAddr = "127.0.0.1:8931"
)

func main() {
	addr := flag.String("addr", envOr("MCPSERVER_ADDR", defaultAddr), "loopback `address` to serve MCP on (env MCPSERVER_ADDR)")
	flag.Parse()
	os.Exit(agentkit.Main(name, func(ctx context.Context) error { return run(ctx, *addr, os.Stdout, nil) }))
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// run serves on addr until ctx is done, then flushes the spans. ready,
// when not nil, is told the endpoint once the server listens.
func run(ctx context.Context, addr string, w io.Writer, ready func(url string)) error {
	w = agentkit.Locked(w)
	tp, err := agentkit.New(ctx, serviceName, agentkit.WithListing(w))
	if err != nil {
		return err
	}
	auditor, err := auditmcp.New(auditmcp.WithTracerProvider(tp))
	if err != nil {
		return errors.Join(err, tp.Shutdown(ctx))
	}
	srv, err := medical.Serve(addr, auditor, medical.NewRecords())
	if err != nil {
		return errors.Join(err, tp.Shutdown(ctx))
	}
	fmt.Fprintf(w, "%s: serving MCP on %s, spans to %s\n", name, srv.URL, tp.Destination)
	if ready != nil {
		ready(srv.URL)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err = srv.Shutdown(sctx)
	return errors.Join(err, tp.Shutdown(ctx))
}
