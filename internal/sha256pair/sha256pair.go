// Package sha256pair computes the two SHA-256 digests the audit log takes
// of every record's canonical text x: its record hash, SHA-256(x), and its
// RFC 6962 Merkle leaf hash, SHA-256(0x00 || x).
//
// On amd64 cores with the SHA extensions both digests run interleaved in
// one pass, which costs little more than one of them: a single SHA-256
// stream is bound by the latency of the SHA round instruction, and the
// second, independent message fills the idle cycles. Elsewhere, and under
// the purego build tag, it falls back to crypto/sha256. Both paths give
// the bytes crypto/sha256 gives; the tests compare them.
package sha256pair

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Size is the length of each digest in bytes.
const Size = sha256.Size

// Hasher computes digest pairs. The zero value is ready to use; it keeps
// scratch buffers between calls and is not safe for concurrent use.
type Hasher struct {
	a, b     []byte    // padded messages, for the interleaved path
	generic  hash.Hash // for the fallback
	leafPref [1]byte
}

// Sum returns SHA-256(x) and SHA-256(0x00 || x) for x = p followed by q.
// Taking x in two pieces lets a caller hash a line around a member it
// leaves out without copying the line.
func (h *Hasher) Sum(p, q []byte) (sum, leaf [Size]byte) {
	return h.SumWith(p, q, nil)
}

// SumWith is Sum that also hashes blocks of s, if not nil, that are ready,
// in lanes the two digests leave free.
func (h *Hasher) SumWith(p, q []byte, s *Stream) (sum, leaf [Size]byte) {
	if useSHANI {
		return h.sumInterleaved(p, q, s)
	}
	return h.sumGeneric(p, q)
}

// LeafWith returns SHA-256(0x00 || x) for x = p followed by q, hashing
// blocks of s, if not nil, that are ready beside it.
func (h *Hasher) LeafWith(p, q []byte, s *Stream) (leaf [Size]byte) {
	if !useSHANI {
		return h.leafGeneric(p, q)
	}
	h.b = pad(h.b[:0], h.leafPref[:], p, q, len(p)+len(q)+1)
	st := iv
	b := h.b
	if s != nil && s.started {
		b = withStream(&st, b, s)
	}
	if len(b) > 0 {
		block1(&st, &b[0], len(b)/64)
	}
	for i := range 8 {
		binary.BigEndian.PutUint32(leaf[4*i:], st[i])
	}
	return leaf
}

func (h *Hasher) sumGeneric(p, q []byte) (sum, leaf [Size]byte) {
	if h.generic == nil {
		h.generic = sha256.New()
	}
	g := h.generic
	g.Reset()
	g.Write(p)
	g.Write(q)
	g.Sum(sum[:0])
	return sum, h.leafGeneric(p, q)
}

func (h *Hasher) leafGeneric(p, q []byte) (leaf [Size]byte) {
	if h.generic == nil {
		h.generic = sha256.New()
	}
	g := h.generic
	g.Reset()
	g.Write(h.leafPref[:])
	g.Write(p)
	g.Write(q)
	g.Sum(leaf[:0])
	return leaf
}

// iv is SHA-256's initial hash value.
var iv = [8]uint32{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}

func (h *Hasher) sumInterleaved(p, q []byte, s *Stream) (sum, leaf [Size]byte) {
	n := len(p) + len(q)
	h.a = pad(h.a[:0], nil, p, q, n)
	h.b = pad(h.b[:0], h.leafPref[:], p, q, n+1)
	sa, sb := iv, iv
	a, b := h.a, h.b
	if s != nil && s.started {
		// Pair a and b with each other only as far as the stream has
		// too few blocks to pair each with the stream.
		x := min(max(0, (len(a)/64+len(b)/64-s.blocks()+1)/2), len(a)/64)
		blocks2(&sa, &sb, &a[0], &b[0], x)
		a, b = a[x*64:], b[x*64:]
		a = withStream(&sa, a, s)
		b = withStream(&sb, b, s)
	}
	if m := min(len(a), len(b)) / 64; m > 0 {
		blocks2(&sa, &sb, &a[0], &b[0], m)
		a, b = a[m*64:], b[m*64:]
	}
	// The leaf message is one byte longer and may need one block more.
	if len(a) > 0 {
		block1(&sa, &a[0], len(a)/64)
	}
	if len(b) > 0 {
		block1(&sb, &b[0], len(b)/64)
	}
	for i := range 8 {
		binary.BigEndian.PutUint32(sum[4*i:], sa[i])
		binary.BigEndian.PutUint32(leaf[4*i:], sb[i])
	}
	return sum, leaf
}

// Leaves returns the leaf hashes SHA-256(0x00 || x1) and SHA-256(0x00 ||
// x2) of two texts, x1 = p1 followed by q1 and x2 = p2 followed by q2, in
// one interleaved pass where the CPU allows: for a reader that needs only
// the leaves of consecutive records.
func (h *Hasher) Leaves(p1, q1, p2, q2 []byte) (leaf1, leaf2 [Size]byte) {
	if !useSHANI {
		return h.leafGeneric(p1, q1), h.leafGeneric(p2, q2)
	}
	h.a = pad(h.a[:0], h.leafPref[:], p1, q1, len(p1)+len(q1)+1)
	h.b = pad(h.b[:0], h.leafPref[:], p2, q2, len(p2)+len(q2)+1)
	s1, s2 := iv, iv
	a, b := h.a, h.b
	if m := min(len(a), len(b)) / 64; m > 0 {
		blocks2(&s1, &s2, &a[0], &b[0], m)
		a, b = a[m*64:], b[m*64:]
	}
	if len(a) > 0 {
		block1(&s1, &a[0], len(a)/64)
	}
	if len(b) > 0 {
		block1(&s2, &b[0], len(b)/64)
	}
	for i := range 8 {
		binary.BigEndian.PutUint32(leaf1[4*i:], s1[i])
		binary.BigEndian.PutUint32(leaf2[4*i:], s2[i])
	}
	return leaf1, leaf2
}

// withStream hashes blocks of msg into st, each beside a block of s while
// s has any, and returns the blocks of msg left.
func withStream(st *[8]uint32, msg []byte, s *Stream) []byte {
	for len(msg) > 0 {
		p, n := s.take(len(msg) / 64)
		if n == 0 {
			break
		}
		blocks2(st, &s.h, &msg[0], p, n)
		msg = msg[n*64:]
	}
	return msg
}

// pad appends prefix, p and q (n bytes in all) and SHA-256's padding to
// dst: a 0x80 byte, zeros, and the bit length, to a multiple of 64 bytes.
func pad(dst, prefix, p, q []byte, n int) []byte {
	total := (n + 1 + 8 + 63) &^ 63
	if cap(dst) < total {
		dst = make([]byte, 0, total+total/4)
	}
	dst = append(dst, prefix...)
	dst = append(dst, p...)
	dst = append(dst, q...)
	dst = dst[:total]
	dst[n] = 0x80
	clear(dst[n+1 : total-8])
	binary.BigEndian.PutUint64(dst[total-8:], uint64(n)<<3)
	return dst
}
