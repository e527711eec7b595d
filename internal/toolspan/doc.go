// Package toolspan turns a tool-call span into an audit record.
//
// Map recognises the tool spans of five conventions and fills one
// auditlog.Record from each, whatever produced it:
//
//   - the OpenTelemetry GenAI conventions: gen_ai.operation.name=execute_tool;
//   - MCP (Model Context Protocol): mcp.method.name=tools/call;
//   - OpenInference (Arize): openinference.span.kind=TOOL;
//   - OpenLLMetry / Traceloop: traceloop.span.kind=tool;
//   - the Vercel AI SDK: spans named ai.toolCall.
//
// Every other span is rejected, cheaply, so that callers can count and skip
// them. The mapping never fails on content: missing attributes stay empty,
// attributes of an unexpected type are converted where that is unambiguous and
// ignored otherwise, invalid UTF-8 is replaced by U+FFFD, and payloads
// (arguments and result summaries) are stored as canonical JSON or, above the
// configured limit, as a truncation marker that carries only their size and
// SHA-256, never their content.
//
// The package depends on pdata and auditlog only, not on the collector
// runtime, so the query engine uses the same mapping for spans read from
// Jaeger or from OTLP JSON files. Map is safe for concurrent use.
package toolspan
