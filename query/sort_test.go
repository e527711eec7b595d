package query

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/otelaudit/otelaudit/auditlog"
)

// sortInput returns n records in an order given by kind, with timestamps
// in the record layout, some repeated (with the same trace and span ids:
// only their order tells them apart) and some in another layout.
func sortInput(t testing.TB, n int, kind string) []auditlog.Record {
	t.Helper()
	recs := manyRecords(t, n)
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range recs {
		recs[i].Timestamp = base.Add(time.Duration(i) * time.Microsecond).Format(auditlog.TimeFormat)
		recs[i].Seq = uint64(i) // tells equal records apart
		switch {
		case i%7 == 3:
			recs[i].Timestamp, recs[i].TraceID, recs[i].SpanID = recs[i-1].Timestamp, recs[i-1].TraceID, recs[i-1].SpanID
		case i%11 == 5:
			recs[i].Timestamp = base.Add(time.Duration(i) * time.Microsecond).Format(time.RFC3339Nano) // no padding
		}
	}
	switch kind {
	case "shuffled":
		rng.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	case "reversed":
		slices.Reverse(recs)
	case "two chains":
		// As a store returns them: one chain, then the other.
		var a, b []auditlog.Record
		for i := range recs {
			if i%3 == 0 {
				a = append(a, recs[i])
			} else {
				b = append(b, recs[i])
			}
		}
		recs = append(a, b...)
	}
	return recs
}

// TestSortRecords holds sortRecords to a stable sort of the records
// themselves, the way it sorted before.
func TestSortRecords(t *testing.T) {
	for _, kind := range []string{"sorted", "shuffled", "reversed", "two chains"} {
		for _, n := range []int{0, 1, 2, 3, 100, 5000} {
			t.Run(fmt.Sprintf("%s/%d", kind, n), func(t *testing.T) {
				got := sortInput(t, n, kind)
				want := slices.Clone(got)
				slices.SortStableFunc(want, func(a, b auditlog.Record) int { return compareRecords(&a, &b) })
				sortRecords(got)
				assert.Equal(t, seqs(want), seqs(got))
				assert.True(t, slices.IsSortedFunc(got, func(a, b auditlog.Record) int {
					return cmp.Compare(recordTime(&a).UnixNano(), recordTime(&b).UnixNano())
				}))
			})
		}
	}
}

func seqs(recs []auditlog.Record) []uint64 {
	out := make([]uint64, len(recs))
	for i := range recs {
		out[i] = recs[i].Seq
	}
	return out
}

// BenchmarkSortRecords sorts 200,000 records, side by side with the stable
// sort of the records themselves that sortRecords replaced.
func BenchmarkSortRecords(b *testing.B) {
	for _, kind := range []string{"sorted", "two chains", "shuffled"} {
		in := sortInput(b, 200_000, kind)
		recs := make([]auditlog.Record, len(in))
		for _, peer := range []bool{false, true} {
			name := kind + "/permutation"
			if peer {
				name = kind + "/stable-records"
			}
			b.Run(name, func(b *testing.B) {
				for b.Loop() {
					copy(recs, in)
					if peer {
						slices.SortStableFunc(recs, func(a, b auditlog.Record) int { return compareRecords(&a, &b) })
					} else {
						sortRecords(recs)
					}
				}
			})
		}
	}
}
