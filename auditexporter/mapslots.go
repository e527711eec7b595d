package auditexporter

import "context"

// mapSlots admits pushes to their CPU-bound part, mapping spans to records
// and staging them in the store, a few at a time and in arrival order
// (a channel's blocked senders queue first come, first served). Each push
// takes a slot before it maps and gives it back once its records are
// staged, before it waits for the fsync.
//
// Why: with more pushes in flight than processors, Go's scheduler
// time-slices the mapping between them. On one core with four requests in
// flight, about a quarter of the batches started mapping while another
// was part-way through, so both finished late and together, reached the
// group committer together, and waited for one fsync together with
// nothing left to overlap it; interleaved, they also evicted each other's
// records from the cache that partRecords is sized for. Taken one after
// another, each batch is staged as soon as it is mapped, its fsync runs
// while the next one maps, and the processor is busier and does less:
// 9–12 % more spans per CPU-second and 11–15 % more per wall second with
// four in flight, and no change with one (auditexporter README, "Mapping
// one batch at a time").
//
// Safe for concurrent use.
type mapSlots chan struct{}

// newMapSlots returns n slots; the exporter has one per processor
// (GOMAXPROCS when it is created), so that mapping still uses them all.
func newMapSlots(n int) mapSlots {
	return make(mapSlots, max(n, 1))
}

// enter waits for a slot, or for ctx to end, and then returns ctx's error
// without a slot.
func (s mapSlots) enter(ctx context.Context) error {
	// A free slot is taken even when ctx has ended, as it would be by a
	// push that never waits; select alone would pick either at random.
	select {
	case s <- struct{}{}:
		return nil
	default:
	}
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// leave gives back a slot taken with enter.
func (s mapSlots) leave() { <-s }
