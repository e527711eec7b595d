package auditredactionprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/redactiontest"
)

// leakSpans is how many generated spans the leak tests push through the
// processor. The race detector slows the run about tenfold, so a race build
// runs a tenth; the full 100,000 run in every other build, including the
// bench module's test run in `make test`.
func leakSpans() int {
	if raceEnabled {
		return 10_000
	}
	return 100_000
}

func runLeak(t *testing.T, cfg *Config, seed uint64, spans int) {
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), nil))
	redactiontest.RunLeak(t, p, sink, seed, spans)
	require.NoError(t, p.Shutdown(context.Background()))
}

// TestLeak plants known secrets and PII under random key spellings, nesting
// depths, arrays and JSON-in-JSON, runs them through the processor in a real
// pipeline, and searches every byte of the protobuf and JSON encodings of the
// output for every planted value. Look-alike keys and ordinary values must
// pass unchanged.
func TestLeak(t *testing.T) {
	runLeak(t, keyedConfig(), 1, leakSpans())
}

// TestLeakWithoutKey is the same without an HMAC key, where PII is masked
// rather than pseudonymised.
func TestLeakWithoutKey(t *testing.T) {
	runLeak(t, createDefaultConfig().(*Config), 2, leakSpans()/10)
}
