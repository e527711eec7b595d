package auditexporter

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelaudit/otelaudit/auditlog"
)

// typeStr is the exporter's type in collector configuration.
const typeStr = "audit"

// Type is the component type of the audit exporter.
var Type = component.MustNewType(typeStr)

// Stability of the traces signal, the only one the exporter handles.
const stability = component.StabilityLevelAlpha

// NewFactory returns the factory of the audit exporter (type "audit").
func NewFactory() exporter.Factory {
	return exporter.NewFactory(Type, createDefaultConfig, exporter.WithTraces(createTraces, stability))
}

// createDefaultConfig returns the defaults of SPEC §7: 64 MiB / 1h
// segments, a checkpoint at least every 10s, 64 KiB payloads, the
// financial / healthcare / general retention classes, a sending queue that
// waits for the fsync and blocks rather than drops, and retries that never
// give up.
func createDefaultConfig() component.Config {
	queue := exporterhelper.NewDefaultQueueConfig()
	queue.WaitForResult = true
	queue.BlockOnOverflow = true
	retry := configretry.NewDefaultBackOffConfig()
	retry.InitialInterval = time.Second
	retry.MaxElapsedTime = 0
	return &Config{
		Segment: SegmentConfig{
			MaxBytes: defaultSegmentMaxBytes,
			MaxAge:   defaultSegmentMaxAge,
		},
		CheckpointInterval: defaultCheckpointInterval,
		MaxPayloadBytes:    defaultMaxPayloadBytes,
		DedupWindow:        auditlog.DefaultDedupWindow,
		Retention:          defaultRetention(),
		TimeoutConfig:      exporterhelper.NewDefaultTimeoutConfig(),
		QueueConfig:        configoptional.Some(queue),
		RetryConfig:        retry,
	}
}

// defaultRetention is SPEC §4's policy with the tools of SPEC §7's example.
func defaultRetention() RetentionConfig {
	return RetentionConfig{
		DefaultClass: defaultRetentionClass,
		Classes: map[string]ClassConfig{
			"financial": {
				Days:  2555,
				Tools: []string{"charge_payment", "issue_refund", "apply_credit"},
			},
			"healthcare": {
				Days:         2190,
				Tools:        []string{"access_patient_record", "update_treatment"},
				SubjectTypes: []string{"patient"},
			},
			"general": {Days: 365},
		},
	}
}

func createTraces(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Traces, error) {
	c := cfg.(*Config)
	e, err := newAuditExporter(c, set)
	if err != nil {
		return nil, err
	}
	traces, err := exporterhelper.NewTraces(ctx, set, cfg, e.pushTraces,
		// Only when the request context does not reach pushTraces does the
		// exporter stamp the client into the data (see clientStamper).
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: e.clientFromData}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithRetry(c.RetryConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
	)
	if err != nil {
		return nil, err
	}
	if e.clientFromData {
		return &clientStamper{Traces: traces}, nil
	}
	return traces, nil
}

// contextLost reports whether the sending queue loses the request context
// on the way to pushTraces: a persistent queue stores only the data, and
// batching merges requests of different clients. The in-memory queue
// without batching, and no queue, keep it.
func contextLost(q configoptional.Optional[exporterhelper.QueueBatchConfig]) bool {
	qc := q.Get()
	return qc != nil && (qc.StorageID != nil || qc.Batch.HasValue())
}
