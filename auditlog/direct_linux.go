package auditlog

import (
	"errors"
	"os"
	"syscall"

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
