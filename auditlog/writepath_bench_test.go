package auditlog

import (
	"testing"
)

// typicalLine is the record the exporter benchmark writes (bench/exporter):
// a GenAI tool call with the SPEC §2 attributes and ~250 bytes of payloads.
const typicalLine = `{"agent":{"id":"","name":"support-agent"},"arguments":{"currency":"EUR","customer_id":"C-2000","include_history":true,"order_id":"A-1000","reason":"customer asked where the parcel is"},"attribution":{"initiator":"u-000","initiator_role":"support,refund_approver","initiator_type":"user","model":"gpt-4o","tool":"lookup_order","trigger":"user_request"},"break_glass":false,"break_glass_reason":"","chain_id":"bench.otelaudit/gateway/general","conversation_id":"conv-0000","duration_ms":23.456789,"error":null,"hash":"c9d5c7306ed7c815da66092a10683458995a73438a575fc8ebdb52b83fe89ab1","model":"gpt-4o","operation":"execute_tool","parent_span_id":"eee19b7ec3c1b174","prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","purpose":"support","redaction":{"count":0,"paths":null},"result_summary":{"_result_size":2048,"count":3,"order_id":"A-1000","status":"shipped"},"retention":{"class":"general","days":365,"retain_until":"2027-01-01T10:15:00.000000000Z"},"seq":0,"session":{"client_address":"203.0.113.7","id":"sess-0000","user_agent":""},"source":{"client":"","convention":"genai","scope":"github.com/otelaudit/otelaudit/instrumentation","service":"support-agent"},"span_id":"0000000180000000","subject":{"id":"C-2000","type":"customer"},"success":true,"timestamp":"2026-01-01T10:15:00.000000000Z","tool_call_id":"call_00000000","tool_name":"lookup_order","tool_type":"function","trace_id":"00000000000000010000000000000000","trigger":"user_request","turn_number":1,"user_id":"u-000","user_roles":["support","refund_approver"],"v":1}`

func typicalRecord(tb testing.TB) *Record {
	tb.Helper()
	var r Record
	if err := DecodeRecord([]byte(typicalLine), &r); err != nil {
		tb.Fatal(err)
	}
	return &r
}

// BenchmarkAppendCanonical measures the encoding of one typical record,
// the part of Store.Append between the dedup check and the hashing.
func BenchmarkAppendCanonical(b *testing.B) {
	r := typicalRecord(b)
	buf := r.AppendCanonical(nil, true)
	if string(buf) != typicalLine {
		b.Fatalf("typical record does not round-trip:\n%s", buf)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendCanonical(buf[:0], false)
	}
}

// BenchmarkCanonicalizePayload measures CanonicalizeJSON on the payloads of
// the exporter benchmark: tool arguments and a result summary whose
// members arrive unsorted, as most JSON encoders write them.
func BenchmarkCanonicalizePayload(b *testing.B) {
	for _, tc := range []struct{ name, in string }{
		{"arguments", `{"order_id":"A-1042","customer_id":"C-2042","include_history":true,"reason":"customer asked where the parcel is","currency":"EUR"}`},
		{"result", `{"status":"shipped","order_id":"A-1042","count":3,"_result_size":2048}`},
		{"sorted", `{"currency":"EUR","customer_id":"C-2042","include_history":true,"order_id":"A-1042","reason":"customer asked where the parcel is"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			raw := []byte(tc.in)
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CanonicalizeJSON(raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncode measures encode as the exporter's store runs it: with
// the hash member (a placeholder the writer overwrites) and payloads
// promised canonical (WithCanonicalPayloads).
func BenchmarkEncode(b *testing.B) {
	r := typicalRecord(b)
	buf, _ := r.encode(nil, true, true)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = r.encode(buf[:0], true, true)
	}
}
