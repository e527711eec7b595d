//go:build !linux

package auditlog

import "os"

// isDirect reports whether f was opened with O_DIRECT: never, here.
func isDirect(*os.File) bool { return false }
