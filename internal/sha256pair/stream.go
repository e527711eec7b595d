package sha256pair

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
)

// Stream is the SHA-256 digest of a byte stream, such as a segment file,
// whose blocks are hashed in the spare lanes of a Hasher's digests (see
// Hasher.SumWith) instead of on their own: a record's
// two digests and the file digest then cost about as much as the two.
//
// Feed does not copy: the bytes fed must stay unchanged until they are
// hashed, which Flush guarantees. The zero value is an empty stream. Not
// safe for concurrent use.
type Stream struct {
	h       [8]uint32
	started bool
	n       uint64   // bytes fed
	tail    [64]byte // the start of a block not yet hashed
	ntail   int
	pending int      // bytes fed and not yet hashed, tail included
	src     [][]byte // fed and not yet hashed, in order, after tail
	generic hash.Hash
}

// Feed appends p to the stream. p is hashed later, by SumWith, Flush or
// Sum, and must not change until then.
func (s *Stream) Feed(p []byte) {
	if !useSHANI {
		if s.generic == nil {
			s.generic = sha256.New()
		}
		s.generic.Write(p)
		return
	}
	if !s.started {
		s.h, s.started = iv, true
	}
	s.n += uint64(len(p))
	if len(p) > 0 {
		s.pending += len(p)
		s.src = append(s.src, p)
	}
}

// Flush hashes every block fed so far, and keeps a copy of the rest (less
// than a block): afterwards no fed slice is referenced.
func (s *Stream) Flush() {
	for {
		p, n := s.take(1 << 30)
		if n == 0 {
			break
		}
		block1(&s.h, p, n)
	}
	for _, p := range s.src {
		s.ntail += copy(s.tail[s.ntail:], p)
	}
	clear(s.src)
	s.src = s.src[:0]
}

// Sum returns the SHA-256 of everything fed so far. Like hash.Hash's Sum
// it leaves the stream as it was, to be fed further; it flushes it.
func (s *Stream) Sum() [Size]byte {
	var out [Size]byte
	if !useSHANI {
		if s.generic == nil {
			s.generic = sha256.New()
		}
		s.generic.Sum(out[:0])
		return out
	}
	if !s.started {
		s.h, s.started = iv, true
	}
	s.Flush()
	h := s.h
	var last [128]byte
	k := copy(last[:], s.tail[:s.ntail])
	last[k] = 0x80
	total := (k + 1 + 8 + 63) &^ 63
	binary.BigEndian.PutUint64(last[total-8:], s.n<<3)
	block1(&h, &last[0], total/64)
	for i := range 8 {
		binary.BigEndian.PutUint32(out[4*i:], h[i])
	}
	return out
}

// blocks is the number of whole blocks ready to hash.
func (s *Stream) blocks() int { return s.pending / 64 }

// take returns the next run of at most max whole blocks ready to hash,
// contiguous in memory, and counts them as hashed: the caller hashes them
// before calling take again (a run may be s.tail, refilled by the next
// call). It returns 0 blocks when less than one is ready.
func (s *Stream) take(max int) (*byte, int) {
	if s.pending < 64 || max <= 0 {
		return nil, 0
	}
	for len(s.src) > 0 {
		p := s.src[0]
		if s.ntail > 0 || len(p) < 64 {
			// A block across fed slices: gather it in the tail.
			c := copy(s.tail[s.ntail:], p)
			s.ntail += c
			s.advance(c)
			if s.ntail == len(s.tail) {
				s.ntail = 0
				s.pending -= 64
				return &s.tail[0], 1
			}
			continue
		}
		k := min(len(p)/64, max)
		s.advance(k * 64)
		s.pending -= k * 64
		return &p[0], k
	}
	return nil, 0
}

// advance drops the first c bytes of s.src[0], and the slice once empty.
func (s *Stream) advance(c int) {
	if s.src[0] = s.src[0][c:]; len(s.src[0]) == 0 {
		s.src[0] = nil
		s.src = s.src[1:]
	}
}
