package auditlog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
)

// withSyncFile replaces the fsync of segment and tree files.
func withSyncFile(f func(*os.File) error) Option { return func(o *options) { o.syncFile = f } }

// withSyncAfter replaces the queued fsync of segments (see Txn.Commit).
func withSyncAfter(f func(*os.File) (func() error, error)) Option {
	return func(o *options) { o.syncAfter = f }
}

// withBufferedWrites writes segments through the page cache, as on a
// file system that takes no direct writes (see directWriter).
func withBufferedWrites() Option { return func(o *options) { o.bufferedWrites = true } }

// withWriteFile replaces the write of segment and tree files.
func withWriteFile(f writeFunc) Option {
	return func(o *options) { o.writeIdle, o.writeBusy = f, f }
}

// failingSyncs makes the next n fsyncs of chain's files named by ext
// (".jsonl" for segments, ".hashes" for the tree file) fail with EIO, as a
// disk that has gone bad does: the write before them succeeded, so the
// data is in the page cache but not known to be on disk.
//
// Armed with armWrite, it makes the next write to chain's segments write
// only its first bytes and then fail with ENOSPC, as a file system that
// fills up does.
type failingSyncs struct {
	mu     sync.Mutex
	chain  string
	ext    string
	n      int
	failed int

	writeChain string // "": not armed
	writeBytes int
}

func (f *failingSyncs) armWrite(chain string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeChain, f.writeBytes = chain, n
}

func (f *failingSyncs) write(file *os.File, b []byte, off int64) (int, error) {
	f.mu.Lock()
	fail := f.writeChain != "" && filepath.Ext(file.Name()) == ".jsonl" && filepath.Base(filepath.Dir(file.Name())) == f.writeChain
	n := f.writeBytes
	if fail {
		f.writeChain = ""
	}
	f.mu.Unlock()
	if !fail {
		return plainWrite(file, b, off)
	}
	n = min(n, len(b))
	if isDirect(file) {
		n &^= directAlign - 1 // what a direct write can stop at
	}
	m, err := plainWrite(file, b[:n], off)
	if err == nil {
		err = &os.PathError{Op: "write", Path: file.Name(), Err: syscall.ENOSPC}
	}
	return m, err
}

func (f *failingSyncs) arm(chain string, n int) { f.armFile(chain, ".jsonl", n) }

func (f *failingSyncs) armFile(chain, ext string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.chain, f.ext, f.n = chain, ext, n
}

func (f *failingSyncs) sync(file *os.File) error {
	f.mu.Lock()
	fail := f.n > 0 && filepath.Ext(file.Name()) == f.ext && filepath.Base(filepath.Dir(file.Name())) == f.chain
	if fail {
		f.n--
		f.failed++
	}
	f.mu.Unlock()
	if fail {
		return &os.PathError{Op: "sync", Path: file.Name(), Err: syscall.EIO}
	}
	return file.Sync()
}

// TestSyncFailure makes fsync fail after a successful write: Append
// returns the I/O error and acknowledges nothing of the failed chain, the
// chain is cut back to what was durable (also when the fsync of that cut
// fails too, by reloading the chain from disk before the next write), the
// dedup window forgets the failed records so that the retried batch is
// written rather than skipped as duplicates, and the store verifies with
// every acknowledged record exactly once.
func TestSyncFailure(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fails int // consecutive failing segment fsyncs: the write's, then the rollback's
	}{
		{name: "write fsync fails", fails: 1},
		{name: "write and rollback fsyncs fail", fails: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestKeys(t, "test")
			dir := t.TempDir()
			fs := &failingSyncs{}
			s := openTestStore(t, dir, k, withSyncFile(fs.sync), WithSegmentMaxBytes(16<<10))
			ctx := context.Background()
			want := 0
			for i := 0; i < 60; i += 20 {
				res, err := s.Append(ctx, testRecords(i, 20, "general"))
				if err != nil || res.Written != 20 {
					t.Fatalf("append: %+v %v", res, err)
				}
				want += 20
			}

			// A batch for two chains: financial (written first, names
			// sorted) succeeds, general's fsync fails.
			batch := append(testRecords(1000, 10, "financial"), testRecords(2000, 10, "general")...)
			fs.arm("general", tc.fails)
			res, err := s.Append(ctx, batch)
			if !errors.Is(err, syscall.EIO) {
				t.Fatalf("append with a failing fsync: %+v %v, want EIO", res, err)
			}
			if res.Written != 10 {
				t.Fatalf("written %d, want the 10 of the chain before the failure", res.Written)
			}
			want += 10
			if fs.failed != tc.fails {
				t.Fatalf("%d fsyncs failed, want %d", fs.failed, tc.fails)
			}
			if got := len(readChain(t, dir, "general")); got != 60 {
				t.Fatalf("general holds %d records after the failed fsync, want the 60 acknowledged", got)
			}

			// The retried batch: financial's records are duplicates,
			// general's are written now.
			res, err = s.Append(ctx, batch)
			if err != nil || res.Written != 10 || res.Duplicates != 10 {
				t.Fatalf("retry: %+v %v, want 10 written and 10 duplicates", res, err)
			}
			want += 10
			// And the chain goes on, across a seal.
			want += goOnAndVerify(t, s, dir, k, 3000, 20, want)
			eachOnce(t, dir, want)
		})
	}
}

// TestTreeSyncFailure makes the fsync of the tree file fail where a
// checkpoint or a seal needs it: the checkpoint, or the batch whose seal
// failed, returns the I/O error without writing anything it would have to
// take back; the next attempt succeeds, and the store verifies with every
// acknowledged record once.
func TestTreeSyncFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		// fail triggers the failing fsync; it returns the records it
		// got acknowledged.
		fail func(t *testing.T, s *Store) int
	}{
		{name: "checkpoint", fail: func(t *testing.T, s *Store) int {
			if err := s.Checkpoint(); !errors.Is(err, syscall.EIO) {
				t.Fatalf("checkpoint with a failing tree fsync: %v, want EIO", err)
			}
			if err := s.Checkpoint(); err != nil {
				t.Fatalf("checkpoint once fsync works again: %v", err)
			}
			return 0
		}},
		{name: "seal", fail: func(t *testing.T, s *Store) int {
			// The active segment is past its size: the next batch seals
			// it first, and the seal fsyncs the tree.
			batch := testRecords(5000, 20, "general")
			res, err := s.Append(context.Background(), batch)
			if !errors.Is(err, syscall.EIO) || res.Written != 0 {
				t.Fatalf("append whose seal fails: %+v %v, want EIO and nothing written", res, err)
			}
			res, err = s.Append(context.Background(), batch)
			if err != nil || res.Written != 20 {
				t.Fatalf("retry: %+v %v", res, err)
			}
			return 20
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestKeys(t, "test")
			dir := t.TempDir()
			fs := &failingSyncs{}
			s := openTestStore(t, dir, k, withSyncFile(fs.sync), WithSegmentMaxBytes(8<<10))
			// One batch past the segment size: the next batch seals.
			if res, err := s.Append(context.Background(), testRecords(0, 10, "general")); err != nil || res.Written != 10 {
				t.Fatalf("append: %+v %v", res, err)
			}
			want := 10
			fs.armFile("general", ".hashes", 1)
			want += tc.fail(t, s)
			if fs.failed != 1 {
				t.Fatalf("%d tree fsyncs failed, want 1", fs.failed)
			}
			goOnAndVerify(t, s, dir, k, 6000, 5, want)
		})
	}
}

// goOnAndVerify appends batches of 20 general records (from seq from on)
// after a failure, closes the store and verifies it in full with want
// records before them; it returns the records it added.
func goOnAndVerify(t *testing.T, s *Store, dir string, k testKeys, from, batches, want int) int {
	t.Helper()
	for i := range batches {
		if res, err := s.Append(context.Background(), testRecords(from+20*i, 20, "general")); err != nil || res.Written != 20 {
			t.Fatalf("append after the failure: %+v %v", res, err)
		}
	}
	want += 20 * batches
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, k.verifiers, VerifyFull())
	if err != nil || !rep.OK() || rep.Records != uint64(want) {
		t.Fatalf("verify: %v, %d records (want %d)\n%s", err, rep.Records, want, findingsText(rep))
	}
	return 20 * batches
}
