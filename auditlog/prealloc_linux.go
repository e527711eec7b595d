package auditlog

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// preallocate allocates n bytes of f's disk space from off, beyond its
// end, without changing its size (fallocate(2) with FALLOC_FL_KEEP_SIZE):
// readers see nothing of it, and truncating f to its size frees what was
// not written. Errors are the system call's (ENOSPC); one that is
// errors.ErrUnsupported means the file system cannot preallocate.
func preallocate(f *os.File, off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			if ferr = unix.Fallocate(int(fd), unix.FALLOC_FL_KEEP_SIZE, off, n); ferr != unix.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if ferr == unix.EOPNOTSUPP {
		return fmt.Errorf("%w: %w", errors.ErrUnsupported, ferr)
	}
	return ferr
}
