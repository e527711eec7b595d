package query

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/auditlog"
)

// segResult is what reading one segment file found.
type segResult struct {
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
}

// readSegments reads the segments marked for reading, in parallel.
func (c *chainScan) readSegments(segs []*segInfo) {
	if c.id == "" {
		for _, s := range segs {
			if s.seal != nil {
				c.id = s.seal.Chain
				break
			}
		}
	}
	var todo []*segInfo
	for _, s := range segs {
		if s.read {
			todo = append(todo, s)
		}
	}
	last := ""
	if len(segs) > 0 {
		last = segs[len(segs)-1].name
	}
	c.parallel(len(todo), func(i int) {
		s := todo[i]
		s.res = c.readSegment(s, s.name == last && s.seal == nil)
	})
	for _, s := range todo {
		c.segRead++
		c.verified += int64(s.res.count)
		c.findings = append(c.findings, s.res.findings...)
		c.recs = append(c.recs, s.res.recs...)
	}
}

// readSegment re-verifies every line of one segment on its own: record
// syntax, canonical form, hash, chain id, sequence and hash links between
// consecutive records. How the segment joins its neighbours and its seal is
// checked by walk.
func (c *chainScan) readSegment(s *segInfo, active bool) *segResult {
	res := &segResult{}
	addf := func(seq int64, kind, format string, args ...any) {
		res.findings = append(res.findings, Finding{Chain: c.name, Segment: s.name, Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	data, err := os.ReadFile(filepath.Join(c.dir, s.name))
	if err != nil {
		addf(-1, auditlog.KindMalformed, "unreadable segment: %s", oneLine(err.Error()))
		return res
	}
	var (
		rec      auditlog.Record
		enc      []byte
		full     []byte
		hexSum   [64]byte
		linked   bool // the previous line was a good record
		prevSeq  uint64
		prevHash string
		lineNo   int
	)
	collectLeaves := s.leaves
	for len(data) > 0 {
		lineNo++
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			if !active {
				addf(-1, auditlog.KindTrailingGarbage, "%d bytes without a final newline at the end of a sealed segment", len(data))
			}
			// In the active segment this is a write in flight (or a
			// torn tail the store cuts on its next start): not a record.
			break
		}
		line := data[:nl]
		data = data[nl+1:]
		if err := auditlog.DecodeRecord(line, &rec); err != nil {
			kind := auditlog.KindMalformed
			if len(bytes.TrimSpace(data)) == 0 {
				kind = auditlog.KindTrailingGarbage
			}
			addf(nextSeq(linked, prevSeq), kind, "line %d is not a record: %s", lineNo, oneLine(err.Error()))
			linked = false
			continue
		}
		seq := int64(rec.Seq)
		enc = rec.AppendCanonical(enc[:0], false)
		sum := sha256.Sum256(enc)
		hex.Encode(hexSum[:], sum[:])
		switch {
		case rec.Hash != string(hexSum[:]):
			addf(seq, auditlog.KindModified, "content does not match its hash")
		default:
			full = rec.AppendCanonical(full[:0], true)
			if !bytes.Equal(full, line) {
				addf(seq, auditlog.KindNonCanonical, "record is not in canonical form")
			}
		}
		if c.id != "" && rec.ChainID != c.id {
			addf(seq, auditlog.KindForeign, "record of chain %q in chain %q", rec.ChainID, c.id)
		}
		if linked {
			switch {
			case rec.Seq == prevSeq+1:
				if rec.PrevHash != prevHash {
					addf(seq, auditlog.KindChainBreak, "prev_hash does not match the hash of seq %d", prevSeq)
				}
			case rec.Seq > prevSeq+1:
				addf(int64(prevSeq+1), auditlog.KindDeleted, "records %d to %d are missing", prevSeq+1, rec.Seq-1)
			case rec.Seq == prevSeq:
				addf(seq, auditlog.KindDuplicate, "seq %d appears twice", rec.Seq)
			default:
				addf(seq, auditlog.KindOutOfOrder, "seq %d follows seq %d", rec.Seq, prevSeq)
			}
		}
		if !res.hasFirst {
			res.hasFirst, res.firstSeq, res.firstPrev = true, rec.Seq, rec.PrevHash
			res.leafStart = rec.Seq
		}
		if collectLeaves {
			if rec.Seq == res.leafStart+uint64(len(res.leaves)) {
				res.leaves = append(res.leaves, tlog.RecordHash(enc))
			} else {
				collectLeaves = false
			}
		}
		res.count++
		res.lastSeq, res.lastHash = rec.Seq, rec.Hash
		linked, prevSeq, prevHash = true, rec.Seq, rec.Hash
		if c.filter.Match(&rec) {
			res.recs = append(res.recs, rec)
			rec = auditlog.Record{}
		}
	}
	return res
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
// against the position. It returns the position after the last segment.
func (c *chainScan) walk(segs []*segInfo, pos position, verifying bool) position {
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
		if verifying && !last && !s.sealBad {
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
