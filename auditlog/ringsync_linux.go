//go:build linux

package auditlog

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// io_uring's ABI (include/uapi/linux/io_uring.h), the parts used here.
const (
	ioringOpFsync         = 3
	ioringOffSQRing       = 0
	ioringOffCQRing       = 0x8000000
	ioringOffSQEs         = 0x10000000
	ioringFeatSingleMmap  = 1 << 0
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

// ringSyncer fsyncs files through an io_uring whose completions it waits
// for on an eventfd in Go's network poller. A plain fsync blocks its
// goroutine in a system call, and the processor with it: with
// GOMAXPROCS=1 nothing else runs until the scheduler's monitor thread
// takes the processor away, which takes from 20 µs to 10 ms depending on
// how long the monitor has been idle, so the next batch's work hardly
// overlaps the fsync (see Txn.Commit); the monitor then polls every 20 µs
// for a millisecond after the fsync returns. Waiting in the poller holds
// no processor: other goroutines run at once. The fsync itself runs in the
// ring's kernel worker, a thread of this process, so its CPU time is still
// the process's.
//
// Safe for concurrent use; fsyncs run one at a time (a checkpoint's, under
// the store's lock, may come while a commit's runs without it).
type ringSyncer struct {
	mu             sync.Mutex
	fd             int
	sqRing, sqes   []byte
	cqRing         []byte // the same memory as sqRing with IORING_FEAT_SINGLE_MMAP
	sqTail         *uint32
	sqMask         uint32
	sqArray        unsafe.Pointer
	cqHead, cqTail *uint32
	cqMask         uint32
	cqes           unsafe.Pointer
	event          *os.File
	buf            [8]byte
	seq            uint64 // user_data of the last submission
}

// newRingSyncer sets up a ring of two entries, or fails where io_uring is
// missing or forbidden (old kernels, seccomp profiles that block it).
func newRingSyncer() (*ringSyncer, error) {
	var p ioringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 2, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	r := &ringSyncer{fd: int(fd)}
	fail := func(err error) (*ringSyncer, error) {
		r.close()
		return nil, err
	}
	if p.features&ioringFeatSingleMmap == 0 {
		return fail(errors.New("io_uring without IORING_FEAT_SINGLE_MMAP"))
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

// sync fsyncs f and returns what fsync(2) would. Should the ring itself
// fail (not the fsync), it falls back to fsync(2), which is always safe to
// repeat.
func (r *ringSyncer) sync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var res int32
	var rerr error
	r.mu.Lock()
	err = rc.Control(func(fd uintptr) { res, rerr = r.fsync(int32(fd)) })
	r.mu.Unlock()
	if err != nil {
		return err
	}
	runtime.KeepAlive(f)
	if rerr != nil {
		return f.Sync()
	}
	if res < 0 {
		return &os.PathError{Op: "sync", Path: f.Name(), Err: syscall.Errno(-res)}
	}
	return nil
}

// fsync submits one fsync of fd and waits for its completion, skipping
// completions of earlier submissions whose wait failed.
func (r *ringSyncer) fsync(fd int32) (int32, error) {
	r.seq++
	tail := atomic.LoadUint32(r.sqTail)
	idx := tail & r.sqMask
	sqe := r.sqes[idx*ioringSQESize : (idx+1)*ioringSQESize]
	clear(sqe)
	sqe[0] = ioringOpFsync
	*(*int32)(unsafe.Pointer(&sqe[4])) = fd
	*(*uint64)(unsafe.Pointer(&sqe[32])) = r.seq // user_data
	*(*uint32)(unsafe.Add(r.sqArray, 4*idx)) = idx
	atomic.StoreUint32(r.sqTail, tail+1)
	for {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, 0, 0, 0)
		if errno == 0 && n == 1 {
			break
		}
		if errno != syscall.EINTR {
			if errno == 0 {
				errno = syscall.EAGAIN
			}
			return 0, errno
		}
	}
	for {
		head := atomic.LoadUint32(r.cqHead)
		if head != atomic.LoadUint32(r.cqTail) {
			cqe := unsafe.Add(r.cqes, ioringCQESize*(head&r.cqMask))
			userData, res := *(*uint64)(cqe), *(*int32)(unsafe.Add(cqe, 8))
			atomic.StoreUint32(r.cqHead, head+1)
			if userData == r.seq {
				return res, nil
			}
			continue
		}
		// Parks the goroutine in the poller until the ring signals.
		if _, err := r.event.Read(r.buf[:]); err != nil {
			return 0, err
		}
	}
}

func (r *ringSyncer) close() error {
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
