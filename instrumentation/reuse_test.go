package instrumentation

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
)

// TestReusedBuffersDoNotChangeRecordedSpans makes calls with different
// facts back to back, so that each call reuses the start attribute slice of
// the one before, and checks that every recorded span still holds its own
// attributes and that undeclared tools get their own span names, past the
// span name cache's bound too.
func TestReusedBuffersDoNotChangeRecordedSpans(t *testing.T) {
	r := newRecorder(t)
	const calls = maxSpanNames + 44
	for i := range calls {
		ctx := WithAttribution(context.Background(), Attribution{
			UserID:    fmt.Sprintf("u-%d", i),
			UserRoles: strings.Split(fmt.Sprintf("r%d,s%d", i, i), ","),
		})
		opts := []CallOption{WithPurpose(fmt.Sprintf("p-%d", i))}
		if i%2 == 0 {
			// A growing number of extra attributes, so that the slice is
			// sometimes too small and sometimes larger than needed.
			for j := range i % 7 {
				opts = append(opts, WithAttributes(attribute.Int(fmt.Sprintf("x.%d", j), i)))
			}
			opts = append(opts, WithSubject("customer", fmt.Sprintf("C-%d", i)))
		}
		tool := fmt.Sprintf("tool_%d", i%(calls-10))
		if _, err := r.Execute(ctx, tool, map[string]any{"n": i}, func(context.Context) (any, error) {
			return map[string]any{"status": fmt.Sprint(i)}, nil
		}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	spans := r.sr.Ended()
	if len(spans) != calls {
		t.Fatalf("%d spans, want %d", len(spans), calls)
	}
	for i, s := range spans {
		tool := fmt.Sprintf("tool_%d", i%(calls-10))
		if want := "execute_tool " + tool; s.Name() != want {
			t.Errorf("span %d named %q, want %q", i, s.Name(), want)
		}
		m := attrMap(s)
		want := map[string]string{
			"gen_ai.tool.name":           tool,
			"user.id":                    fmt.Sprintf("u-%d", i),
			"audit.purpose":              fmt.Sprintf("p-%d", i),
			"gen_ai.tool.call.arguments": fmt.Sprintf(`{"n":%d}`, i),
			"gen_ai.tool.call.result":    fmt.Sprintf(`{"success":true,"status":"%d"}`, i),
		}
		if i%2 == 0 {
			want["audit.subject.id"] = fmt.Sprintf("C-%d", i)
		}
		for k, v := range want {
			if got := m[k].AsString(); got != v {
				t.Errorf("span %d: %s = %q, want %q", i, k, got, v)
			}
		}
		if got, want := m["user.roles"].AsStringSlice(), []string{fmt.Sprintf("r%d", i), fmt.Sprintf("s%d", i)}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("span %d: user.roles = %v, want %v", i, got, want)
		}
		extra := 0
		if i%2 == 0 {
			extra = i % 7
		}
		for j := range extra {
			if got := m[fmt.Sprintf("x.%d", j)].AsInt64(); got != int64(i) {
				t.Errorf("span %d: x.%d = %d, want %d", i, j, got, i)
			}
		}
		if _, ok := m[fmt.Sprintf("x.%d", extra)]; ok {
			t.Errorf("span %d holds x.%d from another call", i, extra)
		}
	}
	if n := len(*r.spanNames.Load()); n != maxSpanNames {
		t.Errorf("%d span names cached, want %d", n, maxSpanNames)
	}
}

// TestOptionsAppliedInOrder checks that a later option of the same kind
// wins and that nil options are skipped, for every kind of option.
func TestOptionsAppliedInOrder(t *testing.T) {
	var c callConfig
	c.apply([]CallOption{
		WithTrigger(TriggerRetry), nil, WithTrigger(TriggerSystem),
		WithPurpose("a"), WithPurpose("b"),
		WithSubject("t1", "i1"), WithSubject("t2", "i2"),
		WithBreakGlass("r1"), WithBreakGlass("r2"),
		WithToolCallID("c1"), WithToolCallID("c2"),
		WithToolType("x"), WithToolType("datastore"),
		WithAttributes(attribute.String("k", "1")), WithAttributes(attribute.String("k", "2")),
	})
	want := callConfig{
		trigger: TriggerSystem, purpose: "b", subjectType: "t2", subjectID: "i2",
		breakGlass: true, breakGlassReason: "r2", toolCallID: "c2", toolType: "datastore",
	}
	attrs := c.attrs
	c.attrs = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	if len(attrs) != 2 || attrs[0].Value.AsString() != "1" || attrs[1].Value.AsString() != "2" {
		t.Errorf("attributes %v, want k=1 then k=2", attrs)
	}
}
