package auditlog

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestSegmentsOpenedAppendOnly looks at a working store from outside, as
// /proc shows its open files: every descriptor of a segment is opened
// append-only (SPEC §4), write-only, and none reads or writes at an
// offset of its own; the direct descriptor, where the file system takes
// direct writes, too.
func TestSegmentsOpenedAppendOnly(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(64<<10))
	defer s.Close()
	n := 0
	for _, size := range []int{1, 100, 500, 3} {
		appendOK(t, s, testRecords(n, size, "general"))
		appendOK(t, s, testRecords(n+size, 1, "financial"))
		n += size + 1
	}
	segs, direct := 0, 0
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err != nil || !strings.HasPrefix(target, dir) || filepath.Ext(target) != ".jsonl" {
			continue
		}
		info, err := os.ReadFile(filepath.Join("/proc/self/fdinfo", fd.Name()))
		if err != nil {
			t.Fatal(err)
		}
		flags := fdFlags(t, string(info))
		segs++
		if flags&syscall.O_DIRECT != 0 {
			direct++
		}
		if flags&syscall.O_APPEND == 0 || flags&syscall.O_ACCMODE != syscall.O_WRONLY {
			t.Errorf("segment %s open with flags %#o: want O_WRONLY|O_APPEND", target, flags)
		}
	}
	// The active segment of each chain, and its direct descriptor where
	// the file system takes direct writes.
	if segs < 2 {
		t.Fatalf("%d open segment descriptors, want at least one per chain", segs)
	}
	if err := takesDirect(t, dir); err == nil && direct < 2 {
		t.Errorf("%d direct segment descriptors on a file system that takes direct writes, want one per chain", direct)
	}
	t.Logf("%d segment descriptors open, %d of them direct", segs, direct)
}

// fdFlags parses the flags line of a /proc/PID/fdinfo file (octal).
func fdFlags(t *testing.T, info string) int {
	t.Helper()
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(line, "flags:"); ok {
			f, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			if err != nil {
				t.Fatalf("fdinfo flags %q: %v", v, err)
			}
			return int(f)
		}
	}
	t.Fatalf("no flags in fdinfo %q", info)
	return 0
}
