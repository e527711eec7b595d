// Package auditexporter provides the collector exporter of type "audit": it
// turns the tool-call spans of a traces pipeline into hash-chained, signed,
// retention-tagged audit records in an auditlog store.
//
// Tool spans of the GenAI, MCP, OpenInference, OpenLLMetry/Traceloop and
// Vercel AI SDK conventions are recognised (see internal/toolspan); every
// other span is skipped and counted. A batch is acknowledged only after it is
// written and fsynced; a redelivered span is written once; a full disk or an
// I/O error is a retryable error after which the store is still valid.
// See README.md for the configuration.
package auditexporter
