package auditlog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// ErrClosed is returned by Append and Checkpoint after Close.
var ErrClosed = errors.New("auditlog: store is closed")

// ErrInvalidRecord is wrapped by Append errors caused by the records
// themselves (for example a retention class that cannot name a chain);
// retrying the same records cannot succeed.
var ErrInvalidRecord = errors.New("auditlog: invalid record")

// AppendResult counts what one Append did.
type AppendResult struct {
	// Written is the number of records made durable.
	Written int
	// Duplicates is the number of records skipped because a record with
	// the same trace_id and span_id was already in the store (within the
	// dedup window) or earlier in the same batch.
	Duplicates int
}

// Store writes audit records into hash-chained, append-only segment
// files, one chain per retention class, with signed checkpoints. See the
// package README for the layout.
//
// A Store holds an exclusive lock on its directory: one writer process at
// a time. All methods are safe for concurrent use; appends are serialised.
type Store struct {
	dir  string
	opts options

	mu   sync.Mutex
	cond *sync.Cond // on mu: a transaction handed off or ended
	// staging is the transaction between Begin and its fsync (it holds
	// mu but while it waits on cond); syncing the one whose fsync runs.
	staging, syncing *Txn
	// syncQueued is whether every fsync of syncing was queued in the
	// kernel (see Txn.Commit): only then may the staging transaction
	// queue its own behind them.
	syncQueued bool
	chains     map[string]*chain
	dedup      *dedupSet
	// Append's scratch space: the keys of a batch's records, whether
	// each is a duplicate, and the log of the keys added to the window.
	keyScratch  []dedupKey
	dupScratch  []bool
	undoScratch []dedupUndo
	// groupScratch keeps the per-chain groups of the last batch, their
	// slices emptied, for the next; txnScratch the chains a transaction
	// touched, with their keys.
	groupScratch []appendGroup
	txnScratch   []txnChain
	lock         *os.File
	// The io_uring the store writes through, and the one it fsyncs
	// through (see ring); nil without io_uring or with a test's hooks.
	wring, sring *ring
	closed       bool

	stop chan struct{}
	done chan struct{}
}

// Open opens the store in dir, creating the directory (0700) if needed
// and taking group and other permissions away from it and from its chain
// directories if they have any (with a warning in the log),
// repairing any torn tail left by a crash and restoring every chain's
// position, Merkle state and the dedup window. WithOrigin and WithSigner
// are required.
func Open(dir string, opts ...Option) (*Store, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case o.origin == "":
		return nil, errors.New("auditlog: origin is required (WithOrigin)")
	case strings.ContainsAny(o.origin, "\n\r") || strings.TrimSpace(o.origin) != o.origin:
		return nil, fmt.Errorf("auditlog: origin %q must be one line without surrounding spaces", o.origin)
	case o.signer == nil:
		return nil, errors.New("auditlog: a signer is required (WithSigner)")
	case o.dedupWindow > MaxDedupWindow:
		return nil, fmt.Errorf("auditlog: dedup window %d is above the maximum, %d (48 bytes of memory a key)", o.dedupWindow, MaxDedupWindow)
	}
	if err := CheckChainName(o.defaultChain); err != nil {
		return nil, fmt.Errorf("auditlog: default chain %q is not a valid chain name: %w", o.defaultChain, err)
	}
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	tightenDir(dir, o.logger)
	if err := syncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	// A verifier asks whether a writer holds the store by taking a shared
	// lock for one system call (see WriterHolds): that is waited out; a
	// writer holding it is not.
	err = lockExclusive(lock)
	for try := 0; err != nil && try < 20; try++ {
		time.Sleep(5 * time.Millisecond)
		err = lockExclusive(lock)
	}
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("auditlog: store %s is in use by another process: %w", dir, err)
	}
	// The prune lock exists from the start, so that readers hold it
	// (HoldPrunes) against the first prune too.
	if f, err := os.OpenFile(filepath.Join(dir, pruneLockFile), os.O_RDONLY|os.O_CREATE, fileMode); err == nil {
		f.Close()
	}
	s := &Store{dir: dir, opts: o, chains: map[string]*chain{}, lock: lock, dedup: newDedupSet(o.dedupWindow)}
	s.cond = sync.NewCond(&s.mu)
	if s.opts.writeBusy == nil {
		s.opts.writeBusy = plainWrite
	}
	if s.opts.writeIdle == nil {
		s.opts.writeIdle = plainWrite
		if r, err := newRing(o.logger, o.ringCancelAfter); err == nil {
			s.wring, s.opts.writeIdle = r, r.write
		} else {
			o.logger.Debug("writing through io_uring unavailable; using write(2)", zap.Error(err))
		}
	}
	if s.opts.writeDirect == nil {
		s.opts.writeDirect = submitNow(s.opts.writeIdle)
		if s.wring != nil {
			s.opts.writeDirect = s.wring.startAppend
		}
	}
	if s.opts.syncFile == nil {
		s.opts.syncFile = (*os.File).Sync
		// Its fsyncs are never cancelled (see ring.await): the
		// watchdog's wait is the write ring's only.
		if r, err := newRing(o.logger, 0); err == nil {
			s.sring, s.opts.syncFile = r, r.sync
			if s.opts.syncAfter == nil {
				s.opts.syncAfter = r.syncAfter
			}
		} else {
			o.logger.Debug("fsync through io_uring unavailable; using fsync(2)", zap.Error(err))
		}
	}
	names, err := listChains(dir)
	if err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	for _, name := range names {
		tightenDir(filepath.Join(dir, name), o.logger)
		c, err := loadChain(dir, name, &s.opts)
		if err != nil {
			s.closeFiles()
			return nil, fmt.Errorf("auditlog: %w", err)
		}
		s.chains[name] = c
	}
	if err := s.loadDedup(); err != nil {
		s.closeFiles()
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	if o.checkpointInterval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.ticker()
	}
	return s, nil
}

// loadDedup fills the dedup window with the keys of the newest records of
// every chain, so that a span redelivered across a restart is still
// recognised.
func (s *Store) loadDedup() error {
	if s.dedup == nil {
		return nil
	}
	window := s.opts.dedupWindow
	per := window / max(1, len(s.chains))
	for _, c := range s.sortedChains() {
		segs, err := c.segments()
		if err != nil {
			return err
		}
		var keys [][]dedupKey // newest segment first
		total := 0
		for i := len(segs) - 1; i >= 0 && total < per; i-- {
			var ks []dedupKey
			err := ReadSegmentFile(c.path(segs[i]), func(r *Record, _ []byte) error {
				if k, ok := s.dedup.key(r); ok {
					ks = append(ks, k)
				}
				return nil
			})
			if err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("chain %q: reading %s for the dedup window: %w", c.name, segs[i], err)
			}
			keys = append(keys, ks)
			total += len(ks)
		}
		for i := len(keys) - 1; i >= 0; i-- {
			ks := keys[i]
			if total > per { // keep only the newest per keys
				drop := min(len(ks), total-per)
				ks, total = ks[drop:], total-drop
			}
			for _, k := range ks {
				s.dedup.add(k, window)
			}
		}
	}
	return nil
}

func (s *Store) sortedChains() []*chain {
	names := make([]string, 0, len(s.chains))
	for n := range s.chains {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([]*chain, len(names))
	for i, n := range names {
		out[i] = s.chains[n]
	}
	return out
}

// Append writes recs durably. Each record goes to the chain named by its
// Retention.Class (the default chain when empty); records whose
// (trace_id, span_id) was already written, or appears earlier in recs, are
// skipped. Append fills V, ChainID, Seq, PrevHash and Hash of the records
// it writes (and Retention.Class when empty), writes each touched chain's
// records with one write and one fsync (group commit), and returns only
// when they are durable. It is a transaction of one part (see Begin).
//
// On a write or fsync error (a full disk, an I/O error) the affected
// chains are cut back to their last durable state and the error is
// returned (it wraps the syscall error, e.g. syscall.ENOSPC). Chains are
// fsynced in name order: records of chains whose fsync succeeded before
// the failure are durable and counted in the result, and are skipped as
// duplicates when the caller retries the batch. Errors that wrap
// ErrInvalidRecord are not worth retrying. Nothing is written when ctx is
// already done.
func (s *Store) Append(ctx context.Context, recs []*Record) (AppendResult, error) {
	t, err := s.Begin(ctx)
	if err != nil {
		return AppendResult{}, err
	}
	_ = t.Append(recs) // Commit returns the error
	return t.Commit()
}

// nextGroup appends the group of chain name to groups, taking the slices
// of a recycled group when there is one, sized for the n records left.
func nextGroup(groups []appendGroup, name string, n int) []appendGroup {
	if len(groups) < cap(groups) {
		groups = groups[:len(groups)+1]
		g := &groups[len(groups)-1]
		g.name, g.recs, g.keys = name, slices.Grow(g.recs[:0], n), slices.Grow(g.keys[:0], n)
		return groups
	}
	return append(groups, appendGroup{name: name, recs: make([]*Record, 0, n), keys: make([]dedupKey, 0, n)})
}

// recycleGroups empties the groups for the next batch, dropping their
// records (which must not stay reachable from the store) and any slice
// too large to keep.
func recycleGroups(groups []appendGroup) []appendGroup {
	for i := range groups {
		g := &groups[i]
		clear(g.recs)
		g.name, g.recs, g.keys = "", g.recs[:0], g.keys[:0]
		if cap(g.recs) > maxPooledKeys {
			g.recs, g.keys = nil, nil
		}
	}
	return groups[:0]
}

// maxPooledKeys bounds the scratch space Append keeps between calls, so
// that one huge batch does not pin its memory.
const maxPooledKeys = 1 << 16

// undoDedup takes the keys of a transaction that failed out of the dedup
// window again, and then adds back those of the chains that were written,
// so that the window holds what it would hold had only they been appended.
func (s *Store) undoDedup(undo []dedupUndo, written []txnChain) {
	if s.dedup == nil {
		return
	}
	s.dedup.undo(undo)
	for _, c := range written {
		for _, k := range c.keys {
			s.dedup.add(k, s.opts.dedupWindow)
		}
	}
}

// appendGroup is the part of a transaction's part bound for one chain.
type appendGroup struct {
	name string
	recs []*Record
	keys []dedupKey // dedup keys of recs
}

// chain returns the writer of the named chain, creating its directory on
// first use.
func (s *Store) chain(name string) (*chain, error) {
	if c, ok := s.chains[name]; ok {
		return c, nil
	}
	c, err := loadChain(s.dir, name, &s.opts)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	s.chains[name] = c
	return c, nil
}

// Checkpoint writes a signed checkpoint for every chain with records added
// since its last checkpoint, after fsyncing the tree files.
func (s *Store) Checkpoint() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	return s.checkpointLocked(false)
}

// checkpointLocked seals segments past their max age (when sealAged) and
// checkpoints every chain.
func (s *Store) checkpointLocked(sealAged bool) error {
	var errs []error
	now := s.opts.clock()
	for _, c := range s.sortedChains() {
		// A transaction waiting for an fsync may have written to the
		// chain: reloading or sealing waits until it is done (a broken
		// chain is checkpointed once reloaded). The checkpoint covers
		// only durable records either way.
		busy := c.txn.active || c.flight.active
		if c.broken != nil {
			if busy {
				continue
			}
			if err := c.reload(); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if sealAged && !busy && c.sealDue(now, 0) {
			if err := c.seal(); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := c.checkpoint(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("auditlog: %w", err)
	}
	return nil
}

func (s *Store) ticker() {
	defer close(s.done)
	t := time.NewTicker(s.opts.checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if !s.closed {
				if err := s.checkpointLocked(true); err != nil {
					s.opts.logger.Warn("periodic checkpoint failed", zap.Error(err))
				}
			}
			s.mu.Unlock()
		}
	}
}

// Close writes final checkpoints, closes all files and releases the
// directory lock. The active segments stay open for appending by the next
// Open. Close is idempotent; later calls return nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.staging != nil || s.syncing != nil {
		s.cond.Wait()
	}
	err := s.checkpointLocked(false)
	return errors.Join(err, s.closeFiles())
}

func (s *Store) closeFiles() error {
	var errs []error
	for _, c := range s.chains {
		errs = append(errs, c.closeFiles())
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close())
		s.lock = nil
	}
	for _, r := range []**ring{&s.wring, &s.sring} {
		if *r != nil {
			errs = append(errs, (*r).close())
			*r = nil
		}
	}
	return errors.Join(errs...)
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }
