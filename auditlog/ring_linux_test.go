package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// ioringOpRead is IORING_OP_READ, which only the tests submit.
const ioringOpRead = 22

// newTestRing returns a ring closed when the test ends, or skips the test
// where io_uring is unavailable (the store then uses the plain system
// calls, which other tests cover).
func newTestRing(t *testing.T) *ring {
	t.Helper()
	r, err := newRing(zap.NewNop(), 0)
	if err != nil {
		t.Skipf("no io_uring here: %v", err)
	}
	t.Cleanup(func() {
		if err := r.close(); err != nil {
			t.Error(err)
		}
	})
	return r
}

// TestRingSync fsyncs through the ring: a file's fsync succeeds, many in
// a row complete each its own submission, and fsync's own error (a pipe
// cannot be fsynced) comes back as fsync(2) returns it. Where io_uring is
// unavailable the store uses fsync(2) and the test says so.
func TestRingSync(t *testing.T) {
	r := newTestRing(t)
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

// openFDs counts the process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// TestRingSyncAfter queues fsyncs behind one in flight: each wait returns
// its own fsync's result, as fsync(2) would (a pipe's error included),
// whatever order the waits come in and with other operations and waiters
// in between; a queued fsync still reaches a file closed before its wait;
// and no duplicate descriptor outlives its wait.
func TestRingSyncAfter(t *testing.T) {
	r := newTestRing(t)
	dir := t.TempDir()
	open := func(name string) *os.File {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte("record\n")); err != nil {
			t.Fatal(err)
		}
		return f
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	var pipeErrno syscall.Errno
	if !errors.As(pw.Sync(), &pipeErrno) {
		t.Fatal("fsync(2) of a pipe did not fail")
	}
	fds := openFDs(t)

	// Queued in a row; waited for in reverse, the pipe's among them.
	a, b := open("a"), open("b")
	defer a.Close()
	defer b.Close()
	var waits []func() error
	for _, f := range []*os.File{a, pw, b} {
		wait, err := r.syncAfter(f)
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, wait)
	}
	for i := len(waits) - 1; i >= 0; i-- {
		err := waits[i]()
		var errno syscall.Errno
		switch {
		case i == 1 && (!errors.As(err, &errno) || errno != pipeErrno):
			t.Fatalf("queued fsync of a pipe: %v, want %v as fsync(2)", err, pipeErrno)
		case i != 1 && err != nil:
			t.Fatalf("queued fsync %d: %v", i, err)
		}
	}

	// Closed between the submission and the wait.
	c := open("c")
	wait, err := r.syncAfter(c)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err != nil {
		t.Fatalf("queued fsync of a file closed since: %v", err)
	}

	// A commit's fsync runs (run, waited for at once) while the next
	// transaction's is queued behind it and other goroutines sync too.
	var wg sync.WaitGroup
	errs := make(chan error, 3*30)
	for g := range 3 {
		wg.Go(func() {
			f := open(fmt.Sprint("g", g))
			defer f.Close()
			for i := range 30 {
				if g == 0 || i%2 == 0 {
					errs <- r.sync(f)
					continue
				}
				wait, err := r.syncAfter(f)
				if err == nil {
					err = wait()
				}
				errs <- err
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
	if n := openFDs(t); n != fds+2 { // a and b
		t.Fatalf("%d descriptors open, want %d: a duplicate was not closed", n, fds+2)
	}
	if len(r.done) != 0 {
		t.Fatalf("%d completions left unclaimed", len(r.done))
	}
}

// TestRingWrite writes through the ring as os.File's Write and WriteAt
// would: appends land at the end of an O_APPEND file, whatever its
// position; writes at an offset land there; a write error comes back as
// write(2)'s; and once the ring is broken, writes fall back to write(2).
func TestRingWrite(t *testing.T) {
	r := newTestRing(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "append")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []byte
	for i := range 40 {
		line := bytes.Repeat([]byte{byte('a' + i%26)}, 1+i*977) // up to ~38 kB
		line = append(line, '\n')
		if i == 20 {
			// A cut, as rollback makes: the next append lands at the new end.
			if err := f.Truncate(int64(len(want) / 2)); err != nil {
				t.Fatal(err)
			}
			want = want[:len(want)/2]
		}
		n, err := r.write(f, line, -1)
		if err != nil || n != len(line) {
			t.Fatalf("append %d: %d, %v; want %d", i, n, err, len(line))
		}
		want = append(want, line...)
	}
	if r.seq < 40 {
		t.Fatalf("%d submissions for 40 writes", r.seq)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file holds %d bytes, want %d (or they differ)", len(got), len(want))
	}

	// At offsets, as the tree file is written: over the end and past it.
	tf, err := os.OpenFile(filepath.Join(dir, "tree"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.Close()
	for _, w := range []struct {
		off  int64
		data string
	}{{0, "0123456789"}, {4, "abcd"}, {12, "xy"}} {
		if n, err := r.write(tf, []byte(w.data), w.off); err != nil || n != len(w.data) {
			t.Fatalf("write at %d: %d, %v", w.off, n, err)
		}
	}
	if got, err := os.ReadFile(tf.Name()); err != nil || string(got) != "0123abcd89\x00\x00xy" {
		t.Fatalf("tree file %q, %v", got, err)
	}

	// write(2)'s error: a read-only descriptor.
	ro, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	_, want1 := ro.Write([]byte("x"))
	_, got1 := r.write(ro, []byte("x"), -1)
	var gotErrno, wantErrno syscall.Errno
	if !errors.As(got1, &gotErrno) || !errors.As(want1, &wantErrno) || gotErrno != wantErrno {
		t.Fatalf("write to a read-only file through the ring: %v, write(2): %v", got1, want1)
	}

	// Broken: the plain system call, same result.
	r.mu.Lock()
	r.broken = true
	r.mu.Unlock()
	seq := r.seq
	if n, err := r.write(f, []byte("after\n"), -1); err != nil || n != 6 {
		t.Fatalf("write on a broken ring: %d, %v", n, err)
	}
	if err := r.sync(f); err != nil {
		t.Fatalf("sync on a broken ring: %v", err)
	}
	if r.seq != seq {
		t.Fatal("a broken ring was entered again")
	}
	if got, err := os.ReadFile(path); err != nil || !bytes.HasSuffix(got, []byte("\nafter\n")) {
		t.Fatalf("after the fallback write the file ends %q, %v", got[max(0, len(got)-10):], err)
	}
}

// TestRingWriteFull writes through the ring until a real (tmpfs) file
// system is full: the write that does not fit fails with ENOSPC and
// reports what it wrote before, as write(2) does.
func TestRingWriteFull(t *testing.T) {
	r := newTestRing(t)
	mnt := mountTmpfs(t, "256k")
	f, err := os.OpenFile(filepath.Join(mnt, "f"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("x"), 100<<10)
	total := 0
	for range 10 {
		n, err := r.write(f, chunk, -1)
		total += n
		if err == nil {
			if n != len(chunk) {
				t.Fatalf("short write without an error: %d", n)
			}
			continue
		}
		if !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("write on a full file system: %v, want ENOSPC", err)
		}
		fi, serr := f.Stat()
		if serr != nil || fi.Size() != int64(total) {
			t.Fatalf("file size %v (%v), writes reported %d bytes", fi.Size(), serr, total)
		}
		return
	}
	t.Fatal("a 256 kB file system took 1 MB")
}

// TestStoreUsesRing checks that a store opened without hooks writes and
// fsyncs through its rings where there are, and closes them.
func TestStoreUsesRing(t *testing.T) {
	if r, err := newRing(zap.NewNop(), 0); err != nil {
		t.Skipf("no io_uring here: %v", err)
	} else {
		r.close()
	}
	k := newTestKeys(t, "test")
	s := openTestStore(t, t.TempDir(), k)
	if s.wring == nil || s.sring == nil {
		t.Fatal("store opened without its rings")
	}
	w, r := s.wring, s.sring
	appendOK(t, s, testRecords(0, 10, "general"))
	if w.seq == 0 {
		t.Fatal("the append's write did not go through the ring")
	}
	if r.seq == 0 {
		t.Fatal("the append's fsync did not go through the ring")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.wring != nil || s.sring != nil {
		t.Fatal("Close left a ring open")
	}
}

// TestRingCompletionOverflow queues more fsyncs than the completion queue
// holds and waits for none until all have completed: the kernel keeps the
// completions that do not fit on its overflow list, and every wait must
// still get its own. (Before, the poller waited for the completion queue
// to fill again, which it never did: a store's writer hung in Commit.)
func TestRingCompletionOverflow(t *testing.T) {
	r := newTestRing(t)
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cqEntries := r.cqMask + 1
	n := int(3 * cqEntries)
	waits := make([]func() error, n)
	for i := range waits {
		if waits[i], err = r.syncAfter(f); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(30 * time.Second); !r.overflowed(); {
		if time.Now().After(deadline) {
			t.Fatalf("%d completions did not overflow a queue of %d", n, cqEntries)
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan error, 1)
	go func() {
		for i, wait := range waits {
			if err := wait(); err != nil {
				done <- fmt.Errorf("fsync %d: %w", i, err)
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("a completion of %d, %d more than the queue holds, was never returned", n, n-int(cqEntries))
	}
}

// TestRingReapedByAnother has a completion reaped by another goroutine's
// await while its own waiter is parked in the poller: that waiter must
// still return. (Before, woken by the completion's signal, it found the
// queue empty again and parked for good, and a concurrent fsync hung.)
// The read is on a pipe, so the test decides when it completes; it holds
// r.mu meanwhile and reaps, as a goroutine entering await does, before
// the parked waiter is scheduled.
func TestRingReapedByAnother(t *testing.T) {
	r := newTestRing(t)
	for round := range 50 {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		seq := submitPipeRead(t, r, pr, buf)
		type result struct {
			res int32
			err error
		}
		got := make(chan result, 1)
		go func() {
			res, err := r.await(seq, false)
			got <- result{res, err}
		}()
		for polling := false; !polling; {
			time.Sleep(time.Millisecond)
			r.mu.Lock()
			polling = r.polling
			r.mu.Unlock()
		}
		r.mu.Lock()
		tail := atomic.LoadUint32(r.cqTail)
		if _, err := pw.Write([]byte{1}); err != nil {
			r.mu.Unlock()
			t.Fatal(err)
		}
		for atomic.LoadUint32(r.cqTail) == tail {
			runtime.Gosched()
		}
		r.reap()
		r.mu.Unlock()
		select {
		case g := <-got:
			if g.err != nil || g.res != 1 {
				t.Fatalf("round %d: read through the ring: %d, %v; want 1, nil", round, g.res, g.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a completion reaped by another goroutine never reached its waiter", round)
		}
		runtime.KeepAlive(buf)
		pr.Close()
		pw.Close()
	}
}

// TestRingSignalBeforeWait has a completion signal after its waiter last
// reaped and before it waits in the poller, and another goroutine reap it
// in between, as a Commit taking its own fsync's result does: Go's poller
// forgets a signal that came before a read began, so the waiter must see
// that completions were reaped meanwhile. Without that, the checkpoint
// ticker waited forever for a tree file's fsync under the store's lock
// (two -race test processes at once, 1 in 4 runs of the store's
// concurrency tests).
func TestRingSignalBeforeWait(t *testing.T) {
	r := newTestRing(t)
	for round := range 20 {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1)
		seq := submitPipeRead(t, r, pr, buf)
		once := true
		r.beforePoll = func() {
			if !once {
				return
			}
			once = false
			tail := atomic.LoadUint32(r.cqTail)
			if _, err := pw.Write([]byte{1}); err != nil {
				t.Error(err)
				return
			}
			for atomic.LoadUint32(r.cqTail) == tail {
				runtime.Gosched()
			}
			// Idle long enough for the scheduler to take the signal
			// from the eventfd into the poller, with no one waiting.
			time.Sleep(20 * time.Millisecond)
			r.mu.Lock()
			r.reap()
			r.mu.Unlock()
		}
		got := make(chan error, 1)
		go func() {
			res, err := r.await(seq, false)
			if err == nil && res != 1 {
				err = fmt.Errorf("read %d bytes, want 1", res)
			}
			got <- err
		}()
		select {
		case err := <-got:
			if err != nil {
				t.Fatalf("round %d: read through the ring: %v", round, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("round %d: a completion reaped by another goroutine before its waiter began to wait never reached it", round)
		}
		r.beforePoll = nil
		runtime.KeepAlive(buf)
		pr.Close()
		pw.Close()
	}
}

// submitPipeRead submits a read of one byte from pr into buf through r,
// which completes once the test writes to the pipe, and returns its seq.
func submitPipeRead(t *testing.T, r *ring, pr *os.File, buf []byte) uint64 {
	t.Helper()
	seq, err := r.submit(int32(pr.Fd()), 0, func(sqe []byte, fd int32) {
		sqe[0] = ioringOpRead
		*(*int32)(unsafe.Pointer(&sqe[4])) = fd
		*(*int64)(unsafe.Pointer(&sqe[8])) = -1
		*(*uintptr)(unsafe.Pointer(&sqe[16])) = uintptr(unsafe.Pointer(&buf[0]))
		*(*uint32)(unsafe.Pointer(&sqe[24])) = 1
	})
	if err != nil {
		t.Fatal(err)
	}
	return seq
}

// TestRingCancelsStuckWrite submits writes that cannot complete (to a
// full pipe, where the kernel parks them until there is room, as it parked
// the write once seen stuck in CI) and checks that await cancels each once
// its wait is over and that the write is then made with write(2): it
// succeeds instead of waiting forever, its bytes reach the pipe once, the
// ring goes on writing and fsyncing, and the cancel is logged once.
func TestRingCancelsStuckWrite(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(r *ring, f *os.File, b []byte) error
	}{
		{"write", func(r *ring, f *os.File, b []byte) error {
			n, err := r.write(f, b, -1)
			if err == nil && n != len(b) {
				err = fmt.Errorf("wrote %d of %d bytes", n, len(b))
			}
			return err
		}},
		{"startAppend", func(r *ring, f *os.File, b []byte) error {
			wait, err := r.startAppend(f, b, -1)
			if err != nil {
				return err
			}
			return wait()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRing(t)
			r.cancelAfter = 100 * time.Millisecond
			core, logs := observer.New(zap.WarnLevel)
			r.log = zap.New(core)
			var p [2]int
			if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil { // blocking ends
				t.Fatal(err)
			}
			rd, wr := os.NewFile(uintptr(p[0]), "pipe read end"), os.NewFile(uintptr(p[1]), "pipe write end")
			defer rd.Close()
			defer wr.Close()
			size, err := fcntl(wr, syscall.F_SETPIPE_SZ, 4096)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := syscall.Write(p[1], make([]byte, size)); err != nil {
				t.Fatal(err)
			}
			// Once the ring's write is cancelled, and before write(2)
			// makes it, the pipe is emptied: it holds only what filled it.
			cancels := 0
			r.afterCancel = func() {
				cancels++
				got := make([]byte, size+10)
				if m, err := syscall.Read(p[0], got); err != nil || m != size {
					t.Errorf("pipe holds %d bytes (%v) when the write is cancelled, want %d", m, err, size)
				}
			}

			start := time.Now()
			if err := tc.write(r, wr, []byte("stuck")); err != nil {
				t.Fatalf("write to a full pipe: %v", err)
			}
			if d := time.Since(start); d < r.cancelAfter {
				t.Fatalf("written after %v, before the wait of %v", d, r.cancelAfter)
			}
			if cancels != 1 {
				t.Fatalf("write cancelled %d times, want 1", cancels)
			}
			// The pipe holds the write once.
			if err := syscall.SetNonblock(p[0], true); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 16)
			if m, err := syscall.Read(p[0], got); err != nil || string(got[:m]) != "stuck" {
				t.Fatalf("pipe holds %q (%v), want %q", got[:m], err, "stuck")
			}
			if m, err := syscall.Read(p[0], got); err != syscall.EAGAIN {
				t.Fatalf("pipe holds %q (%v) more", got[:max(m, 0)], err)
			}
			// The ring goes on: a write and an fsync of a file.
			f, err := os.OpenFile(filepath.Join(t.TempDir(), "f"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if n, err := r.write(f, []byte("after"), -1); n != 5 || err != nil {
				t.Fatalf("write after the cancel: %d, %v", n, err)
			}
			if err := r.sync(f); err != nil {
				t.Fatal(err)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.done) != 0 || len(r.discard) != 0 {
				t.Fatalf("ring holds %d completions and %d cancels nobody waits for", len(r.done), len(r.discard))
			}
			// The cancel is logged, with the kernel's answer.
			warned := logs.All()
			var outcome string
			if len(warned) == 1 {
				outcome, _ = warned[0].ContextMap()["outcome"].(string)
			}
			if !strings.HasPrefix(outcome, "cancelled before it started") {
				t.Fatalf("logged %v, want one warning that the write was cancelled before it started", warned)
			}
		})
	}
}

// fcntl makes an fcntl(2) with an integer argument on f.
func fcntl(f *os.File, cmd, arg int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, f.Fd(), uintptr(cmd), uintptr(arg))
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
