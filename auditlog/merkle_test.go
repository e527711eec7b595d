package auditlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestFrontier checks the exported Frontier against tlog: started empty,
// from a prefix's subtree roots, or read from a tree file of stored
// hashes, pushing the remaining leaves gives tlog.TreeHash of the whole.
func TestFrontier(t *testing.T) {
	const total = 37
	leaves := make([]tlog.Hash, total)
	var stored []tlog.Hash
	var writer frontier
	for i := range leaves {
		leaves[i] = tlog.RecordHash([]byte(fmt.Sprintf("record %d", i)))
		stored = writer.push(leaves[i], stored)
	}
	var tree bytes.Buffer
	for _, h := range stored {
		tree.Write(h[:])
	}
	hashReader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	for _, start := range []int64{0, 1, 2, 7, 8, 16, 31, 36, total} {
		prefix, err := ReadFrontier(bytes.NewReader(tree.Bytes()), start)
		if err != nil {
			t.Fatalf("ReadFrontier(%d): %v", start, err)
		}
		for name, f := range map[string]Frontier{
			"read": prefix,
			"new":  NewFrontier(start, prefix.Hashes()),
		} {
			for _, leaf := range leaves[start:] {
				f.Push(leaf)
			}
			want, err := tlog.TreeHash(total, hashReader)
			if err != nil {
				t.Fatal(err)
			}
			if f.Size() != total || f.Root() != want {
				t.Errorf("%s from %d: size %d root %x, want %d %x", name, start, f.Size(), f.Root(), total, want)
			}
		}
	}
	var empty Frontier
	if want, _ := tlog.TreeHash(0, nil); empty.Root() != want || empty.Size() != 0 {
		t.Errorf("zero Frontier: root %x size %d", empty.Root(), empty.Size())
	}
	if _, err := ReadFrontier(bytes.NewReader(tree.Bytes()[:tree.Len()/2]), total); err == nil {
		t.Error("ReadFrontier of a short tree file: no error")
	}
}

// TestPushLeaves holds frontier.pushLeaves to push, leaf by leaf: the
// stored hashes and the frontier after, from frontiers of every shape.
func TestPushLeaves(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	leaf := func(i int64) (h tlog.Hash) {
		binary.BigEndian.PutUint64(h[:], uint64(i))
		h[31] = byte(rng.Uint32())
		return h
	}
	var scratch []tlog.Hash
	for _, start := range []int64{0, 1, 2, 3, 5, 7, 8, 63, 64, 100, 1023, 1024, 4097, 65535} {
		var seq, bat frontier
		for i := int64(0); i < start; i++ {
			seq.push(leaf(i), nil)
		}
		bat = seq.clone()
		n := start
		for _, m := range []int{1, 2, 3, 1, 1000, 7, 513, 1024, 1, 2048} {
			leaves := make([]tlog.Hash, m)
			for i := range leaves {
				leaves[i] = leaf(n + int64(i))
			}
			var want []tlog.Hash
			for _, l := range leaves {
				want = seq.push(l, want)
			}
			got := bat.pushLeaves(leaves, nil, &scratch)
			if !slices.Equal(got, want) {
				t.Fatalf("from %d, %d leaves: %d stored hashes, want %d (first difference at %d)", n, m, len(got), len(want), firstDiff(got, want))
			}
			if bat.n != seq.n || !slices.Equal(bat.hashes, seq.hashes) || bat.root() != seq.root() {
				t.Fatalf("from %d, %d leaves: frontier %d %x, want %d %x", n, m, bat.n, bat.hashes, seq.n, seq.hashes)
			}
			n += int64(m)
		}
	}
}

func firstDiff(a, b []tlog.Hash) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
