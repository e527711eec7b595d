package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/internal/sha256pair"
)

// recordHasher computes the two digests of a record, its hash and its
// RFC 6962 Merkle leaf hash, over its canonical text without the "hash"
// member. It reuses one SHA-256 state (tlog.RecordHash allocates one per
// call) and takes the text in two pieces, so that the verifier can hash a
// line around its hash member without copying it. Not safe for concurrent
// use.
type recordHasher struct {
	// pair takes both digests in one interleaved pass where the CPU
	// allows; h is for the leaf hash alone.
	pair sha256pair.Hasher
	h    hash.Hash
	sum  [sha256.Size]byte
	hex  [2 * sha256.Size]byte // lowercase hex of sum
	leaf [1]byte               // the RFC 6962 leaf prefix, 0x00
	// leafSum receives the leaf hash.
	leafSum tlog.Hash
}

// hash hashes the text a followed by b: the record hash lands in r.sum and
// r.hex, and the leaf hash, SHA-256(0x00 || text), is returned.
func (r *recordHasher) hash(a, b []byte) tlog.Hash {
	var leaf tlog.Hash
	r.sum, leaf = r.pair.Sum(a, b)
	hex.Encode(r.hex[:], r.sum[:])
	return leaf
}

// matches reports whether hexHash is the lowercase hex of the last record
// hash computed.
func (r *recordHasher) matches(hexHash string) bool { return hexHash == string(r.hex[:]) }

// leafOnly returns the leaf hash of the text a followed by b, without the
// record hash: for a record whose hash member a verified checkpoint
// already pins (see lineScanner.scanCovered).
func (r *recordHasher) leafOnly(a, b []byte) tlog.Hash {
	if r.h == nil {
		r.h = sha256.New()
	}
	h := r.h
	h.Reset()
	h.Write(r.leaf[:])
	h.Write(a)
	h.Write(b)
	// Sum into the hasher's own array: a local one would escape to the
	// heap through the interface call, one allocation per record.
	h.Sum(r.leafSum[:0])
	return r.leafSum
}
