package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"hash"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/internal/sha256pair"
)

// recordsDigest computes a v3 seal's segment_records_sha256: the SHA-256
// of 64 bytes per record, its leaf hash then its record hash. The writer
// has both digests of every record anyway, so the seal costs it one block
// per record where a digest of the file (v2) cost a third pass over every
// byte, about 5 % of the writer's CPU.
//
// Why the pairs commit to the file: a line is its text T without the hash
// member (bound by the leaf hash) with the member inserted where the
// record's structure puts it, after "error" (matchHashMember finds that
// place from bytes of T alone: see lineScanner.scanCovered), and the
// member's 64 bytes are bound by the record hash. With segment_bytes
// fixing where the file ends, no other file has the same pairs.
//
// Bytes are added per batch and committed once the batch is durable, so
// that a failed write never reaches the digest. Two batches can be
// pending at once, one being fsynced and one written after it (see
// Txn.Commit): they commit in order, the first as a prefix. Not safe for
// concurrent use.
type recordsDigest struct {
	h       hash.Hash
	pending []byte // pairs of the batches being written, in file order
}

func newRecordsDigest() *recordsDigest { return &recordsDigest{h: sha256.New()} }

// add appends the pair of one record to the pending batches.
func (d *recordsDigest) add(leaf tlog.Hash, sum [sha256.Size]byte) {
	d.pending = append(append(d.pending, leaf[:]...), sum[:]...)
}

// commit takes the pending pairs into the digest.
func (d *recordsDigest) commit() { d.commitFirst(len(d.pending)) }

// commitFirst takes the first n pending bytes, a durable batch's pairs,
// into the digest.
func (d *recordsDigest) commitFirst(n int) {
	d.h.Write(d.pending[:n])
	d.pending = d.pending[:copy(d.pending, d.pending[n:])]
}

// discardFrom drops the pending pairs from byte n on: their batch was not
// written.
func (d *recordsDigest) discardFrom(n int) { d.pending = d.pending[:n] }

// sum returns the lowercase hex digest of the committed pairs.
func (d *recordsDigest) sum() string {
	var s [sha256.Size]byte
	return hex.EncodeToString(d.h.Sum(s[:0]))
}

// Proves reports whether data is, byte for byte, the segment file that a
// v2 or v3 seal commits to: by its size and SHA-256 (v2), or by its size
// and the leaf and record hashes of its lines (v3), taken two lines at a
// time. A v1 seal proves nothing. Only the seal's own fields are
// compared: its signature, and how it joins the chain, are the caller's
// to check. Safe for concurrent use.
func (s Seal) Proves(data []byte) bool {
	if !s.HasSegmentDigest() || int64(len(data)) != s.SegmentBytes {
		return false
	}
	if s.RecordsSHA256 == "" {
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:]) == s.SegmentSHA256
	}
	d := newRecordsDigest()
	var (
		pair      sha256pair.Hasher
		f         recordFields
		held      bool
		heldA     []byte
		heldB     []byte
		heldSum   [sha256.Size]byte
		sum       [sha256.Size]byte
		leaf1, l2 tlog.Hash
	)
	for len(data) > 0 {
		// The verifier's test for covered lines, up to the member: one
		// that the line's structure does not put after "error", or that
		// is not 64 lowercase hex digits, is not one the writer wrote.
		// The line's end is looked for only after the member: a newline
		// before it is not in any line the writer wrote, so the leaf of
		// the "line" that holds it cannot match.
		if !matchHashMember(data, &f) || f.hash.esc || f.hash.end-f.hash.start != len(ZeroHash)+2 ||
			!decodeLowerHex(&sum, data[f.hash.start+1:f.hash.end-1]) {
			return false
		}
		nl := bytes.IndexByte(data[f.hashMember.end:], '\n')
		if nl < 0 {
			return false
		}
		line := data[:f.hashMember.end+nl]
		data = data[len(line)+1:]
		a, b := line[:f.hashMember.start], line[f.hashMember.end:]
		if !held {
			held, heldA, heldB, heldSum = true, a, b, sum
			continue
		}
		leaf1, l2 = pair.Leaves(heldA, heldB, a, b)
		d.add(leaf1, heldSum)
		d.add(l2, sum)
		held = false
		if len(d.pending) >= 64<<10 {
			d.commit()
		}
	}
	if held {
		d.add(pair.Leaf(heldA, heldB), heldSum)
	}
	d.commit()
	return d.sum() == s.RecordsSHA256
}

// linesDigest is the v3 records digest of a segment's lines as the
// verifier checked them, "" if a line's hash is not hex. (Hex in upper
// case fails the line's full check or its link to the next record's
// prev_hash or the seal's last_hash, which the verifier reports, so it
// need not be told apart here.)
func linesDigest(lines []lineInfo) string {
	d := newRecordsDigest()
	var hexHash [2 * sha256.Size]byte
	var sum [sha256.Size]byte
	for i := range lines {
		if copy(hexHash[:], lines[i].hash) != len(hexHash) || len(lines[i].hash) != len(hexHash) {
			return ""
		}
		if _, err := hex.Decode(sum[:], hexHash[:]); err != nil {
			return ""
		}
		d.add(lines[i].leaf, sum)
		if len(d.pending) >= 64<<10 {
			d.commit()
		}
	}
	d.commit()
	return d.sum()
}

// lowerHexValue maps the lowercase hex digits to their values and every
// other byte to 0xff.
var lowerHexValue = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := byte('0'); c <= '9'; c++ {
		t[c] = c - '0'
	}
	for c := byte('a'); c <= 'f'; c++ {
		t[c] = c - 'a' + 10
	}
	return t
}()

// decodeLowerHex decodes the 64 lowercase hex digits of src into dst and
// reports whether they were exactly that (upper case, which hex.Decode
// takes, is refused: it would give two texts one digest).
func decodeLowerHex(dst *[sha256.Size]byte, src []byte) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	var bad byte
	for i := range dst {
		hi, lo := lowerHexValue[src[2*i]], lowerHexValue[src[2*i+1]]
		bad |= hi | lo
		dst[i] = hi<<4 | lo
	}
	return bad&0xf0 == 0
}
