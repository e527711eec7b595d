package redaction

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor"
	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/redactiontest"
)

const hmacKey = "bench-hmac-key-0123456789abcdef-0123456789"

// Contrib rules equivalent to auditredaction's defaults: its sensitive key
// words as one suffix pattern (contrib matches whole attribute keys, so a
// suffix match is the closest to ours), and its value detectors as regular
// expressions (contrib has no Luhn check, SSN validity or key=value rule).
var (
	contribKeyPatterns = []string{
		`(?i)(pass(word|wd|phrase)|secret|token|api[-_. ]?key|authorization|cookie|private[-_. ]?key|secret[-_. ]?key|` +
			`access[-_. ]?key|credentials?|credit[-_. ]?card|card[-_. ]?number|cvv|cvc|ssn)$`,
		`(?i)(patient[-_. ]?name|first[-_. ]?name|last[-_. ]?name|full[-_. ]?name|date[-_. ]?of[-_. ]?birth|dob|birth[-_. ]?date|` +
			`email|phone|phone[-_. ]?number|home[-_. ]?address)$`,
	}
	contribValuePatterns = []string{
		`\b(?:\d[ -]?){12,18}\d\b`,
		`\b\d{3}-\d{2}-\d{4}\b`,
		`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`,
		`eyJ[A-Za-z0-9_-]{7,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`,
		`(?i)bearer\s+[A-Za-z0-9\-._~+/]{8,}=*`,
		`\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b`,
		`-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----`,
	}
)

func contribConfig(hmac bool) component.Config {
	cfg := redactionprocessor.NewFactory().CreateDefaultConfig().(*redactionprocessor.Config)
	cfg.AllowAllKeys = true
	cfg.BlockedKeyPatterns = contribKeyPatterns
	cfg.BlockedValues = contribValuePatterns
	cfg.Summary = "debug"
	if hmac {
		cfg.HashFunction = redactionprocessor.HMACSHA256
		cfg.HMACKey = configopaque.String(hmacKey)
	} else {
		cfg.MaskingString = "***REDACTED***"
	}
	return cfg
}

func ourConfig(hmac bool) component.Config {
	cfg := auditredactionprocessor.NewFactory().CreateDefaultConfig().(*auditredactionprocessor.Config)
	if hmac {
		cfg.HMACKey = configopaque.String(hmacKey)
	}
	return cfg
}

func newProcessor(tb testing.TB, f processor.Factory, cfg component.Config, next consumer.Traces) processor.Traces {
	tb.Helper()
	p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, next)
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Start(context.Background(), nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// corpus returns the batches every benchmark runs: at least 2,000 spans.
func corpus() []redactiontest.Batch {
	g := redactiontest.NewGenerator(42)
	var bs []redactiontest.Batch
	for spans := 0; spans < 2000; {
		b := g.Next()
		spans += b.Traces.SpanCount()
		bs = append(bs, b)
	}
	return bs
}

// leakRate runs every batch once through p and returns the fraction of
// planted values that survived into the output.
func leakRate(tb testing.TB, p processor.Traces, sink *consumertest.TracesSink, bs []redactiontest.Batch) float64 {
	planted, leaked := 0, 0
	for _, b := range bs {
		in := ptrace.NewTraces()
		b.Traces.CopyTo(in)
		sink.Reset()
		if err := p.ConsumeTraces(context.Background(), in); err != nil {
			tb.Fatal(err)
		}
		planted += len(b.Secrets)
		for _, err := range redactiontest.Check(b, sink.AllTraces()[0]) {
			if strings.Contains(err.Error(), "leaked into the protobuf") {
				leaked++
			}
		}
	}
	sink.Reset()
	return float64(leaked) / float64(planted)
}

// BenchmarkRedaction runs the same spans through contrib's redaction
// processor and through auditredaction, masking only and with HMAC
// pseudonyms, in one run. Each op is one span; spans/s and the share of
// planted values that leaked are reported beside ns/op. The copy sub-benchmark
// measures the per-span cost of copying the input, which every other
// sub-benchmark pays too.
func BenchmarkRedaction(b *testing.B) {
	bs := corpus()
	cases := []struct {
		name    string
		factory processor.Factory
		cfg     component.Config
	}{
		{"contrib/mask", redactionprocessor.NewFactory(), contribConfig(false)},
		{"auditredaction/mask", auditredactionprocessor.NewFactory(), ourConfig(false)},
		{"contrib/hmac", redactionprocessor.NewFactory(), contribConfig(true)},
		{"auditredaction/hmac", auditredactionprocessor.NewFactory(), ourConfig(true)},
	}
	b.Run("copy", func(b *testing.B) {
		run(b, consumertest.NewNop(), bs)
	})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			sink := new(consumertest.TracesSink)
			p := newProcessor(b, c.factory, c.cfg, sink)
			leaked := leakRate(b, p, sink, bs)
			p = newProcessor(b, c.factory, c.cfg, consumertest.NewNop())
			run(b, p, bs)
			b.ReportMetric(100*leaked, "leaked-%")
		})
	}
}

func run(b *testing.B, p consumer.Traces, bs []redactiontest.Batch) {
	b.ReportAllocs()
	b.ResetTimer()
	done := 0
	for i := 0; done < b.N; i++ {
		batch := bs[i%len(bs)]
		in := ptrace.NewTraces()
		batch.Traces.CopyTo(in)
		if err := p.ConsumeTraces(context.Background(), in); err != nil {
			b.Fatal(err)
		}
		done += batch.Traces.SpanCount()
	}
	b.StopTimer()
	// One op is one span; done may overshoot b.N by less than one batch.
	b.ReportMetric(float64(done)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkRedactionPaired alternates contrib and auditredaction batch by
// batch and times each call, so that both see the same load on a shared
// machine; it reports both throughputs and their ratio. Input copies are
// outside the timed calls. One op is one span through both processors.
func BenchmarkRedactionPaired(b *testing.B) {
	bs := corpus()
	for _, hmac := range []bool{false, true} {
		name := "mask"
		if hmac {
			name = "hmac"
		}
		b.Run(name, func(b *testing.B) {
			contrib := newProcessor(b, redactionprocessor.NewFactory(), contribConfig(hmac), consumertest.NewNop())
			ours := newProcessor(b, auditredactionprocessor.NewFactory(), ourConfig(hmac), consumertest.NewNop())
			tContrib, tOurs, done := alternate(b, func(i int) (func() error, func() error, int) {
				batch := bs[i%len(bs)]
				in1, in2 := ptrace.NewTraces(), ptrace.NewTraces()
				batch.Traces.CopyTo(in1)
				batch.Traces.CopyTo(in2)
				return func() error { return contrib.ConsumeTraces(context.Background(), in1) },
					func() error { return ours.ConsumeTraces(context.Background(), in2) },
					batch.Traces.SpanCount()
			})
			b.ReportMetric(float64(done)/tContrib.Seconds(), "contrib-spans/s")
			b.ReportMetric(float64(done)/tOurs.Seconds(), "auditredaction-spans/s")
			b.ReportMetric(tContrib.Seconds()/tOurs.Seconds(), "speedup")
		})
	}
}

// alternate runs batch i = 0, 1, … through contrib and through
// auditredaction, with the calls next returns for it (inputs copied
// outside the timed calls), until b.N items are done, and returns the time
// each processor took and the items done. Which goes first alternates, so
// that neither always gets the warmer cache.
func alternate(b *testing.B, next func(i int) (contrib, ours func() error, items int)) (tContrib, tOurs time.Duration, done int) {
	b.ResetTimer()
	for i := 0; done < b.N; i++ {
		contrib, ours, items := next(i)
		first, second := contrib, ours
		t1, t2 := &tContrib, &tOurs
		if i%2 == 1 {
			first, second, t1, t2 = ours, contrib, &tOurs, &tContrib
		}
		start := time.Now()
		if err := first(); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := second(); err != nil {
			b.Fatal(err)
		}
		*t1 += mid.Sub(start)
		*t2 += time.Since(mid)
		done += items
	}
	b.StopTimer()
	return tContrib, tOurs, done
}
