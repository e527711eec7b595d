package auditlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// errTxnDone is the error of a Txn used after Commit or Abort.
var errTxnDone = errors.New("auditlog: transaction already committed or aborted")

// Txn is an Append made in parts: each Append stages its records (skips
// duplicates, encodes and hashes them) and Commit makes them durable with
// one fsync per chain. A writer that builds its records as it goes (the
// exporter maps spans) can hand them over a few hundred at a time, while
// the records and the data they point to are still in the CPU's cache,
// and still pay for one fsync. Where segments take direct writes (see
// directWriter), each part's text goes to the chain's direct writer, which
// submits it 256 KiB at a time. Otherwise, a part staged while the
// previous transaction's fsync runs is written at once, and the text of
// one staged with no fsync running waits in memory for Commit, which
// writes it in one write per chain (and a transaction writes it early
// once it holds 8 MiB).
//
// Nothing of a transaction is durable before Commit returns, and if a
// part fails, the transaction writes nothing: Commit then cuts back what
// the parts wrote and returns the error.
//
// One transaction stages at a time: it holds the store's lock from Begin
// until Commit hands its writes to the fsync, or until Abort, so other
// transactions, checkpoints and Close wait; use it from one goroutine and
// keep it short. Commit writes the text while the previous transaction's
// fsync runs; its own fsync runs without the lock: the next transaction
// stages its records behind those being fsynced (on one core, its CPU
// work overlaps the disk's), and its own fsync starts once the previous
// one has returned (queued in the kernel behind it, where the store
// fsyncs through io_uring). Should that earlier fsync fail, the
// transaction staged behind it fails too and writes nothing.
type Txn struct {
	s      *Store
	res    AppendResult
	err    error       // the first failure: Commit cuts everything back
	undo   []dedupUndo // every key the transaction put in the dedup window
	chains []txnChain
	done   bool
	cut    bool // cut back already (see cutBack)
}

// txnChain is what a transaction staged on one chain: how many records,
// and their dedup keys, to put back in the window should a later chain's
// fsync fail after this one's succeeded.
type txnChain struct {
	name string
	n    int
	keys []dedupKey
}

// Begin starts a transaction, once the transaction staging before it (if
// any) has handed its writes to the fsync. It fails when ctx is already
// done or the store is closed; otherwise the caller must end it with
// Commit or Abort.
func (s *Store) Begin(ctx context.Context) (*Txn, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	for s.staging != nil && !s.closed {
		s.cond.Wait()
	}
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	// The scratch space becomes the transaction's until it ends: the
	// transaction in flight may still need its own.
	t := &Txn{s: s, undo: s.undoScratch[:0], chains: s.txnScratch[:0]}
	s.undoScratch, s.txnScratch = nil, nil
	s.staging = t
	return t, nil
}

// Append stages recs as Store.Append writes them, without the fsync (and,
// unless the previous transaction's fsync is running, without the write):
// duplicates (of the store's window, of the transaction's earlier parts
// or within recs) are skipped, and the records of each chain are encoded
// and hashed. Each part is checked against the dedup window as it was
// before that part. Append fills the same fields of recs as
// Store.Append; the store keeps no reference to recs or their strings once
// it returns, so the caller may reuse them for the next part.
//
// After an error (an invalid record, a failed write) the transaction can
// only fail: later parts are ignored and Commit returns the error.
func (t *Txn) Append(recs []*Record) error {
	if t.done {
		return errTxnDone
	}
	if t.err != nil {
		return t.err
	}
	if err := t.stage(recs); err != nil {
		t.err = err
	}
	return t.err
}

func (t *Txn) stage(recs []*Record) error {
	s := t.s
	// The part's dedup keys first, in a loop of their own; then admit
	// looks them all up and puts the new ones in the window. All of it is
	// logged and undone if the transaction is not written after all (see
	// undoDedup).
	var keys []dedupKey
	var dup []bool
	if s.dedup != nil {
		keys, dup = s.keyScratch[:0], s.dupScratch[:0]
		for _, r := range recs {
			var k dedupKey // zero: no key
			if r != nil {
				k, _ = s.dedup.key(r)
			}
			keys = append(keys, k)
		}
		dup, t.undo = s.dedup.admit(keys, dup, s.opts.dedupWindow, t.undo)
		if cap(keys) <= maxPooledKeys {
			s.keyScratch, s.dupScratch = keys, dup
		}
	}
	// Group by chain. Batches mostly go to one, so the group of the
	// previous record is tried first.
	groups := s.groupScratch[:0]
	defer func() { s.groupScratch = recycleGroups(groups) }()
	cur := -1
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("%w: record %d is nil", ErrInvalidRecord, i)
		}
		name := r.Retention.Class
		if name == "" {
			name = s.opts.defaultChain
		}
		if cur < 0 || groups[cur].name != name {
			cur = slices.IndexFunc(groups, func(g appendGroup) bool { return g.name == name })
			if cur < 0 {
				if err := CheckChainName(name); err != nil {
					return fmt.Errorf("%w: record %d: retention class %w", ErrInvalidRecord, i, err)
				}
				groups = nextGroup(groups, name, len(recs)-i)
				cur = len(groups) - 1
			}
		}
		g := &groups[cur]
		if s.dedup != nil {
			if dup[i] {
				t.res.Duplicates++
				continue
			}
			if k := keys[i]; k != (dedupKey{}) {
				g.keys = append(g.keys, k)
			}
		}
		g.recs = append(g.recs, r)
	}
	for _, g := range groups {
		c, err := s.chain(g.name)
		if err != nil {
			return err
		}
		// A chain to reload or a segment to seal waits for the fsync in
		// flight, which may fail this transaction meanwhile.
		for c.mustWait() {
			s.cond.Wait()
			if t.err != nil {
				return t.err
			}
		}
		// The transaction's entry for the chain, which keeps the keys
		// of every part for undoDedup.
		j := slices.IndexFunc(t.chains, func(tc txnChain) bool { return tc.name == g.name })
		if j < 0 {
			if len(t.chains) < cap(t.chains) {
				t.chains = t.chains[:len(t.chains)+1] // a recycled entry, keys emptied
			} else {
				t.chains = append(t.chains, txnChain{})
			}
			j = len(t.chains) - 1
			t.chains[j].name = g.name
		}
		tc := &t.chains[j]
		tc.keys = append(tc.keys, g.keys...)
		tc.n += len(g.recs)
		if err := c.stage(g.recs); err != nil {
			return fmt.Errorf("auditlog: %w", err)
		}
	}
	return nil
}

// Commit fsyncs every chain the transaction wrote to, in name order, and
// ends the transaction. The result and the error are Store.Append's: when
// a part failed, nothing is written and that error is returned; when an
// fsync fails, the chains fsynced before it are durable and counted.
//
// Commit first waits for the fsync of the transaction before it, then
// lets the next transaction begin and fsyncs without the store's lock.
func (t *Txn) Commit() (AppendResult, error) {
	if t.done {
		return AppendResult{}, errTxnDone
	}
	t.done = true
	s := t.s
	slices.SortFunc(t.chains, func(a, b txnChain) int { return strings.Compare(a.name, b.name) })
	// The text not written yet, one write per chain, while the fsync
	// before, if any, runs: the transaction before wrote all of its own
	// before its fsync.
	for _, tc := range t.chains {
		if t.err != nil {
			break
		}
		if err := s.chains[tc.name].writeStaged(s.writer(s.syncing != nil), true); err != nil {
			t.err = fmt.Errorf("auditlog: %w", err)
		}
	}
	// With the previous transaction's fsync running, this one's are
	// queued now, to start in the kernel once that one returns.
	var waits []func() error
	if t.err == nil && s.syncing != nil && s.syncQueued {
		waits = s.queueSyncs(nil, t.segments())
	}
	// The previous transaction's records come first in the files: its
	// fsync must have succeeded before this one's can count.
	for t.err == nil && s.syncing != nil {
		s.cond.Wait()
	}
	if t.err != nil {
		for _, wait := range waits {
			if wait != nil {
				_ = wait() // it ran after the failed fsync; nothing counts
			}
		}
		t.cutBack(t.err)
		s.staging = nil
		t.release()
		return t.res, t.err
	}
	files := make([]*os.File, len(t.chains))
	for i, tc := range t.chains {
		files[i] = s.chains[tc.name].handoff()
	}
	s.syncing, s.staging = t, nil
	// The fsyncs not queued yet are queued before the lock goes: the next
	// transaction queues its own behind them (IOSQE_IO_DRAIN orders an
	// fsync after those submitted before it only), and two fsyncs of one
	// file at once could leave the write-back error this one must report
	// to the other.
	waits = s.queueSyncs(waits, files)
	// Should one not be queued (the ring broken, no descriptor left),
	// the next transaction's wait until these have returned.
	s.syncQueued = len(waits) == len(files)
	s.cond.Broadcast()
	s.mu.Unlock()

	failed, err := len(t.chains), error(nil)
	for i, f := range files {
		if f == nil {
			continue
		}
		if i < len(waits) && waits[i] != nil {
			err = waits[i]()
			waits[i] = nil
		} else {
			err = s.opts.syncFile(f)
		}
		if err != nil {
			failed = i
			err = fmt.Errorf("chain %q: syncing %d records: %w", t.chains[i].name, t.chains[i].n, err)
			break
		}
	}
	for _, wait := range waits {
		if wait != nil {
			_ = wait() // submitted before a chain's fsync failed: not counted
		}
	}

	s.mu.Lock()
	if err != nil {
		// The transaction staged meanwhile wrote after these records,
		// and its dedup keys went into the window after these: it is cut
		// back first.
		if n := s.staging; n != nil {
			if n.err == nil {
				n.err = fmt.Errorf("auditlog: the transaction before failed: %w", err)
			}
			n.cutBack(n.err)
		}
	}
	for i, tc := range t.chains {
		c := s.chains[tc.name]
		if i < failed {
			c.commitFlight(s.writer(s.staging != nil))
			t.res.Written += tc.n
		} else {
			c.abortFlight(err)
		}
	}
	if err != nil {
		s.undoDedup(t.undo, t.chains[:failed])
		err = fmt.Errorf("auditlog: %w", err)
	}
	s.syncing = nil
	t.release()
	return t.res, err
}

// segments returns the file of each chain the transaction wrote to that
// Commit fsyncs (chain.stagedFile), in the order of t.chains.
func (t *Txn) segments() []*os.File {
	files := make([]*os.File, len(t.chains))
	for i, tc := range t.chains {
		files[i] = t.s.chains[tc.name].stagedFile()
	}
	return files
}

// queueSyncs queues in the kernel the fsyncs of files, from the first
// waits holds no wait for on, each to start once the operations submitted
// before it have completed (see ring.syncAfter), and returns waits with
// the wait for each (nil for a nil file). It stops at the first it cannot
// queue, and queues nothing where the store cannot: Commit fsyncs the
// rest itself. The caller holds s.mu.
//
// Queued this way, the next transaction's fsync starts as soon as the one
// before returns, instead of once Commit has seen that and taken the
// store's lock: on one core, the goroutines mapping the next batches held
// the processor for milliseconds meanwhile, and the disk sat idle.
func (s *Store) queueSyncs(waits []func() error, files []*os.File) []func() error {
	if s.opts.syncAfter == nil {
		return waits
	}
	for _, f := range files[len(waits):] {
		if f == nil {
			waits = append(waits, nil)
			continue
		}
		wait, err := s.opts.syncAfter(f)
		if err != nil {
			break
		}
		waits = append(waits, wait)
	}
	return waits
}

// Abort cuts back everything the transaction wrote and ends it. It does
// nothing after Commit, so it can be deferred.
func (t *Txn) Abort() {
	if t.done {
		return
	}
	t.done = true
	t.cutBack(errors.New("transaction aborted"))
	t.s.staging = nil
	t.release()
}

// cutBack aborts the staging of every chain the transaction wrote to and
// takes its keys out of the dedup window, once: the transaction before
// may have done it already, should its fsync have failed.
func (t *Txn) cutBack(cause error) {
	if t.cut {
		return
	}
	t.cut = true
	for _, tc := range t.chains {
		if c := t.s.chains[tc.name]; c != nil {
			c.abortStaged(cause)
		}
	}
	t.s.undoDedup(t.undo, nil)
}

// release hands the scratch space back to the store, wakes whoever waits
// for the transaction to end and unlocks the store.
func (t *Txn) release() {
	s := t.s
	if cap(t.undo) <= maxPooledKeys && cap(t.undo) > cap(s.undoScratch) {
		s.undoScratch = t.undo[:0]
	}
	for i := range t.chains {
		c := &t.chains[i]
		c.name, c.n, c.keys = "", 0, c.keys[:0]
		if cap(c.keys) > maxPooledKeys {
			c.keys = nil
		}
	}
	if cap(t.chains) >= cap(s.txnScratch) {
		s.txnScratch = t.chains[:0]
	}
	t.undo, t.chains = nil, nil
	s.cond.Broadcast()
	s.mu.Unlock()
}

// writer is the write to use next: write(2) when the store is busy (a
// transaction's fsync runs while another stages), so that Go's scheduler
// monitor is awake anyway, else the one that makes no system call of
// Go's (see ring and chainTxn).
func (s *Store) writer(busy bool) writeFunc {
	if busy {
		return s.opts.writeBusy
	}
	return s.opts.writeIdle
}
