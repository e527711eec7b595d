package query

import (
	"cmp"
	"slices"

	"github.com/otelaudit/otelaudit/auditlog"
)

// sortRecords orders records by start time, then trace id and span id, so
// that every source returns the same order for the same calls. Records
// that compare equal keep their order.
//
// A record is 744 bytes, so the records stay where they are while their
// start times, with their indices, are sorted, and each then moves once:
// see BenchmarkSortRecords for what sorting the records themselves cost.
func sortRecords(recs []auditlog.Record) {
	sorted := true
	for i := 1; i < len(recs); i++ {
		if compareRecords(&recs[i-1], &recs[i]) > 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	type key struct {
		sec  int64
		nsec int32
		i    int32 // a result has fewer than 2^31 records: each is 744 bytes
	}
	keys := make([]key, len(recs))
	for i := range recs {
		t := recordTime(&recs[i])
		keys[i] = key{sec: t.Unix(), nsec: int32(t.Nanosecond()), i: int32(i)}
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := cmp.Compare(a.sec, b.sec); c != 0 {
			return c
		}
		if c := cmp.Compare(a.nsec, b.nsec); c != 0 {
			return c
		}
		// The same instant (or two timestamps that do not parse): the
		// records' own order decides, then their places.
		if c := compareRecords(&recs[a.i], &recs[b.i]); c != 0 {
			return c
		}
		return cmp.Compare(a.i, b.i) // stable
	})
	// The record at keys[j].i goes to j: follow each cycle of the
	// permutation, marking the places filled.
	for i := range keys {
		if keys[i].i < 0 {
			continue
		}
		held := recs[i]
		j := i
		for {
			k := int(keys[j].i)
			keys[j].i = -1
			if k == i {
				recs[j] = held
				break
			}
			recs[j] = recs[k]
			j = k
		}
	}
}

// compareRecords orders records by start time, then trace id and span id.
func compareRecords(a, b *auditlog.Record) int {
	if c := compareTimestamps(a, b); c != 0 {
		return c
	}
	if c := cmp.Compare(a.TraceID, b.TraceID); c != 0 {
		return c
	}
	return cmp.Compare(a.SpanID, b.SpanID)
}

// compareTimestamps orders two records by start time. Timestamps in the
// record layout compare as strings, which avoids parsing on the common path.
func compareTimestamps(a, b *auditlog.Record) int {
	if len(a.Timestamp) == len(auditlog.TimeFormat) && len(b.Timestamp) == len(auditlog.TimeFormat) {
		return cmp.Compare(a.Timestamp, b.Timestamp)
	}
	return recordTime(a).Compare(recordTime(b))
}
