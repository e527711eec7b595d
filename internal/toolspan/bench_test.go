package toolspan

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

func BenchmarkMap(b *testing.B) {
	for _, file := range sampleFiles {
		refs := loadSpans(b, file)
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, ref := range refs {
					Map(ref.res, ref.scope, ref.span, Options{})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(refs)), "ns/span")
		})
	}
}

// BenchmarkMapTypical maps the span the exporter benchmark uses: a GenAI
// tool span with the SPEC §2 attributes and ~250 bytes of JSON payloads.
func BenchmarkMapTypical(b *testing.B) {
	span := typicalSpan()
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "support-agent")
	scope := pcommon.NewInstrumentationScope()
	b.ReportAllocs()
	for b.Loop() {
		Map(res, scope, span, Options{})
	}
}
