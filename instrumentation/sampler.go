package instrumentation

import (
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"
)

// AuditSampler returns a sampler that records and samples every span
// whose start attribute gen_ai.operation.name is execute_tool, whatever
// its parent's sampling, and leaves every other span to base (the SDK's
// default is sdktrace.ParentBased(sdktrace.AlwaysSample())). A nil base
// means that default.
//
// With it, a tool call under a parent that was sampled out stays in its
// parent's trace; without it, the Auditor starts such a call as a trace of
// its own, linked to the parent. Either way the call is audited, unless
// the root sampler drops it: a TraceIDRatioBased or NeverSample root
// sampler drops audit spans that this sampler keeps.
//
// It is safe for concurrent use if base is.
func AuditSampler(base sdktrace.Sampler) sdktrace.Sampler {
	if base == nil {
		base = sdktrace.ParentBased(sdktrace.AlwaysSample())
	}
	return auditSampler{base: base}
}

type auditSampler struct{ base sdktrace.Sampler }

func (s auditSampler) ShouldSample(p sdktrace.SamplingParameters) sdktrace.SamplingResult {
	for _, kv := range p.Attributes {
		if kv.Key == semconv.GenAIOperationNameKey && kv.Value.AsString() == semconv.GenAIOperationNameExecuteTool.Value.AsString() {
			return sdktrace.SamplingResult{
				Decision:   sdktrace.RecordAndSample,
				Tracestate: trace.SpanContextFromContext(p.ParentContext).TraceState(),
			}
		}
	}
	return s.base.ShouldSample(p)
}

func (s auditSampler) Description() string {
	return "AuditSampler{" + s.base.Description() + "}"
}
