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
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otelaudit/otelaudit/instrumentation"
)

const (
	// name prefixes the agent's summary line, which scripts/demo.sh reads.
	name = "medicalrecords"
	// serviceName is the agent's service.name unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES say otherwise.
	serviceName = "records-assistant"
	// flushTimeout bounds the final export.
	flushTimeout = 15 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// run plays the script, exporting the spans over OTLP, and reports what it
// did to w. It fails if any span could not be exported.
func run(ctx context.Context, w io.Writer) error {
	exp, dest, err := newExporter(ctx)
	if err != nil {
		return err
	}
	res, err := newResource()
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t, err := playWith(ctx, w, tp)
	// Shutdown flushes the batch: without it the last spans are lost.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := errors.Join(err, tp.Shutdown(sctx), exp.Err()); err != nil {
		return fmt.Errorf("export to %s: %w", dest, err)
	}
	fmt.Fprintf(w, "%s: %d tool calls (%d failed) in %d conversations exported to %s\n",
		name, t.calls, t.failed, t.conversations, dest)
	return nil
}

// playWith plays the script with the spans recorded by tp.
func playWith(ctx context.Context, w io.Writer, tp *sdktrace.TracerProvider) (tally, error) {
	auditor, err := instrumentation.New(instrumentation.WithTracerProvider(tp))
	if err != nil {
		return tally{}, err
	}
	tools := auditor.NewRegistry()
	if err := newRecords().register(tools); err != nil {
		return tally{}, err
	}
	return play(ctx, w, tools, tp.Tracer("github.com/otelaudit/otelaudit/examples/medicalrecords"), script())
}

// newResource describes the agent with the schema that resource.Default
// carries in this SDK version; the environment has the last word.
func newResource() (*resource.Resource, error) {
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(serviceName), semconv.ServiceVersion(instrumentation.Version())))
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	if res, err = resource.Merge(res, resource.Environment()); err != nil {
		return nil, fmt.Errorf("resource from the environment: %w", err)
	}
	return res, nil
}
