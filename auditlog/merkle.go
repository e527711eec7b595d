package auditlog

import (
	"io"
	"slices"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/internal/sha256pair"
)

// frontier is the compact range of an RFC 6962 Merkle tree over the first n
// leaves: the roots of its maximal complete subtrees, left to right. It
// takes O(log n) memory, appends in amortised O(1) hashes, and yields the
// tree root at any size the writer or verifier passes through, so neither
// needs the whole tree in memory.
type frontier struct {
	n      int64
	hashes []tlog.Hash // one per set bit of n, largest subtree first
}

// push adds the leaf hash of record f.n and appends to stored the tlog
// stored hashes that record contributes, in tlog.StoredHashIndex order:
// the leaf itself, then each subtree it completes.
func (f *frontier) push(leaf tlog.Hash, stored []tlog.Hash) []tlog.Hash {
	stored = append(stored, leaf)
	h := leaf
	for k := f.n; k&1 == 1; k >>= 1 {
		left := f.hashes[len(f.hashes)-1]
		f.hashes = f.hashes[:len(f.hashes)-1]
		h = sha256pair.Node((*[32]byte)(&left), (*[32]byte)(&h))
		stored = append(stored, h)
	}
	f.hashes = append(f.hashes, h)
	f.n++
	return stored
}

// root returns the RFC 6962 tree hash of the first f.n leaves.
func (f *frontier) root() tlog.Hash {
	if len(f.hashes) == 0 {
		return emptyTreeHash()
	}
	h := f.hashes[len(f.hashes)-1]
	for i := len(f.hashes) - 2; i >= 0; i-- {
		h = sha256pair.Node((*[32]byte)(&f.hashes[i]), (*[32]byte)(&h))
	}
	return h
}

func (f *frontier) clone() frontier {
	return frontier{n: f.n, hashes: append([]tlog.Hash(nil), f.hashes...)}
}

// emptyTreeHash is the RFC 6962 hash of the empty tree, SHA-256 of "".
func emptyTreeHash() tlog.Hash {
	h, _ := tlog.TreeHash(0, nil)
	return h
}

// frontierIndexes returns the tlog stored-hash indexes of the subtree roots
// that make up the frontier of a tree with n leaves.
func frontierIndexes(n int64) []int64 {
	var idx []int64
	var lo int64
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			idx = append(idx, tlog.StoredHashIndex(level, lo>>level))
			lo += 1 << level
		}
	}
	return idx
}

// treeSizeForHashCount returns the largest n with
// tlog.StoredHashCount(n) <= count.
func treeSizeForHashCount(count int64) int64 {
	// StoredHashCount(n) is between n and 2n.
	lo, hi := count/2, count
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if tlog.StoredHashCount(mid) <= count {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// readFrontier reads the frontier of a tree of size n from a tree file.
func readFrontier(tree io.ReaderAt, n int64) (frontier, error) {
	f := frontier{n: n}
	for _, idx := range frontierIndexes(n) {
		var h tlog.Hash
		if _, err := tree.ReadAt(h[:], idx*tlog.HashSize); err != nil {
			return frontier{}, err
		}
		f.hashes = append(f.hashes, h)
	}
	return f, nil
}

// Frontier is the compact range of a chain's RFC 6962 Merkle tree: the
// roots of its complete subtrees, largest first. A reader that trusts the
// frontier of a chain's first records (from the tree file or a signed
// prune marker) pushes the leaf hashes of the records after them and
// compares Root with a checkpoint's root, without re-hashing the prefix.
// The zero value is the empty tree. Not safe for concurrent use.
type Frontier struct {
	f       frontier
	scratch []tlog.Hash
}

// NewFrontier returns the frontier of a tree of n leaves whose subtree
// roots are hashes, largest first (as a prune marker carries them). It
// copies hashes.
func NewFrontier(n int64, hashes []tlog.Hash) Frontier {
	return Frontier{f: frontier{n: n, hashes: slices.Clone(hashes)}}
}

// ReadFrontier reads the frontier of a chain's first n records from its
// tree file (TreeFile). The tree file is not signed: a reader must still
// check the root it leads to against a verified checkpoint.
func ReadFrontier(tree io.ReaderAt, n int64) (Frontier, error) {
	f, err := readFrontier(tree, n)
	return Frontier{f: f}, err
}

// Size returns the number of leaves in the tree.
func (f *Frontier) Size() int64 { return f.f.n }

// Hashes returns the subtree roots, largest first; the caller must not
// modify them.
func (f *Frontier) Hashes() []tlog.Hash { return f.f.hashes }

// Push appends a leaf hash (tlog.RecordHash of a record's canonical text).
func (f *Frontier) Push(leaf tlog.Hash) { f.scratch = f.f.push(leaf, f.scratch[:0]) }

// Root returns the RFC 6962 tree hash of the leaves pushed so far.
func (f *Frontier) Root() tlog.Hash { return f.f.root() }

// pushLeaves is push for each of leaves in turn: the same frontier after,
// and the same stored hashes appended, in the same order. It takes the
// subtrees the leaves complete a tree level at a time, where they do not
// depend on each other, and hashes them two at a time
// (sha256pair.Nodes): a batch of a thousand leaves completes about a
// thousand subtrees, each a two-block SHA-256. scratch holds the new
// subtree roots between calls.
func (f *frontier) pushLeaves(leaves []tlog.Hash, stored []tlog.Hash, scratch *[]tlog.Hash) []tlog.Hash {
	n0, n := f.n, f.n+int64(len(leaves))
	if len(leaves) == 0 {
		return stored
	}
	// old[l] is the frontier's subtree at level l, when bit l of n0 is set.
	var old [64]tlog.Hash
	k := 0
	for l := 62; l >= 0; l-- {
		if n0&(1<<l) != 0 {
			old[l] = f.hashes[k]
			k++
		}
	}
	// Level j holds the new subtrees lo[j], lo[j]+1, …, their roots at
	// nodes[off[j]:off[j+1]]; level 0 is the leaves.
	var lo [64]int64
	var off [65]int
	for j := range lo {
		lo[j] = (n0+1<<j)>>j - 1
	}
	nodes := (*scratch)[:0]
	at := func(j int, i int64) *tlog.Hash {
		switch {
		case i < lo[j]:
			return &old[j]
		case j == 0:
			return &leaves[i-n0]
		}
		return &nodes[off[j]+int(i-lo[j])]
	}
	top := 0
	for j := 1; j < 63; j++ {
		hi := n>>j - 1
		off[j] = len(nodes)
		if hi < lo[j] {
			break
		}
		top = j
		nodes = slices.Grow(nodes, int(hi-lo[j]+1))
		for i := lo[j]; i <= hi; i += 2 {
			if i == hi {
				nodes = append(nodes, sha256pair.Node((*[32]byte)(at(j-1, 2*i)), (*[32]byte)(at(j-1, 2*i+1))))
				break
			}
			a, b := sha256pair.Nodes((*[32]byte)(at(j-1, 2*i)), (*[32]byte)(at(j-1, 2*i+1)),
				(*[32]byte)(at(j-1, 2*i+2)), (*[32]byte)(at(j-1, 2*i+3)))
			nodes = append(nodes, a, b)
		}
	}
	off[top+1] = len(nodes)
	*scratch = nodes
	for i := n0; i < n; i++ {
		stored = append(stored, leaves[i-n0])
		for j := 1; (i+1)&(1<<j-1) == 0; j++ {
			stored = append(stored, *at(j, (i+1)>>j-1))
		}
	}
	f.hashes = f.hashes[:0]
	for l := 62; l >= 0; l-- {
		if n&(1<<l) != 0 {
			f.hashes = append(f.hashes, *at(l, n>>l-1))
		}
	}
	f.n = n
	return stored
}
