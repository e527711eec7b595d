// Command medicalrecords is a medical-records assistant, driven by a
// scripted model, whose tool calls become audit spans through otelaudit's
// instrumentation library.
//
// Clinicians and staff with different roles and purposes (treatment,
// billing, research) use the tools access_patient_record, update_treatment
// (physicians only) and search_patients. The arguments hold PII: patient
// names, dates of birth, an SSN in a free-text query; the collector's
// auditredaction processor replaces them with keyed pseudonyms. The script
// includes one break-glass access and a burst of 12 accesses to one
// patient, which `otelaudit report --subject patient/P-1007` and
// `otelaudit anomalies` show. The agent touches no network except to
// export its spans.
//
// Spans go over OTLP as the standard variables say:
// OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318),
// OTEL_EXPORTER_OTLP_PROTOCOL (http/protobuf, the default, or grpc),
// OTEL_EXPORTER_OTLP_HEADERS (for otelcol-audit, "Authorization=Bearer%20"
// and the token), and the rest of OTEL_EXPORTER_OTLP_*. The agent flushes
// its spans before it exits and exits with status 1 if any could not be
// exported.
//
//	OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer%20$TOKEN" go run ./examples/medicalrecords
package main

import (
	"context"
	"os"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/instrumentation"
)

// agent is the records assistant: its summary line, which scripts/demo.sh
// reads, starts with "medicalrecords:"; its service.name is
// records-assistant unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES
// say otherwise.
func agent() agentkit.Agent {
	return agentkit.Agent{
		Name:    "medicalrecords",
		Service: "records-assistant",
		Scope:   "github.com/otelaudit/otelaudit/examples/medicalrecords",
		Tools:   func(r *instrumentation.Registry) error { return newRecords().register(r) },
		Script:  script,
	}
}

func main() {
	a := agent()
	os.Exit(agentkit.Main(a.Name, func(ctx context.Context) error { return a.Run(ctx, os.Stdout) }))
}
