package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"
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

// Indexes of recordKeys.
const (
	kAgent = iota
	kArguments
	kAttribution
	kBreakGlass
	kBreakGlassReason
	kChainID
	kConversationID
	kDurationMS
	kError
	kHash
	kModel
	kOperation
	kParentSpanID
	kPrevHash
	kPurpose
	kRedaction
	kResultSummary
	kRetention
	kSeq
	kSession
	kSource
	kSpanID
	kSubject
	kSuccess
	kTimestamp
	kToolCallID
	kToolName
	kToolType
	kTraceID
	kTrigger
	kTurnNumber
	kUserID
	kUserRoles
	kV
	numRecordKeys
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

	// Views of the current line's summary fields (see view).
	conv, ts, retain, user, tool string
	subj                         Subject

	p       jsonCanon
	hashes  recordHasher
	chainID string // interned: the same for every record of a chain
}

// scan checks one line and fills li (and the scanner's field views).
func (s *lineScanner) scan(line []byte, li *lineInfo) error {
	enc, canonical := line, true
	if !s.fastCanonical(line) {
		// Not exactly a canonical record: canonicalize it to find out
		// what it is.
		p := &s.p
		*p = jsonCanon{src: line, top: &s.members, keys: p.keys[:0], stack: p.stack[:0]}
		p.skipWS()
		var err error
		enc, err = p.value(s.enc[:0], 0)
		s.enc = enc
		if err != nil {
			return err
		}
		if p.skipWS(); p.pos != len(line) {
			return p.errf("unexpected %s after record", p.quoteNext())
		}
		canonical = bytes.Equal(enc, line)
		if len(enc) < 2 || enc[0] != '{' {
			return errors.New("record is not a JSON object")
		}
		if err := s.locate(enc, !p.reordered && len(s.members) == len(recordKeys)); err != nil {
			return err
		}
	}
	if err := s.fields(enc, li); err != nil {
		return err
	}
	h := &s.spans[kHash]
	leaf := s.hashes.hash(enc[:h.start], enc[h.end:])
	li.leaf = leaf
	switch {
	case !s.hashes.matches(li.hash):
		li.status, li.detail = lineModified, "content does not match its hash"
	case !canonical || !isLowerHex64(li.hash):
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

// fields reads what the chain and summary checks need from the located
// members of enc.
func (s *lineScanner) fields(enc []byte, li *lineInfo) error {
	val := func(k int) []byte { return enc[s.spans[k].value:s.spans[k].end] }
	v, err := s.view(val(kChainID))
	if err != nil {
		return fmt.Errorf("member %q: %w", "chain_id", err)
	}
	if v != s.chainID {
		s.chainID = strings.Clone(v)
	}
	li.chainID = s.chainID
	if s.conv, err = s.view(val(kConversationID)); err != nil {
		return fmt.Errorf("member %q: %w", "conversation_id", err)
	}
	if li.hash, err = canonicalString(val(kHash)); err != nil {
		return fmt.Errorf("member %q: %w", "hash", err)
	}
	if li.prev, err = canonicalString(val(kPrevHash)); err != nil {
		return fmt.Errorf("member %q: %w", "prev_hash", err)
	}
	if s.retain, err = s.nested(val(kRetention), `"retain_until":`); err != nil {
		return fmt.Errorf("member %q: %w", "retention", err)
	}
	seq := val(kSeq)
	if li.seq, err = strconv.ParseUint(unsafe.String(unsafe.SliceData(seq), len(seq)), 10, 64); err != nil {
		return fmt.Errorf("member %q: %w", "seq", err)
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

// nestedString returns the string member that follows prefix in a
// canonical object value.
func nestedString(obj []byte, prefix string) (string, error) {
	i := bytes.Index(obj, []byte(prefix))
	if i < 0 {
		return "", fmt.Errorf("no %s", prefix)
	}
	start := i + len(prefix)
	end, err := skipCanonical(obj, start)
	if err != nil {
		return "", err
	}
	return canonicalString(obj[start:end])
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

// fastCanonical reports whether line is exactly a canonical v1 record,
// filling s.spans. It checks the member names in place against recordKeys
// and each value with the validating checker, which reads the line without
// building or copying anything: the common case costs a single pass over
// the bytes.
func (s *lineScanner) fastCanonical(line []byte) bool {
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	pos := 1
	for i, key := range recordKeys {
		start := pos - 1
		if i > 0 {
			if pos >= len(line) || line[pos] != ',' {
				return false
			}
			start = pos
			pos++
		}
		if len(line)-pos < len(key)+3 || line[pos] != '"' || string(line[pos+1:pos+1+len(key)]) != key ||
			line[pos+1+len(key)] != '"' || line[pos+2+len(key)] != ':' {
			return false
		}
		vstart := pos + len(key) + 3
		end, ok := checkValue(line, vstart, 1)
		if !ok {
			return false
		}
		s.spans[i] = memberSpan{start: start, value: vstart, end: end}
		pos = end
	}
	return pos == len(line)-1 && line[pos] == '}'
}
