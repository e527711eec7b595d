package auditredactionprocessor

// Lifecycle tests in the shape mdatagen generates for collector components.

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

var typ = component.MustNewType("auditredaction")

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, typ, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func TestDefaultConfigValidates(t *testing.T) {
	require.NoError(t, NewFactory().CreateDefaultConfig().(*Config).Validate())
}

type ctxKey struct{}

func TestComponentLifecycle(t *testing.T) {
	factory := NewFactory()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	for _, name := range []string{"", "custom"} {
		cfg := factory.CreateDefaultConfig()
		sub, err := cm.Sub(component.NewIDWithName(typ, name).String())
		require.NoError(t, err)
		require.NoError(t, sub.Unmarshal(&cfg))

		t.Run(name+"/traces-shutdown-without-start", func(t *testing.T) {
			c, err := factory.CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, consumertest.NewNop())
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
		})
		t.Run(name+"/logs-shutdown-without-start", func(t *testing.T) {
			c, err := factory.CreateLogs(context.Background(), processortest.NewNopSettings(typ), cfg, consumertest.NewNop())
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
		})
		t.Run(name+"/metrics-shutdown-without-start", func(t *testing.T) {
			c, err := factory.CreateMetrics(context.Background(), processortest.NewNopSettings(typ), cfg, consumertest.NewNop())
			require.NoError(t, err)
			require.NoError(t, c.Shutdown(context.Background()))
		})
		t.Run(name+"/traces-lifecycle", func(t *testing.T) {
			sink := new(consumertest.TracesSink)
			c, err := factory.CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, sink)
			require.NoError(t, err)
			require.True(t, c.Capabilities().MutatesData)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			ctx := context.WithValue(context.Background(), ctxKey{}, "v")
			require.NoError(t, c.ConsumeTraces(ctx, lifecycleTraces()))
			require.NoError(t, c.Shutdown(context.Background()))
			require.Equal(t, 1, sink.SpanCount())
			attrs := sink.AllTraces()[0].ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()
			v, _ := attrs.Get("password")
			require.NotEqual(t, "hunter2", v.Str())
			n, ok := attrs.Get("audit.redaction.count")
			require.True(t, ok)
			require.Equal(t, int64(1), n.Int())
			require.Equal(t, "v", sink.Contexts()[0].Value(ctxKey{}))
		})
		t.Run(name+"/logs-lifecycle", func(t *testing.T) {
			sink := new(consumertest.LogsSink)
			c, err := factory.CreateLogs(context.Background(), processortest.NewNopSettings(typ), cfg, sink)
			require.NoError(t, err)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			require.NoError(t, c.ConsumeLogs(context.Background(), lifecycleLogs()))
			require.NoError(t, c.Shutdown(context.Background()))
			require.Equal(t, 1, sink.LogRecordCount())
			body := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str()
			require.NotContains(t, body, "hunter2")
		})
		t.Run(name+"/metrics-lifecycle", func(t *testing.T) {
			sink := new(consumertest.MetricsSink)
			c, err := factory.CreateMetrics(context.Background(), processortest.NewNopSettings(typ), cfg, sink)
			require.NoError(t, err)
			require.True(t, c.Capabilities().MutatesData)
			require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
			require.NoError(t, c.ConsumeMetrics(context.Background(), lifecycleMetrics()))
			require.NoError(t, c.Shutdown(context.Background()))
			require.Equal(t, 1, sink.DataPointCount())
			v, _ := sink.AllMetrics()[0].ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0).Sum().DataPoints().At(0).Attributes().Get("password")
			require.NotEqual(t, "hunter2", v.Str())
		})
	}
}

func TestCreateFailsOnInvalidConfig(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Detectors = []DetectorConfig{{Name: "x", Pattern: "(", Action: "mask"}}
	_, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, consumertest.NewNop())
	require.Error(t, err)
	_, err = NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(typ), cfg, consumertest.NewNop())
	require.Error(t, err)
	_, err = NewFactory().CreateMetrics(context.Background(), processortest.NewNopSettings(typ), cfg, consumertest.NewNop())
	require.Error(t, err)
}

func lifecycleTraces() ptrace.Traces {
	traces := ptrace.NewTraces()
	rs := traces.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("resource", "R1")
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.Attributes().PutStr("test_attr", "value_1")
	span.Attributes().PutStr("password", "hunter2")
	span.SetName("test_span")
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Now().Add(-1 * time.Second)))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return traces
}

func lifecycleLogs() plog.Logs {
	logs := plog.NewLogs()
	rl := logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("resource", "R1")
	l := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	l.Body().SetStr(`{"msg":"login","password":"hunter2"}`)
	l.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return logs
}

func lifecycleMetrics() pmetric.Metrics {
	metrics := pmetric.NewMetrics()
	rm := metrics.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("resource", "R1")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("logins")
	dp := m.SetEmptySum().DataPoints().AppendEmpty()
	dp.Attributes().PutStr("password", "hunter2")
	dp.SetIntValue(1)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
	return metrics
}
