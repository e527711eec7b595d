// Package metadata names the auditredaction processor for the collector.
package metadata

import "go.opentelemetry.io/collector/component"

var (
	// Type is the component type users write in collector YAML.
	Type = component.MustNewType("auditredaction")
	// ScopeName is the instrumentation scope of the component's telemetry.
	ScopeName = "github.com/otelaudit/otelaudit/processor/auditredactionprocessor"
)

// Stability of each signal.
const (
	TracesStability  = component.StabilityLevelAlpha
	LogsStability    = component.StabilityLevelAlpha
	MetricsStability = component.StabilityLevelAlpha
)
