package query

import (
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// What Jaeger v2's sanitizers (jaeger/internal/jptrace/sanitizer) leave in
// the spans they change.
const (
	jaegerWarnings        = "@jaeger@warnings"
	jaegerInvalidSpanName = "invalid-span-name"
	jaegerNegativeWarning = "Negative duration detected, sanitizing end timestamp. Original end timestamp: "
	// jaegerTimeLayout is time.Time.String's layout, which the warning
	// uses for the original end timestamp.
	jaegerTimeLayout = "2006-01-02 15:04:05.999999999 -0700 MST"
)

// undoJaegerSanitizers gives back the spans the collector received, as
// far as Jaeger's sanitizers let it, so that they map to the records the
// audit exporter wrote from the same spans:
//
//   - a string attribute that is not valid UTF-8 is stored as bytes (the
//     raw string): a bytes value that is not valid UTF-8 becomes a string
//     again, which the mapping cleans as the exporter did (U+FFFD), instead
//     of a base64 text. A genuine bytes attribute that is not UTF-8 cannot
//     be told apart; the span contract has none.
//   - a span name that is not valid UTF-8 is replaced by
//     "invalid-span-name" and kept as an attribute: it is put back.
//   - a span whose end is not after its start gets the end start + 1 ns
//     and a warning naming the original end: the original is put back
//     (a zero-length call is 0 ms, as the exporter wrote it).
func undoJaegerSanitizers(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		restoreStrings(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			restoreStrings(ss.Scope().Attributes())
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				span := spans.At(k)
				attrs := span.Attributes()
				if v, ok := attrs.Get(jaegerInvalidSpanName); ok && span.Name() == jaegerInvalidSpanName && v.Type() == pcommon.ValueTypeBytes {
					span.SetName(string(v.Bytes().AsRaw()))
					attrs.Remove(jaegerInvalidSpanName)
				}
				restoreStrings(attrs)
				restoreEnd(span)
			}
		}
	}
}

// restoreStrings turns the bytes values that are not valid UTF-8 back into
// the strings they were.
func restoreStrings(attrs pcommon.Map) {
	for _, v := range attrs.All() {
		if v.Type() == pcommon.ValueTypeBytes {
			if raw := v.Bytes().AsRaw(); !utf8.Valid(raw) {
				v.SetStr(string(raw))
			}
		}
	}
}

// restoreEnd puts back the end timestamp the negative-duration sanitizer
// replaced, and drops its warning.
func restoreEnd(span ptrace.Span) {
	w, ok := span.Attributes().Get(jaegerWarnings)
	if !ok || w.Type() != pcommon.ValueTypeSlice {
		return
	}
	list := w.Slice()
	list.RemoveIf(func(v pcommon.Value) bool {
		rest, found := strings.CutPrefix(v.AsString(), jaegerNegativeWarning)
		if !found {
			return false
		}
		orig, _, _ := strings.Cut(rest, ", adjusted to: ")
		end, err := time.Parse(jaegerTimeLayout, orig)
		if err != nil {
			return false
		}
		span.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		return true
	})
	if list.Len() == 0 {
		span.Attributes().Remove(jaegerWarnings)
	}
}
