package auditlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory. It needs
// root (CI and the dev machines run as root); elsewhere the test is
// skipped with the reason.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v", err)
	}
	t.Cleanup(func() {
		// io_uring drops its references to the files it wrote and
		// fsynced asynchronously, after their completions and after the
		// ring is closed: the file system can be busy for a moment.
		var err error
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if err = syscall.Unmount(dir, 0); err != syscall.EBUSY || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// TestFullDisk fills a real (tmpfs) file system: Append fails with
// ENOSPC, the store stays valid and loses no acknowledged record, and
// writing resumes once space is freed.
func TestFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "512k")
	k := newTestKeys(t, "test")
	// Ballast to free later.
	if err := os.WriteFile(filepath.Join(mnt, "ballast"), make([]byte, 200<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "store")
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(64<<10))
	written := 0
	var full error
	for i := 0; i < 10_000 && full == nil; i += 20 {
		res, err := s.Append(context.Background(), testRecords(i, 20, "general"))
		written += res.Written
		full = err
	}
	if !errors.Is(full, syscall.ENOSPC) {
		t.Fatalf("filling the disk: error %v, want ENOSPC", full)
	}
	t.Logf("disk full after %d records: %v", written, full)
	// Still full: more failures, nothing corrupted.
	for i := 0; i < 3; i++ {
		if _, err := s.Append(context.Background(), testRecords(50_000+i*20, 20, "general")); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("append on a full disk: %v", err)
		}
	}
	if recs := readChain(t, dir, "general"); len(recs) != written {
		t.Fatalf("store holds %d records, %d were acknowledged", len(recs), written)
	}
	// Space returns: writing resumes where it stopped.
	if err := os.Remove(filepath.Join(mnt, "ballast")); err != nil {
		t.Fatal(err)
	}
	// Enough batches to seal a segment after the failures: its seal's
	// file digest, taken beside the record digests as batches become
	// durable, must leave out what the failed writes cut.
	for i := 0; i < 100; i += 20 {
		res, err := s.Append(context.Background(), testRecords(60_000+i, 20, "general"))
		if err != nil || res.Written != 20 {
			t.Fatalf("append after freeing space: %+v %v", res, err)
		}
		written += 20
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, k.verifiers, VerifyFull())
	if err != nil || !rep.OK() || rep.Records != uint64(written) {
		t.Fatalf("verify: %v, %d records (want %d)\n%s", err, rep.Records, written, findingsText(rep))
	}
}
