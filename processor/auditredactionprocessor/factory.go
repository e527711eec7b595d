package auditredactionprocessor

import (
	"context"
	"fmt"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelaudit/otelaudit/internal/attrkey"
	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/internal/metadata"
	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/internal/redact"
)

// NewFactory returns the factory of the auditredaction processor, for traces,
// logs and metrics. The processors it creates hold no mutable state and are
// safe for concurrent use; Shutdown is safe without Start and has nothing to
// flush, since every batch is redacted synchronously in ConsumeTraces,
// ConsumeLogs or ConsumeMetrics.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

// createDefaultConfig masks the built-in sensitive keys and PII keys (no
// hmac_key, so no pseudonyms), runs every built-in detector with action mask,
// and parses the payload attributes of SPEC §2 as JSON.
func createDefaultConfig() component.Config {
	return &Config{
		Mask:           redact.DefaultMask,
		JSONAttributes: attrkey.PayloadAttributes(),
		MaxDepth:       redact.DefaultMaxDepth,
		MaxValueBytes:  redact.DefaultMaxValueBytes,
	}
}

var processorCapabilities = consumer.Capabilities{MutatesData: true}

func createTraces(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	p, err := newRedactionProcessor(cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewTraces(ctx, set, cfg, next, p.processTraces,
		processorhelper.WithCapabilities(processorCapabilities))
}

func createLogs(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	p, err := newRedactionProcessor(cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, p.processLogs,
		processorhelper.WithCapabilities(processorCapabilities))
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	p, err := newRedactionProcessor(cfg.(*Config))
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, p.processMetrics,
		processorhelper.WithCapabilities(processorCapabilities))
}

func newRedactionProcessor(cfg *Config) (*redactionProcessor, error) {
	opts, err := cfg.options()
	if err != nil {
		return nil, fmt.Errorf("auditredaction: %w", err)
	}
	r, err := redact.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("auditredaction: %w", err)
	}
	return &redactionProcessor{r: r}, nil
}
