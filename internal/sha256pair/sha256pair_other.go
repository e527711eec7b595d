//go:build !amd64 || purego

package sha256pair

const useSHANI = false

func blocks2(a, b *[8]uint32, pa, pb *byte, n int) {
	panic("sha256pair: no interleaved block function")
}
