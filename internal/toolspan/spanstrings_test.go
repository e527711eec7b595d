package toolspan

import (
	"encoding/hex"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
)

// TestSpanStrings checks the one-allocation rendering of ids and start
// time against the straightforward one, empty ids and out-of-range years
// included.
func TestSpanStrings(t *testing.T) {
	times := []time.Time{
		time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2262, 4, 11, 23, 47, 16, 854775807, time.UTC), // the last pcommon.Timestamp
		time.Date(2026, 6, 30, 23, 59, 59, 999999999, time.FixedZone("x", 5*3600)),
	}
	ids := []struct {
		trace       pcommon.TraceID
		span, paren pcommon.SpanID
	}{
		{pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, pcommon.SpanID{0xaa, 1, 2, 3, 4, 5, 6, 0xff}, pcommon.SpanID{8, 7, 6, 5, 4, 3, 2, 1}},
		{pcommon.TraceID{}, pcommon.SpanID{}, pcommon.SpanID{}},
		{pcommon.TraceID{0: 1}, pcommon.SpanID{7: 1}, pcommon.SpanID{}},
	}
	hexOr := func(b []byte, empty bool) string {
		if empty {
			return ""
		}
		return hex.EncodeToString(b)
	}
	for _, ts := range times {
		for _, id := range ids {
			span := ptrace.NewSpan()
			span.SetTraceID(id.trace)
			span.SetSpanID(id.span)
			span.SetParentSpanID(id.paren)
			span.SetStartTimestamp(pcommon.NewTimestampFromTime(ts))
			tr, sp, pa, start := spanStrings(nil, span)
			if want := hexOr(id.trace[:], id.trace.IsEmpty()); tr != want {
				t.Errorf("trace id %q, want %q", tr, want)
			}
			if want := hexOr(id.span[:], id.span.IsEmpty()); sp != want {
				t.Errorf("span id %q, want %q", sp, want)
			}
			if want := hexOr(id.paren[:], id.paren.IsEmpty()); pa != want {
				t.Errorf("parent span id %q, want %q", pa, want)
			}
			if want := ts.UTC().Format(auditlog.TimeFormat); start != want || FormatTime(ts) != want {
				t.Errorf("start %q / %q, want %q", start, FormatTime(ts), want)
			}
		}
	}
	for _, ts := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if got, want := FormatTime(ts), ts.UTC().Format(auditlog.TimeFormat); got != want {
			t.Errorf("FormatTime(%v) = %q, want %q", ts, got, want)
		}
	}
}
