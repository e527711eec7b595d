// Command quickstart is a small scripted AI agent whose tool calls are
// recorded as audit spans by the otelaudit instrumentation library.
//
// It plays two conversations of two users (a support agent refunding an
// order, a nurse working on a patient's treatment) with a handful of tool
// calls, including a failed call, a secret that is masked, a proactive call
// and a break-glass access. It touches no network except to export spans.
//
// When OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// set, the spans are sent over OTLP, over HTTP/protobuf (the default) or
// gRPC as OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL
// say; every other OTEL_EXPORTER_OTLP_* variable (headers, TLS, timeout,
// compression) is honoured by the SDK's exporters. Otherwise the spans are
// printed to standard output, as a compact listing or, with -json, as the
// SDK's stdout exporter writes them. The agent flushes its spans before it
// exits and exits with status 1 if any could not be exported (a refused
// token, an unreachable collector).
//
//	go run ./examples/quickstart
//	OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
)

// serviceName is the service.name of the agent, unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES say otherwise.
const serviceName = "quickstart-agent"

func main() {
	jsonOut := flag.Bool("json", false, "print spans as the OpenTelemetry stdout exporter writes them (when not exporting over OTLP)")
	flag.Parse()
	os.Exit(agentkit.Main("quickstart", func(ctx context.Context) error { return run(ctx, os.Stdout, *jsonOut) }))
}

// run plays the scripted agent and exports its spans, writing them (when
// not exporting over OTLP) and a summary to w. It fails if any span could
// not be exported.
func run(ctx context.Context, w io.Writer, jsonOut bool) error {
	printed := agentkit.WithListing(w)
	if jsonOut {
		printed = agentkit.WithJSON(w)
	}
	tp, err := agentkit.New(ctx, serviceName, printed)
	if err != nil {
		return err
	}
	agent := agentkit.Agent{
		Service: serviceName,
		Scope:   "github.com/otelaudit/otelaudit/examples/quickstart",
		Tools:   register,
		Script:  script,
	}
	// No progress lines: w shows the spans.
	t, err := agent.Play(ctx, io.Discard, tp)
	if err := errors.Join(err, tp.Shutdown(ctx)); err != nil {
		return err
	}
	fmt.Fprintf(w, "quickstart: %d tool calls recorded and exported to %s\n", t.Calls, tp.Destination)
	return nil
}
