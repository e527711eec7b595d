//go:build !amd64 || purego

package sha256pair

const useSHANI = false

func blocks2(a, b *[8]uint32, pa, pb *byte, n int) {
	panic("sha256pair: no interleaved block function")
}

func block1(a *[8]uint32, pa *byte, n int) {
	panic("sha256pair: no interleaved block function")
}
