package sha256pair

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// want is the reference: crypto/sha256 over x and over 0x00 || x.
func want(x []byte) (sum, leaf [Size]byte) {
	return sha256.Sum256(x), sha256.Sum256(append([]byte{0}, x...))
}

func check(t *testing.T, h *Hasher, x []byte, split int) {
	t.Helper()
	ws, wl := want(x)
	for _, path := range []struct {
		name string
		sum  func(p, q []byte) (s, l [Size]byte)
	}{{"Sum", h.Sum}, {"generic", h.sumGeneric}} {
		s, l := path.sum(x[:split], x[split:])
		if s != ws || l != wl {
			t.Fatalf("%s of %d bytes split at %d: got %x %x, want %x %x", path.name, len(x), split, s, l, ws, wl)
		}
	}
}

// TestSumEveryLength covers every padding case: lengths around each block
// boundary, where the leaf message (one byte longer) may take one block
// more than the record message, and splits at both ends and in between.
func TestSumEveryLength(t *testing.T) {
	if !useSHANI {
		t.Log("no SHA extensions here: only the crypto/sha256 fallback is exercised")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var h Hasher
	for n := 0; n <= 4*64+1; n++ {
		x := make([]byte, n)
		for i := range x {
			x[i] = byte(rng.Uint32())
		}
		for _, split := range []int{0, n / 3, n} {
			check(t, &h, x, split)
		}
	}
}

// TestSumLarge hashes records far larger than a typical one, with a
// Hasher whose scratch buffers shrink and grow between calls.
func TestSumLarge(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var h Hasher
	for _, n := range []int{1 << 20, 100, 64*1000 + 55, 64*1000 + 56, 3, 10 << 20} {
		x := make([]byte, n)
		for i := range x {
			x[i] = byte(rng.Uint32())
		}
		check(t, &h, x, rng.IntN(n+1))
	}
}

func FuzzSum(f *testing.F) {
	f.Add([]byte(`{"v":1}`), 3)
	f.Add(make([]byte, 55), 0)
	f.Add(make([]byte, 119), 119)
	var h Hasher
	f.Fuzz(func(t *testing.T, x []byte, split int) {
		if split < 0 {
			split = -split
		}
		check(t, &h, x, split%(len(x)+1))
	})
}

// BenchmarkSum compares one Sum with the two crypto/sha256 passes it
// replaces, on a record-sized text.
func BenchmarkSum(b *testing.B) {
	x := make([]byte, 1483)
	for i := range x {
		x[i] = byte(i)
	}
	b.Run("pair", func(b *testing.B) {
		var h Hasher
		b.SetBytes(int64(len(x)))
		for b.Loop() {
			h.Sum(x[:700], x[700:])
		}
	})
	b.Run("crypto-sha256-twice", func(b *testing.B) {
		var h Hasher
		b.SetBytes(int64(len(x)))
		for b.Loop() {
			h.sumGeneric(x[:700], x[700:])
		}
	})
}
