package auditexporter

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// reuseBatch returns n spans that differ from those of every other batch
// in every field the mapping copies or builds: ids, names, payloads (whose
// lengths also vary, so that each batch lays its pieces out differently
// over the memory the previous one used), roles, turn numbers, errors, and
// a few spans that are not tool calls.
func reuseBatch(batch, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("agent-%d", batch))
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(fmt.Sprintf("scope-%d", batch))
	tools := []string{"lookup_order", "issue_refund", "access_patient_record", "search_kb"}
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[:], uint64(batch)+1)
		binary.BigEndian.PutUint64(tid[8:], uint64(i))
		sp.SetTraceID(tid)
		var sid pcommon.SpanID
		binary.BigEndian.PutUint32(sid[:], uint32(batch)+1)
		binary.BigEndian.PutUint32(sid[4:], uint32(i))
		sp.SetSpanID(sid)
		sp.SetParentSpanID(pcommon.SpanID{byte(batch), byte(i), 1, 2, 3, 4, 5, 6})
		start := pcommon.Timestamp(1767262500_000000000 + uint64(batch)*3_600_000_000_000 + uint64(i)*1_000_003)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + pcommon.Timestamp(1_000_000*(batch+i%7)))
		if i%23 == 5 {
			sp.SetName(fmt.Sprintf("GET /orders/%d", i)) // not a tool call
			continue
		}
		tool := tools[(i+batch)%len(tools)]
		sp.SetName("execute_tool " + tool)
		at := sp.Attributes()
		at.PutStr("gen_ai.operation.name", "execute_tool")
		at.PutStr("gen_ai.tool.name", tool)
		at.PutStr("gen_ai.tool.call.id", fmt.Sprintf("call-%d-%d", batch, i))
		pad := strings.Repeat(string(rune('a'+batch%26)), (batch*37+i*13)%300)
		at.PutStr("gen_ai.tool.call.arguments", fmt.Sprintf(`{"z":%d,"batch":%d,"pad":"%s","a":[%d,true,null]}`, i, batch, pad, batch*i))
		if i%3 == 0 {
			// Plain text, stored as a JSON string.
			at.PutStr("gen_ai.tool.call.result", fmt.Sprintf("batch %d result %d %s", batch, i, pad[:len(pad)/2]))
		} else {
			m := at.PutEmptyMap("gen_ai.tool.call.result")
			m.PutStr("status", fmt.Sprintf("s-%d-%d", batch, i))
			m.PutInt("n", int64(i))
		}
		at.PutStr("gen_ai.conversation.id", fmt.Sprintf("conv-%d-%d", batch, i/10))
		at.PutInt("audit.turn_number", int64(batch*1000+i))
		at.PutStr("gen_ai.request.model", fmt.Sprintf("model-%d", batch))
		at.PutStr("user.id", fmt.Sprintf("u-%d-%d", batch, i%5))
		roles := at.PutEmptySlice("user.roles")
		for r := range 1 + (batch+i)%3 {
			roles.AppendEmpty().SetStr(fmt.Sprintf("role-%d-%d", batch, r))
		}
		at.PutStr("audit.trigger", []string{"user_request", "proactive", "system"}[(batch+i)%3])
		at.PutStr("audit.subject.type", "patient")
		at.PutStr("audit.subject.id", fmt.Sprintf("P-%d-%d", batch, i))
		at.PutStr("audit.redaction.paths", fmt.Sprintf("a.b%d,c.d%d", batch, i))
		if i%11 == 3 {
			sp.Status().SetCode(ptrace.StatusCodeError)
			sp.Status().SetMessage(fmt.Sprintf("failed in batch %d at %d", batch, i))
			at.PutStr("error.type", fmt.Sprintf("E%d", batch))
		}
	}
	return td
}

// expectedRecords maps each tool span of td, with memory of its own, to the
// record the store must hold for it, less the members the store
// assigns (keyed by span id; the caller fills those in from the store).
func expectedRecords(t testing.TB, cfg *Config, td ptrace.Traces, into map[string]auditlog.Record) {
	t.Helper()
	policy := newRetentionPolicy(cfg.Retention)
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				r, ok := toolspan.Map(rs.Resource(), ss.Scope(), sp, toolspan.Options{MaxPayloadBytes: cfg.MaxPayloadBytes})
				if !ok {
					continue
				}
				policy.apply(&r, sp.StartTimestamp(), toolspan.NewMapper(toolspan.Options{}))
				_, dup := into[r.SpanID]
				require.False(t, dup, "span ids are unique across batches")
				into[r.SpanID] = r
			}
		}
	}
}

// checkStoreBytes compares every line of the store in dir, byte for byte,
// with the canonical line of the record mapped independently from its span
// (want), and checks that every wanted record is there exactly once and
// that the chain verifies.
func checkStoreBytes(t *testing.T, dir string, k keys, want map[string]auditlog.Record) {
	t.Helper()
	verifyStore(t, dir, k.verifier)
	seen := map[string]bool{}
	segs, err := filepath.Glob(filepath.Join(dir, "*", "*.jsonl"))
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	for _, seg := range segs {
		require.NoError(t, auditlog.ReadSegmentFile(seg, func(got *auditlog.Record, line []byte) error {
			w, ok := want[got.SpanID]
			require.True(t, ok, "record %s is one of the tool spans sent", got.SpanID)
			require.False(t, seen[got.SpanID], "span %s written once", got.SpanID)
			seen[got.SpanID] = true
			// The members the store assigns; verifyStore has checked
			// that they chain.
			w.ChainID, w.Seq, w.PrevHash = got.ChainID, got.Seq, got.PrevHash
			w.Hash = w.ComputeHash()
			if exp := w.AppendCanonical(nil, true); !bytes.Equal(exp, line) {
				t.Fatalf("record of span %s in %s:\n got %s\nwant %s", got.SpanID, seg, line, exp)
			}
			return nil
		}))
	}
	assert.Len(t, seen, len(want), "every tool span has its record")
}

// TestBatchMemoryReuse sends batches that differ in every field through
// one exporter, one after the other, so that each batch's records take
// the pooled memory of the one before: every stored byte must still be
// that of its own span, with nothing left over from an earlier batch.
// Sent one at a time, each batch is staged as it is mapped, in parts of
// partRecords whose record slots the next part reuses; the batch sizes
// fall on both sides of a part, and of many parts.
func TestBatchMemoryReuse(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	k := newKeys(t)
	cfg := testConfig(dir, k)
	noRetry(cfg)
	exp := startExporter(t, cfg, nopSettings())

	want := map[string]auditlog.Record{}
	// Large batches, then small ones, then large again: a small batch
	// reuses only part of what a large one left behind.
	for batch, n := range []int{900, 700, 60, 5, 1200, 300, 900, 1} {
		td := reuseBatch(batch, n)
		expectedRecords(t, cfg, td, want)
		require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	}
	require.NoError(t, exp.Shutdown(context.Background()))
	checkStoreBytes(t, dir, k, want)
}

// TestBatchMemoryReuseConcurrent does the same through the default
// sending queue from several goroutines at once, so that batches are
// group-committed together and their pooled memory passes between the
// queue's consumers (run it with -race).
func TestBatchMemoryReuseConcurrent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	k := newKeys(t)
	cfg := testConfig(dir, k)
	q := cfg.QueueConfig.Get()
	require.NotNil(t, q)
	q.NumConsumers = 4
	exp := startExporter(t, cfg, nopSettings())

	const senders, perSender = 6, 5
	tds := make([]ptrace.Traces, senders*perSender)
	want := map[string]auditlog.Record{}
	for i := range tds {
		tds[i] = reuseBatch(i, 50+(i*97)%400)
		expectedRecords(t, cfg, tds[i], want)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(tds))
	for s := range senders {
		wg.Go(func() {
			for j := range perSender {
				errs <- exp.ConsumeTraces(context.Background(), tds[s*perSender+j])
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.NoError(t, exp.Shutdown(context.Background()))
	checkStoreBytes(t, dir, k, want)
}

// TestBatchAllocations checks that in steady state a whole batch through
// the exporter, store append and fsync included, allocates less than
// half of what mapping its spans alone takes with memory of its own: the
// records' strings and payloads reuse the memory of the batch before.
// It also holds the batch under 32 kB, half of what the records' hex
// hashes took before the store reused their buffer (64 bytes a record;
// about 3 kB a batch is left).
func TestBatchAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	dir := filepath.Join(t.TempDir(), "store")
	cfg := testConfig(dir, newKeys(t))
	noRetry(cfg)
	cfg.DedupWindow = 1000 // full after the first batch: no more growth
	exp := startExporter(t, cfg, nopSettings())

	const n, rounds = 1000, 10
	td := reuseBatch(1, n)
	renumber := func(round int) {
		for i, sp := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
			var tid pcommon.TraceID
			binary.BigEndian.PutUint64(tid[:], uint64(round))
			binary.BigEndian.PutUint64(tid[8:], uint64(i))
			sp.SetTraceID(tid)
		}
	}
	mapping := allocatedBytes(func() {
		m := toolspan.NewMapper(toolspan.Options{MaxPayloadBytes: cfg.MaxPayloadBytes})
		for _, sp := range td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
			m.Map(pcommon.NewResource(), pcommon.NewInstrumentationScope(), sp)
		}
	})
	for round := range 3 { // warm up the pool and the store's buffers
		renumber(round + 1000)
		require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	}
	total := allocatedBytes(func() {
		for round := range rounds {
			renumber(round)
			require.NoError(t, exp.ConsumeTraces(context.Background(), td))
		}
	})
	perBatch := total / rounds
	t.Logf("mapping alone: %d B per batch; exporter: %d B per batch", mapping, perBatch)
	assert.Less(t, perBatch, mapping/2)
	assert.Less(t, perBatch, uint64(32<<10))
}

// allocatedBytes returns the bytes the process allocated while f ran.
func allocatedBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
