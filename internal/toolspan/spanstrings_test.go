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
		time.Date(2000, 2, 29, 12, 0, 0, 1, time.UTC), // leap day of a century leap year
		time.Date(2100, 3, 1, 0, 0, 0, 0, time.UTC),   // after the 28th of a century common year
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
	// OTLP timestamps are unsigned: from 2^63 on they are times after
	// 2262, which pcommon's AsTime (and NewTimestampFromTime's way back)
	// would make times before 1970.
	for ns, want := range map[pcommon.Timestamp]string{
		1<<63 - 1:           "2262-04-11T23:47:16.854775807Z",
		1 << 63:             "2262-04-11T23:47:16.854775808Z",
		9223372036854775813: "2262-04-11T23:47:16.854775813Z",
		1<<64 - 1:           "2554-07-21T23:34:33.709551615Z",
	} {
		span := ptrace.NewSpan()
		span.SetStartTimestamp(ns)
		if _, _, _, start := spanStrings(nil, span); start != want {
			t.Errorf("start of %d: %q, want %q", uint64(ns), start, want)
		}
	}
	for _, ts := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)} {
		if got, want := FormatTime(ts), ts.UTC().Format(auditlog.TimeFormat); got != want {
			t.Errorf("FormatTime(%v) = %q, want %q", ts, got, want)
		}
	}
}

// FuzzPutUnixNano checks the date arithmetic of spanStrings against the
// time package for every non-negative int64 of nanoseconds.
func FuzzPutUnixNano(f *testing.F) {
	for _, ns := range []int64{0, 1, 86399999999999, 86400000000000, 951782400000000000, 4107542399999999999, 1<<63 - 1, 1767262500023456789} {
		f.Add(ns)
	}
	f.Fuzz(func(t *testing.T, ns int64) {
		if ns < 0 {
			ns = -(ns + 1)
		}
		var b [len(auditlog.TimeFormat)]byte
		putUnixNano(b[:], ns)
		if want := time.Unix(0, ns).UTC().Format(auditlog.TimeFormat); string(b[:]) != want {
			t.Fatalf("putUnixNano(%d) = %q, want %q", ns, b, want)
		}
	})
}

// TestPutUnixNanoDays walks one instant of every day of 1970-2262 and the
// last nanosecond before each midnight.
func TestPutUnixNanoDays(t *testing.T) {
	const nsPerDay int64 = 86400 * 1e9
	for d := int64(0); d < (1<<63-1)/nsPerDay; d++ {
		for _, ns := range []int64{d*nsPerDay + 45296789012345%nsPerDay, d*nsPerDay + nsPerDay - 1} {
			var b [len(auditlog.TimeFormat)]byte
			putUnixNano(b[:], ns)
			if want := time.Unix(0, ns).UTC().Format(auditlog.TimeFormat); string(b[:]) != want {
				t.Fatalf("putUnixNano(%d) = %q, want %q", ns, b, want)
			}
		}
	}
}

// FuzzPutHex8 checks putHex8 against encoding/hex.
func FuzzPutHex8(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7})
	f.Add([]byte{0x9a, 0xaf, 0xf0, 0x09, 0xff, 0x10, 0xa9, 0x99})
	f.Fuzz(func(t *testing.T, in []byte) {
		var b [8]byte
		copy(b[:], in)
		var got [16]byte
		putHex8(got[:], b[:])
		if want := hex.EncodeToString(b[:]); string(got[:]) != want {
			t.Fatalf("putHex8(%x) = %q, want %q", b, got, want)
		}
	})
}
