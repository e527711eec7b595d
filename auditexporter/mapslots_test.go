package auditexporter

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// newTestExporter starts the exporter itself, without exporterhelper
// around it, so that a test can reach its mapping slots and group
// committer; it is shut down when the test ends.
func newTestExporter(t *testing.T, cfg *Config) *auditExporter {
	t.Helper()
	e, err := newAuditExporter(cfg, nopSettings())
	require.NoError(t, err)
	require.NoError(t, e.start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { _ = e.shutdown(context.Background()) })
	return e
}

// nonToolSpans returns n spans that are not tool calls.
func nonToolSpans(n int) ptrace.Traces {
	td := toolSpans(99, n)
	for _, sp := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
		sp.SetName("chat gpt-4o")
		sp.Attributes().PutStr("gen_ai.operation.name", "chat")
	}
	return td
}

func TestMapSlotsWaitEndsWithContext(t *testing.T) {
	s := newMapSlots(0)
	require.Equal(t, 1, cap(s), "at least one slot")
	require.NoError(t, s.enter(context.Background()))

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, s.enter(ctx), context.DeadlineExceeded)
	require.Len(t, s, 1, "a wait that ended took a slot")

	admitted := make(chan error, 1)
	go func() { admitted <- s.enter(context.Background()) }()
	select {
	case err := <-admitted:
		t.Fatalf("admitted (%v) with no slot free", err)
	case <-time.After(20 * time.Millisecond):
	}
	s.leave()
	require.NoError(t, <-admitted)
	s.leave()
	require.Zero(t, len(s))
}

// TestPushWaitsForAMappingSlot takes every slot, as batches being mapped
// on every processor would: a push waits, gives up with its context
// without writing anything or taking a slot, and goes on once a slot is
// given back.
func TestPushWaitsForAMappingSlot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	cfg := testConfig(dir, newKeys(t))
	noRetry(cfg)
	e := newTestExporter(t, cfg)
	for range cap(e.slots) {
		e.slots <- struct{}{}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := e.pushTraces(ctx, toolSpans(1, 10))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, consumererror.IsPermanent(err), "a push that timed out waiting is retried")
	require.Len(t, e.slots, cap(e.slots), "a push that gave up took a slot")

	done := make(chan error, 1)
	go func() { done <- e.pushTraces(context.Background(), toolSpans(2, 10)) }()
	select {
	case err := <-done:
		t.Fatalf("pushed (%v) with every slot taken", err)
	case <-time.After(50 * time.Millisecond):
	}
	e.slots.leave()
	require.NoError(t, <-done)
	for range cap(e.slots) - 1 {
		e.slots.leave()
	}

	require.NoError(t, e.shutdown(context.Background()))
	counts := countSpans(t, dir)
	require.Len(t, counts, 10, "only the second batch is written")
	for i := range 10 {
		id := fmt.Sprintf("00000002%08x0000000000000000/00000002%08x", i, i)
		assert.Equal(t, 1, counts[id], id)
	}
}

// TestMapSlotsGivenBackOnEveryPath pushes along every way through
// pushTraces and checks that each gives its slot back, and that a batch
// waiting in the group committer for another's append holds none: a slot
// kept would make the next pushes wait for ever.
func TestMapSlotsGivenBackOnEveryPath(t *testing.T) {
	type push func(t *testing.T, e *auditExporter)
	// whileLeading holds the group committer's leadership, as another
	// push staging its batch would, while p runs and returns.
	whileLeading := func(p push) push {
		return func(t *testing.T, e *auditExporter) {
			require.True(t, e.group.tryLead())
			defer e.group.release()
			p(t, e)
		}
	}
	tests := []struct {
		name    string
		badData bool // a retention class the store rejects
		push    push
	}{
		{"written as it is mapped", false, func(t *testing.T, e *auditExporter) {
			require.NoError(t, e.pushTraces(context.Background(), toolSpans(1, 300)))
		}},
		{"no tool spans", false, func(t *testing.T, e *auditExporter) {
			require.NoError(t, e.pushTraces(context.Background(), nonToolSpans(5)))
		}},
		{"the store rejects the records", true, func(t *testing.T, e *auditExporter) {
			err := e.pushTraces(context.Background(), toolSpans(1, 5))
			require.Error(t, err)
			assert.True(t, consumererror.IsPermanent(err), "%v", err)
		}},
		{"no tool spans while another leads", false, whileLeading(func(t *testing.T, e *auditExporter) {
			require.NoError(t, e.pushTraces(context.Background(), nonToolSpans(5)))
		})},
		{"queued for the group", false, func(t *testing.T, e *auditExporter) {
			require.True(t, e.group.tryLead())
			done := make(chan error, 1)
			go func() { done <- e.pushTraces(context.Background(), toolSpans(1, 5)) }()
			waitQueued(t, &e.group, 1)
			assert.Zero(t, len(e.slots), "slots taken while a batch waits for the group")
			e.group.release()
			require.NoError(t, <-done)
		}},
		{"cancelled while queued for the group", false, func(t *testing.T, e *auditExporter) {
			require.True(t, e.group.tryLead())
			defer e.group.release()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- e.pushTraces(ctx, toolSpans(1, 5)) }()
			waitQueued(t, &e.group, 1)
			cancel()
			require.ErrorIs(t, <-done, context.Canceled)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(filepath.Join(t.TempDir(), "store"), newKeys(t))
			noRetry(cfg)
			if tt.badData {
				cfg.Retention.Classes["bad class"] = ClassConfig{Days: 9999, Tools: []string{"*"}}
			}
			e := newTestExporter(t, cfg)
			for range 2 * cap(e.slots) {
				tt.push(t, e)
				require.Zero(t, len(e.slots), "slots not given back")
			}
		})
	}
}

// TestMapSlotsFirstComeFirstServed parks waiters one at a time behind a
// taken slot and checks that slots go to them in the order they came.
func TestMapSlotsFirstComeFirstServed(t *testing.T) {
	s := newMapSlots(1)
	require.NoError(t, s.enter(context.Background()))
	const waiters = 5
	admitted := make(chan int, waiters)
	for i := range waiters {
		go func() {
			if s.enter(context.Background()) == nil {
				admitted <- i
			}
		}()
		require.Eventually(t, func() bool { return parkedInEnter() == i+1 },
			5*time.Second, time.Millisecond, "waiter %d did not park", i)
	}
	for i := range waiters {
		s.leave()
		require.Equal(t, i, <-admitted, "admitted out of arrival order")
	}
	s.leave()
}

// parkedInEnter counts the goroutines blocked in mapSlots.enter.
func parkedInEnter() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, " [select") && strings.Contains(g, "mapSlots.enter(") {
			n++
		}
	}
	return n
}
