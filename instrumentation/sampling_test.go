package instrumentation

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// TestUnsampledParent checks that a tool call under a parent that was
// sampled out (a traceparent with flags 00, from a caller, an MCP peer or
// a gateway) is still recorded, and how it is placed.
func TestUnsampledParent(t *testing.T) {
	parentTrace, _ := trace.TraceIDFromHex("4bf92f3577b34da6a3ce929d0e0e4736")
	parentSpan, _ := trace.SpanIDFromHex("00f067aa0ba902b7")
	unsampled := trace.NewSpanContext(trace.SpanContextConfig{TraceID: parentTrace, SpanID: parentSpan, Remote: true})
	sampled := unsampled.WithTraceFlags(trace.FlagsSampled)

	tests := []struct {
		name      string
		sampler   sdktrace.Sampler
		parent    trace.SpanContext
		want      int  // spans recorded
		sameTrace bool // the call stays in the parent's trace
		link      bool // the call links to the parent
	}{
		{"default sampler, unsampled parent", sdktrace.ParentBased(sdktrace.AlwaysSample()), unsampled, 1, false, true},
		{"default sampler, sampled parent", sdktrace.ParentBased(sdktrace.AlwaysSample()), sampled, 1, true, false},
		{"default sampler, no parent", sdktrace.ParentBased(sdktrace.AlwaysSample()), trace.SpanContext{}, 1, false, false},
		{"AuditSampler, unsampled parent", AuditSampler(nil), unsampled, 1, true, false},
		// A sampler that drops every span drops the call too: the README
		// says to sample tool spans.
		{"never sample, unsampled parent", sdktrace.NeverSample(), unsampled, 0, false, false},
		{"AuditSampler over never sample", AuditSampler(sdktrace.NeverSample()), unsampled, 1, true, false},
		{"AuditSampler over ratio 0, no parent", AuditSampler(sdktrace.TraceIDRatioBased(0)), trace.SpanContext{}, 1, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sr := tracetest.NewSpanRecorder()
			tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(tt.sampler))
			t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
			a, err := New(WithTracerProvider(tp))
			if err != nil {
				t.Fatal(err)
			}
			ctx := trace.ContextWithRemoteSpanContext(context.Background(), tt.parent)
			ran := false
			var inner trace.SpanContext
			_, _ = a.Execute(ctx, "issue_refund", map[string]any{"order_id": "O-1", "password": "p"}, func(ctx context.Context) (any, error) {
				ran = true
				_, child := tp.Tracer("handler").Start(ctx, "db.query")
				inner = child.SpanContext()
				child.End()
				return map[string]any{"refund_id": "R-1"}, nil
			})
			if !ran {
				t.Fatal("the handler did not run")
			}
			var calls []sdktrace.ReadOnlySpan
			for _, s := range sr.Ended() {
				if s.Name() == "execute_tool issue_refund" {
					calls = append(calls, s)
				}
			}
			if len(calls) != tt.want {
				t.Fatalf("%d tool spans recorded, want %d", len(calls), tt.want)
			}
			if tt.want == 0 {
				return
			}
			s := calls[0]
			if got := s.SpanContext().TraceID() == parentTrace; got != tt.sameTrace {
				t.Errorf("in the parent's trace: %v, want %v", got, tt.sameTrace)
			}
			if tt.sameTrace && s.Parent().SpanID() != parentSpan {
				t.Errorf("parent span = %s, want %s", s.Parent().SpanID(), parentSpan)
			}
			if !tt.sameTrace && s.Parent().IsValid() {
				t.Errorf("a new trace has parent %s", s.Parent().SpanID())
			}
			links := s.Links()
			if tt.link {
				if len(links) != 1 || !links[0].SpanContext.Equal(tt.parent) {
					t.Errorf("links = %+v, want one to the parent %v", links, tt.parent)
				}
			} else if len(links) != 0 {
				t.Errorf("links = %+v, want none", links)
			}
			if !s.SpanContext().IsSampled() {
				t.Error("the tool span is recorded but not sampled: an exporter would drop it")
			}
			// The whole call is recorded: arguments (masked) and result.
			if got := str(t, s, attrkey.GenAIToolCallArgs); got != `{"order_id":"O-1","password":"***REDACTED***"}` {
				t.Errorf("arguments = %s", got)
			}
			if res := jsonAttr(t, s, attrkey.GenAIToolCallResult); res["refund_id"] != "R-1" {
				t.Errorf("result = %v", res)
			}
			// The handler's work is under the tool span.
			if inner.TraceID() != s.SpanContext().TraceID() {
				t.Errorf("the handler's span is in trace %s, the call in %s", inner.TraceID(), s.SpanContext().TraceID())
			}
		})
	}
}

// TestUnsampledParentStart checks Auditor.Start, which MCP servers use.
func TestUnsampledParentStart(t *testing.T) {
	r := newRecorder(t)
	tid, _ := trace.TraceIDFromHex("0102030405060708090a0b0c0d0e0f10")
	sid, _ := trace.SpanIDFromHex("0102030405060708")
	ctx := trace.ContextWithRemoteSpanContext(context.Background(),
		trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, Remote: true}))
	_, call := r.Start(ctx, "t", nil, WithAttributes(attribute.String("k", "v")))
	call.End(nil, nil)
	s := r.only(t)
	if s.SpanContext().TraceID() == tid || len(s.Links()) != 1 || s.Links()[0].SpanContext.TraceID() != tid {
		t.Errorf("trace %s, links %+v: want a new trace linked to %s", s.SpanContext().TraceID(), s.Links(), tid)
	}
	if str(t, s, "k") != "v" || str(t, s, attrkey.GenAIOperationName) != "execute_tool" {
		t.Errorf("attributes = %v", s.Attributes())
	}
}

// TestAuditSamplerDefers checks that AuditSampler leaves other spans to
// its base.
func TestAuditSamplerDefers(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(AuditSampler(sdktrace.NeverSample())))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	a, err := New(WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = a.Execute(context.Background(), "t", nil, func(ctx context.Context) (any, error) {
		_, s := tp.Tracer("x").Start(ctx, "chat")
		s.End()
		return nil, nil
	})
	if n := len(sr.Ended()); n != 1 || sr.Ended()[0].Name() != "execute_tool t" {
		t.Errorf("%d spans recorded, want only the tool call", n)
	}
	if d := AuditSampler(nil).Description(); d != "AuditSampler{ParentBased{root:AlwaysOnSampler,remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,localParentNotSampled:AlwaysOffSampler}}" {
		t.Errorf("Description = %s", d)
	}
}
