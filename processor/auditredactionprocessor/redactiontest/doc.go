// Package redactiontest generates trace batches that plant known secrets and
// PII, for leak tests and benchmarks of the auditredaction processor. Every
// planted value is recorded with the needle that must not appear in any byte
// of the processor's output, together with look-alike attributes and
// ordinary values that must pass through unchanged.
//
// A Generator is deterministic for a seed and not safe for concurrent use.
package redactiontest
