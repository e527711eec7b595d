package auditexporter

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// mountTmpfs mounts a tmpfs of the given size (e.g. "1m") on a fresh
// directory and unmounts it when the test ends. A real small filesystem
// gives real ENOSPC errors from write and fsync, with no test seam in the
// store. It needs root (CI runs as root); elsewhere the test is skipped.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs to fill up needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	return dir
}

// fillDisk writes a file in dir until the filesystem is full and returns
// its path; removing it gives the space back.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.True(t, errors.Is(err, syscall.ENOSPC), "filling up: %v", err)
			return path
		}
	}
}

// toolSpans returns n distinct GenAI tool spans whose ids start with seed.
func toolSpans(seed uint32, n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "load")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		var tid pcommon.TraceID
		binary.BigEndian.PutUint32(tid[:], seed)
		binary.BigEndian.PutUint32(tid[4:], uint32(i))
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID(tid[:8]))
		sp.SetName("execute_tool lookup_order")
		sp.SetStartTimestamp(pcommon.Timestamp(1767225600_000000000 + uint64(i)*1000))
		sp.SetEndTimestamp(pcommon.Timestamp(1767225600_000000000 + uint64(i)*1000 + 4_500_000))
		at := sp.Attributes()
		at.PutStr("gen_ai.operation.name", "execute_tool")
		at.PutStr("gen_ai.tool.name", "lookup_order")
		at.PutStr("gen_ai.tool.call.id", fmt.Sprintf("call_%d_%d", seed, i))
		at.PutStr("gen_ai.tool.call.arguments", fmt.Sprintf(`{"order_id":"A-%d","include_history":true}`, i))
		at.PutStr("gen_ai.tool.call.result", `{"status":"shipped","items":3}`)
		at.PutStr("user.id", "u-load")
		at.PutStr("audit.trigger", "user_request")
	}
	return td
}

// countSpans returns how many times each trace/span id pair is on disk.
func countSpans(t *testing.T, dir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, recs := range readStore(t, dir) {
		for _, r := range recs {
			out[r.TraceID+"/"+r.SpanID]++
		}
	}
	return out
}

// TestFullDiskIsRetryable fills the store's filesystem: the batch fails
// with a retryable error wrapping ENOSPC, the store stays valid, and once
// space returns the same batch and new ones are written, each span once.
func TestFullDiskIsRetryable(t *testing.T) {
	mnt := mountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "store")
	k := newKeys(t)
	cfg := testConfig(dir, k)
	noRetry(cfg)
	exp := startExporter(t, cfg, nopSettings())

	require.NoError(t, exp.ConsumeTraces(context.Background(), toolSpans(1, 50)))
	filler := fillDisk(t, mnt)

	batch := toolSpans(2, 200)
	err := exp.ConsumeTraces(context.Background(), batch)
	require.Error(t, err)
	assert.True(t, errors.Is(err, syscall.ENOSPC), "the error says the disk is full: %v", err)
	assert.False(t, consumererror.IsPermanent(err), "a full disk is retryable")
	// Still full: still failing, nothing half-written.
	require.Error(t, exp.ConsumeTraces(context.Background(), batch))
	verifyStore(t, dir, k.verifier)
	counts := countSpans(t, dir)
	assert.Len(t, counts, 50, "only the batch acknowledged before the disk filled is on disk")

	require.NoError(t, os.Remove(filler))
	require.NoError(t, exp.ConsumeTraces(context.Background(), batch), "writing resumes when space returns")
	require.NoError(t, exp.ConsumeTraces(context.Background(), toolSpans(3, 20)))
	require.NoError(t, exp.Shutdown(context.Background()))

	verifyStore(t, dir, k.verifier)
	counts = countSpans(t, dir)
	assert.Len(t, counts, 50+200+20)
	for id, n := range counts {
		assert.Equal(t, 1, n, "span %s", id)
	}
}

// TestFullDiskRetriedUntilSpaceReturns uses the default delivery settings
// (queue waiting for the result, retries that never give up): the batch
// blocks while the disk is full and is acknowledged once space returns.
func TestFullDiskRetriedUntilSpaceReturns(t *testing.T) {
	mnt := mountTmpfs(t, "1m")
	dir := filepath.Join(mnt, "store")
	k := newKeys(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := nopSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := testConfig(dir, k)
	cfg.RetryConfig.InitialInterval = 10 * time.Millisecond
	cfg.RetryConfig.MaxInterval = 50 * time.Millisecond
	exp := startExporter(t, cfg, set)

	require.NoError(t, exp.ConsumeTraces(context.Background(), toolSpans(1, 10)))
	filler := fillDisk(t, mnt)

	done := make(chan error, 1)
	go func() { done <- exp.ConsumeTraces(context.Background(), toolSpans(2, 200)) }()
	eventually(t, func() bool { return counter(t, tel, metricAppendFailures) >= 2 }, "the full disk makes appends fail and be retried")
	select {
	case err := <-done:
		t.Fatalf("the batch was acknowledged while the disk was full: %v", err)
	default:
	}

	require.NoError(t, os.Remove(filler))
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("the batch was not written after space returned")
	}
	require.NoError(t, exp.Shutdown(context.Background()))
	verifyStore(t, dir, k.verifier)
	counts := countSpans(t, dir)
	assert.Len(t, counts, 210)
	for id, n := range counts {
		assert.Equal(t, 1, n, "span %s", id)
	}
}
