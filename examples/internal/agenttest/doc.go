// Package agenttest helps test the example agents: an in-process OTLP
// trace receiver over HTTP or gRPC that may require a bearer token, the
// environment that points an agent at it, a check that an agent exports
// or fails as it should, and helpers over recorded spans.
package agenttest
