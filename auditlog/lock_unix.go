//go:build unix

package auditlog

import (
	"os"
	"syscall"
)

// lockExclusive takes an exclusive advisory lock on f without waiting; it
// fails if another process holds one. The lock goes with the process, so a
// crashed writer never leaves the store locked.
func lockExclusive(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
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
