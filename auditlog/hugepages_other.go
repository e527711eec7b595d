//go:build !linux

package auditlog

// adviseHugePages is a no-op where madvise(MADV_HUGEPAGE) is not available.
func adviseHugePages([]byte) {}
