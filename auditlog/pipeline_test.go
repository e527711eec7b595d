package auditlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// gatedSyncs holds every segment fsync until the test lets it through,
// with the real fsync (nil) or an error, and notes if two ever ran at once.
type gatedSyncs struct {
	entered chan string // a segment fsync has started: its chain
	release chan error
	running atomic.Int32
	overlap atomic.Bool
	open    atomic.Bool // let every fsync through at once

	// For syncAfter: fsyncs queued while a segment fsync was held, and
	// queued fsyncs not waited for yet; the chain of each fsync queued,
	// in order.
	queuedBehind, unwaited atomic.Int32
	mu                     sync.Mutex
	queuedChains           []string
}

// syncAfter is the store's queued fsync, as the ring's: queued at once,
// run (through sync, held as any other) when its wait comes.
func (g *gatedSyncs) syncAfter(f *os.File) (func() error, error) {
	if g.running.Load() > 0 {
		g.queuedBehind.Add(1)
	}
	g.unwaited.Add(1)
	g.mu.Lock()
	g.queuedChains = append(g.queuedChains, filepath.Base(filepath.Dir(f.Name())))
	g.mu.Unlock()
	return func() error {
		defer g.unwaited.Add(-1)
		return g.sync(f)
	}, nil
}

// options are the store options that fsync through g: with queued, the
// next transaction's fsyncs are queued behind the one in flight.
func (g *gatedSyncs) options(queued bool) []Option {
	if queued {
		return []Option{withSyncFile(g.sync), withSyncAfter(g.syncAfter)}
	}
	return []Option{withSyncFile(g.sync)}
}

// checkQueued fails the test if a queued fsync was never waited for, or
// if queuing was expected (queued) and no fsync was ever queued behind
// one in flight, or unexpected and one was.
func (g *gatedSyncs) checkQueued(t *testing.T, queued bool) {
	t.Helper()
	if n := g.unwaited.Load(); n != 0 {
		t.Fatalf("%d queued fsyncs never waited for", n)
	}
	if got := g.queuedBehind.Load() > 0; got != queued {
		t.Fatalf("fsyncs queued behind the one in flight: %v, want %v", got, queued)
	}
}

func newGatedSyncs() *gatedSyncs {
	return &gatedSyncs{entered: make(chan string, 8), release: make(chan error)}
}

func (g *gatedSyncs) sync(f *os.File) error {
	if filepath.Ext(f.Name()) != ".jsonl" || g.open.Load() {
		return f.Sync()
	}
	if g.running.Add(1) > 1 {
		g.overlap.Store(true)
	}
	defer g.running.Add(-1)
	g.entered <- filepath.Base(filepath.Dir(f.Name()))
	if err := <-g.release; err != nil {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: err}
	}
	return f.Sync()
}

// started waits for the next segment fsync, which must be chain's, to
// start, and leaves it held.
func (g *gatedSyncs) started(t *testing.T, chain string) {
	t.Helper()
	select {
	case got := <-g.entered:
		if got != chain {
			t.Fatalf("fsync of chain %q, want %q", got, chain)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no fsync of chain %q started", chain)
	}
}

// let waits for the next segment fsync, of chain, and ends it with err.
func (g *gatedSyncs) let(t *testing.T, chain string, err error) {
	t.Helper()
	g.started(t, chain)
	g.release <- err
}

type commitResult struct {
	res AppendResult
	err error
}

// commitInBackground commits txn in a goroutine and waits until the
// commit either waits for the fsync before it or has handed its own
// writes over (the next transaction can begin).
func commitInBackground(t *testing.T, s *Store, txn *Txn) <-chan commitResult {
	t.Helper()
	done := make(chan commitResult, 1)
	go func() {
		res, err := txn.Commit()
		done <- commitResult{res, err}
	}()
	for deadline := time.Now().Add(30 * time.Second); ; {
		s.mu.Lock()
		waiting := txn.done && (s.staging != txn || s.syncing != nil)
		s.mu.Unlock()
		if waiting {
			return done
		}
		if time.Now().After(deadline) {
			t.Fatal("the commit did not start")
		}
		time.Sleep(time.Millisecond)
	}
}

func receive(t *testing.T, ch <-chan commitResult) commitResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the commit did not return")
		return commitResult{}
	}
}

// beginStaged begins a transaction and stages recs, which must succeed.
func beginStaged(t *testing.T, s *Store, recs []*Record) *Txn {
	t.Helper()
	txn, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Append(recs); err != nil {
		t.Fatal(err)
	}
	return txn
}

// TestPipelinedCommit stages a transaction while the one before it is
// being fsynced: the second begins and writes at once, its fsync starts
// only once the first has returned, and the store ends up byte for byte
// as if the two had been appended one after the other, also across a
// seal that has to wait for the fsync in flight.
func TestPipelinedCommit(t *testing.T) {
	k := newTestKeys(t, "test")
	first := append(testRecords(0, 20, "general"), testRecords(100, 5, "financial")...)
	second := append(testRecords(20, 20, "general"), testRecord(20, "general"))          // one repeat
	third := append(testRecords(40, 20, "general"), testRecords(105, 5, "financial")...) // seals general
	var files [3]map[string][]byte
	for i, mode := range []string{"sequential", "pipelined", "pipelined, fsyncs queued"} {
		pipelined, queued := i > 0, i > 1
		dir := t.TempDir()
		g := newGatedSyncs()
		opts := []Option{WithSegmentMaxBytes(32 << 10)}
		if pipelined {
			opts = append(opts, g.options(queued)...)
		}
		s := openTestStore(t, dir, k, opts...)
		if !pipelined {
			for _, b := range [][]*Record{first, second, third} {
				appendOK(t, s, b)
			}
		} else {
			c1 := commitInBackground(t, s, beginStaged(t, s, first))
			g.let(t, "financial", nil)
			// financial is durable, general's fsync runs: the next
			// transaction begins and stages behind it.
			g.started(t, "general")
			t2 := beginStaged(t, s, second)
			c2 := commitInBackground(t, s, t2)
			g.release <- nil // general's fsync of the first
			if r := receive(t, c1); r.err != nil || r.res.Written != 25 {
				t.Fatalf("first: %+v %v", r.res, r.err)
			}
			// The third seals general's full segment: it waits for the
			// second's fsync, which runs now.
			c3 := make(chan commitResult, 1)
			go func() {
				txn, err := s.Begin(context.Background())
				if err == nil {
					err = txn.Append(third)
				}
				if err != nil {
					c3 <- commitResult{err: err}
					return
				}
				res, err := txn.Commit()
				c3 <- commitResult{res, err}
			}()
			g.let(t, "general", nil)
			if r := receive(t, c2); r.err != nil || r.res != (AppendResult{Written: 20, Duplicates: 1}) {
				t.Fatalf("second: %+v %v", r.res, r.err)
			}
			g.let(t, "financial", nil)
			g.let(t, "general", nil)
			if r := receive(t, c3); r.err != nil || r.res.Written != 25 {
				t.Fatalf("third: %+v %v", r.res, r.err)
			}
			if g.overlap.Load() {
				t.Fatalf("%s: two segment fsyncs ran at once", mode)
			}
			g.checkQueued(t, queued)
			if queued {
				// Every fsync queued, each transaction's own before the
				// lock goes: the second's, queued ahead, comes after the
				// first's, behind which the kernel is to run it.
				want := []string{"financial", "general", "general", "financial", "general"}
				if !slices.Equal(g.queuedChains, want) {
					t.Fatalf("fsyncs queued for %v, want %v", g.queuedChains, want)
				}
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(dir, k.verifiers, VerifyFull())
		if err != nil || !rep.OK() || rep.Records != 70 {
			t.Fatalf("verify: %v, %d records\n%s", err, rep.Records, findingsText(rep))
		}
		files[i] = storeFiles(t, dir)
	}
	sameFiles(t, [2]map[string][]byte{files[0], files[1]}, "sequential", "pipelined commits")
	sameFiles(t, [2]map[string][]byte{files[0], files[2]}, "sequential", "pipelined commits with queued fsyncs")
}

// TestPipelinedFailure fails one of two overlapping transactions in each
// way: when the first one's fsync fails, the second, staged after it
// (wholly, or waiting to seal a segment), fails too and neither leaves a
// record or a dedup key behind; when the second fails on its own, the
// first is durable all the same. Retried, everything is written once and
// the store verifies.
func TestPipelinedFailure(t *testing.T) {
	bad := testRecord(999, "general")
	bad.Retention.Class = "no/such chain"
	for _, tc := range []pipelinedFailure{
		{name: "first fsync fails", maxBytes: 1 << 20, firstErr: syscall.EIO,
			secondParts: [][]*Record{testRecords(40, 20, "general")}, wantFirst: syscall.EIO, wantSecond: syscall.EIO},
		{name: "first fsync fails while the second waits to seal", maxBytes: 8 << 10, firstErr: syscall.EIO,
			secondParts: [][]*Record{testRecords(40, 20, "general")}, wantFirst: syscall.EIO, wantSecond: syscall.EIO},
		{name: "second fails on its own", maxBytes: 1 << 20,
			secondParts: [][]*Record{testRecords(40, 20, "general"), {bad}}, wantSecond: ErrInvalidRecord},
	} {
		for _, queued := range []bool{false, true} {
			name := tc.name
			if queued {
				name += ", fsyncs queued"
			}
			t.Run(name, func(t *testing.T) { testPipelinedFailure(t, tc, queued) })
		}
	}
}

// pipelinedFailure is a case of TestPipelinedFailure.
type pipelinedFailure struct {
	name        string
	maxBytes    int64
	firstErr    error // what the first's fsync returns
	secondParts [][]*Record
	wantFirst   error
	wantSecond  error
}

func testPipelinedFailure(t *testing.T, tc pipelinedFailure, queued bool) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	g := newGatedSyncs()
	s := openTestStore(t, dir, k, append(g.options(queued), WithSegmentMaxBytes(tc.maxBytes))...)
	// 20 durable records first.
	g.open.Store(true)
	appendOK(t, s, testRecords(0, 20, "general"))
	g.open.Store(false)
	before := storeFiles(t, dir)

	firstRecs := testRecords(20, 20, "general")
	c1 := commitInBackground(t, s, beginStaged(t, s, firstRecs))
	g.started(t, "general") // the first's fsync runs
	// The second stages behind it, in a goroutine: with a full
	// segment it waits for the first's fsync before it seals.
	c2 := make(chan commitResult, 1)
	go func() {
		txn, err := s.Begin(context.Background())
		if err != nil {
			c2 <- commitResult{err: err}
			return
		}
		for _, p := range tc.secondParts {
			if txn.Append(p) != nil {
				break
			}
		}
		res, err := txn.Commit()
		c2 <- commitResult{res, err}
	}()
	// Wait until the second has begun: it waits for the first's
	// fsync, in Commit or before sealing, or has failed.
	for deadline := time.Now().Add(30 * time.Second); tc.firstErr != nil; {
		s.mu.Lock()
		begun := s.staging != nil
		s.mu.Unlock()
		if begun {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second transaction did not begin")
		}
		time.Sleep(time.Millisecond)
	}
	if tc.firstErr == nil {
		// Let the second fail first, then the first's fsync go.
		if r := receive(t, c2); !errors.Is(r.err, tc.wantSecond) || r.res.Written != 0 {
			t.Fatalf("second: %+v %v, want %v", r.res, r.err, tc.wantSecond)
		}
		g.release <- nil
	} else {
		g.release <- tc.firstErr
		// The rollback of the first fsyncs the cut.
		g.let(t, "general", nil)
		if queued && tc.maxBytes >= 1<<20 {
			// The second's queued fsync runs all the same, and
			// the second waits for it before it fails.
			g.let(t, "general", nil)
		}
		if r := receive(t, c2); !errors.Is(r.err, tc.wantSecond) || r.res.Written != 0 {
			t.Fatalf("second: %+v %v, want %v", r.res, r.err, tc.wantSecond)
		}
	}
	r1 := receive(t, c1)
	if !errors.Is(r1.err, tc.wantFirst) {
		t.Fatalf("first: %+v %v, want %v", r1.res, r1.err, tc.wantFirst)
	}
	want := 20
	if tc.wantFirst == nil {
		if r1.res.Written != 20 {
			t.Fatalf("first wrote %d, want 20", r1.res.Written)
		}
		want += 20
	} else {
		after := storeFiles(t, dir)
		for name, b := range before {
			if !bytes.Equal(b, after[name]) {
				t.Fatalf("the failed transactions changed %s", name)
			}
		}
	}
	if got := len(readChain(t, dir, "general")); got != want {
		t.Fatalf("general holds %d records, want %d", got, want)
	}

	// Retried: nothing of a failed transaction counts as a
	// duplicate, nothing durable is written twice.
	g.open.Store(true)
	retry := append(slices.Clone(firstRecs), testRecords(40, 20, "general")...)
	res, err := s.Append(context.Background(), retry)
	if err != nil || res.Written != 60-want || res.Duplicates != want-20 {
		t.Fatalf("retry: %+v %v, want %d written and %d duplicates", res, err, 60-want, want-20)
	}
	goOnAndVerify(t, s, dir, k, 3000, 3, 60)
	// Queued only where the second got as far as its commit
	// while the first's fsync was held.
	g.checkQueued(t, queued && tc.wantSecond != ErrInvalidRecord && tc.maxBytes >= 1<<20)
}

// TestCloseWaitsForFsync closes the store while a commit's fsync runs:
// Close returns once it has, with the records durable and checkpointed.
func TestCloseWaitsForFsync(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	g := newGatedSyncs()
	s := openTestStore(t, dir, k, withSyncFile(g.sync))
	c1 := commitInBackground(t, s, beginStaged(t, s, testRecords(0, 20, "general")))
	<-g.entered
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	g.release <- nil
	if r := receive(t, c1); r.err != nil || r.res.Written != 20 {
		t.Fatalf("commit: %+v %v", r.res, r.err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, k.verifiers, VerifyFull())
	if err != nil || !rep.OK() || rep.Records != 20 || len(rep.Chains) != 1 || rep.Chains[0].CheckpointSize != 20 {
		t.Fatalf("verify: %v, %d records, chains %+v\n%s", err, rep.Records, rep.Chains, findingsText(rep))
	}
}

// TestConcurrentAppends appends from many goroutines at once, to two
// chains, with small segments (seals while fsyncs are in flight) and a
// short checkpoint interval: every record is written once, in a chain
// that verifies.
func TestConcurrentAppends(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(32<<10), WithCheckpointInterval(5*time.Millisecond))
	const writers, batches, size = 8, 15, 10
	runWriters(t, writers, func(w int) error {
		for b := range batches {
			from := (w*batches + b) * size
			recs := testRecords(from, size, []string{"general", "financial"}[b%2])
			// Half of them again: duplicates of this batch.
			recs = append(recs, testRecords(from, size/2, recs[0].Retention.Class)...)
			res, err := s.Append(context.Background(), recs)
			if err == nil && (res.Written != size || res.Duplicates != size/2) {
				err = fmt.Errorf("batch %d: %+v", from, res)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	closeVerifiedOnce(t, s, dir, k, writers*batches*size)
}

// closeVerifiedOnce closes s, the store at dir, and checks that it
// verifies with want records in all, each span once (see eachOnce).
func closeVerifiedOnce(t *testing.T, s *Store, dir string, k testKeys, want int) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, k.verifiers, VerifyFull())
	if err != nil || !rep.OK() || rep.Records != uint64(want) {
		t.Fatalf("verify: %v, %d records (want %d)\n%s", err, rep.Records, want, findingsText(rep))
	}
	eachOnce(t, dir, want)
}

// eachOnce checks that the general and financial chains of the store at
// dir (either may be missing) hold want records, each span once.
func eachOnce(t *testing.T, dir string, want int) {
	t.Helper()
	var ids []string
	for _, chain := range []string{"general", "financial"} {
		if _, err := os.Stat(filepath.Join(dir, chain)); errors.Is(err, os.ErrNotExist) {
			continue
		}
		for _, r := range readChain(t, dir, chain) {
			ids = append(ids, r.TraceID+"/"+r.SpanID)
		}
	}
	n := len(ids)
	slices.Sort(ids)
	if distinct := len(slices.Compact(ids)); n != want || distinct != want {
		t.Fatalf("%d records, %d distinct spans, want %d each once", n, distinct, want)
	}
}

// flakySyncs fails every n-th segment fsync with EIO (after a good write,
// as a failing disk does) and lets the others through.
type flakySyncs struct {
	n     int64
	count atomic.Int64
}

func (f *flakySyncs) sync(file *os.File) error {
	if filepath.Ext(file.Name()) == ".jsonl" && f.count.Add(1)%f.n == 0 {
		return &os.PathError{Op: "sync", Path: file.Name(), Err: syscall.EIO}
	}
	return file.Sync()
}

// TestConcurrentAppendsWithFailingFsyncs appends from many goroutines at
// once while every seventh segment fsync fails, each writer retrying a
// failed batch as the exporter does: in the end every record is in the
// store exactly once and the store verifies. Failed fsyncs cut back the
// transaction staged behind them too, so this also runs the paths where a
// transaction fails while it waits, in Commit or to seal a segment.
func TestConcurrentAppendsWithFailingFsyncs(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	fs := &flakySyncs{n: 7}
	s := openTestStore(t, dir, k, withSyncFile(fs.sync), WithSegmentMaxBytes(32<<10), WithCheckpointInterval(5*time.Millisecond))
	const writers, batches, size = 6, 12, 10
	var wg sync.WaitGroup
	var failures, behind atomic.Int64
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for b := range batches {
				from := (w*batches + b) * size
				recs := testRecords(from, size, []string{"general", "financial"}[(w+b)%2])
				written := 0
				for attempt := 0; ; attempt++ {
					res, err := s.Append(context.Background(), recs)
					written += res.Written
					if err == nil {
						break
					}
					if !errors.Is(err, syscall.EIO) || attempt == 20 {
						errs <- fmt.Errorf("batch %d, attempt %d: %w", from, attempt, err)
						return
					}
					failures.Add(1)
					if strings.Contains(err.Error(), "the transaction before failed") {
						behind.Add(1)
					}
				}
				if written != size {
					errs <- fmt.Errorf("batch %d: %d records written over its attempts, want %d", from, written, size)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if failures.Load() == 0 {
		t.Fatal("no append failed: the test did not test failures")
	}
	closeVerifiedOnce(t, s, dir, k, writers*batches*size)
	t.Logf("%d failed appends retried, %d of them staged behind a failed fsync", failures.Load(), behind.Load())
}

// TestStagedBehindFlightWrites checks which write a transaction's text
// takes through the page cache (where the file system takes no direct
// writes): staged while the fsync before runs, each part is written at
// once, with write(2); staged with no fsync running, the text waits for
// Commit, which writes it through the other writer (the ring).
func TestStagedBehindFlightWrites(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	g := newGatedSyncs()
	var mu sync.Mutex
	var log []string // "now" or "deferred", per segment write
	record := func(kind string) writeFunc {
		return func(f *os.File, b []byte, off int64) (int, error) {
			if filepath.Ext(f.Name()) == ".jsonl" {
				mu.Lock()
				log = append(log, kind)
				mu.Unlock()
			}
			return plainWrite(f, b, off)
		}
	}
	s := openTestStore(t, dir, k, withSyncFile(g.sync), withBufferedWrites(), func(o *options) {
		o.writeIdle, o.writeBusy = record("deferred"), record("now")
	})
	writes := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(log)
	}

	t1 := beginStaged(t, s, append(testRecords(0, 20, "general"), testRecord(100, "financial")))
	if err := t1.Append(testRecords(20, 20, "general")); err != nil {
		t.Fatal(err)
	}
	if w := writes(); len(w) != 0 {
		t.Fatalf("writes while staging with no fsync running: %v", w)
	}
	c1 := commitInBackground(t, s, t1)
	g.let(t, "financial", nil)
	g.started(t, "general")
	if w := writes(); !slices.Equal(w, []string{"deferred", "deferred"}) {
		t.Fatalf("writes of the first commit: %v, want one deferred per chain", w)
	}
	t2 := beginStaged(t, s, testRecords(40, 20, "general"))
	if err := t2.Append(testRecords(60, 20, "general")); err != nil {
		t.Fatal(err)
	}
	if w := writes(); !slices.Equal(w, []string{"deferred", "deferred", "now", "now"}) {
		t.Fatalf("writes staging behind the fsync: %v, want two more, at once", w)
	}
	c2 := commitInBackground(t, s, t2)
	g.release <- nil
	if r := receive(t, c1); r.err != nil || r.res.Written != 41 {
		t.Fatalf("first: %+v %v", r.res, r.err)
	}
	g.let(t, "general", nil)
	if r := receive(t, c2); r.err != nil || r.res.Written != 40 {
		t.Fatalf("second: %+v %v", r.res, r.err)
	}
	if w := writes(); len(w) != 4 {
		t.Fatalf("writes: %v; the second commit had nothing left to write", w)
	}
	g.open.Store(true)
	closeVerifiedOnce(t, s, dir, k, 81)
}

// TestQueuedFsyncFallback has one of a transaction's fsyncs fail to queue
// (as when the ring breaks or no descriptor is left): Commit fsyncs that
// chain itself, and the transaction staged meanwhile does not queue its
// own fsyncs ahead, since they could run before that one; it queues them
// once it hands off, and every record is written once.
func TestQueuedFsyncFallback(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	g := newGatedSyncs()
	var refused atomic.Bool
	queue := func(f *os.File) (func() error, error) {
		if filepath.Base(filepath.Dir(f.Name())) == "general" && !refused.Swap(true) {
			return nil, errors.New("no descriptor left")
		}
		return g.syncAfter(f)
	}
	s := openTestStore(t, dir, k, withSyncFile(g.sync), withSyncAfter(queue))
	first := append(testRecords(0, 20, "general"), testRecords(100, 5, "financial")...)
	c1 := commitInBackground(t, s, beginStaged(t, s, first))
	g.let(t, "financial", nil) // queued
	g.started(t, "general")    // general's, by Commit itself
	c2 := commitInBackground(t, s, beginStaged(t, s, testRecords(20, 20, "general")))
	if n := g.queuedBehind.Load(); n != 0 {
		t.Fatalf("%d fsyncs queued behind one that was not queued", n)
	}
	g.release <- nil
	if r := receive(t, c1); r.err != nil || r.res.Written != 25 {
		t.Fatalf("first: %+v %v", r.res, r.err)
	}
	g.let(t, "general", nil)
	if r := receive(t, c2); r.err != nil || r.res.Written != 20 {
		t.Fatalf("second: %+v %v", r.res, r.err)
	}
	if want := []string{"financial", "general"}; !slices.Equal(g.queuedChains, want) {
		t.Fatalf("fsyncs queued for %v, want %v", g.queuedChains, want)
	}
	if n := g.unwaited.Load(); n != 0 {
		t.Fatalf("%d queued fsyncs never waited for", n)
	}
	closeVerifiedOnce(t, s, dir, k, 45)
}
