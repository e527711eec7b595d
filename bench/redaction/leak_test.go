package redaction

import (
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"go.opentelemetry.io/collector/consumer/consumertest"

	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor"
	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/redactiontest"
)

// TestLeak100k is the full-size leak test: 100,000 generated spans with
// planted secrets and PII through auditredaction in a real pipeline, every
// byte of the protobuf and JSON output searched for every planted value. The
// main module runs it too, at a tenth of the size under the race detector;
// this module's tests run without it, so the full size runs in `make test`.
func TestLeak100k(t *testing.T) {
	sink := new(consumertest.TracesSink)
	p := newProcessor(t, auditredactionprocessor.NewFactory(), ourConfig(true), sink)
	redactiontest.RunLeak(t, p, sink, 100, 100_000)
}

// The equivalent contrib rules leak planted values that sit inside JSON
// payloads under sensitive keys; auditredaction leaks none. This pins the
// comparison the README reports.
func TestContribLeaksWhatAuditRedactionCatches(t *testing.T) {
	bs := corpus()
	sink := new(consumertest.TracesSink)
	ours := leakRate(t, newProcessor(t, auditredactionprocessor.NewFactory(), ourConfig(true), sink), sink, bs)
	theirs := leakRate(t, newProcessor(t, redactionprocessor.NewFactory(), contribConfig(true), sink), sink, bs)
	if ours != 0 {
		t.Errorf("auditredaction leaked %.2f%% of planted values", 100*ours)
	}
	if theirs == 0 {
		t.Errorf("contrib leaked nothing: the benchmark rules are not equivalent any more")
	}
	t.Logf("leaked: auditredaction %.2f%%, contrib %.2f%%", 100*ours, 100*theirs)
}
