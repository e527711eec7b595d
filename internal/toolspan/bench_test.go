package toolspan

import "testing"

func BenchmarkMap(b *testing.B) {
	for _, file := range []string{"genai.json", "openinference.json", "traceloop.json", "vercel_ai.json", "mcp.json"} {
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
