package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"github.com/otelaudit/otelaudit/internal/sha256pair"
)

// recordKeys are the member names of a v1 record in canonical order.
var recordKeys = [...]string{
	"agent", "arguments", "attribution", "break_glass", "break_glass_reason",
	"chain_id", "conversation_id", "duration_ms", "error", "hash", "model",
	"operation", "parent_span_id", "prev_hash", "purpose", "redaction",
	"result_summary", "retention", "seq", "session", "source", "span_id",
	"subject", "success", "timestamp", "tool_call_id", "tool_name",
	"tool_type", "trace_id", "trigger", "turn_number", "user_id",
	"user_roles", "v",
}

// Indexes in recordKeys of the members the verifier reads
// (TestRecordKeyIndexes checks them).
const (
	kChainID        = 5
	kConversationID = 6
	kHash           = 9
	kPrevHash       = 13
	kRetention      = 17
	kSeq            = 18
	kSubject        = 22
	kTimestamp      = 24
	kToolName       = 26
	kUserID         = 31
	numRecordKeys   = len(recordKeys)
)

// memberSpan locates one top-level member of a record line: from the ','
// (or '{') before its name to the end of its value.
type memberSpan struct{ start, value, end int }

// lineScanner checks record lines without building Records: it is the
// verifier's hot path. A canonical line (the normal case) is checked in
// place by a validating scan that copies nothing; any other line is
// canonicalized to find out what it is. The summary fields are then read
// from the located members, and both hashes are taken over the canonical
// text minus the hash member, with reused hashers.
type lineScanner struct {
	enc     []byte   // canonical form of the current line, when it is not
	members []member // top-level members of enc (slow path)
	spans   [numRecordKeys]memberSpan
	fast    recordFields

	// Views of the current line's summary fields (see view).
	conv, ts, retain, user, tool string
	subj                         Subject

	p      jsonCanon
	hashes recordHasher
	// file, when not nil, is the digest of the segment file being read:
	// its blocks are hashed beside the records' digests.
	file     *sha256pair.Stream
	chainID  string // interned: the same for every record of a chain
	lastHash string // hash of the previous line
	arena    []byte // backs kept strings; only appended to
}

// scan checks one line and fills li (and the scanner's field views).
func (s *lineScanner) scan(line []byte, li *lineInfo) error {
	if !matchRecord(line, &s.fast) {
		return s.scanSlow(line, li)
	}
	if err := s.fastFields(line, li); err != nil {
		return err
	}
	li.leaf = s.hashes.hashWith(line[:s.fast.hashMember.start], line[s.fast.hashMember.end:], s.file)
	if !s.hashes.matches(li.hash) {
		li.status, li.detail = lineModified, "content does not match its hash"
	}
	return nil
}

// scanCovered is scan for a line that a verified signed checkpoint of
// size cover is expected to bind: it takes only the Merkle leaf hash, and
// checks neither the record hash nor the canonical form. Why that proves
// the line, given that the chain pass compares the checkpoint's root:
//
//   - The leaf is the hash of the exact bytes around the hash member, so
//     the root matches only if they are the bytes the writer signed: a
//     canonical record without "hash", T.
//   - matchRecordShape finds the hash member by following the structure
//     of the line from its first byte, and every byte it looks at before
//     the member is a byte of T (which starts the same). On T it finds the
//     place where canonical JSON puts "hash" (after "error"), so the member
//     is at that place in the line too, not, say, inside a payload.
//   - The member is `,"hash":"` and 64 bytes without escapes and `"`, so
//     the line is T with a hash member inserted where it belongs: the line
//     the writer wrote, unless the 64 bytes differ.
//   - They must equal the next record's prev_hash, which the next leaf
//     binds (the chain pass compares them).
//
// Lines this cannot prove that way get the full check of scan: another
// shape, the last record the checkpoint covers (no later covered record
// repeats its hash), and records beyond it. What it does not re-derive is
// the writer's own arithmetic on signed bytes — that the hash the next
// record repeats is the SHA-256 of T, and that T is canonical — which
// VerifyFull checks (README: Verification).
func (s *lineScanner) scanCovered(line []byte, li *lineInfo, cover uint64) error {
	a, b, leafDue, err := s.shapeCovered(line, li, cover)
	if leafDue {
		li.leaf = s.hashes.leafOnly(a, b)
	}
	return err
}

// shapeCovered is scanCovered without the leaf hash: when leafDue, li is
// complete but for its leaf, the leaf hash of a followed by b (views of
// line), which the caller takes; segmentScan.lines takes two at a time.
func (s *lineScanner) shapeCovered(line []byte, li *lineInfo, cover uint64) (a, b []byte, leafDue bool, err error) {
	f := &s.fast
	if !matchRecordShape(line, f) || f.hash.esc || f.hash.end-f.hash.start != len(ZeroHash)+2 {
		return nil, nil, false, s.scan(line, li)
	}
	if err := s.fastFields(line, li); err != nil || li.seq+1 >= cover {
		*li = lineInfo{}
		return nil, nil, false, s.scan(line, li)
	}
	return line[:f.hashMember.start], line[f.hashMember.end:], true, nil
}

// scanSlow is scan for a line that is not a canonical record in the
// writer's shape: it canonicalizes the line to find out what it is. Any
// line gets the same verdict from it as from scan; tests hold the fast
// path to that.
func (s *lineScanner) scanSlow(line []byte, li *lineInfo) error {
	p := &s.p
	*p = jsonCanon{src: line, top: &s.members, keys: p.keys[:0], stack: p.stack[:0], body: p.body[:0]}
	p.skipWS()
	enc, err := p.value(s.enc[:0], 0)
	s.enc = enc
	if err != nil {
		return err
	}
	if p.skipWS(); p.pos != len(line) {
		return p.errf("unexpected %s after record", p.quoteNext())
	}
	canonical := bytes.Equal(enc, line)
	if len(enc) < 2 || enc[0] != '{' {
		return errors.New("record is not a JSON object")
	}
	if err := s.locate(enc, !p.reordered && len(s.members) == len(recordKeys)); err != nil {
		return err
	}
	if err := s.fields(enc, li); err != nil {
		return err
	}
	h := &s.spans[kHash]
	li.leaf = s.hashes.hash(enc[:h.start], enc[h.end:])
	// A hash that matches is lowercase hex, as computed.
	switch {
	case !s.hashes.matches(li.hash):
		li.status, li.detail = lineModified, "content does not match its hash"
	case !canonical:
		li.status, li.detail = lineNonCanonical, "record is not in canonical form"
	}
	return nil
}

// locate fills s.spans for enc, the canonical form of a line that is not
// exactly a canonical record, checking that its members are those of a v1
// record. useTop says that s.members holds enc's members.
func (s *lineScanner) locate(enc []byte, useTop bool) error {
	pos := 1
	for i, key := range recordKeys {
		if i > 0 {
			if pos >= len(enc) || enc[pos] != ',' {
				return fmt.Errorf("record has no member %q", key)
			}
			pos++
		}
		memberStart := pos - 1
		want := len(key) + 3 // "key":
		if pos+want > len(enc) || enc[pos] != '"' || string(enc[pos+1:pos+1+len(key)]) != key || enc[pos+1+len(key)] != '"' || enc[pos+2+len(key)] != ':' {
			return fmt.Errorf("record member %d is not %q", i+1, key)
		}
		pos += want
		vstart := pos
		var end int
		if useTop && s.members[i].start == memberStart+1 {
			end = s.members[i].end
		} else {
			var err error
			if end, err = skipCanonical(enc, pos); err != nil {
				return err
			}
		}
		s.spans[i] = memberSpan{start: memberStart, value: vstart, end: end}
		pos = end
	}
	if pos != len(enc)-1 || enc[pos] != '}' {
		return errors.New("record has members after \"v\"")
	}
	return nil
}

// fastFields reads the fields of a line matchRecord accepted.
func (s *lineScanner) fastFields(line []byte, li *lineInfo) error {
	val := func(sp span) []byte { return line[sp.start:sp.end] }
	f := &s.fast
	v, err := s.viewSpan(line, f.chainID)
	if err != nil {
		return fmt.Errorf("member %q: %w", "chain_id", err)
	}
	li.chainID = s.intern(v)
	if h := val(f.hash); !f.hash.esc {
		li.hash = s.keep(h[1 : len(h)-1])
	} else if li.hash, err = canonicalString(h); err != nil {
		return fmt.Errorf("member %q: %w", "hash", err)
	}
	if err := s.link(li, val(f.prev)); err != nil {
		return err
	}
	if li.seq, err = parseSeq(val(f.seq)); err != nil {
		return err
	}
	// The views below cannot fail on a canonical line; a shape match
	// does not check escapes, so the caller must see it on any other.
	for _, m := range [...]struct {
		dst *string
		sp  span
	}{
		{&s.conv, f.conv}, {&s.retain, f.retain}, {&s.subj.ID, f.subjID}, {&s.subj.Type, f.subjType},
		{&s.ts, f.ts}, {&s.tool, f.tool}, {&s.user, f.user},
	} {
		if *m.dst, err = s.viewSpan(line, m.sp); err != nil {
			return err
		}
	}
	return nil
}

// intern returns the chain id v as a string that outlives the line: the
// same for every record of a chain, so it is copied only when it changes.
func (s *lineScanner) intern(v string) string {
	if v != s.chainID {
		s.chainID = strings.Clone(v)
	}
	return s.chainID
}

// link sets li.prev from the raw prev_hash member and makes li.hash the
// hash the next line should link to. In an intact chain prev_hash repeats
// the hash of the line before: that string is shared, not allocated again.
func (s *lineScanner) link(li *lineInfo, prev []byte) error {
	if len(prev) == len(s.lastHash)+2 && string(prev[1:len(prev)-1]) == s.lastHash {
		li.prev = s.lastHash
	} else {
		var err error
		if li.prev, err = canonicalString(prev); err != nil {
			return fmt.Errorf("member %q: %w", "prev_hash", err)
		}
	}
	s.lastHash = li.hash
	return nil
}

// maxSeq is the largest seq a record may carry: 2^53-1, beyond which JSON
// numbers are not exact. Canonical JSON (RFC 8785) writes a number as the
// double nearest to it, so a seq of 9223372036854775807 reads back as
// 9223372036854776000, a seq no record has, and counted as an int64 it
// turns negative; no chain grows that long.
const maxSeq = 1<<53 - 1

// parseSeq parses the raw seq member.
func parseSeq(seq []byte) (uint64, error) {
	n, err := strconv.ParseUint(unsafe.String(unsafe.SliceData(seq), len(seq)), 10, 64)
	if n > maxSeq || errors.Is(err, strconv.ErrRange) {
		// Not the number itself: read back from canonical form, it is
		// not the one the line holds.
		return 0, fmt.Errorf("member %q: beyond 2^53-1 (%d), where JSON numbers stop being exact", "seq", uint64(maxSeq))
	}
	if err != nil {
		return 0, fmt.Errorf("member %q: %w", "seq", err)
	}
	return n, nil
}

// viewSpan is view for a string the matcher found: one without escapes
// needs no look.
func (s *lineScanner) viewSpan(line []byte, sp span) (string, error) {
	if !sp.esc && sp.end-sp.start >= 2 {
		if sp.end-sp.start == 2 {
			return "", nil
		}
		return unsafe.String(&line[sp.start+1], sp.end-sp.start-2), nil
	}
	return s.view(line[sp.start:sp.end])
}

// keep returns b as a string that outlives the line: lineInfo keeps the
// hashes of every line of a segment, and carving them from a shared block
// costs one allocation per thousand lines instead of one per line.
func (s *lineScanner) keep(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(s.arena)-len(s.arena) < len(b) {
		s.arena = make([]byte, 0, max(64<<10, len(b)))
	}
	start := len(s.arena)
	s.arena = append(s.arena, b...)
	return unsafe.String(&s.arena[start], len(b))
}

// fields reads what the chain and summary checks need from the located
// members of enc.
func (s *lineScanner) fields(enc []byte, li *lineInfo) error {
	val := func(k int) []byte { return enc[s.spans[k].value:s.spans[k].end] }
	v, err := s.view(val(kChainID))
	if err != nil {
		return fmt.Errorf("member %q: %w", "chain_id", err)
	}
	li.chainID = s.intern(v)
	if s.conv, err = s.view(val(kConversationID)); err != nil {
		return fmt.Errorf("member %q: %w", "conversation_id", err)
	}
	if li.hash, err = canonicalString(val(kHash)); err != nil {
		return fmt.Errorf("member %q: %w", "hash", err)
	}
	if err := s.link(li, val(kPrevHash)); err != nil {
		return err
	}
	if s.retain, err = s.nested(val(kRetention), `"retain_until":`); err != nil {
		return fmt.Errorf("member %q: %w", "retention", err)
	}
	if li.seq, err = parseSeq(val(kSeq)); err != nil {
		return err
	}
	subj := val(kSubject)
	if s.subj.ID, err = s.nested(subj, `{"id":`); err == nil {
		s.subj.Type, err = s.nested(subj, `,"type":`)
	}
	if err != nil {
		return fmt.Errorf("member %q: %w", "subject", err)
	}
	if s.ts, err = s.view(val(kTimestamp)); err != nil {
		return fmt.Errorf("member %q: %w", "timestamp", err)
	}
	if s.tool, err = s.view(val(kToolName)); err != nil {
		return fmt.Errorf("member %q: %w", "tool_name", err)
	}
	if s.user, err = s.view(val(kUserID)); err != nil {
		return fmt.Errorf("member %q: %w", "user_id", err)
	}
	return nil
}

// skipCanonical returns the end of the canonical JSON value at pos.
func skipCanonical(b []byte, pos int) (int, error) {
	depth := 0
	for i := pos; i < len(b); i++ {
		switch b[i] {
		case '"':
			for {
				q := bytes.IndexByte(b[i+1:], '"')
				if q < 0 {
					return 0, errors.New("unterminated string")
				}
				i += q + 1
				// The quote ends the string unless an odd number of
				// backslashes precede it.
				n := 0
				for j := i - 1; j > pos && b[j] == '\\'; j-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth < 0 {
				return i, nil
			}
		case ',':
			if depth == 0 {
				return i, nil
			}
		}
		if depth == 0 && i+1 < len(b) && (b[i+1] == ',' || b[i+1] == '}' || b[i+1] == ']') {
			return i + 1, nil
		}
	}
	return 0, errors.New("unterminated value")
}

// canonicalString decodes a canonical JSON string value.
func canonicalString(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", errors.New("not a string")
	}
	if bytes.IndexByte(v, '\\') < 0 {
		return string(v[1 : len(v)-1]), nil
	}
	p := jsonCanon{src: v}
	b, err := p.str(nil)
	return string(b), err
}

// view returns a canonical string value as a string that shares memory
// with the scanner's buffer: valid only until the next scan, and copied by
// whoever keeps it (the summary builder does). Most values have no
// escapes, so this costs no allocation.
func (s *lineScanner) view(v []byte) (string, error) {
	if len(v) < 2 || v[0] != '"' {
		return "", errors.New("not a string")
	}
	if bytes.IndexByte(v, '\\') < 0 {
		if len(v) == 2 {
			return "", nil
		}
		return unsafe.String(&v[1], len(v)-2), nil
	}
	return canonicalString(v)
}

func (s *lineScanner) nested(obj []byte, prefix string) (string, error) {
	i := bytes.Index(obj, []byte(prefix))
	if i < 0 {
		return "", fmt.Errorf("no %s", prefix)
	}
	start := i + len(prefix)
	end, err := skipCanonical(obj, start)
	if err != nil {
		return "", err
	}
	return s.view(obj[start:end])
}

// addTo adds the scanned line to a segment summary.
func (s *lineScanner) addTo(b *summaryBuilder, li *lineInfo, lineBytes int) {
	b.addFields(li.prev, li.hash, s.ts, s.retain, s.conv, s.subj, s.user, s.tool, lineBytes)
}
