//go:build unix

package auditlog

import "syscall"

// openNonBlock makes OpenStoreFile's open return at once on a FIFO; it
// changes nothing for a regular file.
const openNonBlock = syscall.O_NONBLOCK
