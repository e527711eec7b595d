package toolspan

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func BenchmarkMap(b *testing.B) {
	for _, file := range []string{"genai.json", "openinference.json", "traceloop.json", "vercel_ai.json", "mcp.json"} {
		refs := loadSpans(b, file)
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, ref := range refs {
					Map(ref.res, ref.scope, ref.span, Options{})
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(refs)), "ns/span")
		})
	}
}

// BenchmarkMapTypical maps the span the exporter benchmark uses: a GenAI
// tool span with the SPEC §2 attributes and ~250 bytes of JSON payloads.
func BenchmarkMapTypical(b *testing.B) {
	span := ptrace.NewSpan()
	span.SetName("execute_tool lookup_order")
	span.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
	span.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
	span.SetParentSpanID(pcommon.SpanID{8, 7, 6, 5, 4, 3, 2, 1})
	span.SetStartTimestamp(1767262500_000000000)
	span.SetEndTimestamp(1767262500_023456789)
	at := span.Attributes()
	at.PutStr("gen_ai.operation.name", "execute_tool")
	at.PutStr("gen_ai.tool.name", "lookup_order")
	at.PutStr("gen_ai.tool.call.id", "call_0000002a")
	at.PutStr("gen_ai.tool.type", "function")
	at.PutStr("gen_ai.tool.call.arguments", `{"order_id":"A-1042","customer_id":"C-2042","include_history":true,"reason":"customer asked where the parcel is","currency":"EUR"}`)
	at.PutStr("gen_ai.tool.call.result", `{"status":"shipped","order_id":"A-1042","count":3,"_result_size":2048}`)
	at.PutStr("gen_ai.conversation.id", "conv-0004")
	at.PutInt("audit.turn_number", 3)
	at.PutStr("gen_ai.request.model", "gpt-4o")
	at.PutStr("gen_ai.agent.name", "support-agent")
	at.PutStr("user.id", "u-042")
	roles := at.PutEmptySlice("user.roles")
	roles.AppendEmpty().SetStr("support")
	roles.AppendEmpty().SetStr("refund_approver")
	at.PutStr("session.id", "sess-0004")
	at.PutStr("client.address", "203.0.113.7")
	at.PutStr("audit.trigger", "user_request")
	at.PutStr("audit.purpose", "support")
	at.PutStr("audit.subject.type", "customer")
	at.PutStr("audit.subject.id", "C-2042")
	res := pcommon.NewResource()
	res.Attributes().PutStr("service.name", "support-agent")
	scope := pcommon.NewInstrumentationScope()
	b.ReportAllocs()
	for b.Loop() {
		Map(res, scope, span, Options{})
	}
}
