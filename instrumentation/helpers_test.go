package instrumentation

import (
	"context"
	"encoding/json"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// recorder is an Auditor recording into an in-memory span recorder of a
// real SDK TracerProvider.
type recorder struct {
	*Auditor
	sr *tracetest.SpanRecorder
	tp *sdktrace.TracerProvider
}

func newRecorder(t testing.TB, opts ...Option) *recorder {
	t.Helper()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	a, err := New(append([]Option{WithTracerProvider(tp)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return &recorder{Auditor: a, sr: sr, tp: tp}
}

// only returns the one ended span.
func (r *recorder) only(t testing.TB) sdktrace.ReadOnlySpan {
	t.Helper()
	spans := r.sr.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans ended, want 1", len(spans))
	}
	return spans[0]
}

func attrMap(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := make(map[string]attribute.Value)
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

// str returns the string attribute key of s, failing if it is absent.
func str(t testing.TB, s sdktrace.ReadOnlySpan, key string) string {
	t.Helper()
	v, ok := attrMap(s)[key]
	if !ok {
		t.Fatalf("span %q has no attribute %s", s.Name(), key)
	}
	if v.Type() != attribute.STRING {
		t.Fatalf("attribute %s is a %s, want a string", key, v.Type())
	}
	return v.AsString()
}

func absent(t testing.TB, s sdktrace.ReadOnlySpan, keys ...string) {
	t.Helper()
	m := attrMap(s)
	for _, k := range keys {
		if v, ok := m[k]; ok {
			t.Errorf("span %q has attribute %s = %s, want none", s.Name(), k, v.String())
		}
	}
}

// jsonAttr decodes the JSON string attribute key of s.
func jsonAttr(t testing.TB, s sdktrace.ReadOnlySpan, key string) map[string]any {
	t.Helper()
	raw := str(t, s, key)
	var v map[string]any
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		t.Fatalf("attribute %s = %q is not a JSON object: %v", key, raw, err)
	}
	return v
}

func utf8Valid(s string) bool { return utf8.ValidString(s) }
