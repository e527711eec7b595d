package redactiontest

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// RunLeak pushes at least spans generated spans (seeded with seed) through
// proc, whose output lands in sink, and fails t on every finding of Check.
// proc must be started; RunLeak does not shut it down.
func RunLeak(t testing.TB, proc consumer.Traces, sink *consumertest.TracesSink, seed uint64, spans int) {
	t.Helper()
	gen := NewGenerator(seed)
	planted, done, findings := 0, 0, 0
	for done < spans {
		b := gen.Next()
		done += b.Traces.SpanCount()
		planted += len(b.Secrets)
		sink.Reset()
		if err := proc.ConsumeTraces(context.Background(), b.Traces); err != nil {
			t.Fatalf("ConsumeTraces: %v", err)
		}
		out := sink.AllTraces()
		if len(out) != 1 {
			t.Fatalf("sink holds %d batches, want 1", len(out))
		}
		for _, err := range Check(b, out[0]) {
			findings++
			if findings <= 20 {
				t.Error(err)
			}
		}
	}
	sink.Reset()
	if findings > 0 {
		t.Fatalf("%d findings over %d spans", findings, done)
	}
	if planted < spans {
		t.Fatalf("the generator planted only %d values in %d spans", planted, done)
	}
	t.Logf("%d spans, %d planted values, 0 leaks", done, planted)
}
