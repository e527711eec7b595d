package agenttest

import "testing"

// ClearEnv empties, for the test, the variables that would send its spans
// elsewhere or change their resource (OTEL_EXPORTER_OTLP_*,
// OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) and the others named, so
// that the developer's environment does not leak into the test.
func ClearEnv(t testing.TB, others ...string) {
	for _, k := range append([]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
		"OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
		"OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
	}, others...) {
		t.Setenv(k, "")
	}
}

// PointAt clears the environment as ClearEnv does and points the OTLP
// exporters at r with token as bearer token ("" for none), with a 5 s
// export timeout.
func (r *Receiver) PointAt(t testing.TB, token string) {
	ClearEnv(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", r.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", r.Protocol)
	if token != "" {
		t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20"+token)
	}
	t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
}
