//go:build amd64 && !purego

package sha256pair

import "golang.org/x/sys/cpu"

//go:generate sh -c "go run ./_gen > sha256pair_amd64.s"

// useSHANI is fixed at start-up: the interleaved block function needs the
// SHA extensions and the AVX, SSE4.1 and SSSE3 instructions around them.
var useSHANI = cpu.X86.HasAVX && cpu.X86.HasSSE41 && cpu.X86.HasSSSE3 && hasSHA()

// hasSHA reports CPUID.(EAX=7,ECX=0):EBX bit 29, the SHA extensions,
// which golang.org/x/sys/cpu does not expose.
func hasSHA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	return ebx&(1<<29) != 0
}

//go:noescape
func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)

// blocks2 runs n 64-byte blocks of message a (from pa) through state a and
// n blocks of message b (from pb) through state b, interleaved.
//
//go:noescape
func blocks2(a, b *[8]uint32, pa, pb *byte, n int)

// block1 runs n 64-byte blocks from pa through state a.
//
//go:noescape
func block1(a *[8]uint32, pa *byte, n int)
