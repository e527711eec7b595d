package sha256pair

import (
	"math/rand/v2"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestNodes holds Node, Nodes and the fallback to tlog.NodeHash.
func TestNodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	random := func() (h tlog.Hash) {
		for i := range h {
			h[i] = byte(rng.Uint32())
		}
		return h
	}
	for range 200 {
		l1, r1, l2, r2 := random(), random(), random(), random()
		w1, w2 := tlog.NodeHash(l1, r1), tlog.NodeHash(l2, r2)
		n1, n2 := Nodes((*[Size]byte)(&l1), (*[Size]byte)(&r1), (*[Size]byte)(&l2), (*[Size]byte)(&r2))
		if n1 != w1 || n2 != w2 {
			t.Fatalf("Nodes: %x %x, want %x %x", n1, n2, w1, w2)
		}
		if n := Node((*[Size]byte)(&l1), (*[Size]byte)(&r1)); n != w1 {
			t.Fatalf("Node: %x, want %x", n, w1)
		}
		if n := nodeGeneric((*[Size]byte)(&l2), (*[Size]byte)(&r2)); n != w2 {
			t.Fatalf("nodeGeneric: %x, want %x", n, w2)
		}
	}
}

// BenchmarkNode compares tlog.NodeHash with Node and with Nodes (per
// node).
func BenchmarkNode(b *testing.B) {
	var l, r tlog.Hash
	l[0], r[0] = 1, 2
	b.Run("tlog", func(b *testing.B) {
		for b.Loop() {
			l = tlog.NodeHash(l, r)
		}
	})
	b.Run("Node", func(b *testing.B) {
		for b.Loop() {
			l = Node((*[Size]byte)(&l), (*[Size]byte)(&r))
		}
	})
	b.Run("Nodes/2", func(b *testing.B) {
		m := l
		for i := 0; b.Loop(); i++ {
			if i%2 == 0 {
				l, m = Nodes((*[Size]byte)(&l), (*[Size]byte)(&r), (*[Size]byte)(&m), (*[Size]byte)(&r))
			}
		}
	})
}
