package auditlog

import (
	"errors"
	"fmt"
	"path/filepath"
)

// HoldPrunes keeps Prune from removing segments of the store in dir until
// release is called, waiting first for a prune in progress to finish.
// Readers that list a chain's segments and then read them hold it, so that
// a segment does not vanish between the two: Verify does, and so do the
// query commands. Several readers hold it at once. It never writes: a store
// that neither a prune nor a writer of this version has opened has no
// prune lock file, and there is then nothing to hold (release does
// nothing).
func HoldPrunes(dir string) (release func(), err error) {
	f, _, err := OpenStoreFile(filepath.Join(dir, pruneLockFile))
	if errors.Is(err, errNotRegular) {
		// A lock file that is not one (a FIFO would block its open)
		// cannot keep prunes away: refuse to read the store.
		return nil, fmt.Errorf("auditlog: prune lock: %w", err)
	}
	if err != nil {
		return func() {}, nil
	}
	if err := lockWait(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("auditlog: waiting for a prune of %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
