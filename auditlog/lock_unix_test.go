//go:build unix

package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenWaitsOutProbe holds the shared lock WriterHolds takes: Open
// waits out a short hold, as a verifier's probe is, and refuses a store a
// lock stays on. WriterHolds sees the writer, and no writer once it closed.
func TestOpenWaitsOutProbe(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	openTestStore(t, dir, k).Close()
	if WriterHolds(dir) {
		t.Fatal("WriterHolds on a closed store")
	}
	probe := func(hold time.Duration) {
		f, err := os.Open(filepath.Join(dir, lockFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(hold)
			f.Close()
		}()
	}

	probe(20 * time.Millisecond)
	s, err := Open(dir, WithOrigin(testOrigin), WithSigner(k.signer))
	if err != nil {
		t.Fatalf("Open during a short probe: %v", err)
	}
	if !WriterHolds(dir) {
		t.Error("WriterHolds does not see the open store")
	}
	s.Close()

	probe(500 * time.Millisecond)
	if _, err := Open(dir, WithOrigin(testOrigin), WithSigner(k.signer)); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("Open under a held lock: %v", err)
	}
}
