//go:build !linux

package auditlog

import (
	"errors"
	"os"
)

// openDirect is unsupported outside Linux: segments are written through
// the page cache.
func openDirect(string) (*os.File, error) { return nil, errors.ErrUnsupported }

// tryLock is not needed where segments take no direct writes.
func tryLock(*os.File) (bool, error) { return true, nil }
