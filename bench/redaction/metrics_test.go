package redaction

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/redactionprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor"
)

// metricsBatch is one batch of metrics and the values planted in it.
type metricsBatch struct {
	md      pmetric.Metrics
	planted []string
}

// metricsCorpus returns batches of a tool-calling agent's metrics: a call
// counter and a duration histogram per tool and user, 200 data points a
// batch, with e-mail addresses as user ids, and in one point of five a
// secret: under a sensitive key, in a URL's query, or as a bearer token in
// an exemplar.
func metricsCorpus() []metricsBatch {
	var bs []metricsBatch
	tools := []string{"get_order", "issue_refund", "access_patient_record", "search_kb"}
	n := 0
	for b := 0; b < 10; b++ {
		md := pmetric.NewMetrics()
		var planted []string
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "support-agent")
		rm.Resource().Attributes().PutStr("host.name", "agent-7")
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName("github.com/otelaudit/otelaudit/instrumentation")
		calls := sm.Metrics().AppendEmpty()
		calls.SetName("gen_ai.tool.calls")
		sum := calls.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dur := sm.Metrics().AppendEmpty()
		dur.SetName("gen_ai.tool.duration")
		dur.SetUnit("s")
		hist := dur.SetEmptyHistogram()
		hist.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		for i := 0; i < 100; i++ {
			n++
			user := fmt.Sprintf("user%04d@example.com", n)
			fill := func(a pcommon.Map) {
				a.PutStr("gen_ai.operation.name", "execute_tool")
				a.PutStr("gen_ai.tool.name", tools[n%len(tools)])
				a.PutStr("user.email", user)
				a.PutStr("http.route", "/v1/tools/"+tools[n%len(tools)])
			}
			dp := sum.DataPoints().AppendEmpty()
			fill(dp.Attributes())
			dp.SetIntValue(int64(n))
			hp := hist.DataPoints().AppendEmpty()
			fill(hp.Attributes())
			hp.SetCount(uint64(n))
			hp.SetSum(float64(n) / 10)
			hp.ExplicitBounds().FromRaw([]float64{0.1, 0.5, 1, 5})
			hp.BucketCounts().FromRaw([]uint64{uint64(n), 0, 0, 0, 0})
			planted = append(planted, user)
			switch n % 15 {
			case 0:
				s := fmt.Sprintf("pw-%06d-secret", n)
				dp.Attributes().PutStr("db_password", s)
				planted = append(planted, s)
			case 5:
				s := fmt.Sprintf("ak%08dQz", n)
				dp.Attributes().PutStr("url.full", "https://api.example.com/orders?api_key="+s+"&page=2")
				planted = append(planted, s)
			case 10:
				s := fmt.Sprintf("tok%08dVeryLongOpaqueBearer", n)
				hp.Exemplars().AppendEmpty().FilteredAttributes().PutStr("http.request.header.authorization", "Bearer "+s)
				planted = append(planted, s)
			}
		}
		bs = append(bs, metricsBatch{md, planted})
	}
	return bs
}

func newMetricsProcessor(tb testing.TB, f processor.Factory, cfg component.Config) (processor.Metrics, *consumertest.MetricsSink) {
	tb.Helper()
	sink := new(consumertest.MetricsSink)
	p, err := f.CreateMetrics(context.Background(), processortest.NewNopSettings(f.Type()), cfg, sink)
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.Start(context.Background(), nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p, sink
}

// metricsLeakRate runs every batch once through p and returns the share
// of planted values found anywhere in the protobuf encoding of its output.
func metricsLeakRate(tb testing.TB, p processor.Metrics, sink *consumertest.MetricsSink, bs []metricsBatch) float64 {
	planted, leaked := 0, 0
	for _, b := range bs {
		in := pmetric.NewMetrics()
		b.md.CopyTo(in)
		sink.Reset()
		if err := p.ConsumeMetrics(context.Background(), in); err != nil {
			tb.Fatal(err)
		}
		out, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(sink.AllMetrics()[0])
		if err != nil {
			tb.Fatal(err)
		}
		for _, v := range b.planted {
			planted++
			if strings.Contains(string(out), v) {
				leaked++
			}
		}
	}
	sink.Reset()
	return float64(leaked) / float64(planted)
}

// TestMetricsCorpusNoLeaks: auditredaction leaves none of the planted
// values in its output; the same rules in contrib's processor leave some
// (the URL query's key, which it cannot see), so the corpus tells them
// apart.
func TestMetricsCorpusNoLeaks(t *testing.T) {
	bs := metricsCorpus()
	ours, sink := newMetricsProcessor(t, auditredactionprocessor.NewFactory(), ourConfig(true))
	if r := metricsLeakRate(t, ours, sink, bs); r != 0 {
		t.Errorf("auditredaction leaked %.1f %% of the planted values", 100*r)
	}
	contrib, csink := newMetricsProcessor(t, redactionprocessor.NewFactory(), contribConfig(true))
	if r := metricsLeakRate(t, contrib, csink, bs); r == 0 {
		t.Errorf("contrib leaked nothing: the corpus no longer tells the processors apart")
	}
}

// BenchmarkRedactionMetricsPaired is BenchmarkRedactionPaired for metrics:
// the same data points through contrib's redaction processor and through
// auditredaction, alternated batch by batch, with HMAC pseudonyms. One op
// is one data point through both; it reports each one's data points per
// second, their ratio, and the share of planted values each leaked.
func BenchmarkRedactionMetricsPaired(b *testing.B) {
	bs := metricsCorpus()
	contrib, csink := newMetricsProcessor(b, redactionprocessor.NewFactory(), contribConfig(true))
	ours, osink := newMetricsProcessor(b, auditredactionprocessor.NewFactory(), ourConfig(true))
	contribLeak := metricsLeakRate(b, contrib, csink, bs)
	ourLeak := metricsLeakRate(b, ours, osink, bs)
	tContrib, tOurs, done := alternate(b, func(i int) (func() error, func() error, int) {
		csink.Reset()
		osink.Reset()
		batch := bs[i%len(bs)]
		in1, in2 := pmetric.NewMetrics(), pmetric.NewMetrics()
		batch.md.CopyTo(in1)
		batch.md.CopyTo(in2)
		return func() error { return contrib.ConsumeMetrics(context.Background(), in1) },
			func() error { return ours.ConsumeMetrics(context.Background(), in2) },
			batch.md.DataPointCount()
	})
	b.ReportMetric(float64(done)/tContrib.Seconds(), "contrib-points/s")
	b.ReportMetric(float64(done)/tOurs.Seconds(), "auditredaction-points/s")
	b.ReportMetric(tContrib.Seconds()/tOurs.Seconds(), "speedup")
	b.ReportMetric(100*contribLeak, "contrib-leaked-%")
	b.ReportMetric(100*ourLeak, "auditredaction-leaked-%")
}
