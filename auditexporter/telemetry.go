package auditexporter

import (
	"context"
	"errors"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/otel/metric"
)

// Names of the exporter's own metrics. The collector adds the component's
// identity (otelcol.component.id, ...) to every one.
const (
	metricRecordsWritten = "otelcol_exporter_audit_records_written"
	metricDuplicates     = "otelcol_exporter_audit_records_duplicate"
	metricSkippedSpans   = "otelcol_exporter_audit_spans_skipped"
	metricAppendFailures = "otelcol_exporter_audit_append_failures"
	meterScope           = "github.com/otelaudit/otelaudit/auditexporter"
)

// telemetry holds the exporter's counters. Safe for concurrent use.
type telemetry struct {
	written  metric.Int64Counter
	dups     metric.Int64Counter
	skipped  metric.Int64Counter
	failures metric.Int64Counter
}

func newTelemetry(set component.TelemetrySettings) (*telemetry, error) {
	m := set.MeterProvider.Meter(meterScope)
	var t telemetry
	var errs, err error
	t.written, err = m.Int64Counter(metricRecordsWritten,
		metric.WithDescription("Audit records written to the store and fsynced."),
		metric.WithUnit("{record}"))
	errs = errors.Join(errs, err)
	t.dups, err = m.Int64Counter(metricDuplicates,
		metric.WithDescription("Tool spans not written because the store already held their trace_id and span_id (redeliveries)."),
		metric.WithUnit("{record}"))
	errs = errors.Join(errs, err)
	t.skipped, err = m.Int64Counter(metricSkippedSpans,
		metric.WithDescription("Spans skipped because they are not tool calls of a recognised convention."),
		metric.WithUnit("{span}"))
	errs = errors.Join(errs, err)
	t.failures, err = m.Int64Counter(metricAppendFailures,
		metric.WithDescription("Batches the store failed to write (each is retried unless the error is permanent)."),
		metric.WithUnit("{batch}"))
	errs = errors.Join(errs, err)
	return &t, errs
}

func (t *telemetry) record(ctx context.Context, written, dups, skipped int, failed bool) {
	if written > 0 {
		t.written.Add(ctx, int64(written))
	}
	if dups > 0 {
		t.dups.Add(ctx, int64(dups))
	}
	if skipped > 0 {
		t.skipped.Add(ctx, int64(skipped))
	}
	if failed {
		t.failures.Add(ctx, 1)
	}
}
