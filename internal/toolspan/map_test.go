package toolspan

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
)

// spanRef is one span of a sample file with its resource and scope.
type spanRef struct {
	res   pcommon.Resource
	scope pcommon.InstrumentationScope
	span  ptrace.Span
}

// loadSpans reads an OTLP JSON file (as the collector's file exporter
// writes it) from the repository's shared testdata/spans.
func loadSpans(t testing.TB, name string) []spanRef {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "spans", name))
	require.NoError(t, err)
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
	require.NoError(t, err)
	var out []spanRef
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				out = append(out, spanRef{res: rs.Resource(), scope: ss.Scope(), span: sp})
			}
		}
	}
	require.NotEmpty(t, out)
	return out
}

func i64(n int64) *int64 { return &n }

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// TestMapSamples maps every span of every sample file and compares each
// tool span's record field by field; every other span must be rejected.
func TestMapSamples(t *testing.T) {
	tests := []struct {
		file string
		want map[string]auditlog.Record // by span id
	}{
		{
			file: "genai.json",
			want: map[string]auditlog.Record{
				"a3ce929d0e0e4736": {
					V: 1, Timestamp: "2026-01-01T10:15:01.350000000Z",
					TraceID: "5b8efff798038103d269b633813fc60c", SpanID: "a3ce929d0e0e4736", ParentSpanID: "eee19b7ec3c1b174",
					DurationMS: 237.5, Operation: "execute_tool",
					ToolName: "issue_refund", ToolCallID: "call_Q8kZ2mX4", ToolType: "function",
					Arguments:      raw(`{"amount":49.9,"card_number":"***REDACTED***","currency":"EUR","order_id":"A-1042"}`),
					ResultSummary:  raw(`{"_result_size":212,"refund_id":"R-5531","status":"refunded"}`),
					ConversationID: "conv-7d1c", TurnNumber: i64(3), Model: "gpt-4o",
					Agent:  auditlog.Agent{Name: "support-agent", ID: "agent-01"},
					UserID: "u-alice", UserRoles: []string{"support", "refund_approver"},
					Session: auditlog.Session{ID: "sess-91f2", ClientAddress: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64)"},
					Trigger: "user_request", Purpose: "support",
					Subject: auditlog.Subject{Type: "customer", ID: "C-2001"},
					Success: true,
					Redaction: auditlog.Redaction{
						Count: 1, Paths: []string{"gen_ai.tool.call.arguments.card_number"},
					},
					Attribution: auditlog.Attribution{
						Initiator: "u-alice", InitiatorType: "user", InitiatorRole: "support,refund_approver",
						Model: "gpt-4o", Tool: "issue_refund", Trigger: "user_request",
					},
					Source: auditlog.Source{Convention: "genai", Service: "support-agent", Scope: "github.com/otelaudit/otelaudit/instrumentation"},
				},
				"b7ad6b7169203331": {
					V: 1, Timestamp: "2026-01-01T10:15:02.000000000Z",
					TraceID: "5b8efff798038103d269b633813fc60c", SpanID: "b7ad6b7169203331", ParentSpanID: "eee19b7ec3c1b174",
					DurationMS: 12.345678, Operation: "execute_tool",
					ToolName: "access_patient_record", ToolCallID: "call_7YtR1c",
					Arguments:      raw(`{"fields":["allergies","medications"],"patient_id":"P-1001"}`),
					ConversationID: "conv-7d1c", TurnNumber: i64(4), Model: "gpt-4o-2024-08-06",
					Agent:  auditlog.Agent{Name: "support-agent"},
					UserID: "dr-bob", UserRoles: []string{"physician", "on_call"},
					Trigger: "follow_up", Purpose: "treatment",
					Subject:    auditlog.Subject{Type: "patient", ID: "P-1001"},
					BreakGlass: true, BreakGlassReason: "emergency department admission",
					Success: false,
					Error:   &auditlog.Error{Type: "PermissionDenied", Message: "access denied: record is sealed"},
					Attribution: auditlog.Attribution{
						Initiator: "dr-bob", InitiatorType: "user", InitiatorRole: "physician,on_call",
						Model: "gpt-4o-2024-08-06", Tool: "access_patient_record", Trigger: "follow_up",
					},
					Source: auditlog.Source{Convention: "genai", Service: "support-agent", Scope: "github.com/otelaudit/otelaudit/instrumentation"},
				},
				"00f067aa0ba902b7": {
					V: 1, Timestamp: "2026-01-01T11:00:00.000000000Z",
					TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "00f067aa0ba902b7",
					DurationMS: 60500, Operation: "execute_tool",
					ToolName:      "reindex_catalog",
					Arguments:     raw(`{"full":false,"shard":7}`),
					ResultSummary: raw(`"reindexed 1200 items"`),
					Agent:         auditlog.Agent{Name: "catalog-maintainer"},
					Trigger:       "system", Purpose: "maintenance",
					Success: true,
					Attribution: auditlog.Attribution{
						Initiator: "catalog-maintainer", InitiatorType: "system", InitiatorRole: "system",
						Tool: "reindex_catalog", Trigger: "system",
					},
					Source: auditlog.Source{Convention: "genai", Service: "support-agent", Scope: "github.com/otelaudit/otelaudit/instrumentation"},
				},
			},
		},
		{
			file: "mcp.json",
			want: map[string]auditlog.Record{
				"7a085853722dc6d2": {
					V: 1, Timestamp: "2026-01-01T10:20:01.000000000Z",
					TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "7a085853722dc6d2",
					DurationMS: 73, Operation: "execute_tool",
					ToolName: "get_claim", ToolCallID: "2",
					Arguments:     raw(`{"claim_id":"CL-88120"}`),
					ResultSummary: raw(`{"content":[{"text":"Claim CL-88120: open, amount 1200.00","type":"text"}],"isError":false}`),
					UserID:        "adjuster-17",
					Session:       auditlog.Session{ID: "191c4850af6c49e08843a3f6c80e5046"},
					Success:       true,
					Attribution:   auditlog.Attribution{Initiator: "adjuster-17", InitiatorType: "user", Tool: "get_claim"},
					Source:        auditlog.Source{Convention: "mcp", Service: "claims-assistant", Scope: "opentelemetry.instrumentation.mcp"},
				},
				"c1d2e3f405162738": {
					V: 1, Timestamp: "2026-01-01T10:20:02.000000000Z",
					TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", SpanID: "c1d2e3f405162738",
					DurationMS: 190, Operation: "execute_tool",
					ToolName: "close_claim", ToolCallID: "3",
					Arguments:   raw(`{"claim_id":"CL-88120","resolution":"denied"}`),
					Session:     auditlog.Session{ID: "191c4850af6c49e08843a3f6c80e5046"},
					Success:     false,
					Error:       &auditlog.Error{Type: "tool_error", Message: "claim is locked by another adjuster"},
					Attribution: auditlog.Attribution{Tool: "close_claim"},
					Source:      auditlog.Source{Convention: "mcp", Service: "claims-assistant", Scope: "opentelemetry.instrumentation.mcp"},
				},
			},
		},
		{
			file: "openinference.json",
			want: map[string]auditlog.Record{
				"2b3c4d5e6f708192": {
					V: 1, Timestamp: "2026-01-01T10:30:00.950000000Z",
					TraceID: "7f3a9e1c2b4d5f60718293a4b5c6d7e8", SpanID: "2b3c4d5e6f708192", ParentSpanID: "1a2b3c4d5e6f7081",
					DurationMS: 380, Operation: "execute_tool",
					ToolName: "get_weather", ToolCallID: "call_abc123",
					Arguments:     raw(`{"location":"San Francisco, CA"}`),
					ResultSummary: raw(`"Sunny, 18°C, wind 12 km/h W"`),
					UserID:        "u-carol",
					Session:       auditlog.Session{ID: "chat-2d9f"},
					// OpenInference's session is its conversation.
					ConversationID: "chat-2d9f",
					Success:        true,
					Attribution:    auditlog.Attribution{Initiator: "u-carol", InitiatorType: "user", Tool: "get_weather"},
					Source:         auditlog.Source{Convention: "openinference", Service: "weather-bot", Scope: "openinference.instrumentation.langchain"},
				},
				"3c4d5e6f70819203": {
					V: 1, Timestamp: "2026-01-01T10:30:01.400000000Z",
					TraceID: "7f3a9e1c2b4d5f60718293a4b5c6d7e8", SpanID: "3c4d5e6f70819203", ParentSpanID: "1a2b3c4d5e6f7081",
					DurationMS: 5000, Operation: "execute_tool",
					ToolName:       "lookup_forecast",
					Arguments:      raw(`"San Francisco, 5 days"`),
					Session:        auditlog.Session{ID: "chat-2d9f"},
					ConversationID: "chat-2d9f",
					Success:        false,
					Error:          &auditlog.Error{Type: "TimeoutError", Message: "forecast service did not answer within 5s"},
					Attribution:    auditlog.Attribution{Tool: "lookup_forecast"},
					Source:         auditlog.Source{Convention: "openinference", Service: "weather-bot", Scope: "openinference.instrumentation.langchain"},
				},
			},
		},
		{
			file: "traceloop.json",
			want: map[string]auditlog.Record{
				"1112131415161718": {
					V: 1, Timestamp: "2026-01-01T10:40:01.000000000Z",
					TraceID: "c0ffee0000000000000000000000beef", SpanID: "1112131415161718", ParentSpanID: "0102030405060708",
					DurationMS: 1500, Operation: "execute_tool",
					ToolName:      "search_flights",
					Arguments:     raw(`{"date":"2026-03-14","destination":"NRT","origin":"SFO"}`),
					ResultSummary: raw(`[{"flight":"UA837","price":1180},{"flight":"NH7","price":1242.5}]`),
					UserID:        "u-dave",
					Session:       auditlog.Session{ID: "trip-session-44"},
					Success:       true,
					Attribution:   auditlog.Attribution{Initiator: "u-dave", InitiatorType: "user", Tool: "search_flights"},
					Source:        auditlog.Source{Convention: "traceloop", Service: "travel-planner", Scope: "traceloop.tracer"},
				},
				"2122232425262728": {
					V: 1, Timestamp: "2026-01-01T10:40:03.000000000Z",
					TraceID: "c0ffee0000000000000000000000beef", SpanID: "2122232425262728", ParentSpanID: "0102030405060708",
					DurationMS: 420, Operation: "execute_tool",
					ToolName:      "book_hotel",
					Arguments:     raw(`{"hotel_id":"H-77","nights":3}`),
					ResultSummary: raw(`{"confirmation":"BK-9921","status":"confirmed"}`),
					UserID:        "u-dave",
					Success:       true,
					Attribution:   auditlog.Attribution{Initiator: "u-dave", InitiatorType: "user", Tool: "book_hotel"},
					Source:        auditlog.Source{Convention: "traceloop", Service: "travel-planner", Scope: "opentelemetry.instrumentation.langchain"},
				},
			},
		},
		{
			file: "vercel_ai.json",
			want: map[string]auditlog.Record{
				"e1a3b36e0d2b6af9": {
					V: 1, Timestamp: "2026-01-01T10:50:01.810000000Z",
					TraceID: "e58b6aa4a3529d7d66443c41c13f4e08", SpanID: "e1a3b36e0d2b6af9", ParentSpanID: "368d8f9a9c4e8748",
					DurationMS: 102.75, Operation: "execute_tool",
					ToolName: "apply_coupon", ToolCallID: "call_THXOT8HgcOkQpeJYZZj55Yy5",
					Arguments:     raw(`{"code":"SPRING10"}`),
					ResultSummary: raw(`{"applied":true,"discount":0.1}`),
					Success:       true,
					Attribution:   auditlog.Attribution{Tool: "apply_coupon"},
					Source:        auditlog.Source{Convention: "vercel_ai", Service: "shop-assistant", Scope: "ai"},
				},
				"9c2d4e6f8a0b1c3d": {
					V: 1, Timestamp: "2026-01-01T10:50:02.000000000Z",
					TraceID: "e58b6aa4a3529d7d66443c41c13f4e08", SpanID: "9c2d4e6f8a0b1c3d", ParentSpanID: "368d8f9a9c4e8748",
					DurationMS: 250, Operation: "execute_tool",
					ToolName: "charge_payment", ToolCallID: "call_Zr4s1Bq0PqXw",
					Arguments:   raw(`{"amount":89.1,"currency":"USD"}`),
					UserID:      "u-erin",
					Session:     auditlog.Session{ID: "cart-5512"},
					Success:     false,
					Error:       &auditlog.Error{Type: "Error", Message: "card declined"},
					Attribution: auditlog.Attribution{Initiator: "u-erin", InitiatorType: "user", Tool: "charge_payment"},
					Source:      auditlog.Source{Convention: "vercel_ai", Service: "shop-assistant", Scope: "ai"},
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			seen := 0
			for _, ref := range loadSpans(t, tt.file) {
				id := ref.span.SpanID().String()
				got, ok := Map(ref.res, ref.scope, ref.span, Options{})
				want, isTool := tt.want[id]
				require.Equal(t, isTool, ok, "span %s (%s): tool span?", id, ref.span.Name())
				assert.Equal(t, isTool, IsToolSpan(ref.span), "IsToolSpan(%s)", id)
				if !isTool {
					assert.Zero(t, got)
					continue
				}
				seen++
				assert.Equal(t, want, got, "span %s", id)
				assertCanonicalRecord(t, got)
			}
			assert.Equal(t, len(tt.want), seen, "every expected tool span is in the file")
		})
	}
}

// assertCanonicalRecord checks that r marshals to valid JSON whose payloads
// are already canonical and whose strings are valid UTF-8.
func assertCanonicalRecord(t testing.TB, r auditlog.Record) {
	t.Helper()
	b, err := json.Marshal(r)
	require.NoError(t, err)
	_, err = canonicalizeJSON(b)
	require.NoError(t, err, "record: %s", b)
	for _, p := range []json.RawMessage{r.Arguments, r.ResultSummary} {
		if p == nil {
			continue
		}
		c, err := canonicalizeJSON(p)
		require.NoError(t, err, "payload %s", p)
		require.Equal(t, string(c), string(p), "payload is canonical")
	}
}

func TestMapRejectsNonToolSpans(t *testing.T) {
	tests := []struct {
		name  string
		spanN string
		attrs map[string]any
	}{
		{name: "no attributes", spanN: "GET /orders"},
		{name: "chat span", spanN: "chat gpt-4o", attrs: map[string]any{"gen_ai.operation.name": "chat"}},
		{name: "MCP tools/list", spanN: "tools/list", attrs: map[string]any{"mcp.method.name": "tools/list"}},
		{name: "OpenInference LLM", spanN: "ChatOpenAI", attrs: map[string]any{"openinference.span.kind": "LLM"}},
		{name: "Traceloop workflow", spanN: "x.workflow", attrs: map[string]any{"traceloop.span.kind": "workflow"}},
		{name: "Vercel doGenerate", spanN: "ai.generateText.doGenerate", attrs: map[string]any{"ai.operationId": "ai.generateText.doGenerate"}},
		{name: "span kind of wrong type", spanN: "t", attrs: map[string]any{"openinference.span.kind": int64(1)}},
		{name: "execute_tool only in the name", spanN: "execute_tool foo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := newSpan(t, tt.spanN, tt.attrs)
			r, ok := Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span, Options{})
			assert.False(t, ok)
			assert.Zero(t, r)
		})
	}
}

// newSpan builds a span with the given name and attributes and fixed ids.
func newSpan(t testing.TB, name string, attrs map[string]any) ptrace.Span {
	t.Helper()
	span := ptrace.NewSpan()
	span.SetName(name)
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	span.SetStartTimestamp(1767225600_000000000)
	span.SetEndTimestamp(1767225600_001500000)
	require.NoError(t, span.Attributes().FromRaw(attrs))
	return span
}

func mapOne(t testing.TB, attrs map[string]any, opts Options) auditlog.Record {
	t.Helper()
	if _, ok := attrs["gen_ai.operation.name"]; !ok {
		attrs["gen_ai.operation.name"] = "execute_tool"
	}
	r, ok := Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), newSpan(t, "execute_tool t", attrs), opts)
	require.True(t, ok)
	assertCanonicalRecord(t, r)
	return r
}

func TestMapFieldConversions(t *testing.T) {
	tests := []struct {
		name  string
		attrs map[string]any
		check func(t *testing.T, r auditlog.Record)
	}{
		{
			name:  "tool name from the span name",
			attrs: map[string]any{},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, "t", r.ToolName) },
		},
		{
			name:  "OpenInference session is the conversation",
			attrs: map[string]any{"gen_ai.operation.name": "none", "openinference.span.kind": "TOOL", "session.id": "s-1"},
			check: func(t *testing.T, r auditlog.Record) {
				assert.Equal(t, "s-1", r.ConversationID)
				assert.Equal(t, "s-1", r.Session.ID)
			},
		},
		{
			name:  "OpenInference conversation attribute first",
			attrs: map[string]any{"gen_ai.operation.name": "none", "openinference.span.kind": "TOOL", "session.id": "s-1", "gen_ai.conversation.id": "c-1"},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, "c-1", r.ConversationID) },
		},
		{
			name:  "GenAI session is not the conversation",
			attrs: map[string]any{"session.id": "s-1"},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, "", r.ConversationID) },
		},
		{
			name:  "turn number as decimal string",
			attrs: map[string]any{"audit.turn_number": " 12 "},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, i64(12), r.TurnNumber) },
		},
		{
			name:  "turn number as integral double",
			attrs: map[string]any{"audit.turn_number": 7.0},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, i64(7), r.TurnNumber) },
		},
		{
			name:  "turn number not a number stays unknown",
			attrs: map[string]any{"audit.turn_number": "third"},
			check: func(t *testing.T, r auditlog.Record) { assert.Nil(t, r.TurnNumber) },
		},
		{
			name:  "fractional turn number stays unknown",
			attrs: map[string]any{"audit.turn_number": 2.5},
			check: func(t *testing.T, r auditlog.Record) { assert.Nil(t, r.TurnNumber) },
		},
		{
			name:  "roles as comma-separated string",
			attrs: map[string]any{"user.roles": "admin, ,billing,"},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, []string{"admin", "billing"}, r.UserRoles) },
		},
		{
			name:  "empty role array stays null",
			attrs: map[string]any{"user.roles": []any{}},
			check: func(t *testing.T, r auditlog.Record) { assert.Nil(t, r.UserRoles) },
		},
		{
			name:  "break glass as string",
			attrs: map[string]any{"audit.break_glass": "true"},
			check: func(t *testing.T, r auditlog.Record) { assert.True(t, r.BreakGlass) },
		},
		{
			name:  "break glass garbage is false",
			attrs: map[string]any{"audit.break_glass": "maybe"},
			check: func(t *testing.T, r auditlog.Record) { assert.False(t, r.BreakGlass) },
		},
		{
			name:  "int user id",
			attrs: map[string]any{"user.id": int64(42)},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, "42", r.UserID) },
		},
		{
			name:  "response model when no request model",
			attrs: map[string]any{"gen_ai.response.model": "m-resp"},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, "m-resp", r.Model) },
		},
		{
			name:  "request model wins",
			attrs: map[string]any{"gen_ai.response.model": "m-resp", "gen_ai.request.model": "m-req"},
			check: func(t *testing.T, r auditlog.Record) { assert.Equal(t, "m-req", r.Model) },
		},
		{
			name:  "error.type alone marks failure",
			attrs: map[string]any{"error.type": "timeout"},
			check: func(t *testing.T, r auditlog.Record) {
				assert.False(t, r.Success)
				assert.Equal(t, &auditlog.Error{Type: "timeout"}, r.Error)
			},
		},
		{
			name:  "redaction paths without count",
			attrs: map[string]any{"audit.redaction.paths": "a.b,c"},
			check: func(t *testing.T, r auditlog.Record) {
				assert.Equal(t, auditlog.Redaction{Count: 2, Paths: []string{"a.b", "c"}}, r.Redaction)
			},
		},
		{
			name:  "no payload attributes gives null payloads",
			attrs: map[string]any{"gen_ai.tool.call.arguments": ""},
			check: func(t *testing.T, r auditlog.Record) {
				assert.Nil(t, r.Arguments)
				assert.Nil(t, r.ResultSummary)
			},
		},
		{
			name: "invalid UTF-8 everywhere becomes U+FFFD",
			attrs: map[string]any{
				"user.id":                    "al\xffice",
				"gen_ai.tool.name":           "to\xc3ol",
				"gen_ai.tool.call.arguments": "{\"k\":\"v\xfe\"}",
				"gen_ai.tool.call.result":    "plain \xff text",
				"user.roles":                 []any{"r\xff"},
			},
			check: func(t *testing.T, r auditlog.Record) {
				assert.Equal(t, "al\uFFFDice", r.UserID)
				assert.Equal(t, "to\uFFFDol", r.ToolName)
				assert.JSONEq(t, `{"k":"v\uFFFD"}`, string(r.Arguments))
				assert.Equal(t, "\"plain \uFFFD text\"", string(r.ResultSummary))
				assert.Equal(t, []string{"r\uFFFD"}, r.UserRoles)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(t, mapOne(t, tt.attrs, Options{}))
		})
	}
}

func TestMapErrorFromStatusAndEvent(t *testing.T) {
	span := newSpan(t, "execute_tool t", map[string]any{"gen_ai.operation.name": "execute_tool"})
	span.Status().SetCode(ptrace.StatusCodeError)
	ev := span.Events().AppendEmpty()
	ev.SetName("log")
	ev.Attributes().PutStr("exception.message", "not an exception event")
	ev = span.Events().AppendEmpty()
	ev.SetName("exception")
	ev.Attributes().PutStr("exception.type", "io.EOF")
	ev.Attributes().PutStr("exception.message", "unexpected end")
	r, ok := Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span, Options{})
	require.True(t, ok)
	assert.False(t, r.Success)
	assert.Equal(t, &auditlog.Error{Type: "io.EOF", Message: "unexpected end"}, r.Error)

	// A span with status Ok and no error.type succeeded, whatever its events.
	span.Status().SetCode(ptrace.StatusCodeOk)
	r, _ = Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span, Options{})
	assert.True(t, r.Success)
	assert.Nil(t, r.Error)
}

func TestMapEmptyIDsAndReversedTimes(t *testing.T) {
	span := ptrace.NewSpan()
	span.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
	span.SetStartTimestamp(2_000_000_000)
	span.SetEndTimestamp(1_000_000_000)
	r, ok := Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span, Options{})
	require.True(t, ok)
	assert.Equal(t, "", r.TraceID)
	assert.Equal(t, "", r.SpanID)
	assert.Equal(t, "", r.ParentSpanID)
	assert.Equal(t, float64(0), r.DurationMS, "an end before the start gives no negative duration")
	assert.Equal(t, "1970-01-01T00:00:02.000000000Z", r.Timestamp)
}

// TestMapSpanTimes maps start and end times at the edges OTLP allows:
// its timestamps are unsigned nanoseconds, so a start from 2^63 on is a
// time between 2262 and 2554, not the 1677–1970 that pcommon's AsTime
// makes of it; a missing start (0) gives no duration, nor does an end
// before the start.
func TestMapSpanTimes(t *testing.T) {
	tests := []struct {
		name       string
		start, end pcommon.Timestamp
		timestamp  string
		durationMS float64
	}{
		{"no start or end", 0, 0, "1970-01-01T00:00:00.000000000Z", 0},
		{"no start", 0, 1767225600_001500000, "1970-01-01T00:00:00.000000000Z", 0},
		{"no end", 1767225600_000000000, 0, "2026-01-01T00:00:00.000000000Z", 0},
		{"end before start", 1767225600_000000000, 1767225599_000000000, "2026-01-01T00:00:00.000000000Z", 0},
		{"1 ns", 1, 2, "1970-01-01T00:00:00.000000001Z", 1e-6},
		{"last int64", math.MaxInt64, math.MaxInt64, "2262-04-11T23:47:16.854775807Z", 0},
		{"first beyond int64", math.MaxInt64 + 1, math.MaxInt64 + 1_500_001, "2262-04-11T23:47:16.854775808Z", 1.5}, // whole microseconds,
		{"QA's start", 9223372036854775813, 9223372036854775813, "2262-04-11T23:47:16.854775813Z", 0},
		{"last uint64", math.MaxUint64, math.MaxUint64, "2554-07-21T23:34:33.709551615Z", 0},
		{"end beyond int64, start before", math.MaxInt64 - 999_999, math.MaxInt64 + 1, "2262-04-11T23:47:16.853775808Z", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := ptrace.NewSpan()
			span.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
			span.SetStartTimestamp(tt.start)
			span.SetEndTimestamp(tt.end)
			for _, m := range []*Mapper{nil, NewReusingMapper(Options{})} {
				var r auditlog.Record
				if m == nil {
					r, _ = Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span, Options{})
				} else {
					r, _ = m.Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span)
				}
				assert.Equal(t, tt.timestamp, r.Timestamp)
				assert.Equal(t, tt.durationMS, r.DurationMS)
				ts, err := time.Parse(time.RFC3339Nano, r.Timestamp)
				if assert.NoError(t, err) {
					assert.Equal(t, TimestampTime(tt.start), ts)
				}
			}
		})
	}
}

func TestAttribution(t *testing.T) {
	base := func(trigger string) auditlog.Record {
		return auditlog.Record{
			Trigger: trigger, UserID: "u1", UserRoles: []string{"a", "b"}, Model: "m1", ToolName: "t1",
			Agent: auditlog.Agent{Name: "agent-x", ID: "ag-1"}, Source: auditlog.Source{Service: "svc"},
		}
	}
	tests := []struct {
		name string
		rec  auditlog.Record
		want auditlog.Attribution
	}{
		{
			name: "user_request", rec: base("user_request"),
			want: auditlog.Attribution{Initiator: "u1", InitiatorType: "user", InitiatorRole: "a,b", Model: "m1", Tool: "t1", Trigger: "user_request"},
		},
		{
			name: "follow_up", rec: base("follow_up"),
			want: auditlog.Attribution{Initiator: "u1", InitiatorType: "user", InitiatorRole: "a,b", Model: "m1", Tool: "t1", Trigger: "follow_up"},
		},
		{
			name: "user_request without a known user",
			rec:  func() auditlog.Record { r := base("user_request"); r.UserID = ""; r.UserRoles = nil; return r }(),
			want: auditlog.Attribution{InitiatorType: "user", Model: "m1", Tool: "t1", Trigger: "user_request"},
		},
		{
			name: "proactive", rec: base("proactive"),
			want: auditlog.Attribution{Initiator: "m1", InitiatorType: "model", InitiatorRole: "ai_agent", Model: "m1", Tool: "t1", Trigger: "proactive"},
		},
		{
			name: "proactive without a model names the agent",
			rec:  func() auditlog.Record { r := base("proactive"); r.Model = ""; return r }(),
			want: auditlog.Attribution{Initiator: "agent-x", InitiatorType: "model", InitiatorRole: "ai_agent", Tool: "t1", Trigger: "proactive"},
		},
		{
			name: "retry", rec: base("retry"),
			want: auditlog.Attribution{Initiator: "agent-x", InitiatorType: "system", InitiatorRole: "system", Model: "m1", Tool: "t1", Trigger: "retry"},
		},
		{
			name: "system without agent names the service",
			rec:  func() auditlog.Record { r := base("system"); r.Agent = auditlog.Agent{}; return r }(),
			want: auditlog.Attribution{Initiator: "svc", InitiatorType: "system", InitiatorRole: "system", Model: "m1", Tool: "t1", Trigger: "system"},
		},
		{
			name: "no trigger with user", rec: base(""),
			want: auditlog.Attribution{Initiator: "u1", InitiatorType: "user", InitiatorRole: "a,b", Model: "m1", Tool: "t1"},
		},
		{
			name: "unknown trigger without user",
			rec:  func() auditlog.Record { r := base("cron"); r.UserID = ""; return r }(),
			want: auditlog.Attribution{Model: "m1", Tool: "t1", Trigger: "cron"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, attribution(nil, &tt.rec))
		})
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		ts   pcommon.Timestamp
		want string
	}{
		{ts: 0, want: "1970-01-01T00:00:00.000000000Z"},
		{ts: 1767262501_350000000, want: "2026-01-01T10:15:01.350000000Z"},
		{ts: 951868799_999999999, want: "2000-02-29T23:59:59.999999999Z"},
		{ts: 1 << 63, want: "1677-09-21T00:12:43.145224192Z"},   // wraps as time.Unix does
		{ts: 1<<64 - 1, want: "1969-12-31T23:59:59.999999999Z"}, // likewise
	}
	for _, tt := range tests {
		got := FormatTime(tt.ts.AsTime())
		assert.Equal(t, tt.want, got)
		assert.Equal(t, tt.ts.AsTime().UTC().Format(auditlog.TimeFormat), got, "same as the time package")
	}
	// Beyond year 9999 the layout cannot hold the year; the time package's
	// rendering is used unchanged.
	far := time.Date(12000, 1, 2, 3, 4, 5, 6, time.UTC)
	assert.Equal(t, far.Format(auditlog.TimeFormat), FormatTime(far))
	// Any zone is rendered in UTC.
	cet := time.Date(2026, 3, 1, 0, 30, 0, 7, time.FixedZone("CET", 3600))
	assert.Equal(t, "2026-02-28T23:30:00.000000007Z", FormatTime(cet))
}

// TestMapTurnNumberRange: a turn number is kept only where every JSON
// number holds it exactly, so that the record's canonical JSON reads back
// as the same int64 (2^63 − 1 was written as 9223372036854776000).
func TestMapTurnNumberRange(t *testing.T) {
	tests := []struct {
		name string
		set  func(pcommon.Map)
		want *int64
	}{
		{"small int", func(m pcommon.Map) { m.PutInt("audit.turn_number", 3) }, ptr(int64(3))},
		{"largest exact", func(m pcommon.Map) { m.PutInt("audit.turn_number", 1<<53-1) }, ptr(int64(1<<53 - 1))},
		{"smallest exact", func(m pcommon.Map) { m.PutInt("audit.turn_number", -(1<<53 - 1)) }, ptr(int64(-(1<<53 - 1)))},
		{"2^53", func(m pcommon.Map) { m.PutInt("audit.turn_number", 1<<53) }, nil},
		{"max int64", func(m pcommon.Map) { m.PutInt("audit.turn_number", math.MaxInt64) }, nil},
		{"min int64", func(m pcommon.Map) { m.PutInt("audit.turn_number", math.MinInt64) }, nil},
		{"double 2^53", func(m pcommon.Map) { m.PutDouble("audit.turn_number", 1<<53) }, nil},
		{"double 7", func(m pcommon.Map) { m.PutDouble("audit.turn_number", 7) }, ptr(int64(7))},
		{"string beyond", func(m pcommon.Map) { m.PutStr("audit.turn_number", "9223372036854775807") }, nil},
		{"string", func(m pcommon.Map) { m.PutStr("audit.turn_number", " 12 ") }, ptr(int64(12))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			span := ptrace.NewSpan()
			span.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
			tt.set(span.Attributes())
			r, ok := Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), span, Options{})
			require.True(t, ok)
			assert.Equal(t, tt.want, r.TurnNumber)
		})
	}
}

func ptr[T any](v T) *T { return &v }
