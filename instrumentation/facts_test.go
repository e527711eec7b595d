package instrumentation

import (
	"context"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

func TestFactsOf(t *testing.T) {
	tests := []struct {
		name string
		opts []CallOption
		want CallFacts
	}{
		{name: "none", want: CallFacts{}},
		{name: "nil option", opts: []CallOption{nil}, want: CallFacts{}},
		{
			name: "all",
			opts: []CallOption{
				WithTrigger(TriggerFollowUp), WithPurpose("treatment"), WithSubject("patient", "P-1"),
				WithBreakGlass("ER"), WithToolCallID("call_1"), WithToolType("extension"),
				WithAttributes(attribute.String("x", "y")),
			},
			want: CallFacts{
				Trigger: TriggerFollowUp, Purpose: "treatment", SubjectType: "patient", SubjectID: "P-1",
				BreakGlass: true, BreakGlassReason: "ER", ToolCallID: "call_1", ToolType: "extension",
			},
		},
		{
			name: "later wins",
			opts: []CallOption{WithPurpose("billing"), WithPurpose("research")},
			want: CallFacts{Purpose: "research"},
		},
		{
			name: "break glass without reason",
			opts: []CallOption{WithBreakGlass("")},
			want: CallFacts{BreakGlass: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FactsOf(tt.opts...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FactsOf = %+v, want %+v", got, tt.want)
			}
			// Options restores the same facts.
			if got := FactsOf(tt.want.Options()...); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("FactsOf(Options()) = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestFactsOptionsRecorded(t *testing.T) {
	r := newRecorder(t)
	f := CallFacts{Trigger: TriggerRetry, Purpose: "support", SubjectType: "order", SubjectID: "O-9",
		BreakGlass: true, BreakGlassReason: "outage", ToolCallID: "call_x", ToolType: "datastore"}
	_, c := r.Start(context.Background(), "lookup", nil, f.Options()...)
	c.End(nil, nil)
	s := r.only(t)
	for key, want := range map[string]string{
		attrkey.Trigger: "retry", attrkey.Purpose: "support", attrkey.SubjectType: "order",
		attrkey.SubjectID: "O-9", attrkey.BreakGlassReason: "outage", attrkey.GenAIToolCallID: "call_x",
		attrkey.GenAIToolType: "datastore",
	} {
		if got := str(t, s, key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if v := attrMap(s)[attrkey.BreakGlass]; !v.AsBool() {
		t.Errorf("%s = %s, want true", attrkey.BreakGlass, v.String())
	}
}

func TestFactsReasonWithoutBreakGlass(t *testing.T) {
	opts := CallFacts{BreakGlassReason: "why"}.Options()
	if len(opts) != 0 {
		t.Errorf("Options() = %d options, want none", len(opts))
	}
}
