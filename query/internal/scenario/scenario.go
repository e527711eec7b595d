// Package scenario emits a fixed, deterministic set of AI-agent tool-call
// spans through the OpenTelemetry Go SDK, so that tests can feed the very
// same spans to every query source: an OTLP JSON file, an audit store and a
// real Jaeger. It is used by tests only.
package scenario

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Base is the start of the scenario; every span starts at Base plus an
// offset.
var Base = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// Names used by the scenario.
const (
	SupportConversation = "conv-support-1"
	CareConversation    = "conv-care-1"
	SupportService      = "support-agent"
	CareService         = "care-agent"
	// BurstPatient is accessed BurstCount times within 30 minutes by
	// BurstUser.
	BurstPatient = "P-2002"
	BurstUser    = "eve"
	BurstCount   = 12
	// SpreadUser touches SpreadCount distinct patients within two hours.
	SpreadUser  = "mallory"
	SpreadCount = 25
	// ReportPatient is the subject of the care conversation, accessed
	// ReportAccesses times by two users, once with break-glass.
	ReportPatient  = "P-1001"
	ReportAccesses = 4
)

// SupportTimeline is the expected timeline of SupportConversation.
var SupportTimeline = []string{
	`[Turn 1] ✅ lookup_customer({"email":"jane@example.com"}) → {"customer_id":"C-778","status":"active"} [12ms]`,
	`[Turn 2] ✅ get_order({"order_id":"ORD-456"}) → {"order_id":"ORD-456","status":"shipped"} [20ms]`,
	`[Turn 3] ❌ update_order_status({"order_id":"ORD-456","status":"cancelled"}) → {"success":false,"error":"Cannot cancel shipped order"} [38ms]`,
	`[Turn 3] ✅ create_ticket({"customer_id":"C-778","topic":"return request"}) → {"status":"open","ticket_id":"T-9"} [25ms]`,
}

// idGen hands out sequential ids so that every run yields the same spans.
type idGen struct {
	mu     sync.Mutex
	prefix uint64 // distinguishes the services' providers
	n      uint64
}

func (g *idGen) next() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n++
	return g.n
}

func (g *idGen) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	var t trace.TraceID
	n := g.next()
	binary.BigEndian.PutUint64(t[0:8], 0x0a0d17a0d17a0d17^g.prefix)
	binary.BigEndian.PutUint64(t[8:16], n)
	return t, g.spanID(n)
}

func (g *idGen) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	return g.spanID(g.next())
}

func (g *idGen) spanID(n uint64) trace.SpanID {
	var s trace.SpanID
	binary.BigEndian.PutUint64(s[:], 0x5a00000000000000^g.prefix<<32|n)
	return s
}

type call struct {
	service      string
	at           time.Duration // offset from Base
	dur          time.Duration
	tool         string
	args, result string
	conv         string
	turn         int
	user         string
	roles        []string
	subjectType  string
	subjectID    string
	purpose      string
	breakGlass   string // reason; non-empty means break-glass
	errType      string
	errMsg       string
	trigger      string
}

func calls() []call {
	cs := []call{
		{service: SupportService, at: 0, dur: 12 * time.Millisecond, tool: "lookup_customer",
			args: `{"email":"jane@example.com"}`, result: `{"customer_id":"C-778","status":"active"}`,
			conv: SupportConversation, turn: 1, user: "alice", roles: []string{"support_agent"},
			subjectType: "customer", subjectID: "C-778", purpose: "support", trigger: "user_request"},
		{service: SupportService, at: 40 * time.Second, dur: 20 * time.Millisecond, tool: "get_order",
			args: `{"order_id":"ORD-456"}`, result: `{"order_id":"ORD-456","status":"shipped"}`,
			conv: SupportConversation, turn: 2, user: "alice", roles: []string{"support_agent"},
			subjectType: "customer", subjectID: "C-778", purpose: "support", trigger: "user_request"},
		// Turn 3 has two calls; the failing one starts first.
		{service: SupportService, at: 90 * time.Second, dur: 38 * time.Millisecond, tool: "update_order_status",
			args: `{"order_id":"ORD-456","status":"cancelled"}`, result: `{"success":false,"error":"Cannot cancel shipped order"}`,
			conv: SupportConversation, turn: 3, user: "alice", roles: []string{"support_agent"},
			subjectType: "customer", subjectID: "C-778", purpose: "support", trigger: "user_request",
			errType: "business_rule", errMsg: "Cannot cancel shipped order"},
		{service: SupportService, at: 95 * time.Second, dur: 25 * time.Millisecond, tool: "create_ticket",
			args: `{"topic":"return request","customer_id":"C-778"}`, result: `{"ticket_id":"T-9","status":"open"}`,
			conv: SupportConversation, turn: 3, user: "alice", roles: []string{"support_agent"},
			subjectType: "customer", subjectID: "C-778", purpose: "support", trigger: "follow_up"},

		{service: CareService, at: 10 * time.Minute, dur: 31 * time.Millisecond, tool: "access_patient_record",
			args: `{"patient_id":"P-1001","section":"medications"}`, result: `{"count":3,"status":"ok"}`,
			conv: CareConversation, turn: 1, user: "dr-bob", roles: []string{"physician"},
			subjectType: "patient", subjectID: ReportPatient, purpose: "treatment", trigger: "user_request"},
		{service: CareService, at: 11 * time.Minute, dur: 44 * time.Millisecond, tool: "update_treatment",
			args: `{"patient_id":"P-1001","dose_mg":5}`, result: `{"status":"updated"}`,
			conv: CareConversation, turn: 2, user: "dr-bob", roles: []string{"physician"},
			subjectType: "patient", subjectID: ReportPatient, purpose: "treatment", trigger: "user_request"},
		{service: CareService, at: 12 * time.Minute, dur: 150 * time.Millisecond, tool: "access_patient_record",
			args: `{"patient_id":"P-1001","section":"allergies"}`,
			conv: CareConversation, turn: 3, user: "dr-bob", roles: []string{"physician"},
			subjectType: "patient", subjectID: ReportPatient, purpose: "treatment", trigger: "proactive",
			errType: "timeout", errMsg: "records service timed out"},
		{service: CareService, at: 3 * time.Hour, dur: 27 * time.Millisecond, tool: "access_patient_record",
			args: `{"patient_id":"P-1001","section":"full"}`, result: `{"count":41,"status":"ok"}`,
			conv: "conv-er-7", turn: 1, user: "nurse-carol", roles: []string{"nurse", "er"},
			subjectType: "patient", subjectID: ReportPatient, purpose: "emergency", trigger: "user_request",
			breakGlass: "patient unconscious in ER"},
	}
	for i := range BurstCount {
		cs = append(cs, call{service: CareService, at: 5*time.Hour + time.Duration(i)*150*time.Second, dur: 9 * time.Millisecond,
			tool: "access_patient_record", args: fmt.Sprintf(`{"patient_id":%q,"page":%d}`, BurstPatient, i), result: `{"status":"ok"}`,
			conv: "conv-burst", turn: i + 1, user: BurstUser, roles: []string{"billing_clerk"},
			subjectType: "patient", subjectID: BurstPatient, purpose: "billing", trigger: "user_request"})
	}
	for i := range SpreadCount {
		cs = append(cs, call{service: CareService, at: 8*time.Hour + time.Duration(i)*4*time.Minute, dur: 7 * time.Millisecond,
			tool: "get_patient_summary", args: fmt.Sprintf(`{"patient_id":"P-3%03d"}`, i), result: `{"status":"ok"}`,
			conv: fmt.Sprintf("conv-spread-%d", i), turn: 1, user: SpreadUser, roles: []string{"researcher"},
			subjectType: "patient", subjectID: fmt.Sprintf("P-3%03d", i), purpose: "research", trigger: "user_request"})
	}
	return cs
}

// CallCount is the number of tool spans Emit produces.
var CallCount = len(calls())

// NewTracerProvider returns an SDK TracerProvider with deterministic ids
// for service that exports through exp synchronously.
func NewTracerProvider(service string, exp sdktrace.SpanExporter) *sdktrace.TracerProvider {
	return sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithIDGenerator(&idGen{prefix: uint64(fnv32(service))}),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String(attrkey.ServiceName, service))),
	)
}

// Emit produces every scenario span through the SDK: one TracerProvider
// per service, each built by newTP, shut down (flushed) before returning.
// Each tool call is a child of an invoke_agent span, which is not a tool
// span and must be ignored by every source.
func Emit(ctx context.Context, newTP func(service string) (*sdktrace.TracerProvider, error)) error {
	tps := map[string]*sdktrace.TracerProvider{}
	defer func() {
		for _, tp := range tps {
			tp.Shutdown(ctx)
		}
	}()
	for _, c := range calls() {
		tp, ok := tps[c.service]
		if !ok {
			var err error
			if tp, err = newTP(c.service); err != nil {
				return err
			}
			tps[c.service] = tp
		}
		tr := tp.Tracer("github.com/otelaudit/otelaudit/query/internal/scenario", trace.WithInstrumentationVersion("0.1.0"))
		start := Base.Add(c.at)
		pctx, parent := tr.Start(ctx, "invoke_agent "+c.service, trace.WithTimestamp(start.Add(-time.Millisecond)),
			trace.WithAttributes(attribute.String(attrkey.GenAIOperationName, "invoke_agent")))
		_, span := tr.Start(pctx, "execute_tool "+c.tool, trace.WithTimestamp(start), trace.WithSpanKind(trace.SpanKindInternal))
		attrs := []attribute.KeyValue{
			attribute.String(attrkey.GenAIOperationName, attrkey.OperationExecuteTool),
			attribute.String(attrkey.GenAIToolName, c.tool),
			attribute.String(attrkey.GenAIToolCallID, fmt.Sprintf("call-%s-%d", c.conv, c.turn)),
			attribute.String(attrkey.GenAIToolType, "function"),
			attribute.String(attrkey.GenAIToolCallArgs, c.args),
			attribute.String(attrkey.GenAIConversationID, c.conv),
			attribute.Int(attrkey.TurnNumber, c.turn),
			attribute.String(attrkey.GenAIRequestModel, "gpt-4o"),
			attribute.String(attrkey.GenAIAgentName, c.service),
			attribute.String(attrkey.UserID, c.user),
			attribute.StringSlice(attrkey.UserRoles, c.roles),
			attribute.String(attrkey.SessionID, "sess-"+c.user),
			attribute.String(attrkey.ClientAddress, "10.0.0.7"),
			attribute.String(attrkey.Trigger, c.trigger),
			attribute.String(attrkey.Purpose, c.purpose),
			attribute.String(attrkey.SubjectType, c.subjectType),
			attribute.String(attrkey.SubjectID, c.subjectID),
		}
		if c.result != "" {
			attrs = append(attrs, attribute.String(attrkey.GenAIToolCallResult, c.result))
		}
		if c.breakGlass != "" {
			attrs = append(attrs, attribute.Bool(attrkey.BreakGlass, true), attribute.String(attrkey.BreakGlassReason, c.breakGlass))
		}
		if c.errType != "" {
			attrs = append(attrs, attribute.String(attrkey.ErrorType, c.errType))
			span.SetStatus(codes.Error, c.errMsg)
		}
		span.SetAttributes(attrs...)
		span.End(trace.WithTimestamp(start.Add(c.dur)))
		parent.End(trace.WithTimestamp(start.Add(c.dur + time.Millisecond)))
	}
	for name, tp := range tps {
		delete(tps, name)
		if err := tp.Shutdown(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Capture emits the scenario through the SDK's OTLP/HTTP exporter to an
// in-process receiver and returns what arrived, one ptrace.Traces per
// export request: the exact data a collector or Jaeger receives.
func Capture(ctx context.Context) ([]ptrace.Traces, error) {
	var (
		mu  sync.Mutex
		got []ptrace.Traces
		bad error
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		req := ptraceotlp.NewExportRequest()
		if err == nil {
			err = req.UnmarshalProto(body)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			bad = err
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got = append(got, req.Traces())
		resp, _ := ptraceotlp.NewExportResponse().MarshalProto()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.Write(resp)
	}))
	defer srv.Close()
	err := Emit(ctx, func(service string) (*sdktrace.TracerProvider, error) {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"))
		if err != nil {
			return nil, err
		}
		return NewTracerProvider(service, exp), nil
	})
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	if bad != nil {
		return nil, bad
	}
	return got, nil
}

func fnv32(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h ^= uint32(s[i])
		h *= 16777619
	}
	return h
}
