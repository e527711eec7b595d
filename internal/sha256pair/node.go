package sha256pair

import (
	"crypto/sha256"
	"encoding/binary"
)

// nodeBlocks is the padded message of an RFC 6962 interior node hash:
// 0x01, the two child hashes, SHA-256's 0x80 and the bit length 65·8, in
// two blocks.
type nodeBlocks [128]byte

func (b *nodeBlocks) set(l, r *[Size]byte) {
	b[0] = 0x01
	copy(b[1:], l[:])
	copy(b[1+Size:], r[:])
	b[1+2*Size] = 0x80
	binary.BigEndian.PutUint64(b[120:], (1+2*Size)*8)
}

// Node returns the RFC 6962 interior node hash SHA-256(0x01 || l || r),
// as tlog.NodeHash does, without a hash.Hash per call.
func Node(l, r *[Size]byte) [Size]byte {
	if !useSHANI {
		return nodeGeneric(l, r)
	}
	var b nodeBlocks
	b.set(l, r)
	st := iv
	block1(&st, &b[0], 2)
	return digest(&st)
}

// Nodes returns the node hashes of (l1, r1) and (l2, r2) in one
// interleaved pass where the CPU allows: for a tree level whose nodes do
// not depend on each other.
func Nodes(l1, r1, l2, r2 *[Size]byte) (n1, n2 [Size]byte) {
	if !useSHANI {
		return nodeGeneric(l1, r1), nodeGeneric(l2, r2)
	}
	var a, b nodeBlocks
	a.set(l1, r1)
	b.set(l2, r2)
	sa, sb := iv, iv
	blocks2(&sa, &sb, &a[0], &b[0], 2)
	return digest(&sa), digest(&sb)
}

func nodeGeneric(l, r *[Size]byte) [Size]byte {
	var b [1 + 2*Size]byte
	b[0] = 0x01
	copy(b[1:], l[:])
	copy(b[1+Size:], r[:])
	return sha256.Sum256(b[:])
}

func digest(st *[8]uint32) (out [Size]byte) {
	for i := range 8 {
		binary.BigEndian.PutUint32(out[4*i:], st[i])
	}
	return out
}
