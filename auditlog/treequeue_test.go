package auditlog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// TestTreeWritesQueued checks when the tree file is written: not after
// every batch, but once treeWriteBytes of stored hashes are owed, and at
// Close; a store reopened after a crash rebuilds what it was owed; and the
// file holds tlog's stored hashes in the end.
func TestTreeWritesQueued(t *testing.T) {
	treeLen := func(dir string) int64 {
		t.Helper()
		st, err := os.Stat(filepath.Join(dir, "general", TreeFile))
		if err != nil {
			t.Fatal(err)
		}
		return st.Size()
	}
	want := func(n int) int64 { return tlog.StoredHashCount(int64(n)) * tlog.HashSize }
	clock := &fakeClock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	k := newTestKeys(t, "test")
	open := func(dir string) *Store {
		return openTestStore(t, dir, k, WithClock(clock.Now), WithSegmentMaxBytes(1<<30))
	}

	dir := t.TempDir()
	s := open(dir)
	appendOK(t, s, testRecords(0, 100, "general"))
	if got := treeLen(dir); got != 0 {
		t.Fatalf("after one batch the tree file has %d bytes, want none yet", got)
	}
	// Batches until more than treeWriteBytes are owed: then they are
	// written, all of them.
	n := 100
	for want(n) < treeWriteBytes {
		appendOK(t, s, testRecords(n, 1000, "general"))
		n += 1000
	}
	if got := treeLen(dir); got != want(n) {
		t.Fatalf("with %d records the tree file has %d bytes, want %d", n, got, want(n))
	}
	appendOK(t, s, testRecords(n, 100, "general"))
	n += 100
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := treeLen(dir); got != want(n) {
		t.Fatalf("after Close the tree file has %d bytes, want %d", got, want(n))
	}

	// A crash loses what the tree file was owed: Open rebuilds it.
	crashed := t.TempDir()
	s = open(crashed)
	appendOK(t, s, testRecords(0, 300, "general"))
	if got := treeLen(crashed); got != 0 {
		t.Fatalf("tree file has %d bytes before the crash, want none", got)
	}
	abandon(s)
	s = open(crashed)
	appendOK(t, s, testRecords(300, 10, "general"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tree, err := os.ReadFile(filepath.Join(crashed, "general", TreeFile))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(tree)) != want(310) {
		t.Fatalf("after the crash and reopen the tree file has %d bytes, want %d", len(tree), want(310))
	}
	rep, err := Verify(crashed, k.verifiers)
	if err != nil || !rep.OK() {
		t.Fatalf("Verify: %v\n%s", err, findingsText(rep))
	}
}

// abandon drops s as a killed process's files go, with nothing flushed
// or closed in order: the store's lock, and its segments' direct
// descriptors with their locks (see lockDirect), which a new Store in the
// same process would otherwise wait for until the garbage collector
// happened to close them.
func abandon(s *Store) {
	s.lock.Close()
	for _, c := range s.chains {
		if c.direct != nil {
			c.direct.f.Close()
		}
	}
}
