package auditlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// isDirect reports whether f was opened with O_DIRECT.
func isDirect(f *os.File) bool {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	return err == nil && flags&syscall.O_DIRECT != 0
}

// isAppend reports whether f was opened with O_APPEND.
func isAppend(f *os.File) bool {
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	return err == nil && flags&syscall.O_APPEND != 0
}

// needDirect skips the test where the file system of t.TempDir() takes no
// direct writes: the store writes through the page cache there, which
// the other tests cover.
func needDirect(t *testing.T) {
	t.Helper()
	if err := takesDirect(t, t.TempDir()); err != nil {
		t.Skipf("no direct writes on this file system (%v): the store writes through the page cache here", err)
	}
}

// takesDirect returns why the file system of dir takes no direct writes,
// or nil when it does.
func takesDirect(t *testing.T, dir string) error {
	t.Helper()
	path := filepath.Join(dir, "direct-probe")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(path)
	f, err := openDirect(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// testDirectWriter is the directWriter of the file at path, size bytes
// long, locked as the store locks a segment's.
func testDirectWriter(t *testing.T, path string, size int64) *directWriter {
	t.Helper()
	f, err := openDirect(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := lockDirect(f, time.Second); err != nil {
		t.Fatal(err)
	}
	return newDirectWriter(f, size)
}

// testSegment writes text to a new segment file and returns its path and
// the file opened as the store opens a segment, O_WRONLY|O_APPEND, closed
// at the end of the test.
func testSegment(t *testing.T, text []byte) (path string, seg *os.File) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "seg.jsonl")
	if err := os.WriteFile(path, text, 0o600); err != nil {
		t.Fatal(err)
	}
	seg, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { seg.Close() })
	return path, seg
}

// deferredWrites is a submitFunc whose appends happen only when their
// wait is called, from the buffer as it is then: a writer that changed a
// buffer before waiting for its write, or that wrote anything else in
// between, would write the wrong bytes. It checks that every direct write
// is aligned, in memory, in length and where it lands, and that every
// other (a head, through the segment's own descriptor) is shorter than a
// block, and counts both.
type deferredWrites struct {
	t      *testing.T
	mu     sync.Mutex
	n      int   // direct writes
	cached []int // bytes of each other write
}

func (d *deferredWrites) submit(f *os.File, b []byte, off int64) (func() error, error) {
	d.t.Helper()
	if !isAppend(f) {
		d.t.Errorf("append to %s, opened without O_APPEND", f.Name())
	}
	direct := isDirect(f)
	switch {
	case !direct && len(b) >= directAlign:
		d.t.Errorf("write of %d bytes through the page cache, want less than a block", len(b))
	case direct && (len(b)%directAlign != 0 || uintptr(unsafe.Pointer(&b[0]))%directAlign != 0):
		d.t.Errorf("unaligned direct write of %d bytes from %p", len(b), &b[0])
	}
	d.mu.Lock()
	if direct {
		d.n++
	} else {
		d.cached = append(d.cached, len(b))
	}
	d.mu.Unlock()
	return func() error {
		st, err := f.Stat()
		if err != nil {
			return err
		}
		if st.Size() != off || (direct && off%directAlign != 0) {
			d.t.Errorf("append of %d bytes (direct: %v) at offset %d, submitted for %d", len(b), direct, st.Size(), off)
		}
		_, err = f.Write(b)
		return err
	}, nil
}

// TestDirectWriterBytes writes sequences of texts through a directWriter
// to a real file, flushing at given points, and checks after each flush
// that the file holds exactly the text so far: across blocks and
// buffers, with the writes completing only when waited for, on a file
// reopened with a partial last block, and after a cut back. Every write,
// direct or through the page cache, appends.
func TestDirectWriterBytes(t *testing.T) {
	needDirect(t)
	type step struct {
		write  int  // bytes to write (0: none)
		flush  bool // flush after it
		cut    int  // > 0: cut the file back by this many bytes first
		reopen bool
	}
	const buf = directBufBytes
	for _, tc := range []struct {
		name  string
		start int // bytes in the file before the writer opens it
		steps []step
		// direct is how many direct writes the steps make.
		direct int
	}{
		{name: "less than a block, flushed each time", steps: []step{{write: 100, flush: true}, {write: 1000, flush: true}, {write: 3000, flush: true}, {write: 1, flush: true}}, direct: 0},
		{name: "head, blocks and tail", steps: []step{{write: 100, flush: true}, {write: 3*directAlign + 10, flush: true}}, direct: 1},
		{name: "exactly a block", steps: []step{{write: directAlign, flush: true}, {write: directAlign, flush: true}}, direct: 2},
		{name: "parts held until the flush", steps: []step{{write: 700}, {write: 5000}, {write: 3}, {write: 9000, flush: true}}, direct: 1},
		{name: "exactly one buffer", steps: []step{{write: buf, flush: true}, {write: 10, flush: true}}, direct: 1},
		{name: "several buffers in one write", steps: []step{{write: 2*buf + buf/2 + 17, flush: true}, {write: buf + 1, flush: true}}, direct: 4},
		{name: "parts gathered to the submit size", steps: []step{{write: 100 << 10}, {write: 100 << 10}, {write: 100 << 10}, {write: 100 << 10}, {write: 100 << 10}, {write: 100 << 10, flush: true}}, direct: 2},
		{name: "parts past the submit size", steps: []step{{write: buf / 3}, {write: buf / 3}, {write: buf / 3}, {write: buf / 3}, {write: buf / 3, flush: true}}, direct: 5},
		{name: "flush with nothing to write", steps: []step{{flush: true}, {write: 10, flush: true}, {flush: true}}, direct: 0},
		{name: "file with a partial block", start: 3*directAlign + 123, steps: []step{{write: 50, flush: true}, {write: buf, flush: true}}, direct: 1},
		{name: "file of whole blocks", start: 2 * directAlign, steps: []step{{write: 50, flush: true}}, direct: 0},
		{name: "cut back then written", steps: []step{{write: 10000, flush: true}, {cut: 3000, write: 5000, flush: true}, {cut: 5000, write: buf + 7, flush: true}}, direct: 2},
		{name: "reopened", steps: []step{{write: 10000, flush: true}, {reopen: true, write: 777, flush: true}, {reopen: true, write: buf, flush: true}}, direct: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := make([]byte, tc.start)
			for i := range want {
				want[i] = byte('a' + i%26)
			}
			path, seg := testSegment(t, want)
			w := testDirectWriter(t, path, int64(len(want)))
			defer func() { w.close() }()
			d := &deferredWrites{t: t}
			var cached []int // bytes of each write through the page cache
			write := func(f *os.File, b []byte, off int64) (int, error) {
				if f != seg || off != -1 {
					t.Errorf("write of %d bytes to %s at %d, want appends to the segment's own descriptor", len(b), f.Name(), off)
				}
				cached = append(cached, len(b))
				return plainWrite(f, b, off)
			}
			next := byte(0)
			for i, st := range tc.steps {
				if st.reopen {
					if err := w.close(); err != nil {
						t.Fatal(err)
					}
					w = testDirectWriter(t, path, int64(len(want)))
				}
				if st.cut > 0 {
					w.desync()
					want = want[:len(want)-st.cut]
					if err := seg.Truncate(int64(len(want))); err != nil {
						t.Fatal(err)
					}
				}
				text := make([]byte, st.write)
				for j := range text {
					text[j] = '0' + next%64
					next++
				}
				if st.write > 0 {
					if err := w.write(text, int64(len(want)), seg, d.submit); err != nil {
						t.Fatalf("step %d: write: %v", i, err)
					}
				}
				want = append(want, text...)
				if !st.flush {
					continue
				}
				if err := w.flush(seg, d.submit, write); err != nil {
					t.Fatalf("step %d: flush: %v", i, err)
				}
				got, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("step %d: file holds %d bytes, want %d; first difference at %d", i, len(got), len(want), bytesDiffAt(got, want))
				}
			}
			if d.n != tc.direct {
				t.Errorf("%d direct writes, want %d", d.n, tc.direct)
			}
			for _, n := range append(cached, d.cached...) {
				if n >= directAlign {
					t.Errorf("writes through the page cache of %v and %v bytes, want less than a block each", cached, d.cached)
					break
				}
			}
		})
	}
}

// TestDirectWriterSpare appends text in place to the buffer spare lends
// and hands it back with took, as the chain's staging does, checking the
// file's bytes after each flush: text that fits, text that outgrows the
// buffer (appended into memory of its own), and the cases where spare
// lends nothing: a head to write first, an offset that is not the
// writer's end.
func TestDirectWriterSpare(t *testing.T) {
	needDirect(t)
	const buf = directBufBytes
	for _, tc := range []struct {
		name  string
		start int   // bytes in the file before
		held  int   // bytes written (not flushed) before spare
		adds  []int // bytes appended in place, one spare/took each
		// lent is whether spare lends the buffer for the first add.
		lent   bool
		direct int
	}{
		{name: "fits", adds: []int{1000, 5000, 300 << 10}, lent: true, direct: 1},
		{name: "after held text", held: 10000, adds: []int{100 << 10}, lent: true, direct: 1},
		{name: "outgrows the buffer", held: 200 << 10, adds: []int{buf}, lent: true, direct: 2},
		{name: "exactly fills the buffer", adds: []int{buf}, lent: true, direct: 1},
		{name: "head first", start: 100, adds: []int{7000}, lent: false, direct: 0},
		{name: "file of whole blocks", start: 2 * directAlign, adds: []int{7000, 300 << 10}, lent: true, direct: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := bytes.Repeat([]byte("s"), tc.start)
			path, seg := testSegment(t, want)
			w := testDirectWriter(t, path, int64(len(want)))
			defer func() { w.close() }()
			d := &deferredWrites{t: t}
			next := byte(0)
			text := func(n int) []byte {
				b := make([]byte, n)
				for i := range b {
					b[i] = 'A' + next%58
					next++
				}
				return b
			}
			if tc.held > 0 {
				h := text(tc.held)
				if err := w.write(h, int64(len(want)), seg, d.submit); err != nil {
					t.Fatal(err)
				}
				want = append(want, h...)
			}
			if b := w.spare(int64(len(want)) + 1); b != nil {
				t.Errorf("spare at an offset past the writer's end: lent %d bytes", len(b))
			}
			for i, n := range tc.adds {
				add := text(n)
				b := w.spare(int64(len(want)))
				if i == 0 && (b != nil) != tc.lent {
					t.Fatalf("spare lent the buffer: %v, want %v", b != nil, tc.lent)
				}
				if b == nil {
					if err := w.write(add, int64(len(want)), seg, d.submit); err != nil {
						t.Fatal(err)
					}
				} else {
					b = append(b, add...) // may outgrow the buffer, as encoding would
					if err := w.took(b, seg, d.submit); err != nil {
						t.Fatal(err)
					}
				}
				want = append(want, add...)
			}
			if err := w.flush(seg, d.submit, plainWrite); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("file holds %d bytes, want %d; first difference at %d", len(got), len(want), bytesDiffAt(got, want))
			}
			if d.n != tc.direct {
				t.Errorf("%d direct writes, want %d", d.n, tc.direct)
			}
		})
	}
}

// bytesDiffAt is the first offset at which a and b differ.
func bytesDiffAt(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestDirectWriterOffsetMismatch checks that a write at an offset other
// than where the writer's text ends fails without writing, and that the
// writer takes the offset of the next write as the file's end.
func TestDirectWriterOffsetMismatch(t *testing.T) {
	needDirect(t)
	path, seg := testSegment(t, []byte("0123456789"))
	w := testDirectWriter(t, path, 10)
	defer w.close()
	submit := submitNow(plainWrite)
	if err := w.write([]byte("x"), 5, seg, submit); err == nil {
		t.Fatal("write at offset 5 of a 10-byte file: no error")
	}
	if err := w.write([]byte("abc"), 10, seg, submit); err != nil {
		t.Fatal(err)
	}
	if err := w.flush(seg, submit, plainWrite); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "0123456789abc" {
		t.Fatalf("file holds %q", got)
	}
}

// TestDirectStoreWrites checks how the store writes a segment on a file
// system that takes direct writes: the whole blocks of the text directly,
// aligned, and at most the head and the tail of each commit, less than a
// block each, through the page cache; every write appends, through a
// descriptor opened O_APPEND; the records are the same, and the store
// verifies, also after it is reopened with a partial block at the end of
// its segment.
func TestDirectStoreWrites(t *testing.T) {
	needDirect(t)
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	var mu sync.Mutex
	var direct, cached []int // bytes of each segment write
	record := func(f *os.File, b []byte, off int64) (int, error) {
		if filepath.Ext(f.Name()) == ".jsonl" {
			mu.Lock()
			if !isAppend(f) || off != -1 {
				t.Errorf("write of %d bytes at %d to a segment's descriptor opened without O_APPEND (%v) or not at its end", len(b), off, isAppend(f))
			}
			if isDirect(f) {
				if st, err := f.Stat(); err != nil || st.Size()%directAlign != 0 || len(b)%directAlign != 0 {
					t.Errorf("unaligned direct write of %d bytes at %d (%v)", len(b), st.Size(), err)
				}
				direct = append(direct, len(b))
			} else {
				cached = append(cached, len(b))
			}
			mu.Unlock()
		}
		return plainWrite(f, b, off)
	}
	n := 0
	for round := range 2 {
		s := openTestStore(t, dir, k, withWriteFile(record))
		for _, size := range []int{1, 3, 200, 1000, 7} {
			mu.Lock()
			direct, cached = nil, nil
			mu.Unlock()
			appendOK(t, s, testRecords(n, size, "general"))
			n += size
			mu.Lock()
			if len(cached) > 2 || slices.ContainsFunc(cached, func(n int) bool { return n >= directAlign }) {
				t.Errorf("round %d, %d records: writes through the page cache of %v bytes, want at most two of less than a block", round, size, cached)
			}
			if size >= 200 && len(direct) == 0 {
				t.Errorf("round %d, %d records: no direct write", round, size)
			}
			mu.Unlock()
		}
		closeVerifiedOnce(t, s, dir, k, n)
	}
}

// TestDirectWriteFailure fails a direct write part-way, as a disk that
// fills up or breaks does, at each of the first writes of a transaction
// in turn: the append fails, the segment is cut back, and the next
// append writes after the last acknowledged record; in the end the store
// verifies with every acknowledged record once.
func TestDirectWriteFailure(t *testing.T) {
	needDirect(t)
	for failAt := range 5 {
		t.Run(fmt.Sprint("write ", failAt), func(t *testing.T) {
			k := newTestKeys(t, "test")
			dir := t.TempDir()
			var mu sync.Mutex
			armed, seen := false, 0
			submit := func(f *os.File, b []byte, off int64) (func() error, error) {
				mu.Lock()
				fail := armed && seen == failAt
				if armed {
					seen++
				}
				mu.Unlock()
				if !fail {
					return submitNow(plainWrite)(f, b, off)
				}
				// Half of it reaches the file.
				half := len(b) / 2 &^ (directAlign - 1)
				if _, err := f.Write(b[:half]); err != nil {
					return nil, err
				}
				return func() error {
					return &os.PathError{Op: "writeat", Path: f.Name(), Err: syscall.ENOSPC}
				}, nil
			}
			s := openTestStore(t, dir, k, func(o *options) { o.writeDirect = submit })
			appendOK(t, s, append(testRecords(0, 333, "general"), testRecord(333, "financial")))
			mu.Lock()
			armed = true
			mu.Unlock()
			// About 4.4 MB: five direct writes.
			_, err := s.Append(context.Background(), testRecords(1000, 3500, "general"))
			mu.Lock()
			armed = false
			mu.Unlock()
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("append whose direct write %d failed: %v, want ENOSPC", failAt, err)
			}
			appendOK(t, s, testRecords(1000, 3500, "general"))
			appendOK(t, s, testRecords(5000, 5, "general"))
			closeVerifiedOnce(t, s, dir, k, 334+3500+5)
		})
	}
}

// TestDirectAbortInFlight aborts a transaction while its writes are in
// flight: a direct write of its first part, submitted once 256 KiB had
// gathered, and the head of its text, both written only when waited for.
// The cut back waits for them before it cuts, so that nothing lands after
// it: the segment is as before, and the store goes on and verifies.
func TestDirectAbortInFlight(t *testing.T) {
	needDirect(t)
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	d := &deferredWrites{t: t}
	s := openTestStore(t, dir, k, func(o *options) { o.writeDirect = d.submit })
	appendOK(t, s, testRecords(0, 7, "general")) // a partial last block
	before := storeFiles(t, dir)
	bad := testRecord(999, "general")
	bad.Retention.Class = "no/such chain"
	txn, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Append(testRecords(7, 400, "general")); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	submitted, heads := d.n, len(d.cached)
	d.mu.Unlock()
	if submitted == 0 || heads == 0 {
		t.Fatalf("%d direct writes and %d heads submitted by the first part, want both", submitted, heads)
	}
	if err := txn.Append([]*Record{bad}); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("append of an invalid record: %v", err)
	}
	if _, err := txn.Commit(); !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("commit after an invalid record: %v", err)
	}
	after := storeFiles(t, dir)
	for name, b := range before {
		if filepath.Ext(name) == ".jsonl" && !bytes.Equal(b, after[name]) {
			t.Fatalf("the aborted transaction left %d bytes in %s, want %d", len(after[name]), name, len(b))
		}
	}
	appendOK(t, s, testRecords(7, 400, "general"))
	closeVerifiedOnce(t, s, dir, k, 407)
}

// TestDirectSegmentLocked holds the flock of the active segment from
// another open file, as an earlier writer's direct writes in flight do
// (see lockDirect): Open waits for it, gives up with a clear error once
// its wait is over, and goes on, reading the segment only then, as soon
// as the lock is let go.
func TestDirectSegmentLocked(t *testing.T) {
	needDirect(t)
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	s := openTestStore(t, dir, k)
	appendOK(t, s, testRecords(0, 10, "general"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	earlier, err := os.OpenFile(segPath(s, 0), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer earlier.Close()
	if locked, err := tryLock(earlier); !locked || err != nil {
		t.Fatalf("locking the segment as an earlier writer: %v, %v", locked, err)
	}

	_, err = Open(dir, WithOrigin(testOrigin), WithSigner(k.signer), func(o *options) { o.directLockWait = 50 * time.Millisecond })
	if err == nil || !strings.Contains(err.Error(), "still locked") {
		t.Fatalf("Open with the segment locked past its wait: %v, want a still-locked error", err)
	}

	opened := make(chan *Store, 1)
	go func() {
		s, err := Open(dir, WithOrigin(testOrigin), WithSigner(k.signer))
		if err != nil {
			t.Error(err)
		}
		opened <- s
	}()
	for deadline := time.Now().Add(10 * time.Second); !waitingInLockDirect(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("Open did not wait for the segment's lock")
		}
	}
	select {
	case <-opened:
		t.Fatal("Open returned while the segment was locked")
	default:
	}
	// The earlier writer's last write lands, and it lets go.
	if _, err := earlier.Write([]byte("torn")); err != nil {
		t.Fatal(err)
	}
	earlier.Close()
	s = <-opened
	if s == nil {
		t.FailNow()
	}
	// The torn bytes were cut: Open read the segment after they landed.
	appendOK(t, s, testRecords(10, 10, "general"))
	closeVerifiedOnce(t, s, dir, k, 20)
}

// waitingInLockDirect reports whether a goroutine is in lockDirect.
func waitingInLockDirect() bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Contains(string(buf), "auditlog.lockDirect(")
}
