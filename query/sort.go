package query

import (
	"cmp"
	"slices"

	"github.com/otelaudit/otelaudit/auditlog"
)

// sortRecords orders records by start time, then trace id and span id, so
// that every source returns the same order for the same calls.
func sortRecords(recs []auditlog.Record) {
	slices.SortStableFunc(recs, func(a, b auditlog.Record) int {
		if c := compareTimestamps(&a, &b); c != 0 {
			return c
		}
		if c := cmp.Compare(a.TraceID, b.TraceID); c != 0 {
			return c
		}
		return cmp.Compare(a.SpanID, b.SpanID)
	})
}

// compareTimestamps orders two records by start time. Timestamps in the
// record layout compare as strings, which avoids parsing on the common path.
func compareTimestamps(a, b *auditlog.Record) int {
	if len(a.Timestamp) == len(auditlog.TimeFormat) && len(b.Timestamp) == len(auditlog.TimeFormat) {
		return cmp.Compare(a.Timestamp, b.Timestamp)
	}
	return recordTime(a).Compare(recordTime(b))
}
