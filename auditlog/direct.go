package auditlog

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"
)

// directAlign is the alignment of a direct write's file offset, length and
// memory: a page, which every file system that reports its direct I/O
// alignment at or below it accepts (see openDirect).
const directAlign = 4096

// directLockWait is how long a writer waits for an earlier one's direct
// writes in flight to complete (see lockDirect) before it gives up.
const directLockWait = time.Minute

// directBufBytes is the size of each of a directWriter's two buffers:
// the most one write can take, should a single part of text be that
// large.
const directBufBytes = 1 << 20

// directSubmitBytes is how much text a directWriter gathers before it
// submits it: a commit then waits for at most that much to reach the
// disk before its fsync, under the store's lock, while the next batch
// waits to begin (a batch of 1,000 records is ≈ 1.6 MB of text).
const directSubmitBytes = 256 << 10

// directWriter writes a segment's text with O_DIRECT, from memory it owns,
// whole blocks at a time. Written through the page cache, every byte of
// text was copied by the kernel into a page it had just allocated: on this
// project's VM, whose host backs guest memory on first use, that copy took
// a fifth of the exporter's CPU time on a fresh store and two fifths in the
// steady state, and ran at anything from 0.25 to 2 GB/s as the host's
// memory came and went. A direct write hands the disk the writer's own
// pages, the same ones each time.
//
// The writer fills one of two buffers while the disk takes the other:
// once a buffer holds directSubmitBytes, its whole blocks are submitted
// (through the store's io_uring, where it has one) and waited for only
// when its memory is needed again, or at flush. So the disk writes a
// transaction's first blocks while its last records are still being
// mapped and hashed.
//
// Every write appends: the direct descriptor is opened O_APPEND like the
// segment's own (SPEC §4: segments are opened append-only), and no byte
// is ever written twice. A direct append must start at a block boundary,
// and a file's length is rarely a whole number of blocks, so the text up
// to the next boundary (the head) and the partial block at the end of a
// transaction's text (the tail) are appended through the segment's own
// descriptor, less than a block each, and reach the disk with the fsync.
// Appends are made one at a time, each once the one before has completed,
// so that each lands where the writer expects it.
//
// The file holds the same bytes, and is fsynced the same way, as when it
// is written through the page cache: readers, torn-tail repair and the
// verifier see no difference. Not safe for concurrent use; the chain's
// methods run under the store's lock.
type directWriter struct {
	f *os.File // the segment, opened again with O_APPEND|O_DIRECT
	// mem[cur] is being filled; the other may be in flight, until
	// inflight[1-cur] has been called. inflight[headWrite] is the head's
	// append, from headMem.
	mem      [2][]byte // directBufBytes each, aligned to directAlign
	cur      int
	inflight [3]func() error
	headMem  [directAlign]byte
	// end is the file offset after the text written or held. The text
	// held, mem[cur][:n], starts at a block boundary: with n > 0, end-n
	// is a multiple of directAlign.
	end int64
	n   int
	// synced is false when end may not match the file: after a failed
	// write or a cut. The next write takes the caller's offset.
	synced bool
}

// headWrite is the index in directWriter.inflight of the head's append.
const headWrite = 2

// submitFunc starts appending all of b to f, whose end is then at off,
// and returns the wait for its result. The caller keeps b unchanged until
// it has called wait.
type submitFunc func(f *os.File, b []byte, off int64) (wait func() error, err error)

// submitNow is the submitFunc of a writeFunc: it writes before it returns.
func submitNow(write writeFunc) submitFunc {
	return func(f *os.File, b []byte, _ int64) (func() error, error) {
		_, err := write(f, b, -1)
		return func() error { return err }, nil
	}
}

// newDirectWriter returns the writer for the segment whose direct
// descriptor (from openDirect, locked by lockDirect) is f, and whose file
// already holds size bytes.
func newDirectWriter(f *os.File, size int64) *directWriter {
	w := &directWriter{f: f, end: size, synced: true}
	for i := range w.mem {
		w.mem[i] = alignedBytes(directBufBytes, directAlign)
	}
	return w
}

// lockDirect takes an exclusive flock(2) on f, a segment's direct
// descriptor, waiting up to wait for another open file of the segment to
// let go of its own.
//
// A write submitted to io_uring keeps its descriptor's open file, and so
// its lock, until it has completed and the ring has let go of it, which
// for a killed process the kernel does in a worker of its own, after the
// process is gone (about 10 ms later here). On ext4 the writes that
// extend a segment run in the ring's kernel worker, a thread of the
// process, and complete before it is reaped; a direct write that the
// kernel completes asynchronously would not, and a collector restarted at
// once could read the segment, and append to it, before its predecessor's
// write landed in the middle of its own records. The lock makes the new
// writer wait for whatever is left in flight instead of relying on how
// the kernel runs it. Readers take no lock and need none: they read only
// what a checkpoint or the chain covers.
func lockDirect(f *os.File, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		locked, err := tryLock(f)
		if locked || err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("segment %s is still locked after %v by the direct writes in flight of an earlier writer (see lockDirect)", f.Name(), wait)
		}
		time.Sleep(time.Millisecond)
	}
}

// alignedBytes returns n bytes of zeroed memory starting at a multiple of
// align (a power of two). Go's heap does not move objects.
func alignedBytes(n, align int) []byte {
	b := make([]byte, n+align)
	skip := (align - int(uintptr(unsafe.Pointer(&b[0])))&(align-1)) & (align - 1)
	return b[skip : skip+n : skip+n]
}

// write adds text, which starts at file offset at: its head, up to the
// next block boundary, submitted at once to seg, the segment's own
// descriptor, from a copy (the first direct write waits for it); the rest
// to the buffers, submitting each buffer it fills, and the whole blocks it
// holds once they come to directSubmitBytes. The rest waits for the next
// write or for flush. On error the file may hold part of the text: the
// caller cuts it back (see chain.rollback), which desyncs the writer.
//
// The head is not waited for here: through the store's io_uring, the
// ring's kernel worker appends it while the first records after it are
// encoded, where waiting cost a round trip through the worker per
// commit.
func (w *directWriter) write(text []byte, at int64, seg *os.File, submit submitFunc) error {
	if !w.synced {
		w.end, w.n, w.synced = at, 0, true
	}
	if w.end != at {
		// A bug, not a disk's failure: the caller's cut back resyncs.
		w.synced = false
		return fmt.Errorf("direct write at offset %d, but the writer's text ends at %d", at, w.end)
	}
	if head := int(-w.end & (directAlign - 1)); w.n == 0 && head > 0 && len(text) > 0 {
		// Nothing is held, so every direct write has been submitted: the
		// head goes after them.
		if err := w.awaitAll(); err != nil {
			return err
		}
		head = copy(w.headMem[:head], text)
		wait, err := submit(seg, w.headMem[:head], w.end)
		if err != nil {
			w.synced = false
			return err
		}
		w.inflight[headWrite] = wait
		w.end += int64(head)
		text = text[head:]
	}
	for len(text) > 0 {
		k := copy(w.mem[w.cur][w.n:], text)
		w.n += k
		w.end += int64(k)
		text = text[k:]
		if w.n == directBufBytes {
			if err := w.submitBlocks(submit); err != nil {
				return err
			}
		}
	}
	if w.n >= directSubmitBytes {
		return w.submitBlocks(submit)
	}
	return nil
}

// spare returns the text the writer holds, with the rest of its buffer
// as spare capacity, for the caller to append text at file offset at to
// in place and hand back with took; or nil where the text cannot go
// there: when it must begin with a head (nothing held, and at is not on
// a block boundary), or when at is not where the writer's text ends.
func (w *directWriter) spare(at int64) []byte {
	if !w.synced || w.end != at || (w.n == 0 && at%directAlign != 0) {
		return nil
	}
	return w.mem[w.cur][:w.n]
}

// took takes the text appended to b, which spare returned, as write
// does: without a copy when it still lies in the writer's buffer, and
// written from b when an append outgrew the buffer into memory of its
// own (what it wrote in the buffer's spare capacity until then held no
// text of the writer's).
func (w *directWriter) took(b []byte, seg *os.File, submit submitFunc) error {
	if len(b) <= w.n {
		return nil
	}
	if cap(b) != directBufBytes || &b[0] != &w.mem[w.cur][0] {
		return w.write(b[w.n:], w.end, seg, submit)
	}
	w.end += int64(len(b) - w.n)
	w.n = len(b)
	if w.n >= directSubmitBytes {
		return w.submitBlocks(submit)
	}
	return nil
}

// submitBlocks submits the whole blocks of the current buffer, once the
// head's write and the other buffer's have completed, and makes the other, with
// the partial block after them copied to its front, the current one.
func (w *directWriter) submitBlocks(submit submitFunc) error {
	full := w.n &^ (directAlign - 1)
	if full == 0 {
		return nil
	}
	next := 1 - w.cur
	if err := errors.Join(w.await(headWrite), w.await(next)); err != nil {
		return err
	}
	wait, err := submit(w.f, w.mem[w.cur][:full], w.end-int64(w.n))
	if err != nil {
		w.synced = false
		return err
	}
	w.inflight[w.cur] = wait
	w.n = copy(w.mem[next], w.mem[w.cur][full:w.n])
	w.cur = next
	return nil
}

// awaitAll waits for every write in flight.
func (w *directWriter) awaitAll() error {
	return errors.Join(w.await(0), w.await(1), w.await(headWrite))
}

// await waits for the write in flight from buffer i, or for the head's
// (headWrite), if any.
func (w *directWriter) await(i int) error {
	wait := w.inflight[i]
	if wait == nil {
		return nil
	}
	w.inflight[i] = nil
	if err := wait(); err != nil {
		w.synced = false
		return err
	}
	return nil
}

// flush writes everything the writer holds: its whole blocks with
// submit, and once they are in the file, the tail, the partial block
// after them, with write to seg, the segment's own descriptor.
func (w *directWriter) flush(seg *os.File, submit submitFunc, write writeFunc) error {
	if err := w.submitBlocks(submit); err != nil {
		return err
	}
	if err := w.awaitAll(); err != nil {
		return err
	}
	if w.n > 0 {
		if _, err := write(seg, w.mem[w.cur][:w.n], -1); err != nil {
			w.synced = false
			return err
		}
		w.n = 0
	}
	return nil
}

// desync waits for the writes in flight and marks the writer's state as
// stale, before the file is cut back: text not yet written is dropped,
// and the next write starts where its caller says the file ends.
func (w *directWriter) desync() {
	_ = w.awaitAll()
	w.synced = false
}

// close waits for the writes in flight and closes the direct descriptor.
func (w *directWriter) close() error {
	return errors.Join(w.awaitAll(), w.f.Close())
}
