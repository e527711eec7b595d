package auditlog

import (
	"errors"
	"io"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// openDirect opens the file at path again for direct appends (O_APPEND,
// O_DIRECT), where the file system reports direct I/O alignments that
// directAlign satisfies (statx's STATX_DIOALIGN, Linux 6.1). Elsewhere,
// on older kernels and on file systems without direct I/O or with larger
// blocks, it fails with errors.ErrUnsupported and the store writes
// through the page cache, as it always did.
func openDirect(path string) (*os.File, error) {
	var st unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_DIOALIGN, &st); err != nil {
		return nil, err
	}
	if st.Mask&unix.STATX_DIOALIGN == 0 || st.Dio_mem_align == 0 || st.Dio_offset_align == 0 ||
		st.Dio_mem_align > directAlign || st.Dio_offset_align > directAlign {
		return nil, errors.ErrUnsupported
	}
	return os.OpenFile(path, os.O_WRONLY|os.O_APPEND|syscall.O_DIRECT, 0)
}

// tryLock takes an exclusive flock(2) on f's open file, or reports that
// another open file of it holds one.
func tryLock(f *os.File) (locked bool, err error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = unix.Flock(int(fd), unix.LOCK_EX|unix.LOCK_NB); ferr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return false, err
	}
	if ferr == unix.EWOULDBLOCK {
		return false, nil
	}
	if ferr != nil {
		return false, &os.PathError{Op: "flock", Path: f.Name(), Err: ferr}
	}
	return true, nil
}

// rawWrite is plainWrite made as a raw system call where it appends: the
// directWriter's head and tail, less than a block each, through the page
// cache. Through the store's io_uring, such a write went to the ring's
// kernel worker (ext4's buffered writes cannot be made without blocking),
// a round trip per write; and once, under `make test` in CI, one never
// completed: the ring had taken it and posted no completion, and its
// worker sat idle (the cause is not known; buffered writes are the only
// writes the kernel's workers serialize by inode, and the tail's was the
// only one in flight). With write(2) through the syscall package, each
// woke Go's scheduler monitor (see ring): with four requests in flight
// the exporter took 12 % more CPU time. A raw write(2) of less than a
// block to the page cache returns in microseconds; it holds Go's
// processor while it runs, as the ring's submission does.
func rawWrite(f *os.File, b []byte, off int64) (int, error) {
	if off >= 0 || len(b) == 0 {
		return plainWrite(f, b, off)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	n := 0
	var werr error
	if err := rc.Control(func(fd uintptr) {
		for n < len(b) {
			m, _, errno := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[n])), uintptr(len(b)-n))
			switch {
			case errno == unix.EINTR:
				continue
			case errno != 0:
				werr = errno
				return
			case m == 0:
				werr = io.ErrShortWrite
				return
			}
			n += int(m)
		}
	}); err != nil {
		return 0, err
	}
	if werr != nil {
		return n, &os.PathError{Op: "write", Path: f.Name(), Err: werr}
	}
	return n, nil
}
