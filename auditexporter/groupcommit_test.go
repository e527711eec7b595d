package auditexporter

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelaudit/otelaudit/auditlog"
)

// fakeStore records the groups it is asked to write. Each write can be
// held until the test releases it, and fails when fail is set.
type fakeStore struct {
	mu      sync.Mutex
	groups  [][]string
	written map[string]int
	hold    chan struct{} // when non-nil, each write waits for a value
	entered chan struct{} // when non-nil, each write announces itself
	fail    atomic.Bool
	writing atomic.Int32
	overlap atomic.Bool
}

func (f *fakeStore) append(_ context.Context, recs []*auditlog.Record) (auditlog.AppendResult, error) {
	if f.writing.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.writing.Add(-1)
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.hold != nil {
		<-f.hold
	}
	if f.fail.Load() {
		return auditlog.AppendResult{}, errors.New("disk full")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var ids []string
	for _, r := range recs {
		ids = append(ids, r.SpanID)
		f.written[r.SpanID]++
	}
	f.groups = append(f.groups, ids)
	return auditlog.AppendResult{Written: len(recs)}, nil
}

// stage is a stager that writes at once, while its caller leads.
func (f *fakeStore) stage(ctx context.Context, recs []*auditlog.Record) func() (auditlog.AppendResult, error) {
	res, err := f.append(ctx, recs)
	return func() (auditlog.AppendResult, error) { return res, err }
}

func recsOf(ids ...string) []*auditlog.Record {
	out := make([]*auditlog.Record, len(ids))
	for i, id := range ids {
		out[i] = &auditlog.Record{SpanID: id}
	}
	return out
}

// waitQueued waits until n batches are queued behind the write in progress.
func waitQueued(t *testing.T, g *groupCommitter, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return len(g.waiting) == n
	}, 5*time.Second, time.Millisecond)
}

func TestGroupCommitMergesConcurrentBatches(t *testing.T) {
	f := &fakeStore{written: map[string]int{}, hold: make(chan struct{}), entered: make(chan struct{}, 10)}
	var g groupCommitter
	results := make(chan auditlog.AppendResult, 3)
	errs := make(chan error, 3)
	run := func(ids ...string) {
		res, err := g.commit(context.Background(), f.stage, recsOf(ids...))
		results <- res
		errs <- err
	}

	go run("a1", "a2")
	<-f.entered // the first batch is being written
	go run("b1")
	go run("c1", "c2")
	// Wait until both later batches are queued behind the first.
	waitQueued(t, &g, 2)
	f.hold <- struct{}{} // finish the first write
	<-f.entered          // the merged write starts
	f.hold <- struct{}{}

	total := 0
	for range 3 {
		require.NoError(t, <-errs)
		total += (<-results).Written
	}
	assert.Equal(t, 5, total, "each record is counted once, by the caller that led its write")
	require.Len(t, f.groups, 2, "two writes for three batches")
	assert.Equal(t, []string{"a1", "a2"}, f.groups[0])
	assert.ElementsMatch(t, []string{"b1", "c1", "c2"}, f.groups[1])
	assert.False(t, f.overlap.Load(), "writes never overlap")
}

func TestGroupCommitSharesTheError(t *testing.T) {
	f := &fakeStore{written: map[string]int{}, hold: make(chan struct{}), entered: make(chan struct{}, 10)}
	var g groupCommitter
	errs := make(chan error, 3)
	go func() { _, err := g.commit(context.Background(), f.stage, recsOf("a")); errs <- err }()
	<-f.entered
	f.fail.Store(true)
	for _, id := range []string{"b", "c"} {
		go func() { _, err := g.commit(context.Background(), f.stage, recsOf(id)); errs <- err }()
	}
	waitQueued(t, &g, 2)
	f.hold <- struct{}{}
	<-f.entered
	f.hold <- struct{}{}
	var shared errShared
	alone := 0
	for range 3 {
		err := <-errs
		assert.EqualError(t, err, "disk full", "every batch of a failed write fails")
		if !errors.As(err, &shared) {
			alone++
		}
	}
	assert.Equal(t, 1, alone, "only the batch written alone gets the bare error")
}

func TestGroupCommitCancelledWaiterLosesNothing(t *testing.T) {
	f := &fakeStore{written: map[string]int{}, hold: make(chan struct{}), entered: make(chan struct{}, 10)}
	var g groupCommitter
	done := make(chan error, 1)
	go func() { _, err := g.commit(context.Background(), f.stage, recsOf("a")); done <- err }()
	<-f.entered

	ctx, cancel := context.WithCancel(context.Background())
	cancelled := make(chan error, 1)
	go func() { _, err := g.commit(ctx, f.stage, recsOf("b")); cancelled <- err }()
	later := make(chan error, 1)
	go func() { _, err := g.commit(context.Background(), f.stage, recsOf("c")); later <- err }()
	waitQueued(t, &g, 2)
	cancel()
	assert.ErrorIs(t, <-cancelled, context.Canceled)

	f.hold <- struct{}{}
	require.NoError(t, <-done)
	<-f.entered
	f.hold <- struct{}{}
	require.NoError(t, <-later, "leadership survives a waiter that gave up")
	assert.Equal(t, map[string]int{"a": 1, "c": 1}, f.written)
}

// TestGroupCommitStress runs many concurrent callers, some of which give
// up: every caller returns, writes never overlap, and every record of a
// caller that got nil is written exactly once.
func TestGroupCommitStress(t *testing.T) {
	f := &fakeStore{written: map[string]int{}}
	var g groupCommitter
	var wg sync.WaitGroup
	var acked sync.Map
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for i := range 200 {
				id := fmt.Sprintf("%d-%d", w, i)
				ctx, cancel := context.WithCancel(context.Background())
				if rng.IntN(10) == 0 {
					cancel()
				}
				if _, err := g.commit(ctx, f.stage, recsOf(id)); err == nil {
					acked.Store(id, true)
				}
				cancel()
			}
		}()
	}
	waitCallers(t, &wg)
	assert.False(t, f.overlap.Load(), "writes never overlap")
	assertWrittenOnce(t, f, &acked)
	g.mu.Lock()
	assert.False(t, g.busy)
	assert.Empty(t, g.waiting)
	g.mu.Unlock()
}

// TestGroupCommitAbandonedBatchIsFlagged cancels a caller whose batch a
// leader has already taken into its group and is writing: the caller's
// error says so (errAbandoned), so that pushTraces leaves the records
// alone instead of clearing them under the leader; a caller cancelled
// while still waiting gets the bare context error.
func TestGroupCommitAbandonedBatchIsFlagged(t *testing.T) {
	f := &fakeStore{written: map[string]int{}, hold: make(chan struct{}), entered: make(chan struct{}, 10)}
	var g groupCommitter
	first := make(chan error, 1)
	go func() { _, err := g.commit(context.Background(), f.stage, recsOf("a")); first <- err }()
	<-f.entered // a leads and writes

	ctxB, cancelB := context.WithCancel(context.Background())
	ctxC, cancelC := context.WithCancel(context.Background())
	errB, errC := make(chan error, 1), make(chan error, 1)
	go func() { _, err := g.commit(ctxB, f.stage, recsOf("b")); errB <- err }()
	waitQueued(t, &g, 1)
	go func() { _, err := g.commit(ctxC, f.stage, recsOf("c")); errC <- err }()
	waitQueued(t, &g, 2)

	f.hold <- struct{}{} // a's write returns; b leads the group {b, c}
	require.NoError(t, <-first)
	<-f.entered // b's group is being written

	cancelC()
	err := <-errC
	assert.ErrorIs(t, err, context.Canceled)
	_, abandoned := errors.AsType[errAbandoned](err)
	assert.True(t, abandoned, "c's batch is in b's write: c must not reuse it")

	f.hold <- struct{}{}
	require.NoError(t, <-errB)
	cancelB() // after its return: no effect

	// Cancelled while still waiting: nobody holds the batch.
	go func() { _, err := g.commit(context.Background(), f.stage, recsOf("d")); first <- err }()
	<-f.entered
	ctxE, cancelE := context.WithCancel(context.Background())
	go func() { _, err := g.commit(ctxE, f.stage, recsOf("e")); errC <- err }()
	waitQueued(t, &g, 1)
	cancelE()
	err = <-errC
	assert.ErrorIs(t, err, context.Canceled)
	_, abandoned = errors.AsType[errAbandoned](err)
	assert.False(t, abandoned, "a waiting batch was never taken")
	f.hold <- struct{}{}
	require.NoError(t, <-first)
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1, "d": 1}, f.written)
}

// TestGroupCommitPendingReuse runs concurrent callers that each reuse one
// pending (and its wake channel) for batch after batch, as pushTraces
// does, giving up now and then before or while they wait. After every
// return but errAbandoned's the channel must be empty, and stay so: a
// stray message would hand a later batch someone else's outcome, which
// the check that every acknowledged record was written catches too.
func TestGroupCommitPendingReuse(t *testing.T) {
	f := &fakeStore{written: map[string]int{}}
	var g groupCommitter
	var wg sync.WaitGroup
	var acked sync.Map
	var abandons, reuses atomic.Int64
	finals := make([]*pending, 16)
	for w := range finals {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 2))
			p := newPending(nil)
			for i := range 300 {
				id := fmt.Sprintf("%d-%d", w, i)
				ctx, cancel := context.WithCancel(context.Background())
				switch rng.IntN(10) {
				case 0:
					cancel()
				case 1:
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(rng.IntN(50))*time.Microsecond)
				}
				p.recs = recsOf(id)
				_, err := g.commitPending(ctx, f.stage, p)
				cancel()
				if _, abandoned := errors.AsType[errAbandoned](err); abandoned {
					abandons.Add(1)
					p = newPending(nil)
					continue
				}
				if err == nil {
					acked.Store(id, true)
				}
				if !assert.Empty(t, p.wake, "wake channel empty after a return") {
					return
				}
				reuses.Add(1)
			}
			finals[w] = p
		})
	}
	waitCallers(t, &wg)
	t.Logf("%d reuses, %d abandoned", reuses.Load(), abandons.Load())
	assert.Greater(t, reuses.Load(), int64(0))
	for _, p := range finals {
		require.NotNil(t, p)
		assert.Empty(t, p.wake, "nothing sends to a pending after its commit returned")
	}
	assertWrittenOnce(t, f, &acked)
}

// assertWrittenOnce checks that some records were acknowledged, each of them
// written, and that no record was written twice.
func assertWrittenOnce(t *testing.T, f *fakeStore, acked *sync.Map) {
	t.Helper()
	n := 0
	acked.Range(func(k, _ any) bool {
		n++
		assert.Equal(t, 1, f.written[k.(string)], "acknowledged record %s written once", k)
		return true
	})
	assert.Greater(t, n, 0)
	for id, c := range f.written {
		assert.Equal(t, 1, c, "record %s written once", id)
	}
}

// waitCallers waits for the callers of wg, failing the test if they are
// still stuck after 30 seconds.
func waitCallers(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		t.Fatal("callers are stuck")
	}
}
