package auditlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// TestRingSyncer fsyncs through the ring: a file's fsync succeeds, many in
// a row complete each its own submission, and fsync's own error (a pipe
// cannot be fsynced) comes back as fsync(2) returns it. Where io_uring is
// unavailable the store uses fsync(2) and the test says so.
func TestRingSyncer(t *testing.T) {
	r, err := newRingSyncer()
	if err != nil {
		t.Skipf("no io_uring here (the store falls back to fsync(2)): %v", err)
	}
	defer func() {
		if err := r.close(); err != nil {
			t.Error(err)
		}
	}()
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range 50 {
		if _, err := f.Write([]byte("record\n")); err != nil {
			t.Fatal(err)
		}
		if err := r.sync(f); err != nil {
			t.Fatalf("sync %d: %v", i, err)
		}
	}
	if r.seq != 50 {
		t.Fatalf("%d submissions, want 50", r.seq)
	}

	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	want := pw.Sync()
	got := r.sync(pw)
	var gotErrno, wantErrno syscall.Errno
	if !errors.As(got, &gotErrno) || !errors.As(want, &wantErrno) || gotErrno != wantErrno {
		t.Fatalf("fsync of a pipe through the ring: %v, fsync(2): %v", got, want)
	}
	// The ring goes on after a failed fsync.
	if err := r.sync(f); err != nil {
		t.Fatalf("sync after a failed one: %v", err)
	}

	// Several goroutines at once (a checkpoint's fsync can come while a
	// commit's runs): each gets its own completion.
	var wg sync.WaitGroup
	errs := make(chan error, 4*20)
	for g := range 4 {
		wg.Go(func() {
			f, err := os.Create(filepath.Join(t.TempDir(), fmt.Sprint("f", g)))
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			for range 20 {
				if _, err := f.Write([]byte("record\n")); err != nil {
					errs <- err
					return
				}
				errs <- r.sync(f)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent sync: %v", err)
		}
	}
	if r.seq != 52+80 {
		t.Fatalf("%d submissions, want %d", r.seq, 52+80)
	}
}

// TestStoreUsesRing checks that a store opened without a sync hook fsyncs
// through the ring where there is one, and closes it.
func TestStoreUsesRing(t *testing.T) {
	if r, err := newRingSyncer(); err != nil {
		t.Skipf("no io_uring here: %v", err)
	} else {
		r.close()
	}
	k := newTestKeys(t, "test")
	s := openTestStore(t, t.TempDir(), k)
	if s.ring == nil {
		t.Fatal("store opened without a ring")
	}
	r := s.ring
	appendOK(t, s, testRecords(0, 10, "general"))
	if r.seq == 0 {
		t.Fatal("the append's fsync did not go through the ring")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.ring != nil {
		t.Fatal("Close left the ring open")
	}
}
