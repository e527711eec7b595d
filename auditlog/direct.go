package auditlog

import (
	"errors"
	"fmt"
	"io"
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
// A file's length is not a whole number of blocks, so the last, partial
// block of a transaction's text is appended at flush through the segment's
// ordinary descriptor (a page-cache write of less than a block) and kept
// here: the next write begins by writing that block again, whole, with the
// blocks that follow (the kernel writes the cached page back and drops it
// first). Between the parts of one transaction the partial block waits in
// memory, so that it is written once per transaction.
//
// The file holds the same bytes, and is fsynced the same way, as when it
// is written through the page cache: readers, torn-tail repair and the
// verifier see no difference. Not safe for concurrent use; the chain's
// methods run under the store's lock.
type directWriter struct {
	f *os.File // the segment, opened again with O_DIRECT
	// mem[cur] is being filled; the other may be in flight, until
	// inflight[1-cur] has been called.
	mem      [2][]byte // directBufBytes each, aligned to directAlign
	cur      int
	inflight [2]func() error
	// mem[cur][:n] is the file's text from off (a multiple of
	// directAlign) on: its first inFile bytes are in the file, the rest
	// waits for a whole buffer or for flush.
	off    int64
	n      int
	inFile int
	// synced is false when off, n and inFile may not match the file: on
	// a segment opened with text in it, and after a failed write or a
	// cut. The next write reads the partial last block back first.
	synced bool
}

// submitFunc starts a write of all of b to f at off and returns the wait
// for its result. The caller keeps b unchanged until it has called wait.
type submitFunc func(f *os.File, b []byte, off int64) (wait func() error, err error)

// submitNow is the submitFunc of a writeFunc: it writes before it returns.
func submitNow(write writeFunc) submitFunc {
	return func(f *os.File, b []byte, off int64) (func() error, error) {
		_, err := write(f, b, off)
		return func() error { return err }, nil
	}
}

// newDirectWriter returns the writer for the segment whose direct
// descriptor (from openDirect, locked by lockDirect) is f, and whose file
// already holds size bytes.
func newDirectWriter(f *os.File, size int64) *directWriter {
	w := &directWriter{f: f}
	for i := range w.mem {
		w.mem[i] = alignedBytes(directBufBytes, directAlign)
	}
	w.synced = size == 0
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

// end is the file offset after the text the writer holds, written or not.
func (w *directWriter) end() int64 { return w.off + int64(w.n) }

// write adds text, which starts at file offset at, submitting each buffer
// it fills, and the whole blocks it holds once they come to
// directSubmitBytes; the rest waits for the next write or for flush. On
// error the file may hold part of the text: the caller cuts it back (see
// chain.rollback), which desyncs the writer.
func (w *directWriter) write(text []byte, at int64, submit submitFunc) error {
	if !w.synced {
		if err := w.resync(at); err != nil {
			return err
		}
	}
	if w.end() != at {
		// A bug, not a disk's failure: the caller's cut back resyncs.
		w.synced = false
		return fmt.Errorf("direct write at offset %d, but the writer's text ends at %d", at, w.end())
	}
	for len(text) > 0 {
		k := copy(w.mem[w.cur][w.n:], text)
		w.n += k
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

// submitBlocks submits the whole blocks of the current buffer and makes
// the other, with the partial block after them copied to its front, the
// current one.
func (w *directWriter) submitBlocks(submit submitFunc) error {
	full := w.n &^ (directAlign - 1)
	if full == 0 {
		return nil
	}
	next := 1 - w.cur
	if err := w.await(next); err != nil {
		return err
	}
	wait, err := submit(w.f, w.mem[w.cur][:full], w.off)
	if err != nil {
		w.synced = false
		return err
	}
	w.inflight[w.cur] = wait
	w.n = copy(w.mem[next], w.mem[w.cur][full:w.n])
	w.cur = next
	w.off += int64(full)
	w.inFile = 0
	return nil
}

// await waits for the write in flight from buffer i, if any.
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
// submit, and once they are in the file, the partial last block with
// write to seg, the segment's ordinary descriptor, opened O_APPEND (its
// end is then where the direct writes stopped).
func (w *directWriter) flush(seg *os.File, submit submitFunc, write writeFunc) error {
	if err := w.submitBlocks(submit); err != nil {
		return err
	}
	if err := errors.Join(w.await(0), w.await(1)); err != nil {
		return err
	}
	if w.n > w.inFile {
		if _, err := write(seg, w.mem[w.cur][w.inFile:w.n], -1); err != nil {
			w.synced = false
			return err
		}
		w.inFile = w.n
	}
	return nil
}

// desync waits for the writes in flight and marks the writer's state as
// stale, before the file is cut back: text not yet written is dropped,
// and the next write reads the file's last block back.
func (w *directWriter) desync() {
	_, _ = w.await(0), w.await(1)
	w.synced = false
}

// resync reads back the partial last block of the file, which is size
// bytes long, through the direct descriptor: the kernel writes back any
// cached page of it first.
func (w *directWriter) resync(size int64) error {
	w.off = size &^ (directAlign - 1)
	w.n, w.inFile = 0, 0
	if want := int(size - w.off); want > 0 {
		m, err := w.f.ReadAt(w.mem[w.cur][:directAlign], w.off)
		if m != want || (err != nil && !errors.Is(err, io.EOF)) {
			return fmt.Errorf("reading back the last block of %s at offset %d: got %d of %d bytes: %v", w.f.Name(), w.off, m, want, err)
		}
		w.n, w.inFile = want, want
	}
	w.synced = true
	return nil
}

// close waits for the writes in flight and closes the direct descriptor.
func (w *directWriter) close() error {
	return errors.Join(w.await(0), w.await(1), w.f.Close())
}
