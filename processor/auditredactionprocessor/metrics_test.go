package auditredactionprocessor

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
)

// Planted in the metrics of TestMetrics; none may survive anywhere.
const (
	metricSecret      = "Mx-planted-S3cret-7781"
	metricScopeSecret = "Mx-scope-S3cret-1207"
	metricBearer      = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJtIn0.c2lnbmF0dXJlLWhlcmU"
	metricEmail       = "carol@example.com"
)

// TestMetrics puts each metric type through the processor with secrets and
// PII in the resource, the scope, a data point and (where the type has
// them) an exemplar, beside a metric that holds none.
func TestMetrics(t *testing.T) {
	tests := []struct {
		name      string
		fill      func(pmetric.Metric) (attrs, exemplar pcommon.Map)
		exemplars bool
	}{
		{"gauge", func(m pmetric.Metric) (pcommon.Map, pcommon.Map) {
			dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.SetIntValue(3)
			return dp.Attributes(), dp.Exemplars().AppendEmpty().FilteredAttributes()
		}, true},
		{"sum", func(m pmetric.Metric) (pcommon.Map, pcommon.Map) {
			dp := m.SetEmptySum().DataPoints().AppendEmpty()
			dp.SetDoubleValue(1.5)
			return dp.Attributes(), dp.Exemplars().AppendEmpty().FilteredAttributes()
		}, true},
		{"histogram", func(m pmetric.Metric) (pcommon.Map, pcommon.Map) {
			dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
			dp.SetCount(2)
			return dp.Attributes(), dp.Exemplars().AppendEmpty().FilteredAttributes()
		}, true},
		{"exponential histogram", func(m pmetric.Metric) (pcommon.Map, pcommon.Map) {
			dp := m.SetEmptyExponentialHistogram().DataPoints().AppendEmpty()
			dp.SetCount(2)
			return dp.Attributes(), dp.Exemplars().AppendEmpty().FilteredAttributes()
		}, true},
		{"summary", func(m pmetric.Metric) (pcommon.Map, pcommon.Map) {
			dp := m.SetEmptySummary().DataPoints().AppendEmpty()
			dp.SetCount(2)
			return dp.Attributes(), pcommon.NewMap()
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md := pmetric.NewMetrics()
			rm := md.ResourceMetrics().AppendEmpty()
			rm.Resource().Attributes().PutStr("service.name", "agent")
			rm.Resource().Attributes().PutStr("owner_email", metricEmail)
			sm := rm.ScopeMetrics().AppendEmpty()
			sm.Scope().Attributes().PutStr("api_key", metricScopeSecret)

			m := sm.Metrics().AppendEmpty()
			m.SetName("gen_ai.tool.calls")
			attrs, ex := tt.fill(m)
			attrs.PutStr("gen_ai.tool.name", "issue_refund")
			attrs.PutStr("db_password", metricSecret)
			attrs.PutStr("note", "paid by "+metricEmail)
			ex.PutStr("authorization", metricBearer)

			clean := sm.Metrics().AppendEmpty()
			clean.SetName("gen_ai.client.operation.duration")
			cattrs, _ := tt.fill(clean)
			cattrs.PutStr("gen_ai.tool.name", "get_order")

			out := runMetrics(t, md)
			orm := out.ResourceMetrics().At(0)
			assert.Equal(t, pseudonym(t, metricEmail), str(t, orm.Resource().Attributes(), "owner_email"))
			osm := orm.ScopeMetrics().At(0)
			assert.Equal(t, "***REDACTED***", str(t, osm.Scope().Attributes(), "api_key"))

			om := osm.Metrics().At(0)
			oattrs, oex := points(om)
			assert.Equal(t, map[string]any{
				"gen_ai.tool.name": "issue_refund",
				"db_password":      "***REDACTED***",
				"note":             "paid by " + pseudonym(t, metricEmail),
			}, oattrs.AsRaw(), "data point attributes: redacted, and no markers that would split the series")
			wantPaths := []string{"resource:owner_email", "scope:api_key", "datapoint:db_password", "datapoint:note"}
			wantCount := int64(4)
			if tt.exemplars {
				assert.Equal(t, map[string]any{"authorization": "***REDACTED***"}, oex.AsRaw())
				wantPaths = append(wantPaths, "exemplar:authorization")
				wantCount++
			}
			assert.Equal(t, wantCount, markedCount(om.Metadata()))
			assert.Equal(t, wantPaths, markedPaths(om.Metadata()))

			// The clean metric carries its resource's and scope's
			// redactions, as a span does, and is otherwise untouched.
			oc := osm.Metrics().At(1)
			cattrsOut, _ := points(oc)
			assert.Equal(t, map[string]any{"gen_ai.tool.name": "get_order"}, cattrsOut.AsRaw())
			assert.Equal(t, int64(2), markedCount(oc.Metadata()))
			assert.Equal(t, []string{"resource:owner_email", "scope:api_key"}, markedPaths(oc.Metadata()))

			assertNoPlanted(t, out)
		})
	}
}

// A metric whose resource and scope hold nothing sensitive gets no markers.
func TestMetricsUntouched(t *testing.T) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("requests")
	dp := m.SetEmptySum().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("route", "/orders")
	dp.SetIntValue(7)
	want := pmetric.NewMetrics()
	md.CopyTo(want)

	out := runMetrics(t, md)
	assert.Equal(t, want, out)
}

// runMetrics pushes md through a real processor built by the factory.
func runMetrics(t *testing.T, md pmetric.Metrics) pmetric.Metrics {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	p, err := NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(typ), keyedConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), nil))
	require.NoError(t, p.ConsumeMetrics(context.Background(), md))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllMetrics(), 1)
	return sink.AllMetrics()[0]
}

// points returns the attributes of m's first data point and of its first
// exemplar (an empty map for a summary, which has none).
func points(m pmetric.Metric) (attrs, exemplar pcommon.Map) {
	first := func(es pmetric.ExemplarSlice) pcommon.Map {
		if es.Len() == 0 {
			return pcommon.NewMap()
		}
		return es.At(0).FilteredAttributes()
	}
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dp := m.Gauge().DataPoints().At(0)
		return dp.Attributes(), first(dp.Exemplars())
	case pmetric.MetricTypeSum:
		dp := m.Sum().DataPoints().At(0)
		return dp.Attributes(), first(dp.Exemplars())
	case pmetric.MetricTypeHistogram:
		dp := m.Histogram().DataPoints().At(0)
		return dp.Attributes(), first(dp.Exemplars())
	case pmetric.MetricTypeExponentialHistogram:
		dp := m.ExponentialHistogram().DataPoints().At(0)
		return dp.Attributes(), first(dp.Exemplars())
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().At(0).Attributes(), pcommon.NewMap()
	}
	return pcommon.NewMap(), pcommon.NewMap()
}

// assertNoPlanted searches every byte of md's protobuf and OTLP JSON
// encodings for the values TestMetrics planted.
func assertNoPlanted(t *testing.T, md pmetric.Metrics) {
	t.Helper()
	pb, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	js, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
	require.NoError(t, err)
	for _, enc := range [][]byte{pb, js} {
		for _, v := range []string{metricSecret, metricScopeSecret, metricEmail, "eyJhbGciOiJIUzI1NiJ9"} {
			assert.False(t, strings.Contains(string(enc), v), "%q survived", v)
		}
	}
}
