package auditlog

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resident is how many of the pages of b are in memory, and how many
// pages b spans.
func resident(t *testing.T, b []byte) (in, pages int) {
	t.Helper()
	page := uintptr(unix.Getpagesize())
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	start := p &^ (page - 1)
	// mincore wants a page-aligned address: take the whole pages b spans.
	n := p - start + uintptr(len(b))
	vec := make([]byte, (n+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, start, n, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	for _, v := range vec {
		in += int(v & 1)
	}
	return in, len(vec)
}

// TestPopulate checks that populate leaves every page of fresh anonymous
// memory resident and writable, and that a keyTable's slots are resident
// once init returns, before any key is inserted.
func TestPopulate(t *testing.T) {
	const size = 8 << 20
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(mem)
	if in, _ := resident(t, mem); in != 0 {
		t.Fatalf("fresh mapping: %d pages resident before populate, want 0", in)
	}
	if err := populate(mem); err != nil {
		t.Fatalf("populate: %v (MADV_POPULATE_WRITE needs Linux 5.14)", err)
	}
	if in, pages := resident(t, mem); in != pages {
		t.Fatalf("after populate: %d of %d pages resident", in, pages)
	}
	mem[0], mem[size-1] = 1, 2 // writable, and still zero elsewhere
	if mem[size/2] != 0 {
		t.Fatalf("populated memory holds %d, want 0", mem[size/2])
	}

	var kt keyTable
	kt.init(1 << 20)
	if in, pages := resident(t, sliceBytes(kt.slots)); in != pages {
		t.Fatalf("keyTable of %d slots after init: %d of %d pages resident", len(kt.slots), in, pages)
	}
	if !kt.insert(dedupKey{1, 2}) || kt.insert(dedupKey{1, 2}) || !kt.contains(dedupKey{1, 2}) {
		t.Fatal("populated table does not behave as a set")
	}
}
