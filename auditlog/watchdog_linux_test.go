package auditlog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// TestConcurrentAppendsWithCancelledWrites runs concurrent appends with a
// watchdog that fires at once: nearly every write through the store's
// rings (the heads, direct appends and tails of the segments, the tree
// files) is asked to be cancelled as soon as it is waited for. Those the
// kernel had not started are made again with write(2) (see ring.await);
// the others are waited for. Either way every batch must be acknowledged
// and stored once, in order, and the store must verify: a write made
// twice, or made out of turn, would break the chain.
func TestConcurrentAppendsWithCancelledWrites(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	core, logs := observer.New(zap.WarnLevel)
	s := openTestStore(t, dir, k, WithLogger(zap.New(core)), WithSegmentMaxBytes(256<<10), WithCheckpointInterval(5*time.Millisecond),
		func(o *options) { o.ringCancelAfter = time.Nanosecond })
	if s.wring == nil {
		t.Skip("no io_uring here")
	}
	const writers, batches, size = 4, 20, 150 // a batch of 150 records is ≈ 150 kB: direct appends
	runWriters(t, writers, func(w int) error {
		for b := range batches {
			from := (w*batches + b) * size
			recs := testRecords(from, size, []string{"general", "financial"}[(w+b)%2])
			res, err := s.Append(context.Background(), recs)
			if err == nil && res.Written != size {
				err = fmt.Errorf("batch %d: %+v", from, res)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	closeVerifiedOnce(t, s, dir, k, writers*batches*size)

	outcomes := map[string]int{}
	for _, e := range logs.All() {
		outcome, _ := e.ContextMap()["outcome"].(string)
		outcome, _, _ = strings.Cut(outcome, ";")
		outcomes[outcome]++
	}
	t.Logf("cancels by outcome: %v", outcomes)
	if outcomes["cancelled before it started"] == 0 {
		t.Fatalf("no write was cancelled before it started (%v): the test did not exercise the fallback", outcomes)
	}
}
