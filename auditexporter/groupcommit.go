package auditexporter

import (
	"context"
	"slices"
	"sync"

	"github.com/otelaudit/otelaudit/auditlog"
)

// stager is what the group committer writes to: it stages recs in a
// store transaction and returns the transaction's commit, which the
// leader calls once it has passed leadership on, so that the next group
// is staged while this one's fsync runs (see auditlog.Txn).
type stager func(ctx context.Context, recs []*auditlog.Record) (commit func() (auditlog.AppendResult, error))

// storeStager stages on store: Begin, an Append for every partRecords
// records (which keeps the store's per-part scratch space at a part's
// size instead of a group's), and Commit to call later.
func storeStager(store *auditlog.Store) stager {
	return func(ctx context.Context, recs []*auditlog.Record) func() (auditlog.AppendResult, error) {
		txn, err := store.Begin(ctx)
		if err != nil {
			return func() (auditlog.AppendResult, error) { return auditlog.AppendResult{}, err }
		}
		for part := range slices.Chunk(recs, partRecords) {
			if txn.Append(part) != nil {
				break // Commit returns the error
			}
		}
		return txn.Commit
	}
}

// groupCommitter merges the batches of concurrent pushTraces calls into one
// store append, and so one fsync per chain, for all of them. The store
// stages one transaction at a time anyway; while one group is being
// written, the batches that arrive queue up, and the next of their
// callers writes them all at once, while the fsync of the group before
// runs. Every caller still returns only after the append that holds its
// records has returned, with that append's error.
//
// Leadership passes from caller to caller, so no caller writes more than
// one group beyond its own.
type groupCommitter struct {
	mu      sync.Mutex
	busy    bool       // a leader is appending
	waiting []*pending // batches for the next group, in arrival order

	// merged is the leader's scratch space for a group's records: only
	// the leader, one at a time, touches it.
	merged []*auditlog.Record
}

type pending struct {
	recs []*auditlog.Record
	// wake receives exactly one message: the outcome of the append that
	// held recs, or lead (nil result) to make this caller the next leader.
	wake chan outcome
}

type outcome struct {
	lead bool
	res  auditlog.AppendResult
	err  error
}

// errShared wraps the error of an append that wrote other callers' batches
// too: the failure may be theirs, so it never counts as permanent for this
// caller's batch.
type errShared struct{ err error }

func (e errShared) Error() string { return e.err.Error() }
func (e errShared) Unwrap() error { return e.err }

// commit appends recs, possibly together with other callers' batches. The
// result counts the whole group, so that telemetry, which sums results,
// counts each record once: only the caller that led the append gets it;
// the others get a zero result and the shared error. When the group held
// other batches, the error is wrapped in errShared.
func (g *groupCommitter) commit(ctx context.Context, write stager, recs []*auditlog.Record) (auditlog.AppendResult, error) {
	return g.commitPending(ctx, write, newPending(recs))
}

func newPending(recs []*auditlog.Record) *pending {
	return &pending{recs: recs, wake: make(chan outcome, 1)}
}

// commitPending is commit of p.recs, with p's wake channel empty, so that
// a caller can reuse p and its channel for its next batch. That is safe
// after any return but errAbandoned's: then p's channel is empty again
// and nothing sends to it any more.
func (g *groupCommitter) commitPending(ctx context.Context, write stager, p *pending) (auditlog.AppendResult, error) {
	g.mu.Lock()
	g.waiting = append(g.waiting, p)
	if g.busy {
		g.mu.Unlock()
		var o outcome
		select {
		case o = <-p.wake:
		case <-ctx.Done():
			// Giving up is safe: nothing was acknowledged. If a leader
			// writes these records anyway, a retry finds them duplicates.
			if g.withdraw(p) {
				// A leader holds recs and may still be encoding them: the
				// caller must leave them alone.
				return auditlog.AppendResult{}, errAbandoned{ctx.Err()}
			}
			return auditlog.AppendResult{}, ctx.Err()
		}
		if !o.lead {
			return o.res, o.err
		}
		g.mu.Lock()
	}
	// Lead one group: every batch waiting now, this caller's included.
	g.busy = true
	group := g.waiting
	g.waiting = nil
	g.mu.Unlock()

	all := p.recs
	if len(group) > 1 {
		all = g.merged[:0]
		for _, q := range group {
			all = append(all, q.recs...)
		}
	}
	// The group's write must not fail because this caller stops waiting
	// while others still are; the store checks the context only before it
	// starts writing.
	commit := write(context.WithoutCancel(ctx), all)
	if len(group) > 1 {
		// The store keeps no reference to the records once they are
		// staged. Kept for the next group unless one huge group made it
		// large; cleared, so as not to pin batches that leave the pool.
		clear(all)
		if cap(all) <= maxMergedRecords {
			g.merged = all[:0]
		}
	}
	// The next group is staged while this one's fsync runs.
	g.release()
	res, err := commit()
	if len(group) > 1 && err != nil {
		err = errShared{err}
	}
	for _, q := range group {
		if q != p {
			q.wake <- outcome{err: err}
		}
	}
	return res, err
}

// tryLead makes the caller the leader when no batch is being written or
// waiting, so that it can write its batch itself (as it maps it); it must
// then call release. It reports false when another caller leads.
func (g *groupCommitter) tryLead() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.busy {
		return false
	}
	g.busy = true
	return true
}

// release ends a leadership: the first waiting batch leads next, with all
// those waiting then, or no one leads.
func (g *groupCommitter) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.waiting) > 0 {
		g.waiting[0].wake <- outcome{lead: true} // busy stays true: leadership passes on
	} else {
		g.busy = false
	}
}

// maxMergedRecords bounds the merged scratch space the group committer
// keeps between groups: a few sending-queue consumers' worth of pooled
// batches.
const maxMergedRecords = 4 * maxPooledRecords

// errAbandoned is the error of a caller that stopped waiting while a leader
// had already taken its batch into a group: the leader may still be
// reading the records, so the caller must not reuse their memory.
type errAbandoned struct{ err error }

func (e errAbandoned) Error() string { return e.err.Error() }
func (e errAbandoned) Unwrap() error { return e.err }

// withdraw removes p from the waiting list. If the previous leader has
// already asked p to lead, leadership passes to the next waiting batch so
// that it is never lost. If a leader has already taken p's batch into its
// group, the outcome lands in p's buffered channel and is dropped, and
// withdraw reports true: the batch is still in use.
func (g *groupCommitter) withdraw(p *pending) (taken bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, q := range g.waiting {
		if q != p {
			continue
		}
		g.waiting = append(g.waiting[:i], g.waiting[i+1:]...)
		select {
		case o := <-p.wake:
			if o.lead {
				if len(g.waiting) > 0 {
					g.waiting[0].wake <- outcome{lead: true}
				} else {
					g.busy = false
				}
			}
		default:
		}
		return false
	}
	// Taken by a leader: its outcome, once sent, says it is done with
	// the records.
	select {
	case <-p.wake:
		return false
	default:
		return true
	}
}
