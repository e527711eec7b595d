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
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"time"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	auditmcp "github.com/otelaudit/otelaudit/instrumentation/mcp"

	"github.com/otelaudit/otelaudit/examples/mcpserver/medical"
	"github.com/otelaudit/otelaudit/examples/mcpserver/telemetry"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, config{server: *server, out: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// config is what run needs; the zero values are the defaults.
type config struct {
	// server is the MCP endpoint; "" starts a server in this process.
	server string
	out    io.Writer
	// provider returns the TracerProvider of a service (default
	// telemetry.New).
	provider func(ctx context.Context, service string, w io.Writer) (*telemetry.Provider, error)
}

// run plays the script against the server and reports what it did to
// cfg.out. It fails if a call could not be made or a span not exported.
func run(ctx context.Context, cfg config) error {
	if cfg.provider == nil {
		cfg.provider = telemetry.New
	}
	out := telemetry.Locked(cfg.out)
	agentTP, err := cfg.provider(ctx, agentService, out)
	if err != nil {
		return err
	}
	endpoint, where := cfg.server, "server"
	var (
		serverTP *telemetry.Provider
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
		name, t.calls, t.failed, where, endpoint, t.conversations, agentTP.Destination)
	return nil
}

// converse connects to the MCP server at endpoint and plays the script,
// recording with tp.
func converse(ctx context.Context, out io.Writer, tp *telemetry.Provider, endpoint string) (tally, error) {
	auditor, err := auditmcp.New(auditmcp.WithTracerProvider(tp))
	if err != nil {
		return tally{}, err
	}
	// A client of its own, whose idle connections close with the session.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer hc.CloseIdleConnections()
	client := sdkmcp.NewClient(&sdkmcp.Implementation{Name: name, Version: instrumentation.Version()}, nil)
	transport := &sdkmcp.StreamableClientTransport{Endpoint: endpoint, HTTPClient: hc}
	session, err := client.Connect(ctx, auditor.Transport(transport), nil)
	if err != nil {
		return tally{}, fmt.Errorf("connect to %s: %w", endpoint, err)
	}
	t, err := play(ctx, out, auditor, session, tp.Tracer(scope), script())
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

type tally struct {
	conversations, calls, failed int
}

// play runs the conversations: each turn is an invoke_agent span, each
// tool call an audited MCP call within it.
func play(ctx context.Context, w io.Writer, a *auditmcp.Auditor, session *sdkmcp.ClientSession, tracer trace.Tracer, convs []conversation) (tally, error) {
	var t tally
	for _, c := range convs {
		t.conversations++
		cctx := instrumentation.WithAttribution(ctx, c.attribution)
		for i, turn := range c.turns {
			tctx := instrumentation.WithTurn(cctx, i+1)
			tctx, span := tracer.Start(tctx, "invoke_agent "+c.attribution.AgentName,
				trace.WithAttributes(
					semconv.GenAIOperationNameInvokeAgent,
					semconv.GenAIAgentName(c.attribution.AgentName),
					semconv.GenAIAgentID(c.attribution.AgentID),
					semconv.GenAIConversationID(c.attribution.ConversationID),
					attribute.String("user.id", c.attribution.UserID),
				))
			for _, call := range turn {
				opts := append([]instrumentation.CallOption{instrumentation.WithToolCallID(call.id)}, call.opts...)
				res, err := a.CallTool(tctx, session, &sdkmcp.CallToolParams{Name: call.tool, Arguments: call.args}, opts...)
				if err != nil {
					span.End()
					return t, fmt.Errorf("%s turn %d: %s: %w", c.attribution.ConversationID, i+1, call.tool, err)
				}
				t.calls++
				outcome := "ok"
				if res.IsError {
					t.failed++
					outcome = "failed: " + text(res)
				}
				fmt.Fprintf(w, "%s turn %d  %-22s %s  %s\n", c.attribution.ConversationID, i+1, call.tool, c.attribution.UserID, outcome)
			}
			span.End()
		}
	}
	return t, nil
}

func text(res *sdkmcp.CallToolResult) string {
	for _, c := range res.Content {
		if t, ok := c.(*sdkmcp.TextContent); ok {
			return t.Text
		}
	}
	return "error result"
}
