//go:build !linux

package auditlog

// adviseHugePages is a no-op where madvise(MADV_HUGEPAGE) is not available.
func adviseHugePages([]byte) {}

// populate is a no-op where madvise(MADV_POPULATE_WRITE) is not available:
// pages are faulted in on first use.
func populate([]byte) error { return nil }
