package auditlog

import (
	"syscall"
	"unsafe"
)

// adviseHugePages asks the kernel to back the 2 MiB-aligned part of b with
// transparent huge pages (when THP is in "madvise" mode, as on most
// distributions; "always" needs no advice and "never" ignores it). The
// dedup table takes one random cache line per record: with 4 KiB pages
// each of those also misses the TLB (a 32 MiB table spans 8,192 pages),
// with 2 MiB pages it spans 16. Random keys touch every page of the table
// within a few thousand records either way, so its resident size is the
// same. Errors are ignored: the advice only saves time.
func adviseHugePages(b []byte) {
	const huge = 2 << 20
	if len(b) < 2*huge {
		return
	}
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	off := int((p+huge-1)&^(huge-1) - p)
	n := (len(b) - off) &^ (huge - 1)
	_ = syscall.Madvise(b[off:off+n], syscall.MADV_HUGEPAGE)
}
