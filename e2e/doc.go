// Package e2e holds otelaudit's end-to-end tests: the example agents,
// otelcol-audit (built from builder-config.yaml, running
// examples/collector/config.yaml), Jaeger v2 (examples/jaeger/config.yaml)
// and the otelaudit CLI run as real processes on 127.0.0.1, with free
// ports and temporary directories.
//
// The tests are behind the e2e build tag and take the binaries' paths from
// the environment; `make e2e` (part of `make test`) builds them and runs
//
//	OTELAUDIT_COLLECTOR_BIN=… OTELAUDIT_JAEGER_BIN=… OTELAUDIT_CLI_BIN=… \
//	OTELAUDIT_AGENT_BIN_DIR=… go test -race -tags e2e ./e2e/
//
// They prove that spans of the examples reach both Jaeger and the audit
// store, and so do third-party agents' tool spans (testdata/spans:
// OpenInference, OpenLLMetry, Vercel AI SDK, MCP) sent as OTLP/HTTP JSON,
// that no planted secret or PII reaches either (PII arrives as
// hmac-sha256 pseudonyms), that reconcile and verify pass, that records
// name the authenticated client, that a collector killed with SIGKILL in
// the middle of a stream loses and duplicates none of the spans it
// acknowledged, that malformed or unauthenticated OTLP requests are
// refused while good data keeps flowing, and that scripts/demo.sh (`make
// demo`) prints the audit trail it promises and leaves nothing running.
package e2e
