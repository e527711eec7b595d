package auditexporter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetainUntilMatchesAddDate checks the shortcut against AddDate around
// leap days, year ends, the Unix epoch, far dates and zones with daylight
// saving time (the result is in UTC whatever the zone of start).
func TestRetainUntilMatchesAddDate(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("UTC-5", -5*3600)
	}
	starts := []time.Time{
		time.Date(2026, 1, 1, 10, 15, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2023, 12, 31, 0, 0, 0, 1, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 3, 8, 1, 30, 0, 0, ny), // the night clocks move
		time.Date(2026, 11, 1, 1, 30, 0, 0, ny),
		time.Date(9999, 12, 31, 12, 0, 0, 0, time.UTC),
		time.Unix(0, 1767262500_123456789),
	}
	for _, start := range starts {
		for _, days := range []int{1, 30, 365, 366, 2190, 2555, 36525, maxDurationDays, maxDurationDays + 1, 1_000_000} {
			want := start.UTC().AddDate(0, 0, days)
			if got := retainUntil(start, days); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("retainUntil(%v, %d) = %v, want %v", start, days, got, want)
			}
		}
	}
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
	go func() { _, err := g.commit(context.Background(), f.append, recsOf("a")); first <- err }()
	<-f.entered // a leads and writes

	ctxB, cancelB := context.WithCancel(context.Background())
	ctxC, cancelC := context.WithCancel(context.Background())
	errB, errC := make(chan error, 1), make(chan error, 1)
	go func() { _, err := g.commit(ctxB, f.append, recsOf("b")); errB <- err }()
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.waiting) == 1 }, 5*time.Second, time.Millisecond)
	go func() { _, err := g.commit(ctxC, f.append, recsOf("c")); errC <- err }()
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.waiting) == 2 }, 5*time.Second, time.Millisecond)

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
	go func() { _, err := g.commit(context.Background(), f.append, recsOf("d")); first <- err }()
	<-f.entered
	ctxE, cancelE := context.WithCancel(context.Background())
	go func() { _, err := g.commit(ctxE, f.append, recsOf("e")); errC <- err }()
	require.Eventually(t, func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.waiting) == 1 }, 5*time.Second, time.Millisecond)
	cancelE()
	err = <-errC
	assert.ErrorIs(t, err, context.Canceled)
	_, abandoned = errors.AsType[errAbandoned](err)
	assert.False(t, abandoned, "a waiting batch was never taken")
	f.hold <- struct{}{}
	require.NoError(t, <-first)
	assert.Equal(t, map[string]int{"a": 1, "b": 1, "c": 1, "d": 1}, f.written)
}
