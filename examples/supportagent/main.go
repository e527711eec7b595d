// Command supportagent is a customer-support AI agent, driven by a scripted
// model, whose tool calls become audit spans through otelaudit's
// instrumentation library.
//
// Three support representatives work through four conversations with the
// tools get_customer, get_order, update_order_status (which refuses orders
// that have shipped), initiate_return and issue_refund. The model copies a
// card number and a payment-gateway api_key into issue_refund's arguments:
// the collector's auditredaction processor removes them. The agent touches
// no network except to export its spans.
//
// Spans go over OTLP as the standard variables say:
// OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318),
// OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf, the default, or grpc),
// OTEL_EXPORTER_OTLP_HEADERS (for otelcol-audit, "Authorization=Bearer%20"
// and the token), and the rest of OTEL_EXPORTER_OTLP_*. The agent flushes
// its spans before it exits and exits with status 1 if any could not be
// exported.
//
//	OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20$TOKEN" go run ./examples/supportagent
package main

import (
	"context"
	"os"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/instrumentation"
)

// agent is the support agent: its summary line, which scripts/demo.sh
// reads, starts with "supportagent:"; its service.name is support-agent
// unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise.
func agent() agentkit.Agent {
	return agentkit.Agent{
		Name:    "supportagent",
		Service: "support-agent",
		Scope:   "github.com/otelaudit/otelaudit/examples/supportagent",
		Tools:   func(r *instrumentation.Registry) error { return newShop().register(r) },
		Script:  script,
	}
}

func main() {
	a := agent()
	os.Exit(agentkit.Main(a.Name, func(ctx context.Context) error { return a.Run(ctx, os.Stdout) }))
}
