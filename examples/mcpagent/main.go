// Command mcpagent is an AI agent, driven by a scripted model, that calls
// the medical-records tools of examples/mcpserver over the Model Context
// Protocol. Both ends are instrumented with otelaudit's MCP
// instrumentation: the agent records a CLIENT span per call and sends its
// trace context and attribution (user, roles, conversation, turn, model,
// purpose, subject, break-glass) in the request's _meta; the server records
// a SERVER span, the child of the agent's, with the same attribution. In
// Jaeger one trace shows the agent's turn, its call and the server's
// execution.
//
// The script: a nurse searches for a patient, reads her record and changes
// her treatment, then mistypes a patient id (the call fails) while pasting
// an SSN (masked before it leaves the process); an emergency physician
// opens a record without consent (break-glass).
//
// Unless --server (or MCP_SERVER_URL) names a running server, the agent
// starts one in its own process on 127.0.0.1 with a free port, exporting
// its spans as service mcp-medical-records. Spans go over OTLP as the
// standard variables say (OTEL_EXPORTER_OTLP_ENDPOINT,
// OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_EXPORTER_OTLP_HEADERS, ...), or are
// printed when no endpoint is set. Both providers flush before the agent
// exits; it exits with status 1 if any span could not be exported.
//
//	go run ./examples/mcpagent
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \
//	OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20$TOKEN" go run ./examples/mcpagent
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	auditmcp "github.com/otelaudit/otelaudit/instrumentation/mcp"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/examples/mcpserver/medical"
)

const (
	// name prefixes the summary line, which the demo script reads.
	name = "mcpagent"
	// The services' names unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES say otherwise.
	agentService  = "mcp-agent"
	serverService = "mcp-medical-records"
	scope         = "github.com/otelaudit/otelaudit/examples/mcpagent"
)

func main() {
	server := flag.String("server", os.Getenv("MCP_SERVER_URL"), "MCP endpoint `URL` of a running mcpserver (env MCP_SERVER_URL); empty: start one in this process on 127.0.0.1")
	flag.Parse()
	os.Exit(agentkit.Main(name, func(ctx context.Context) error { return run(ctx, config{server: *server, out: os.Stdout}) }))
}

// config is what run needs; the zero values are the defaults.
type config struct {
	// server is the MCP endpoint; "" starts a server in this process.
	server string
	out    io.Writer
	// provider returns the TracerProvider of a service (default
	// listProvider).
	provider func(ctx context.Context, service string, w io.Writer) (*agentkit.Provider, error)
}

// listProvider is the provider of service as the OTEL_EXPORTER_OTLP_*
// variables say, listing the spans on w when no endpoint is set.
func listProvider(ctx context.Context, service string, w io.Writer) (*agentkit.Provider, error) {
	return agentkit.New(ctx, service, agentkit.WithListing(w))
}

// run plays the script against the server and reports what it did to
// cfg.out. It fails if a call could not be made or a span not exported.
func run(ctx context.Context, cfg config) error {
	if cfg.provider == nil {
		cfg.provider = listProvider
	}
	out := agentkit.Locked(cfg.out)
	agentTP, err := cfg.provider(ctx, agentService, out)
	if err != nil {
		return err
	}
	endpoint, where := cfg.server, "server"
	var (
		serverTP *agentkit.Provider
		srv      *medical.HTTPServer
	)
	if endpoint == "" {
		if serverTP, err = cfg.provider(ctx, serverService, out); err != nil {
			return errors.Join(err, agentTP.Shutdown(ctx))
		}
		if srv, err = startServer(serverTP); err != nil {
			return errors.Join(err, serverTP.Shutdown(ctx), agentTP.Shutdown(ctx))
		}
		endpoint, where = srv.URL, "in-process server"
	}

	t, err := converse(ctx, out, agentTP, endpoint)

	// The server stops first, so that its last spans have ended, then both
	// providers flush: without it the last spans are lost.
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err = errors.Join(err, srv.Shutdown(sctx))
		cancel()
	}
	if serverTP != nil {
		err = errors.Join(err, serverTP.Shutdown(ctx))
	}
	if err := errors.Join(err, agentTP.Shutdown(ctx)); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %d tool calls (%d failed) over MCP to the %s at %s, in %d conversations; spans exported to %s\n",
		name, t.Calls, t.Failed, where, endpoint, t.Conversations, agentTP.Destination)
	return nil
}

// converse connects to the MCP server at endpoint and plays the script,
// recording with tp.
func converse(ctx context.Context, out io.Writer, tp *agentkit.Provider, endpoint string) (agentkit.Tally, error) {
	auditor, err := auditmcp.New(auditmcp.WithTracerProvider(tp))
	if err != nil {
		return agentkit.Tally{}, err
	}
	// A client of its own, whose idle connections close with the session.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	client := sdkmcp.NewClient(&sdkmcp.Implementation{Name: name, Version: instrumentation.Version()}, nil)
	transport := &sdkmcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc}
	session, err := client.Connect(ctx, auditor.Transport(transport), nil)
	if err != nil {
		return agentkit.Tally{}, fmt.Errorf("connect to %s: %w", endpoint, err)
	}
	// The calls print their own lines (mcpExecutor), not Play's.
	t, err := agentkit.Play(ctx, io.Discard, tp.Tracer(scope), mcpExecutor(out, auditor, session), script())
	if cerr := session.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close the session: %w", cerr))
	}
	return t, err
}

// startServer serves the medical records on a free loopback port, each
// call recorded with tp.
func startServer(tp trace.TracerProvider) (*medical.HTTPServer, error) {
	auditor, err := auditmcp.New(auditmcp.WithTracerProvider(tp))
	if err != nil {
		return nil, err
	}
	return medical.Serve("127.0.0.1:0", auditor, medical.NewRecords())
}

// mcpExecutor returns the Executor that makes each call over session,
// audited by a, and writes a line per call to w. A tool's error result is
// the call's failure; a call that could not be made stops the script.
func mcpExecutor(w io.Writer, a *auditmcp.Auditor, session *sdkmcp.ClientSession) agentkit.Executor {
	return func(ctx context.Context, c agentkit.Call) error {
		who := instrumentation.AttributionFromContext(ctx)
		res, err := a.CallTool(ctx, session, &sdkmcp.CallToolParams{Name: c.Tool, Arguments: json.RawMessage(c.Args)}, c.Options()...)
		if err != nil {
			return agentkit.Fatal(fmt.Errorf("%s turn %d: %s: %w", who.ConversationID, who.TurnNumber, c.Tool, err))
		}
		outcome, failure := "ok", error(nil)
		if res.IsError {
			failure = errors.New(text(res))
			outcome = "failed: " + failure.Error()
		}
		fmt.Fprintf(w, "%s turn %d  %-22s %s  %s\n", who.ConversationID, who.TurnNumber, c.Tool, who.UserID, outcome)
		return failure
	}
}

func text(res *sdkmcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(*sdkmcp.TextContent); ok {
			return t.Text
		}
	}
	return "error result"
}
