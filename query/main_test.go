package query

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelaudit/otelaudit/query/internal/jaegertest"
	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

// One real Jaeger serves every test of the package that needs it; it is
// started on first use and stopped by TestMain.
var (
	jaegerOnce sync.Once
	jaeger     *jaegertest.Jaeger
	jaegerErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if jaeger != nil {
		jaeger.Stop()
	}
	os.Exit(code)
}

// fedJaeger returns a running Jaeger that holds the scenario, sent over
// OTLP/HTTP by the SDK's exporter. Without OTELAUDIT_JAEGER_BIN the test is
// skipped with a loud message.
func fedJaeger(t *testing.T) *jaegertest.Jaeger {
	t.Helper()
	bin := jaegertest.Bin()
	if bin == "" {
		t.Skip("SKIPPING REAL-JAEGER TEST: set " + jaegertest.EnvBin + " to a Jaeger v2 binary (make tools builds _build/bin/jaeger)")
	}
	jaegerOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		jaeger, jaegerErr = jaegertest.Start(ctx, bin)
		if jaegerErr != nil {
			return
		}
		jaegerErr = scenario.Emit(ctx, func(service string) (*sdktrace.TracerProvider, error) {
			exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(jaeger.OTLPHTTP), otlptracehttp.WithInsecure())
			if err != nil {
				return nil, err
			}
			return scenario.NewTracerProvider(service, exp), nil
		})
		if jaegerErr != nil {
			return
		}
		// Poll until every tool span is queryable.
		src, err := NewJaegerSource(jaeger.QueryURL)
		if err != nil {
			jaegerErr = err
			return
		}
		for {
			res, err := src.Fetch(ctx, scenarioWindow())
			if err == nil && len(res.Records) == scenario.CallCount {
				return
			}
			select {
			case <-ctx.Done():
				jaegerErr = fmt.Errorf("spans not queryable in time (last error %v): %s", err, jaeger.Output())
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	if jaegerErr != nil {
		t.Fatalf("jaeger: %v", jaegerErr)
	}
	return jaeger
}

// scenarioWindow is a filter spanning the whole scenario.
func scenarioWindow() Filter {
	return Filter{Since: scenario.Base.Add(-time.Hour), Until: scenario.Base.Add(24 * time.Hour)}
}
