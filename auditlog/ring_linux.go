//go:build linux

package auditlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// io_uring's ABI (include/uapi/linux/io_uring.h), the parts used here.
const (
	ioringOpFsync         = 3
	ioringOpWrite         = 23
	ioringOpAsyncCancel   = 14
	ioringEnterGetevents  = 1 << 0
	ioringOffSQRing       = 0
	ioringOffCQRing       = 0x8000000
	ioringOffSQEs         = 0x10000000
	ioringSQEIODrain      = 1 << 1
	ioringFeatSingleMmap  = 1 << 0
	ioringFeatNoDrop      = 1 << 1
	ioringSQCQOverflow    = 1 << 1
	ioringFeatRWCurPos    = 1 << 3
	ioringRegisterEventfd = 4
	ioringSQESize         = 64
	ioringCQESize         = 16
)

type ioringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		userAddr                                                        uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		userAddr                                                        uint64
	}
}

// ring runs a segment's or tree file's writes and fsyncs through an
// io_uring, submitted without entering the Go scheduler's system-call
// path and waited for in Go's network poller, on an eventfd the ring
// signals.
//
// Both halves avoid a cost of Go's scheduler that blocking system calls
// carry, largest with GOMAXPROCS=1:
//
//   - A plain fsync blocks its goroutine in a system call, and the
//     processor with it: nothing else runs until the scheduler's monitor
//     thread takes the processor away, 20 µs to 10 ms later, so the next
//     batch's work hardly overlaps the fsync (see Txn.Commit). Waiting in
//     the poller holds no processor.
//   - Every system call made through the syscall package wakes the
//     monitor if it sleeps, which it does whenever every processor is idle,
//     as during each batch's fsync; woken by a system call, it polls every
//     20 µs for a millisecond and retakes the processor from any system
//     call longer than that, such as a part's write. Measured with one
//     batch at a time, that cost 7 % of the exporter's CPU time, and the
//     handoffs more. The submission here is a raw system call, which does
//     not wake the monitor: io_uring_enter that only submits never blocks
//     (an operation that would block is handed to the ring's kernel
//     worker), so it is as safe to make raw as any short system call.
//     Waiting in the poller makes none (the eventfd is not even read).
//
// io_uring tries a write in the submitting thread only where the file
// system can do it without blocking (ext4's buffered writes cannot);
// otherwise, and for every fsync, the ring's kernel worker, a thread of
// this process, does it, so the CPU time is still the process's. That
// hand-off costs more than a write(2) when the process is busy anyway, so
// the store writes through its ring only after an idle wait (see
// chainTxn).
//
// Safe for concurrent use. The store keeps one ring for writes, made
// under its lock, and one for fsyncs, made without it, so that a write
// never waits for an fsync. On the fsync ring, a transaction's fsync can
// be submitted before the fsync of the transaction before it has returned,
// to run in the kernel as soon as that one has (see syncAfter).
type ring struct {
	mu             sync.Mutex
	fd             int
	sqRing, sqes   []byte
	cqRing         []byte // the same memory as sqRing with IORING_FEAT_SINGLE_MMAP
	sqTail         *uint32
	sqFlags        *uint32
	sqMask         uint32
	sqArray        unsafe.Pointer
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           unsafe.Pointer
	event          *os.File
	seq            uint64 // user_data of the last submission
	// done holds the results reaped for submissions not awaited yet.
	done []completion
	// polling is set while a goroutine in await waits in the poller;
	// the others wait on reaped, which it signals once it has reaped.
	polling bool
	reaped  *sync.Cond
	// reaps counts the completions reaped; added to under mu, read
	// without it by poll.
	reaps atomic.Uint64
	// beforePoll, when set (by tests), runs in await between letting go
	// of mu and waiting in the poller.
	beforePoll func()
	// afterCancel, when set (by tests), runs when a write cancelled by
	// await is made again with write(2), before it is.
	afterCancel func()
	// cancelAfter is how long a write waits before await asks the kernel
	// to cancel it (see await): ringCancelAfter unless a test sets it.
	cancelAfter time.Duration
	// discard holds the user_data of cancel requests, whose completions
	// reap logs and drops.
	discard map[uint64]bool
	// log receives a warning for each write the watchdog cancels (see
	// await), with what the kernel answered.
	log *zap.Logger
	// broken is set when a submission failed: its entry may still be in
	// the submission queue, so the ring is never entered again and
	// operations fall back to the plain system calls.
	broken bool
}

// ringCancelAfter is how long a write through a ring waits before it is
// cancelled, if the kernel has not started it (see ring.await): far
// longer than any write of the store's takes to start, even behind a slow
// fsync.
const ringCancelAfter = 30 * time.Second

// newRing sets up a ring of two entries, which warns on log and cancels a
// write after cancelAfter (ringCancelAfter when zero), or fails where
// io_uring is missing or forbidden (old kernels, seccomp profiles that
// block it).
func newRing(log *zap.Logger, cancelAfter time.Duration) (*ring, error) {
	var p ioringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 2, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	if cancelAfter <= 0 {
		cancelAfter = ringCancelAfter
	}
	r := &ring{fd: int(fd), cancelAfter: cancelAfter, discard: map[uint64]bool{}, log: log}
	r.reaped = sync.NewCond(&r.mu)
	fail := func(err error) (*ring, error) {
		r.close()
		return nil, err
	}
	if p.features&ioringFeatSingleMmap == 0 {
		return fail(errors.New("io_uring without IORING_FEAT_SINGLE_MMAP"))
	}
	if p.features&ioringFeatRWCurPos == 0 {
		return fail(errors.New("io_uring without IORING_FEAT_RW_CUR_POS"))
	}
	// Without it a completion that finds the queue full is dropped, and
	// its operation would be waited for forever.
	if p.features&ioringFeatNoDrop == 0 {
		return fail(errors.New("io_uring without IORING_FEAT_NODROP"))
	}
	size := max(int(p.sqOff.array+p.sqEntries*4), int(p.cqOff.cqes+p.cqEntries*ioringCQESize))
	var err error
	if r.sqRing, err = unix.Mmap(r.fd, ioringOffSQRing, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail(err)
	}
	r.cqRing = r.sqRing
	if r.sqes, err = unix.Mmap(r.fd, ioringOffSQEs, int(p.sqEntries)*ioringSQESize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return fail(err)
	}
	at := func(b []byte, off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&b[off])) }
	r.sqTail = at(r.sqRing, p.sqOff.tail)
	r.sqFlags = at(r.sqRing, p.sqOff.flags)
	r.sqMask = *at(r.sqRing, p.sqOff.ringMask)
	r.sqArray = unsafe.Pointer(&r.sqRing[p.sqOff.array])
	r.cqHead = at(r.cqRing, p.cqOff.head)
	r.cqTail = at(r.cqRing, p.cqOff.tail)
	r.cqMask = *at(r.cqRing, p.cqOff.ringMask)
	r.cqes = unsafe.Pointer(&r.cqRing[p.cqOff.cqes])

	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fail(err)
	}
	// Non-blocking, so os.NewFile gives it to the poller.
	r.event = os.NewFile(uintptr(efd), "io_uring eventfd")
	e := int32(efd)
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, fd, ioringRegisterEventfd, uintptr(unsafe.Pointer(&e)), 1, 0, 0); errno != 0 {
		return fail(errno)
	}
	return r, nil
}

// sync fsyncs f and returns what fsync(2) would.
func (r *ring) sync(f *os.File) error {
	res, err := r.run(f, prepFsync, false)
	if errors.Is(err, errRingBroken) {
		return f.Sync()
	}
	if err != nil {
		return err
	}
	return syncResult(f.Name(), res)
}

// prepFsync prepares an fsync of fd.
func prepFsync(sqe []byte, fd int32) {
	sqe[0] = ioringOpFsync
	*(*int32)(unsafe.Pointer(&sqe[4])) = fd
}

// syncResult is the error fsync(2) would return for the file name, given
// the result of its fsync through the ring.
func syncResult(name string, res int32) error {
	if res < 0 {
		return &os.PathError{Op: "sync", Path: name, Err: syscall.Errno(-res)}
	}
	return nil
}

// syncAfter submits an fsync of f that the kernel starts once every
// operation submitted to the ring before it has completed
// (IOSQE_IO_DRAIN), and returns at once, with a wait for its result, which
// is what fsync(2) would return. The caller must call wait.
//
// Commit queues every segment fsync this way, and the transaction staged
// behind the one whose fsync runs queues its own as soon as its records
// are written, instead of once that fsync has returned and its goroutine
// has been scheduled: on one core, where a mapping goroutine keeps the
// processor for milliseconds, the disk was otherwise left idle between
// the two fsyncs (see Txn.Commit).
//
// The fsync runs on a duplicate of f's descriptor, which wait closes: the
// kernel resolves the descriptor of a drained operation only when it
// starts it, and by then f's own could be closed and reused.
func (r *ring) syncAfter(f *os.File) (wait func() error, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	dup := -1
	var derr error
	if err := rc.Control(func(fd uintptr) {
		// Raw: a short system call that cannot block (see the type's
		// comment on the scheduler's monitor).
		nfd, _, errno := unix.RawSyscall(unix.SYS_FCNTL, fd, unix.F_DUPFD_CLOEXEC, 0)
		if errno != 0 {
			derr = errno
			return
		}
		dup = int(nfd)
	}); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, &os.PathError{Op: "dup", Path: f.Name(), Err: derr}
	}
	seq, err := r.submit(int32(dup), ioringSQEIODrain, prepFsync)
	if err != nil {
		unix.RawSyscall(unix.SYS_CLOSE, uintptr(dup), 0, 0)
		return nil, err
	}
	name := f.Name()
	return func() error {
		res, err := r.await(seq, false)
		if err != nil {
			// The fsync may still be pending on the duplicate: it stays
			// open (the ring is broken, and not used again).
			return err
		}
		unix.RawSyscall(unix.SYS_CLOSE, uintptr(dup), 0, 0)
		return syncResult(name, res)
	}, nil
}

// write writes all of b to f at off, or at f's position (for an O_APPEND
// file, its end) when off is negative, and returns what os.File's Write
// and WriteAt would: a short write goes on with the rest, so an error
// comes with the count written before it.
func (r *ring) write(f *os.File, b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		rest := b[n:]
		at := off
		if off >= 0 {
			at = off + int64(n)
		}
		// plain writes the rest with write(2), when nothing of this
		// submission was written.
		plain := func() (int, error) {
			var m int
			var err error
			if off < 0 {
				m, err = f.Write(rest)
			} else {
				m, err = f.WriteAt(rest, at)
			}
			return n + m, err
		}
		res, err := r.run(f, prepWrite(rest, at), true)
		runtime.KeepAlive(rest)
		if errors.Is(err, errRingBroken) {
			return plain()
		}
		if err != nil {
			return n, err
		}
		switch {
		case res < 0 && syscall.Errno(-res) == syscall.EINTR:
			continue
		case res < 0 && syscall.Errno(-res) == syscall.ECANCELED:
			// Cancelled by await before the kernel started it: write(2)
			// does not depend on the ring's kernel worker.
			r.cancelled()
			return plain()
		case res < 0:
			op := "write"
			if off >= 0 {
				op = "writeat"
			}
			return n, &os.PathError{Op: op, Path: f.Name(), Err: syscall.Errno(-res)}
		case res == 0:
			return n, &os.PathError{Op: "write", Path: f.Name(), Err: io.ErrShortWrite}
		}
		n += int(res)
	}
	return n, nil
}

// startAppend submits a write of all of b at the end of f, opened
// O_APPEND, which is at off, and returns at once, with a wait for its
// result, which is what os.File's Write would return: the directWriter's
// buffer goes to the disk while the next one is filled. The caller must
// call wait, and keep b unchanged and f open until then. Where the ring
// cannot be used, the write is made before startAppend returns.
//
// The kernel appends at the file's end whatever the offset (O_APPEND).
// The submission names off, not the file's position (-1), as the direct
// writes did when they were made at their offsets: once, in CI, the
// tail's write, which the ring took right after a direct append made at
// the file's position, never completed (no completion posted, the ring's
// kernel worker idle). Whether the position was the cause is not known;
// it is the one thing that sequence did that the earlier one did not.
func (r *ring) startAppend(f *os.File, b []byte, off int64) (wait func() error, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var seq uint64
	var serr error
	if err := rc.Control(func(fd uintptr) {
		seq, serr = r.submit(int32(fd), 0, prepWrite(b, off))
	}); err != nil {
		return nil, err
	}
	if errors.Is(serr, errRingBroken) {
		_, err := f.Write(b)
		return func() error { return err }, nil
	}
	if serr != nil {
		return nil, serr
	}
	return func() error {
		res, err := r.await(seq, true)
		runtime.KeepAlive(b)
		if err != nil {
			return err
		}
		switch {
		case res < 0 && syscall.Errno(-res) == syscall.EINTR:
			_, err = f.Write(b)
		case res < 0 && syscall.Errno(-res) == syscall.ECANCELED:
			// Cancelled by await before the kernel started it, as in
			// write. The direct descriptor's write(2) appends as the
			// ring would have.
			r.cancelled()
			_, err = f.Write(b)
		case res < 0:
			err = &os.PathError{Op: "write", Path: f.Name(), Err: syscall.Errno(-res)}
		case int(res) < len(b):
			// The rest with write(2), which says why it stops (a full
			// disk) or goes on.
			_, err = f.Write(b[res:])
		}
		return err
	}, nil
}

// prepWrite prepares a write of b (at most maxRingWrite bytes of it) at
// off, or at the file's position when off is -1.
func prepWrite(b []byte, off int64) func(sqe []byte, fd int32) {
	return func(sqe []byte, fd int32) {
		sqe[0] = ioringOpWrite
		*(*int32)(unsafe.Pointer(&sqe[4])) = fd
		*(*int64)(unsafe.Pointer(&sqe[8])) = off
		*(*uintptr)(unsafe.Pointer(&sqe[16])) = uintptr(unsafe.Pointer(&b[0]))
		*(*uint32)(unsafe.Pointer(&sqe[24])) = uint32(min(len(b), maxRingWrite))
	}
}

// maxRingWrite is the most one write submission asks for (its length is
// 32 bits); write(2) writes at most this much at a time too.
const maxRingWrite = 0x7ffff000

// errRingBroken is run's error when the ring cannot be used: the
// operation was not submitted, and the caller makes the plain system call.
var errRingBroken = errors.New("io_uring submission failed")

// run submits the operation prep describes on f's descriptor and waits
// for its completion. It returns the completion's result.
func (r *ring) run(f *os.File, prep func(sqe []byte, fd int32), cancelable bool) (int32, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var res int32
	var rerr error
	// Control keeps the descriptor open until the operation completes.
	if err := rc.Control(func(fd uintptr) {
		var seq uint64
		if seq, rerr = r.submit(int32(fd), 0, prep); rerr == nil {
			res, rerr = r.await(seq, cancelable)
		}
	}); err != nil {
		return 0, err
	}
	runtime.KeepAlive(f)
	return res, rerr
}

// completion is the result of a submission, by its user_data.
type completion struct {
	seq uint64
	res int32
}

// submit puts the operation prep describes on fd in the submission queue,
// with the SQE flags given, submits it and returns its user_data for
// await. It fails with errRingBroken, having submitted nothing, when the
// ring cannot be used.
func (r *ring) submit(fd int32, flags byte, prep func(sqe []byte, fd int32)) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.submitLocked(fd, flags, prep)
}

// submitLocked is submit with r.mu held.
func (r *ring) submitLocked(fd int32, flags byte, prep func(sqe []byte, fd int32)) (uint64, error) {
	if r.broken {
		return 0, errRingBroken
	}
	r.seq++
	tail := atomic.LoadUint32(r.sqTail)
	idx := tail & r.sqMask
	sqe := r.sqes[idx*ioringSQESize : (idx+1)*ioringSQESize]
	clear(sqe)
	prep(sqe, fd)
	sqe[1] = flags
	*(*uint64)(unsafe.Pointer(&sqe[32])) = r.seq // user_data
	*(*uint32)(unsafe.Add(r.sqArray, 4*idx)) = idx
	atomic.StoreUint32(r.sqTail, tail+1)
	// Raw: see the type's comment. Submitting only, it does not wait, so
	// it cannot be interrupted either; the kernel takes the entry before
	// it returns, so the queue never holds more than one.
	n, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, 0, 0, 0)
	if errno != 0 || n != 1 {
		r.broken = true
		return 0, errRingBroken
	}
	return r.seq, nil
}

// await waits for the completion of submission seq and returns its
// result. Several goroutines may wait at once: one of them parks in the
// poller and, woken, takes every completion off the queue and wakes the
// others, which wait on r.reaped meanwhile. (Parked in the poller
// together, they would take turns at the eventfd's read lock, and one
// could sleep through its own completion, reaped by another, until the
// next.)
//
// A cancelable submission (a write) that has not completed after
// r.cancelAfter, polling, is cancelled (IORING_OP_ASYNC_CANCEL), once: if
// the kernel had not started it, it completes with ECANCELED instead of
// never, and the caller (write, startAppend) makes it with write(2),
// which writes nothing twice: the kernel never started the cancelled one.
// Once, in CI, a write the ring had taken was never completed, its kernel
// worker idle (see startAppend); a commit waiting for it held its chain
// for good. A write already running is not cancelled and is waited for.
// Fsyncs are not cancelable: one queued behind a slow one legitimately
// waits.
func (r *ring) await(seq uint64, cancelable bool) (int32, error) {
	var deadline time.Time
	if cancelable && r.cancelAfter > 0 {
		deadline = time.Now().Add(r.cancelAfter)
	}
	cancelDue := false
	r.mu.Lock()
	defer r.mu.Unlock()
	for {
		r.reap()
		if i := slices.IndexFunc(r.done, func(c completion) bool { return c.seq == seq }); i >= 0 {
			res := r.done[i].res
			r.done = slices.Delete(r.done, i, i+1)
			return res, nil
		}
		if cancelDue {
			cancelDue = false
			if cseq, err := r.submitLocked(-1, 0, prepCancel(seq)); err == nil {
				r.discard[cseq] = true
			}
		}
		if r.polling {
			r.reaped.Wait()
			continue
		}
		r.polling = true
		reaped := r.reaps.Load()
		r.mu.Unlock()
		if r.beforePoll != nil {
			r.beforePoll()
		}
		err := r.poll(reaped, deadline)
		r.mu.Lock()
		r.polling = false
		r.reaped.Broadcast()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// Cancelled at the top of the loop, unless reaping finds
			// it completed meanwhile.
			deadline, cancelDue = time.Time{}, true
			continue
		}
		if err != nil {
			r.broken = true
			return 0, err
		}
	}
}

// logCancel warns that a write was cancelled by await, given the cancel's
// result: a kernel that never completes a write it has taken is worth an
// operator's attention even when write(2) makes up for it.
func (r *ring) logCancel(res int32) {
	var outcome string
	switch errno := syscall.Errno(-res); {
	case res >= 0:
		outcome = "cancelled before it started; written with write(2) instead"
	case errno == syscall.EALREADY:
		outcome = "already running; still waiting for it"
	case errno == syscall.ENOENT:
		outcome = "not found (completing); still waiting for it"
	default:
		outcome = "cancel failed (" + errno.Error() + "); still waiting for it"
	}
	r.log.Warn("a write through io_uring had not completed; asked the kernel to cancel it",
		zap.Duration("after", r.cancelAfter), zap.String("outcome", outcome))
}

// cancelled runs r.afterCancel, if set, for a write that await cancelled.
func (r *ring) cancelled() {
	if r.afterCancel != nil {
		r.afterCancel()
	}
}

// prepCancel prepares the cancellation of the submission whose user_data
// is target.
func prepCancel(target uint64) func(sqe []byte, fd int32) {
	return func(sqe []byte, fd int32) {
		sqe[0] = ioringOpAsyncCancel
		*(*int32)(unsafe.Pointer(&sqe[4])) = fd
		*(*uint64)(unsafe.Pointer(&sqe[16])) = target
	}
}

// poll waits until the completion queue holds a completion, the kernel
// holds some that did not fit (see reap), another goroutine has reaped
// completions since r.reaps was reaped, or the ring has signalled since
// poll was called. It returns after any signal, whatever the queue holds
// then: a goroutine entering await reaps too, and may have taken the
// completion that signalled, its waiter's among them, into r.done.
//
// The poller forgets a signal that came before the wait began (Go resets
// the descriptor's readiness as a read starts), so a completion that
// signalled after await last reaped, and that another goroutine took into
// r.done before this wait began, would wake it never: hence reaped.
//
// With a deadline, poll returns os.ErrDeadlineExceeded once it has
// passed.
func (r *ring) poll(reaped uint64, deadline time.Time) error {
	woken := false
	ready := func(uintptr) bool {
		if woken {
			return true
		}
		woken = true
		// The head before the count: reap counts a completion before
		// it moves the head past it.
		return atomic.LoadUint32(r.cqHead) != atomic.LoadUint32(r.cqTail) || r.overflowed() ||
			r.reaps.Load() != reaped
	}
	// Parks the goroutine in the poller until the ring signals. The
	// eventfd's count is never read: the poller is edge-triggered and
	// every completion signals anew, and the completion queue, not the
	// count, says what completed.
	rc, err := r.event.SyscallConn()
	if err == nil && !deadline.IsZero() {
		if err = r.event.SetReadDeadline(deadline); err == nil {
			defer r.event.SetReadDeadline(time.Time{})
		}
	}
	if err == nil {
		err = rc.Read(ready)
	}
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	// The operation is submitted and may still be running: it must not
	// be repeated, nor its buffer reused, before it completes. Wait in
	// the kernel instead.
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 0, 1, ioringEnterGetevents, 0, 0); errno != 0 && errno != syscall.EINTR {
		return fmt.Errorf("waiting for io_uring: %w", errno)
	}
	return nil
}

// reap moves the completions from the queue to r.done. r.mu is held.
//
// The completion queue holds a few entries (twice the submission queue's
// two), and fsyncs queued behind one another, one per chain for each of
// two transactions, plus a checkpoint's, can complete while no one
// reaps. The kernel keeps those that do not fit on an overflow list
// (IORING_FEAT_NODROP) and moves them to the queue only when the ring is
// entered to get events; it signals the eventfd for none of them again.
// So reap enters the ring whenever the kernel says it holds some.
func (r *ring) reap() {
	for {
		head := atomic.LoadUint32(r.cqHead)
		if head == atomic.LoadUint32(r.cqTail) {
			if !r.overflowed() || !r.flush() {
				return
			}
			continue
		}
		cqe := unsafe.Add(r.cqes, ioringCQESize*(head&r.cqMask))
		if seq := *(*uint64)(cqe); r.discard[seq] {
			delete(r.discard, seq) // a cancel's own result: nobody waits for it
			r.logCancel(*(*int32)(unsafe.Add(cqe, 8)))
		} else {
			r.done = append(r.done, completion{seq: seq, res: *(*int32)(unsafe.Add(cqe, 8))})
		}
		r.reaps.Add(1) // before the head moves: see poll
		atomic.StoreUint32(r.cqHead, head+1)
	}
}

// overflowed reports whether the kernel holds completions that did not
// fit in the completion queue.
func (r *ring) overflowed() bool {
	return atomic.LoadUint32(r.sqFlags)&ioringSQCQOverflow != 0
}

// flush has the kernel move the completions it holds to the queue, as far
// as they fit, and reports whether it could. Getting events with a
// minimum of none does not block, so the call is raw (see the type's
// comment).
func (r *ring) flush() bool {
	for {
		_, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 0, 0, ioringEnterGetevents, 0, 0)
		if errno != syscall.EINTR {
			return errno == 0
		}
	}
}

func (r *ring) close() error {
	var errs []error
	if r.event != nil {
		errs = append(errs, r.event.Close())
	}
	if r.sqes != nil {
		errs = append(errs, unix.Munmap(r.sqes))
	}
	if r.sqRing != nil {
		errs = append(errs, unix.Munmap(r.sqRing))
	}
	errs = append(errs, unix.Close(r.fd))
	return errors.Join(errs...)
}
