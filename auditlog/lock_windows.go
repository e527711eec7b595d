//go:build windows

package auditlog

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// lockExclusive takes an exclusive lock on the first byte of f without
// waiting; it fails if another process holds it. Windows releases the lock
// when the process exits, so a crashed writer never leaves the store
// locked.
func lockExclusive(f *os.File) error {
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}

// lockWait takes a lock on the first byte of f, shared or exclusive,
// waiting for the locks that exclude it to be released.
func lockWait(f *os.File, shared bool) error {
	var flags uint32 = windows.LOCKFILE_EXCLUSIVE_LOCK
	if shared {
		flags = 0
	}
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, &ol)
}

// WriterHolds reports whether a writer (a Store) holds the store in dir:
// whether the first byte of its lock file is locked. It takes a shared
// lock for as long as one system call, which a writer opening the store
// meanwhile waits out (see Open).
func WriterHolds(dir string) bool {
	f, err := os.Open(filepath.Join(dir, lockFile))
	if err != nil {
		return false
	}
	defer f.Close()
	var ol windows.Overlapped
	if err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol); err != nil {
		return errors.Is(err, windows.ERROR_LOCK_VIOLATION)
	}
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
	return false
}

// syncDir does nothing on Windows, which offers no way to flush a
// directory (FlushFileBuffers fails on a directory handle). The entries
// that creating and renaming files add are NTFS metadata, which its log
// keeps consistent through a crash, though the last of them may be lost.
func syncDir(string) error { return nil }
