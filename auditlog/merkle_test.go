package auditlog

import (
	"bytes"
	"fmt"
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
