package auditredactionprocessor

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/redactiontest"
)

// BenchmarkProcessTraces measures the processing function alone on generated
// tool-call spans; one op is one span. The side-by-side comparison with
// contrib lives in the bench module (bench/redaction).
func BenchmarkProcessTraces(b *testing.B) {
	for _, c := range []struct {
		name string
		cfg  *Config
	}{{"mask", createDefaultConfig().(*Config)}, {"hmac", keyedConfig()}} {
		b.Run(c.name, func(b *testing.B) {
			p, err := newRedactionProcessor(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			g := redactiontest.NewGenerator(42)
			var in []ptrace.Traces
			spans := 0
			for spans < 1000 {
				bt := g.Next()
				in = append(in, bt.Traces)
				spans += bt.Traces.SpanCount()
			}
			// Copies are made outside the timed region, a batch of them at
			// a time.
			work := make([]ptrace.Traces, len(in))
			b.ReportAllocs()
			b.ResetTimer()
			done := 0
			for done < b.N {
				b.StopTimer()
				for i, td := range in {
					work[i] = ptrace.NewTraces()
					td.CopyTo(work[i])
				}
				b.StartTimer()
				// Stop at b.N spans, not at the end of the corpus, so that
				// ns/op and B/op divide the work actually timed.
				for _, td := range work {
					if done >= b.N {
						break
					}
					if _, err := p.processTraces(context.Background(), td); err != nil {
						b.Fatal(err)
					}
					done += td.SpanCount()
				}
			}
			b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "spans/s")
		})
	}
}
