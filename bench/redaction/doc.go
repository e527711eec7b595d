// Package redaction benchmarks the auditredaction processor against
// opentelemetry-collector-contrib's redaction processor on the same generated
// tool-call spans, and on an agent's metrics, with equivalent rules, and runs
// the full 100,000-span leak test of the auditredaction processor outside the
// race detector.
package redaction
