package payload

import (
	"encoding/json"
	"testing"
)

var benchArgs = map[string]any{
	"order_id":    "O-1001",
	"customer_id": "C-42",
	"amount":      129.99,
	"currency":    "EUR",
	"reason":      "damaged in transit",
}

// BenchmarkEncodeMap compares the encoder (with masking) on a 5-field map
// with encoding/json (without masking) in the same run.
func BenchmarkEncodeMap(b *testing.B) {
	e := newTestEncoder(b, 16<<10, 32)
	b.Run("payload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e.Encode(benchArgs)
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = json.Marshal(benchArgs)
		}
	})
}

func BenchmarkEncodeRaw(b *testing.B) {
	e := newTestEncoder(b, 16<<10, 32)
	raw, _ := json.Marshal(benchArgs)
	b.Run("payload", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _, _ = e.EncodeRaw(raw)
		}
	})
	b.Run("encoding_json_compact", func(b *testing.B) {
		b.ReportAllocs()
		var v any
		for b.Loop() {
			_ = json.Unmarshal(raw, &v)
			_, _ = json.Marshal(v)
		}
	})
}

func BenchmarkSummarize(b *testing.B) {
	e := newTestEncoder(b, 16<<10, 32)
	keys, _ := NewKeyMatcher([]string{"*_id", "*_status", "*_count", "state", "total"})
	res := map[string]any{"refund_id": "R-77", "status": "issued", "amount": 129.99}
	b.ReportAllocs()
	for b.Loop() {
		e.Summarize(res, SummaryOptions{Keys: keys, Outcome: true, Success: true, SizeKey: "_result_size", LargeAt: 16 << 10})
	}
}

func BenchmarkMatch(b *testing.B) {
	m := mustSensitive(b)
	keys := []string{"order_id", "customer_id", "amount", "currency", "reason"}
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range keys {
			m.Match(k)
		}
	}
}
