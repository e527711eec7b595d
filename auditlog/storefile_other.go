//go:build !unix

package auditlog

// openNonBlock: Windows has no FIFOs in the file system to block on.
const openNonBlock = 0
