//go:build !linux

package auditlog

import (
	"errors"
	"os"
)

// preallocate is unsupported where fallocate(2) is missing: segments
// grow as they are written.
func preallocate(*os.File, int64, int64) error { return errors.ErrUnsupported }
