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

// TestLeaves pairs texts of every length up to five blocks with texts of
// other lengths (the two messages then take different numbers of blocks).
func TestLeaves(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var h Hasher
	for n := 0; n <= 5*64; n++ {
		x1 := make([]byte, n)
		x2 := make([]byte, rng.IntN(6*64))
		for i := range x1 {
			x1[i] = byte(rng.Uint32())
		}
		for i := range x2 {
			x2[i] = byte(rng.Uint32())
		}
		s1, s2 := rng.IntN(len(x1)+1), rng.IntN(len(x2)+1)
		l1, l2 := h.Leaves(x1[:s1], x1[s1:], x2[:s2], x2[s2:])
		_, w1 := want(x1)
		_, w2 := want(x2)
		if l1 != w1 || l2 != w2 {
			t.Fatalf("Leaves of %d and %d bytes: got %x %x, want %x %x", len(x1), len(x2), l1, l2, w1, w2)
		}
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

// runStream plays a script against a Stream and checks every digest
// against crypto/sha256: ops come from script bytes, so that the fuzzer
// explores any order of feeds of any size, digest pairs beside the
// stream, leaf digests between them, flushes and sums. After a flush, the bytes fed before are
// overwritten, which must not change the stream's digest.
func runStream(t *testing.T, script []byte, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var h Hasher
	var s Stream
	var fed []byte    // the stream so far, as the reference sees it
	var live [][]byte // slices fed since the last flush
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for i, op := range script {
		size := int(op>>2) * (1 + rng.IntN(40))
		switch op & 3 {
		case 0: // feed
			p := randBytes(size)
			s.Feed(p)
			fed = append(fed, p...)
			live = append(live, p)
		case 1: // both digests of a message, beside the stream
			x := randBytes(size)
			split := rng.IntN(len(x) + 1)
			sum, leaf := h.SumWith(x[:split], x[split:], &s)
			if ws, wl := want(x); sum != ws || leaf != wl {
				t.Fatalf("op %d: SumWith of %d bytes: got %x %x, want %x %x", i, len(x), sum, leaf, ws, wl)
			}
		case 2: // the leaf alone, with the same Hasher's scratch
			x := randBytes(size)
			split := rng.IntN(len(x) + 1)
			if _, wl := want(x); h.Leaf(x[:split], x[split:]) != wl {
				t.Fatalf("op %d: Leaf of %d bytes differs", i, len(x))
			}
		case 3: // flush; or sum and go on feeding
			if op&4 == 0 {
				s.Flush()
				for _, p := range live {
					clear(p)
				}
				live = nil
				continue
			}
			if got, w := s.Sum(), sha256.Sum256(fed); got != w {
				t.Fatalf("op %d: Sum of %d bytes: got %x, want %x", i, len(fed), got, w)
			}
			for _, p := range live { // Sum flushes, too
				clear(p)
			}
			live = nil
		}
	}
	if got, w := s.Sum(), sha256.Sum256(fed); got != w {
		t.Fatalf("final Sum of %d bytes: got %x, want %x", len(fed), got, w)
	}
}

// TestStream runs scripts that a writer and a verifier use: a record's
// digests beside a stream of whole lines, a leaf beside a large chunk,
// feeds smaller than a block, and the empty stream.
func TestStream(t *testing.T) {
	scripts := map[string][]byte{
		"empty":            nil,
		"sum only":         {3 | 4},
		"sum, feed, sum":   {0x80, 3 | 4, 0x80, 0xfd, 3 | 4, 0x80},
		"writer":           {1 << 2 << 4, 0x80, 0xfd, 0x82, 0xfd, 0x81, 0xfd, 0x80, 3, 0xfd, 0x7e, 3 | 4},
		"verifier":         {0xfc, 0x7e, 0x7e, 0x7e, 0x7e, 3, 0xfc, 0x7e, 0x7e, 3 | 4},
		"tiny feeds":       {4, 4, 8, 0x81, 4, 0x82, 4, 3, 4, 3 | 4, 4},
		"digests, no feed": {0x81, 0x82, 0x81},
	}
	for name, script := range scripts {
		for seed := range uint64(20) {
			t.Run(name, func(t *testing.T) { runStream(t, script, seed) })
		}
	}
}

func FuzzStream(f *testing.F) {
	f.Add([]byte{0x80, 0xfd, 0x82, 3, 0x7e, 3 | 4}, uint64(1))
	f.Add([]byte{4, 4, 0x81, 0x82, 3, 4}, uint64(2))
	f.Fuzz(func(t *testing.T, script []byte, seed uint64) {
		if len(script) > 64 {
			script = script[:64]
		}
		runStream(t, script, seed)
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

// BenchmarkWithStream is the store writer's per-record digest work on a
// record-sized text, with the previous batch's lines (1,000 of them) in
// the file stream: beside the record digests (SumWith), as the writer
// does, and apart (Sum, and a crypto/sha256 digest of the lines).
func BenchmarkWithStream(b *testing.B) {
	x := make([]byte, 1483)
	line := make([]byte, 1560)
	for i := range x {
		x[i] = byte(i)
	}
	batch := make([]byte, 0, 1000*len(line))
	for range 1000 {
		batch = append(batch, line...)
	}
	b.Run("beside", func(b *testing.B) {
		var h Hasher
		var s Stream
		b.SetBytes(int64(len(x)))
		i := 0
		for b.Loop() {
			if i == 0 {
				s.Feed(batch) // fed once durable, as the writer does
			}
			h.SumWith(x[:700], x[700:], &s)
			if i++; i == 1000 {
				s.Flush()
				i = 0
			}
		}
	})
	b.Run("apart", func(b *testing.B) {
		var h Hasher
		g := sha256.New()
		b.SetBytes(int64(len(x)))
		i := 0
		for b.Loop() {
			h.Sum(x[:700], x[700:])
			g.Write(batch[i*len(line) : (i+1)*len(line)])
			if i++; i == 1000 {
				i = 0
			}
		}
	})
}
