package auditlog

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	unmountAtCleanup(t, dir)
	return dir
}

// unmountAtCleanup unmounts dir when the test ends. io_uring drops its
// references to the files it wrote and fsynced asynchronously, after
// their completions and after the ring is closed: the file system can be
// busy for a moment.
func unmountAtCleanup(t *testing.T, dir string) {
	t.Cleanup(func() {
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
}

// mountExt4 makes an ext4 file system of size bytes in a file and mounts
// it on a new directory through a loop device: a block device's file
// system, which takes direct writes. It needs root and mkfs.ext4 (CI and
// the dev machines have both); elsewhere the test is skipped with the
// reason.
func mountExt4(t *testing.T, size int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "ext4.img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", "-b", "4096", img).CombinedOutput(); err != nil {
		t.Skipf("cannot make an ext4 file system to fill (needs mkfs.ext4): %v: %s", err, out)
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount an ext4 file system to fill (needs root and a loop device): %v: %s", err, out)
	}
	unmountAtCleanup(t, dir)
	return dir
}

// TestFullDisk fills a real file system: Append fails with ENOSPC, the
// store stays valid and loses no acknowledged record, and writing resumes
// once space is freed. On tmpfs the store writes through the page cache;
// on ext4 (made in a file and mounted through a loop device) its segments
// take direct writes (see directWriter), which fail part-way.
func TestFullDisk(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mount  func(t *testing.T) string
		direct bool
		// segment is the segments' maximum size; after, how many
		// records are appended once space returns (enough to seal one).
		segment int64
		after   int
	}{
		{name: "tmpfs", mount: func(t *testing.T) string { return mountTmpfs(t, "512k") }, segment: 64 << 10, after: 100},
		// Segments larger than the free space: their reservation fails,
		// and the disk fills in a direct write of a segment.
		{name: "ext4", mount: func(t *testing.T) string { return mountExt4(t, 16<<20) }, direct: true, segment: 256 << 10, after: 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mnt := tc.mount(t)
			if err := takesDirect(t, mnt); tc.direct && err != nil {
				t.Fatalf("ext4 takes no direct writes: %v", err)
			}
			fillDisk(t, mnt, tc.segment, tc.after, tc.direct)
		})
	}
}

// fillDisk is TestFullDisk on the file system mounted at mnt, with
// segments of at most segment bytes and after records appended once space
// returns; with inSegment, the disk must fill in a write of a segment.
func fillDisk(t *testing.T, mnt string, segment int64, after int, inSegment bool) {
	k := newTestKeys(t, "test")
	// Ballast to free later, leaving 300 kB free.
	var st unix.Statfs_t
	if err := unix.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	ballast := int64(st.Bavail)*st.Bsize - 300<<10
	if err := os.WriteFile(filepath.Join(mnt, "ballast"), make([]byte, ballast), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(mnt, "store")
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(segment))
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
	if inSegment && !strings.Contains(full.Error(), ".jsonl: no space left") {
		t.Fatalf("the disk filled outside a segment's write: %v", full)
	}
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
	for i := 0; i < after; i += 20 {
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
