//go:build unix

package auditlog

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// lockExclusive takes an exclusive advisory lock on f without waiting; it
// fails if another process holds one. The lock goes with the process, so a
// crashed writer never leaves the store locked.
func lockExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

// lockWait takes an advisory lock on f, shared or exclusive, waiting for
// the locks that exclude it to be released.
func lockWait(f *os.File, shared bool) error {
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	for {
		if err := syscall.Flock(int(f.Fd()), how); err != syscall.EINTR {
			return err
		}
	}
}

// WriterHolds reports whether a writer (a Store) holds the store in dir:
// whether its lock file is locked. It takes a shared lock for as long as
// one system call, which a writer opening the store meanwhile waits out
// (see Open).
func WriterHolds(dir string) bool {
	// Not a regular file (a FIFO, say): no writer could hold it, and
	// opening it must not block.
	f, _, err := OpenStoreFile(filepath.Join(dir, lockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
		return errors.Is(err, syscall.EWOULDBLOCK)
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return false
}

// syncDir fsyncs a directory so that entries created or renamed in it
// survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
