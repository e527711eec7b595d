package query

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/sha256pair"
)

// segResult is what reading one segment file found.
type segResult struct {
	// proven says that the file matched the digest its seal signs: the
	// fields below then come from the seal.
	proven    bool
	count     uint64
	hasFirst  bool
	firstSeq  uint64
	firstPrev string
	lastSeq   uint64
	lastHash  string
	// leaves are the Merkle leaf hashes of records leafStart,
	// leafStart+1, …, collected while the sequence is gap-free.
	leafStart uint64
	leaves    []tlog.Hash
	recs      []auditlog.Record
	findings  []Finding
	// inFlight is the length of an unterminated tail of the active
	// segment that was not a finding because a writer held the store.
	inFlight int
}

// readSegment reads one segment and proves it. A sealed segment whose seal
// commits to the file's bytes is proven by them (auditlog.Seal.Proves: one
// hash of the file for a v2 seal, the leaf hashes of its lines for v3),
// and only the lines that may match are decoded (readProven); any other segment, and
// one whose file does not match its seal, has every line re-verified on
// its own: record syntax, canonical form, hash (or, for records the latest
// checkpoint covers, Merkle leaf), chain id, sequence and hash links
// between consecutive records. How the segment joins its neighbours and its
// seal is checked by walk.
func (c *chainScan) readSegment(s *segInfo, active bool) *segResult {
	res := &segResult{}
	addf := func(seq int64, kind, format string, args ...any) {
		res.findings = append(res.findings, Finding{Chain: c.name, Segment: s.name, Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	buf, err := readFilePooled(filepath.Join(c.dir, s.name))
	if err != nil {
		addf(-1, auditlog.KindMalformed, "unreadable segment: %s", oneLine(err.Error()))
		return res
	}
	defer segmentBuffers.Put(buf)
	data := *buf
	var h lineHasher
	if seal := s.seal; seal != nil && seal.HasSegmentDigest() && !active && !s.leaves {
		if seal.Proves(data) {
			return c.readProven(s, data)
		}
		addf(-1, auditlog.KindSealMismatch, "segment file (%d bytes) does not match the size and digest its seal signs", len(data))
	}
	var (
		rec      auditlog.Record
		rl       auditlog.RecordLine
		full     []byte
		linked   bool // the previous line was a good record
		prevSeq  uint64
		prevHash []byte
		lineNo   int
	)
	needles := c.needles()
	collectLeaves := s.leaves
	for len(data) > 0 {
		lineNo++
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			switch {
			case !active:
				addf(-1, auditlog.KindTrailingGarbage, "%d bytes without a final newline at the end of a sealed segment", len(data))
			case !auditlog.WriterHolds(c.src.dir):
				// As verify says: with no writer, nothing is in flight.
				// Asked after the read, so that a writer that was
				// writing during it still holds the store now.
				addf(-1, auditlog.KindTrailingGarbage, "%d bytes without a final newline at the end of the active segment, and no writer holds the store: a torn write, which the store cuts when it next opens, or bytes appended after its last record", len(data))
			default:
				res.inFlight = len(data)
			}
			// Either way not a record: with a writer, a write in flight.
			break
		}
		line := data[:nl]
		data = data[nl+1:]
		// The writer's shape is found fastest; any line must then match
		// its hash or leaf, whatever was found in it.
		var lf lineFields
		var err error
		if auditlog.ScanRecordLine(line, &rl) {
			lf = fieldsOf(&rl)
		} else {
			lf, err = scanLine(line)
		}
		fromScan := err == nil
		var canonA, canonB []byte // the line without its hash member
		if err != nil {
			// Not a plain record line: let the full decoder say why, or
			// take the fields from it when it accepts the line.
			if err := auditlog.DecodeRecord(line, &rec); err != nil {
				kind := auditlog.KindMalformed
				if len(bytes.TrimSpace(data)) == 0 {
					kind = auditlog.KindTrailingGarbage
				}
				addf(nextSeq(linked, prevSeq), kind, "line %d is not a record: %s", lineNo, oneLine(err.Error()))
				linked = false
				continue
			}
			canonA = rec.AppendCanonical(h.canon[:0], false)
			h.canon = canonA
			lf = lineFields{seq: rec.Seq, prev: []byte(rec.PrevHash), hash: []byte(rec.Hash), chainID: []byte(rec.ChainID)}
			if !bytes.Equal(rec.AppendCanonical(full[:0], true), line) {
				addf(int64(rec.Seq), auditlog.KindNonCanonical, "record is not in canonical form")
			}
		} else {
			canonA, canonB = line[:lf.hashStart], line[lf.hashEnd:]
		}
		seq := int64(lf.seq)
		// A record of the active segment below the checkpoint size is
		// bound to the signed root by its Merkle leaf (and its hash
		// member to the next record's prev_hash, which the next leaf
		// covers), so recomputing its hash is only needed when it is
		// returned, or when it is the last one the checkpoint covers,
		// whose hash no later covered record repeats; every other
		// record's hash is what binds it.
		merkleBound := active && c.cp != nil && lf.seq+1 < c.cp.Size && collectLeaves
		hashChecked := !merkleBound
		// The leaves run gap-free from the first record; a record that
		// extends them and needs its hash checked too gets both digests
		// from one interleaved pass.
		wantLeaf := collectLeaves && (!res.hasFirst || lf.seq == res.leafStart+uint64(len(res.leaves)))
		var leaf tlog.Hash
		switch {
		case hashChecked && wantLeaf:
			var ok bool
			if ok, leaf = h.hashAndLeaf(canonA, canonB, lf.hash); !ok {
				addf(seq, auditlog.KindModified, "content does not match its hash")
			}
		case hashChecked:
			if !h.hashMatches(canonA, canonB, lf.hash) {
				addf(seq, auditlog.KindModified, "content does not match its hash")
			}
		case wantLeaf:
			leaf = h.leaf(canonA, canonB)
		}
		if c.id != "" && string(lf.chainID) != c.id {
			addf(seq, auditlog.KindForeign, "record of chain %q in chain %q", lf.chainID, c.id)
		}
		if linked {
			switch {
			case lf.seq == prevSeq+1:
				if !bytes.Equal(lf.prev, prevHash) {
					addf(seq, auditlog.KindChainBreak, "prev_hash does not match the hash of seq %d", prevSeq)
				}
			case lf.seq > prevSeq+1:
				addf(int64(prevSeq+1), auditlog.KindDeleted, "records %d to %d are missing", prevSeq+1, lf.seq-1)
			case lf.seq == prevSeq:
				addf(seq, auditlog.KindDuplicate, "seq %d appears twice", lf.seq)
			default:
				addf(seq, auditlog.KindOutOfOrder, "seq %d follows seq %d", lf.seq, prevSeq)
			}
		}
		if !res.hasFirst {
			res.hasFirst, res.firstSeq, res.firstPrev = true, lf.seq, string(lf.prev)
			res.leafStart = lf.seq
		}
		if collectLeaves {
			if wantLeaf {
				res.leaves = append(res.leaves, leaf)
			} else {
				collectLeaves = false
			}
		}
		res.count++
		res.lastSeq = lf.seq
		prevHash = append(prevHash[:0], lf.hash...)
		linked, prevSeq = true, lf.seq
		if fromScan {
			if !needles.mayMatch(&lf) {
				continue
			}
			// A candidate: decode it, and make sure the decoded record is
			// exactly the line, so that what is returned is what was
			// hashed. (A line the full decoder took above is in rec with
			// its canonical form checked.)
			if err := auditlog.DecodeRecord(line, &rec); err != nil {
				addf(seq, auditlog.KindMalformed, "line %d is not a record: %s", lineNo, oneLine(err.Error()))
				continue
			}
			if !c.filter.Match(&rec) {
				continue
			}
			full = rec.AppendCanonical(full[:0], true)
			if !bytes.Equal(full, line) {
				addf(seq, auditlog.KindNonCanonical, "record is not in canonical form")
			}
		} else if !c.filter.Match(&rec) {
			continue
		}
		if !hashChecked && !h.hashMatches(canonA, canonB, lf.hash) {
			addf(seq, auditlog.KindModified, "content does not match its hash")
		}
		res.recs = append(res.recs, rec)
		rec = auditlog.Record{}
	}
	res.lastHash = string(prevHash)
	return res
}

// lineNeedles pre-selects record lines that may match the filter by
// comparing the raw JSON of the members scanLine found with the canonical
// JSON of the wanted values, so that only candidates are decoded. A line
// whose members are not in canonical form fails its hash check anyway.
type lineNeedles struct {
	conversation, user, tool []byte
	// subject is the subjectPrefix of the wanted subject, subjectType
	// its type as escaped JSON without quotes, compared in any case.
	subject, subjectType []byte
	failedOnly           bool
	since, until         string
}

func (c *chainScan) needles() *lineNeedles {
	f := c.filter
	n := &lineNeedles{failedOnly: f.FailedOnly}
	if f.ConversationID != "" {
		n.conversation = auditlog.AppendJSONString(nil, f.ConversationID)
	}
	if f.UserID != "" {
		n.user = auditlog.AppendJSONString(nil, f.UserID)
	}
	if f.Tool != "" {
		n.tool = auditlog.AppendJSONString(nil, f.Tool)
	}
	if f.hasSubject() {
		n.subject = subjectPrefix(f.Subject)
		t := auditlog.AppendJSONString(nil, f.Subject.Type)
		n.subjectType = t[1 : len(t)-1]
	}
	// A bound timeKey cannot write as a timestamp stays empty: every line
	// is a candidate, and Match decides.
	if !f.Since.IsZero() {
		n.since, _ = timeKey(f.Since)
	}
	if !f.Until.IsZero() {
		n.until, _ = timeKey(f.Until)
	}
	return n
}

// mayMatch reports whether a scanned line may hold a matching record;
// false only when it certainly does not.
func (n *lineNeedles) mayMatch(f *lineFields) bool {
	switch {
	case n.conversation != nil && !bytes.Equal(f.conversation, n.conversation),
		n.user != nil && !bytes.Equal(f.user, n.user),
		n.tool != nil && !bytes.Equal(f.tool, n.tool),
		n.subject != nil && !(bytes.HasPrefix(f.subject, n.subject) && typeFollows(f.subject[len(n.subject):], n.subjectType)),
		n.failedOnly && string(f.success) == "true":
		return false
	}
	if len(f.timestamp) == len(auditlog.TimeFormat) {
		if n.since != "" && string(f.timestamp) < n.since {
			return false
		}
		if n.until != "" && string(f.timestamp) >= n.until {
			return false
		}
	}
	return true
}

func nextSeq(linked bool, prev uint64) int64 {
	if linked {
		return int64(prev + 1)
	}
	return -1
}

// walk checks how the segments join: each seal against the position the
// chain has reached (segments removed, renamed, swapped, duplicated, from
// another chain), each read segment against its seal, unsealed segments
// against the position, starting from c.start. It returns the position
// after the last segment.
func (c *chainScan) walk() position {
	segs, pos := c.segs, c.start
	for i, s := range segs {
		last := i == len(segs)-1
		if s.seal != nil {
			seal := s.seal
			switch {
			case seal.Segment != s.name:
				c.add(s.name, int64(seal.FirstSeq), auditlog.KindSegmentName, "the signed seal is for segment %s: renamed or swapped", seal.Segment)
			case seal.FirstSeq != s.first:
				c.add(s.name, int64(seal.FirstSeq), auditlog.KindSegmentName, "name says seq %d, seal says %d", s.first, seal.FirstSeq)
			}
			if c.id != "" && seal.Chain != c.id {
				c.add(s.name, -1, auditlog.KindForeign, "segment sealed for chain %q, not %q", seal.Chain, c.id)
			}
			c.join(s.name, pos, seal.FirstSeq, seal.FirstPrevHash)
			if r := s.res; r != nil {
				switch {
				case r.count != seal.Count:
					c.add(s.name, int64(seal.FirstSeq), auditlog.KindSealMismatch, "segment holds %d records, its seal %d", r.count, seal.Count)
				case !r.hasFirst:
				case r.firstSeq != seal.FirstSeq || r.firstPrev != seal.FirstPrevHash:
					c.add(s.name, int64(r.firstSeq), auditlog.KindSealMismatch, "first record does not match the seal")
				case r.lastHash != seal.LastHash:
					c.add(s.name, int64(r.lastSeq), auditlog.KindSealMismatch, "last record's hash does not match the seal")
				}
			}
			pos = position{seal.FirstSeq + seal.Count, seal.LastHash}
			continue
		}
		if c.verifying && !last && !s.sealBad {
			c.add(s.name, int64(s.first), auditlog.KindSealMissing, "segment is not the last one but has no seal")
		}
		r := s.res
		if r == nil || !r.hasFirst {
			if s.first != pos.seq {
				c.add(s.name, int64(s.first), auditlog.KindSegmentName, "empty segment named for seq %d where the chain is at %d", s.first, pos.seq)
			}
			continue
		}
		if r.firstSeq != s.first {
			c.add(s.name, int64(r.firstSeq), auditlog.KindSegmentName, "name says seq %d, first record is seq %d", s.first, r.firstSeq)
		}
		c.join(s.name, pos, r.firstSeq, r.firstPrev)
		pos = position{r.lastSeq + 1, r.lastHash}
	}
	return pos
}

// join checks that a segment starting at (first, prev) continues the
// chain at pos. An empty pos.prev means "unknown" (no verifier: the first
// segment present).
func (c *chainScan) join(segment string, pos position, first uint64, prev string) {
	switch {
	case first > pos.seq:
		c.add(segment, int64(pos.seq), auditlog.KindSegmentMissing, "records %d to %d are missing: a segment was removed", pos.seq, first-1)
	case first < pos.seq:
		c.add(segment, int64(first), auditlog.KindSegmentName, "segment starts at seq %d, inside records already seen (up to %d): duplicated or swapped", first, pos.seq-1)
	case pos.prev != "" && prev != pos.prev:
		c.add(segment, int64(first), auditlog.KindChainBreak, "first record does not link to the hash of seq %d", int64(first)-1)
	}
}

// segmentBuffers recycles segment read buffers: segments are megabytes,
// and fresh buffers cost a page-zeroing and garbage collection each.
var segmentBuffers = sync.Pool{New: func() any { return new([]byte) }}

// readFilePooled reads a whole file into a pooled buffer, which the caller
// returns to segmentBuffers when done with the data.
func readFilePooled(path string) (*[]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, err
	}
	buf := segmentBuffers.Get().(*[]byte)
	size := int(st.Size()) + 512 // room to see that the file grew
	if cap(*buf) < size {
		*buf = make([]byte, 0, size)
	}
	b := (*buf)[:0]
	for {
		n, err := fh.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF || n == 0 && err == nil {
			break
		}
		if err != nil {
			segmentBuffers.Put(buf)
			return nil, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
	*buf = b
	return buf, nil
}

// lineHasher takes the digests of record lines with one reused SHA-256
// state (sha256.Sum256 and tlog.RecordHash start a new one each), over the
// line around its hash member without copying it. Not safe for concurrent
// use.
type lineHasher struct {
	pair   sha256pair.Hasher
	h      hash.Hash
	sum    [sha256.Size]byte
	hexSum [2 * sha256.Size]byte
	prefix [1]byte // the RFC 6962 leaf prefix, 0x00
	canon  []byte  // scratch for a line re-encoded
}

func (l *lineHasher) reset() hash.Hash {
	if l.h == nil {
		l.h = sha256.New()
	}
	l.h.Reset()
	return l.h
}

// hashMatches reports whether want is the lowercase hex SHA-256 of a
// followed by b.
func (l *lineHasher) hashMatches(a, b, want []byte) bool {
	h := l.reset()
	h.Write(a)
	h.Write(b)
	h.Sum(l.sum[:0])
	hex.Encode(l.hexSum[:], l.sum[:])
	return bytes.Equal(want, l.hexSum[:])
}

// hashAndLeaf reports whether want is the lowercase hex SHA-256 of a
// followed by b, and returns the RFC 6962 leaf hash of the same text.
func (l *lineHasher) hashAndLeaf(a, b, want []byte) (bool, tlog.Hash) {
	sum, leaf := l.pair.Sum(a, b)
	hex.Encode(l.hexSum[:], sum[:])
	return bytes.Equal(want, l.hexSum[:]), leaf
}

// leaf returns the RFC 6962 leaf hash of a followed by b.
func (l *lineHasher) leaf(a, b []byte) tlog.Hash {
	h := l.reset()
	h.Write(l.prefix[:])
	h.Write(a)
	h.Write(b)
	h.Sum(l.sum[:0])
	return l.sum
}
