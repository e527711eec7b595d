package instrumentation_test

import (
	"context"
	"encoding/json"
	"slices"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// The benchmarks compare one wrapped call with a bare SDK span that carries
// the same attributes set by hand, through the same real TracerProvider
// (synchronous no-op exporter), with a 5-field argument map.

var (
	benchArgs = map[string]any{
		"order_id":    "O-1001",
		"customer_id": "C-42",
		"amount":      129.99,
		"currency":    "EUR",
		"reason":      "damaged in transit",
	}
	benchResult = map[string]any{"refund_id": "R-77", "status": "issued", "amount": 129.99}
)

func benchHandler(context.Context) (any, error) { return benchResult, nil }

type benchEnv struct {
	tp      *sdktrace.TracerProvider
	ctx     context.Context
	tracer  trace.Tracer
	auditor *instrumentation.Auditor
	reg     *instrumentation.Registry
	raw     json.RawMessage
	roles   []string
}

func newBenchEnv(b *testing.B) *benchEnv {
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
	b.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	ctx := instrumentation.WithAttribution(context.Background(), instrumentation.Attribution{
		UserID:         "u-123",
		UserRoles:      []string{"support", "refunds"},
		ConversationID: "conv-1",
		TurnNumber:     3,
		Model:          "gpt-4o",
		AgentName:      "support-agent",
		AgentID:        "agent-1",
		SessionID:      "sess-1",
		ClientAddress:  "192.0.2.1",
		UserAgent:      "agent-ui/1.0",
	})
	a, err := instrumentation.New(instrumentation.WithTracerProvider(tp))
	if err != nil {
		b.Fatal(err)
	}
	type refundArgs struct {
		OrderID    string  `json:"order_id"`
		CustomerID string  `json:"customer_id"`
		Amount     float64 `json:"amount"`
		Currency   string  `json:"currency"`
		Reason     string  `json:"reason"`
	}
	reg := a.NewRegistry()
	if err := reg.Register(instrumentation.Tool{Name: "issue_refund"},
		instrumentation.Typed(func(_ context.Context, _ refundArgs) (map[string]any, error) { return benchResult, nil })); err != nil {
		b.Fatal(err)
	}
	raw, _ := json.Marshal(benchArgs)
	return &benchEnv{tp: tp, ctx: ctx, tracer: tp.Tracer("bare"), auditor: a, reg: reg, raw: raw, roles: []string{"support", "refunds"}}
}

const (
	benchArgsJSON   = `{"amount":129.99,"currency":"EUR","customer_id":"C-42","order_id":"O-1001","reason":"damaged in transit"}`
	benchResultJSON = `{"success":true,"refund_id":"R-77","status":"issued"}`
)

// bare is the hand-written equivalent of one wrapped call: the same span,
// kind and attributes, with argsJSON and resultJSON as the payloads. Like
// the wrapper, it passes the arguments with the start attributes and sets
// the result before the end.
func (env *benchEnv) bare(argsJSON, resultJSON func() string) error {
	ctx, span := env.tracer.Start(env.ctx, "execute_tool issue_refund",
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			semconv.GenAIOperationNameExecuteTool,
			semconv.GenAIToolName("issue_refund"),
			semconv.GenAIToolCallID("call_0123456789abcdef0123456789abcdef"),
			semconv.GenAIToolType("function"),
			semconv.UserID("u-123"),
			semconv.UserRoles(env.roles...),
			semconv.GenAIConversationID("conv-1"),
			attribute.Int(attrkey.TurnNumber, 3),
			semconv.GenAIRequestModel("gpt-4o"),
			semconv.GenAIAgentName("support-agent"),
			semconv.GenAIAgentID("agent-1"),
			semconv.SessionID("sess-1"),
			semconv.ClientAddress("192.0.2.1"),
			semconv.UserAgentOriginal("agent-ui/1.0"),
			attribute.String(attrkey.Trigger, attrkey.TriggerUserRequest),
			attribute.String(attrkey.Purpose, "support"),
			attribute.String(attrkey.SubjectType, "customer"),
			attribute.String(attrkey.SubjectID, "C-42"),
			semconv.GenAIToolCallArgumentsKey.String(argsJSON()),
		))
	if _, err := benchHandler(ctx); err != nil {
		return err
	}
	span.SetAttributes(semconv.GenAIToolCallResultKey.String(resultJSON()))
	span.End()
	return nil
}

func precomputedArgs() string   { return benchArgsJSON }
func precomputedResult() string { return benchResultJSON }

func marshalArgs() string {
	b, _ := json.Marshal(benchArgs)
	return string(b)
}

func marshalResult() string {
	b, _ := json.Marshal(benchResult)
	return string(b)
}

// wrapped is the same call through Auditor.Execute: attribution from the
// context, a generated call id, masking, and a result summary.
func (env *benchEnv) wrapped() error {
	_, err := env.auditor.Execute(env.ctx, "issue_refund", benchArgs, benchHandler,
		instrumentation.WithTrigger(instrumentation.TriggerUserRequest),
		instrumentation.WithPurpose("support"),
		instrumentation.WithSubject("customer", "C-42"),
	)
	return err
}

// registry is a call by name with JSON arguments, as they come from a
// model, through a Registry with a Typed handler.
func (env *benchEnv) registry() error {
	_, err := env.reg.Execute(env.ctx, "issue_refund", env.raw,
		instrumentation.WithTrigger(instrumentation.TriggerUserRequest),
		instrumentation.WithPurpose("support"),
		instrumentation.WithSubject("customer", "C-42"),
	)
	return err
}

func loop(b *testing.B, call func() error) {
	b.ReportAllocs()
	for b.Loop() {
		if err := call(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkToolCall(b *testing.B) {
	env := newBenchEnv(b)
	b.Run("bare_span", func(b *testing.B) {
		loop(b, func() error { return env.bare(precomputedArgs, precomputedResult) })
	})
	b.Run("bare_span_json_marshal", func(b *testing.B) {
		loop(b, func() error { return env.bare(marshalArgs, marshalResult) })
	})
	b.Run("wrapped_execute", func(b *testing.B) { loop(b, env.wrapped) })
	b.Run("wrapped_registry_typed", func(b *testing.B) { loop(b, env.registry) })
}

// BenchmarkOverhead times the bare span and the wrapped call in many short
// paired rounds within one benchmark, the two halves of a pair back to back
// so that both see the same load on the machine, and reports the medians of
// the per-pair ratio and of the time the wrapper adds per call. Rounds are
// timed in process CPU time (getrusage), which, unlike wall time, does not
// count the time the process waits for a CPU on a busy machine; it does
// count the garbage collector's work. The order within a pair alternates.
//
// As a yardstick that does not depend on the machine, each pair also times
// json.Marshal of the same 5-field argument map, and the added time is
// reported in units of it ("added-in-marshals").
func BenchmarkOverhead(b *testing.B) {
	env := newBenchEnv(b)
	bareCall := func() error { return env.bare(precomputedArgs, precomputedResult) }
	marshalCall := func() error {
		_, err := json.Marshal(benchArgs)
		return err
	}
	const pairs, perRound = 41, 500
	timeRound := func(call func() error) float64 {
		start := cpuTime(b)
		for range perRound {
			if err := call(); err != nil {
				b.Fatal(err)
			}
		}
		return float64(cpuTime(b)-start) / perRound
	}
	median := func(x []float64) float64 {
		slices.Sort(x)
		return x[len(x)/2]
	}
	for b.Loop() {
		var bares, wrappeds, ratios, added, yard []float64
		for i := range pairs {
			var bare, wrapped float64
			if i%2 == 0 {
				bare, wrapped = timeRound(bareCall), timeRound(env.wrapped)
			} else {
				wrapped, bare = timeRound(env.wrapped), timeRound(bareCall)
			}
			m := timeRound(marshalCall)
			bares = append(bares, bare)
			wrappeds = append(wrappeds, wrapped)
			ratios = append(ratios, wrapped/bare)
			added = append(added, wrapped-bare)
			yard = append(yard, (wrapped-bare)/m)
		}
		b.ReportMetric(median(bares), "bare-cpu-ns/call")
		b.ReportMetric(median(wrappeds), "wrapped-cpu-ns/call")
		b.ReportMetric(median(ratios), "ratio")
		b.ReportMetric(median(added), "added-cpu-ns/call")
		b.ReportMetric(median(yard), "added-in-marshals")
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
