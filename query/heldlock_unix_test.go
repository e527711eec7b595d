//go:build unix

package query

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStoreHeldLockSaysSo: with a process holding the store's lock, an
// unterminated tail of the active segment is taken as a write in flight,
// as verify takes it; whoever holds the lock, the answer must say so, or
// a store believed stopped would read as cleanly verified.
func TestStoreHeldLockSaysSo(t *testing.T) {
	st := newTestStore(t)
	chain := filepath.Join(st.dir, "general")
	segs := segmentsOf(t, chain)
	active := segs[len(segs)-1]
	f, err := os.OpenFile(active, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString(`{"v":1,"seq":99,"user_id":"evil"`)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	res := st.fetch(t, Filter{})
	require.False(t, res.Integrity.Verified, "without a lock the tail is a finding")

	lock, err := os.OpenFile(filepath.Join(st.dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	defer lock.Close()
	require.NoError(t, syscall.Flock(int(lock.Fd()), syscall.LOCK_EX))
	res = st.fetch(t, Filter{})
	assert.True(t, res.Integrity.Verified, "%v", res.Integrity.Findings)
	assert.Contains(t, res.Integrity.Summary, "a process holds the store's lock")
	assert.Contains(t, res.Integrity.Summary, "32 bytes in flight at the end of general/"+filepath.Base(active))
}

// TestStoreSparseSummary: a summary made huge next to a huge segment
// (sparse files: no disk used) is refused without being read into memory,
// whatever size the segment file claims.
func TestStoreSparseSummary(t *testing.T) {
	st := newTestStore(t)
	chain := filepath.Join(st.dir, "healthcare")
	seg := segmentsOf(t, chain)[1]
	const size = 256 << 20
	require.NoError(t, os.Truncate(seg, size))
	require.NoError(t, os.Truncate(summaryOf(seg), size))

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res := st.fetch(t, Filter{})
	runtime.ReadMemStats(&after)
	assert.False(t, res.Integrity.Verified)
	var kinds []string
	for _, f := range res.Integrity.Findings {
		kinds = append(kinds, f.Kind+" "+f.Segment)
	}
	assert.Contains(t, strings.Join(kinds, "\n"), "summary_mismatch "+filepath.Base(summaryOf(seg)))
	// The segment is read (it must be, to be proven), the summary not:
	// well under the two files' 512 MiB.
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(size+size/2), "allocated %d bytes", after.TotalAlloc-before.TotalAlloc)
}
