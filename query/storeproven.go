package query

import (
	"bytes"
	"fmt"

	"github.com/otelaudit/otelaudit/auditlog"
)

// minRecordLine is less than any record line's length: its members' names
// alone are longer.
const minRecordLine = 256

// readProven collects the matching records of a sealed segment whose file
// matched the SHA-256 its signed seal commits to. The file is then exactly
// what the writer sealed, so nothing in it needs checking again: the
// position facts walk needs come from the seal, and only lines that may
// match are looked at. Those are found by searching the file for the
// canonical JSON of one wanted member, as the writer wrote it
// (`"conversation_id":"conv-1"`); every line that holds a match holds that
// text, and a line that holds it by chance (in a payload) is decoded and
// filtered out. Each returned record is still checked to re-encode to its
// line, so that what is returned is what was hashed.
func (c *chainScan) readProven(s *segInfo, data []byte) *segResult {
	seal := s.seal
	res := &segResult{proven: true, count: seal.Count, hasFirst: seal.Count > 0, firstSeq: seal.FirstSeq,
		firstPrev: seal.FirstPrevHash, lastHash: seal.LastHash, leafStart: seal.FirstSeq}
	if seal.Count > 0 {
		res.lastSeq = seal.FirstSeq + seal.Count - 1
	}
	if c.filter.everything() {
		// Every record is wanted: hold them without a growing slice's
		// copies and spare room (records are 744 bytes). The file bounds
		// what a seal read without keys could claim.
		res.recs = make([]auditlog.Record, 0, min(seal.Count, uint64(len(data))/minRecordLine+1))
	}
	var (
		rec  auditlog.Record
		full []byte
		rl   auditlog.RecordLine
	)
	take := func(line []byte) {
		if err := auditlog.DecodeRecord(line, &rec); err != nil {
			res.findings = append(res.findings, Finding{Chain: c.name, Segment: s.name, Seq: -1, Kind: auditlog.KindMalformed,
				Detail: fmt.Sprintf("a line of the sealed file is not a record: %s", oneLine(err.Error()))})
			return
		}
		if !c.filter.Match(&rec) {
			return
		}
		if full = rec.AppendCanonical(full[:0], true); !bytes.Equal(full, line) {
			res.findings = append(res.findings, Finding{Chain: c.name, Segment: s.name, Seq: int64(rec.Seq), Kind: auditlog.KindNonCanonical,
				Detail: "record is not in canonical form"})
		}
		res.recs = append(res.recs, rec)
		rec = auditlog.Record{}
	}
	needle := c.lineNeedle()
	if needle == nil {
		// Nothing to search for: look at every line, decoding those
		// whose members may match.
		needles := c.needles()
		for len(data) > 0 {
			nl := bytes.IndexByte(data, '\n')
			if nl < 0 {
				break
			}
			line := data[:nl]
			data = data[nl+1:]
			if auditlog.ScanRecordLine(line, &rl) {
				if lf := fieldsOf(&rl); !needles.mayMatch(&lf) {
					continue
				}
			}
			take(line)
		}
		return res
	}
	rare := rarestByte(needle, data)
	for off := 0; off < len(data); {
		at := indexAt(data, off, needle, rare)
		if at < 0 {
			break
		}
		start := bytes.LastIndexByte(data[:at], '\n') + 1
		end := bytes.IndexByte(data[at:], '\n')
		if end < 0 {
			break // the sealed file ends with a newline: cannot happen
		}
		end += at
		take(data[start:end])
		off = end + 1
	}
	return res
}

// lineNeedle returns the canonical JSON of one member every record the
// filter matches holds, as it appears in its line, or nil when the filter
// names none (only times, or failures).
func (c *chainScan) lineNeedle() []byte {
	f := c.filter
	switch {
	case f.ConversationID != "":
		return auditlog.AppendJSONString([]byte(`"conversation_id":`), f.ConversationID)
	case f.hasSubject():
		// Up to the type, which any case may spell (SameSubject): the
		// lines with another type are decoded and left out by Match.
		return append([]byte(`"subject":`), subjectPrefix(f.Subject)...)
	case f.UserID != "":
		return auditlog.AppendJSONString([]byte(`"user_id":`), f.UserID)
	case f.Tool != "":
		return auditlog.AppendJSONString([]byte(`"tool_name":`), f.Tool)
	}
	return nil
}

// rarestByte returns the index in needle of the byte that is least
// frequent in (a sample of) data: searching for it with bytes.IndexByte
// stops far less often than bytes.Index, which looks for the needle's
// first byte — a quote, found every few bytes of JSON.
func rarestByte(needle, data []byte) int {
	var count [256]int
	for _, b := range data[:min(len(data), 64<<10)] {
		count[b]++
	}
	best := 0
	for i, b := range needle {
		if count[b] <= count[needle[best]] {
			best = i
		}
	}
	return best
}

// indexAt returns the first index at or after off of needle in data, or
// -1, stopping only where the byte needle[rare] is.
func indexAt(data []byte, off int, needle []byte, rare int) int {
	c := needle[rare]
	for i := off + rare; i < len(data); i++ {
		j := bytes.IndexByte(data[i:], c)
		if j < 0 {
			return -1
		}
		i += j
		at := i - rare
		if at+len(needle) <= len(data) && bytes.Equal(data[at:at+len(needle)], needle) {
			return at
		}
	}
	return -1
}
