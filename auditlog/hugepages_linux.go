package auditlog

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
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

// populate faults in the pages of b for writing, now (MADV_POPULATE_WRITE,
// Linux 5.14), as the first writes to them would. The dedup table gets
// one write at a random slot per record, so a fresh exporter's first
// thousands of records would each take a fault that clears a page (a huge
// page, with adviseHugePages): in a virtual machine whose host backs guest
// memory on first use, that was 2-3 % of the CPU time of the paired
// benchmark's fresh run, spread as stalls of milliseconds over its first
// batches. Taking them at Open moves that cost to start-up and changes no
// resident size: random keys touch every page within a few thousand
// records anyway. Callers ignore the error (EINVAL before Linux 5.14,
// ENOMEM when memory is short): the pages are then faulted in on use, as
// before.
func populate(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return unix.Madvise(b, unix.MADV_POPULATE_WRITE)
}
