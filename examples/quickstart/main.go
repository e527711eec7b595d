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
// SDK's stdout exporter writes them.
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
	"os/signal"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// serviceName is the service.name of the agent, unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES say otherwise.
const serviceName = "quickstart-agent"

func main() {
	jsonOut := flag.Bool("json", false, "print spans as the OpenTelemetry stdout exporter writes them (when not exporting over OTLP)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Stdout, *jsonOut); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run plays the scripted agent and exports its spans, writing what it did to
// w.
func run(ctx context.Context, w io.Writer, jsonOut bool) error {
	exp, dest, err := newExporter(ctx, w, jsonOut)
	if err != nil {
		return err
	}
	res, err := newResource()
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	// Shutdown flushes the batch: without it the last spans are lost.
	shutdown := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			return fmt.Errorf("flush spans to %s: %w", dest, err)
		}
		return nil
	}

	auditor, err := instrumentation.New(instrumentation.WithTracerProvider(tp))
	if err != nil {
		return errors.Join(err, shutdown())
	}
	n, err := playScript(ctx, auditor, tp.Tracer("github.com/otelaudit/otelaudit/examples/quickstart"))
	if err := errors.Join(err, shutdown()); err != nil {
		return err
	}
	fmt.Fprintf(w, "quickstart: %d tool calls recorded and exported to %s\n", n, dest)
	return nil
}

// newResource describes the agent, with the schema of semconv v1.43.0 that
// resource.Default carries in this SDK version. The environment
// (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) has the last word.
func newResource() (*resource.Resource, error) {
	own := resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName(serviceName),
		semconv.ServiceVersion(instrumentation.Version()),
	)
	res, err := resource.Merge(resource.Default(), own)
	if err != nil {
		return nil, fmt.Errorf("resource: %w", err)
	}
	res, err = resource.Merge(res, resource.Environment())
	if err != nil {
		return nil, fmt.Errorf("resource from the environment: %w", err)
	}
	return res, nil
}
