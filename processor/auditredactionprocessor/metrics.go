package auditredactionprocessor

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/internal/redact"
)

// processMetrics redacts the attributes of resources, scopes, data points
// and exemplars. Names, descriptions and units are the instrumentation's
// own text, not data, and are left alone.
//
// A metric it changes gets audit.redaction.count and audit.redaction.paths
// in its metadata, not in its data points' attributes: those identify a
// time series, and a marker there would split one series in two. The paths
// begin "datapoint:" or "exemplar:" (or "resource:", "scope:") and hold no
// data point's index: a metric can have thousands of points, and the paths
// say where in a point redaction happened, not in which one.
func (p *redactionProcessor) processMetrics(_ context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	sc := p.r.Scope()
	defer sc.Release()
	var res, scope recorded
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		sc.Reset()
		sc.Attributes("resource:", rm.Resource().Attributes())
		res.take(sc)
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			sc.Seed(res.count, res.paths)
			sc.Attributes("scope:", sm.Scope().Attributes())
			scope.take(sc)
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				sc.Seed(scope.count, scope.paths)
				redactMetric(sc, m)
				addMarkers(m.Metadata(), sc)
			}
		}
	}
	return md, nil
}

// redactMetric redacts the attributes of m's data points and exemplars.
func redactMetric(sc *redact.Scope, m pmetric.Metric) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		numberPoints(sc, m.Gauge().DataPoints())
	case pmetric.MetricTypeSum:
		numberPoints(sc, m.Sum().DataPoints())
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			sc.Attributes("datapoint:", dps.At(i).Attributes())
			exemplars(sc, dps.At(i).Exemplars())
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			sc.Attributes("datapoint:", dps.At(i).Attributes())
			exemplars(sc, dps.At(i).Exemplars())
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			sc.Attributes("datapoint:", dps.At(i).Attributes())
		}
	}
}

func numberPoints(sc *redact.Scope, dps pmetric.NumberDataPointSlice) {
	for i := 0; i < dps.Len(); i++ {
		sc.Attributes("datapoint:", dps.At(i).Attributes())
		exemplars(sc, dps.At(i).Exemplars())
	}
}

func exemplars(sc *redact.Scope, es pmetric.ExemplarSlice) {
	for i := 0; i < es.Len(); i++ {
		sc.Attributes("exemplar:", es.At(i).FilteredAttributes())
	}
}
