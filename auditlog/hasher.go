package auditlog

import (
	"crypto/sha256"
	"encoding/hex"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/internal/sha256pair"
)

// recordHasher computes the two digests of a record, its hash and its
// RFC 6962 Merkle leaf hash, over its canonical text without the "hash"
// member, in one interleaved pass where the CPU allows (see sha256pair).
// It takes the text in two pieces, so that the verifier can hash a line
// around its hash member without copying it. Not safe for concurrent use.
type recordHasher struct {
	pair sha256pair.Hasher
	sum  [sha256.Size]byte
	hex  [2 * sha256.Size]byte // lowercase hex of sum
}

// hash hashes the text a followed by b: the record hash lands in r.sum and
// r.hex, and the leaf hash, SHA-256(0x00 || text), is returned.
func (r *recordHasher) hash(a, b []byte) tlog.Hash { return r.hashWith(a, b, nil) }

// hashWith is hash that also hashes blocks of the file stream s, if not
// nil, beside the record's digests.
func (r *recordHasher) hashWith(a, b []byte, s *sha256pair.Stream) tlog.Hash {
	var leaf tlog.Hash
	r.sum, leaf = r.pair.SumWith(a, b, s)
	hex.Encode(r.hex[:], r.sum[:])
	return leaf
}

// matches reports whether hexHash is the lowercase hex of the last record
// hash computed.
func (r *recordHasher) matches(hexHash string) bool { return hexHash == string(r.hex[:]) }

// leafOnly returns the leaf hash of the text a followed by b, without the
// record hash: for a record whose hash member a verified checkpoint
// already pins (see lineScanner.scanCovered).
func (r *recordHasher) leafOnly(a, b []byte) tlog.Hash { return r.pair.Leaf(a, b) }
