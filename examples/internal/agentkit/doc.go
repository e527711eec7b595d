// Package agentkit is what the example agents share: a player for scripted
// conversations (each turn an invoke_agent span, each tool call audited by
// the instrumentation), a TracerProvider configured by the standard
// OTEL_EXPORTER_OTLP_* variables that reports spans it could not export,
// a compact span listing for standard output, and the body of main.
//
// Each example keeps its own tools and script; agentkit knows nothing of
// shops or patients.
package agentkit
