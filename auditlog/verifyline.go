package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/mod/sumdb/tlog"
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

// lineScanner checks record lines without building Records: it is the
// verifier's hot path. One canonicalizing pass validates the JSON and
// tells whether the line is canonical; a scan of the canonical text's
// top-level members then picks out what the chain and summary checks
// need, and the hash is taken over the canonical text minus the hash
// member.
type lineScanner struct {
	enc     []byte   // canonical form of the current line
	body    []byte   // enc without the hash member
	members []member // top-level members of enc

	// Views of the current line's summary fields (see view).
	conv, ts, retain, user, tool string
	subj                         Subject

	p       jsonCanon
	chainID string // interned: the same for every record of a chain
}

// scan checks one line and fills li (and the scanner's field views).
func (s *lineScanner) scan(line []byte, li *lineInfo) error {
	enc, canonical, useTop := line, true, true
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
		useTop = !p.reordered && len(s.members) == len(recordKeys)
	}
	var err error
	pos := 1
	hashStart, hashEnd := -1, -1
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
		} else if end, err = skipCanonical(enc, pos); err != nil {
			return err
		}
		val := enc[vstart:end]
		pos = end
		switch key {
		case "chain_id":
			var v string
			if v, err = s.view(val); err == nil {
				if v != s.chainID {
					s.chainID = strings.Clone(v)
				}
				li.chainID = s.chainID
			}
		case "conversation_id":
			s.conv, err = s.view(val)
		case "hash":
			hashStart, hashEnd = memberStart, end
			li.hash, err = canonicalString(val)
		case "prev_hash":
			li.prev, err = canonicalString(val)
		case "retention":
			s.retain, err = s.nested(val, `"retain_until":`)
		case "seq":
			li.seq, err = strconv.ParseUint(string(val), 10, 64)
		case "subject":
			if s.subj.ID, err = s.nested(val, `{"id":`); err == nil {
				s.subj.Type, err = s.nested(val, `,"type":`)
			}
		case "timestamp":
			s.ts, err = s.view(val)
		case "tool_name":
			s.tool, err = s.view(val)
		case "user_id":
			s.user, err = s.view(val)
		}
		if err != nil {
			return fmt.Errorf("member %q: %w", key, err)
		}
	}
	if pos != len(enc)-1 || enc[pos] != '}' {
		return errors.New("record has members after \"v\"")
	}
	s.body = append(append(s.body[:0], enc[:hashStart]...), enc[hashEnd:]...)
	sum := sha256.Sum256(s.body)
	var hexSum [64]byte
	hex.Encode(hexSum[:], sum[:])
	li.leaf = tlog.RecordHash(s.body)
	switch {
	case li.hash != string(hexSum[:]):
		li.status, li.detail = lineModified, "content does not match its hash"
	case !canonical || !isLowerHex64(li.hash):
		li.status, li.detail = lineNonCanonical, "record is not in canonical form"
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
// filling s.members with its members' spans. It checks the member names
// in place against recordKeys instead of decoding and sorting them, and
// canonicalizes only the values: the common case costs about half the
// general path.
func (s *lineScanner) fastCanonical(line []byte) bool {
	p := &s.p
	*p = jsonCanon{src: line, keys: p.keys[:0], stack: p.stack[:0]}
	s.members = s.members[:0]
	if len(line) == 0 || line[0] != '{' {
		return false
	}
	pos := 1
	for i, key := range recordKeys {
		if i > 0 {
			if pos >= len(line) || line[pos] != ',' {
				return false
			}
			pos++
		}
		start := pos
		if len(line)-pos < len(key)+3 || line[pos] != '"' || string(line[pos+1:pos+1+len(key)]) != key ||
			line[pos+1+len(key)] != '"' || line[pos+2+len(key)] != ':' {
			return false
		}
		pos += len(key) + 3
		p.pos = pos
		out, err := p.value(s.enc[:0], 1)
		s.enc = out
		if err != nil || !bytes.Equal(out, line[pos:p.pos]) {
			return false
		}
		pos = p.pos
		s.members = append(s.members, member{start: start, end: pos})
	}
	return pos == len(line)-1 && line[pos] == '}'
}
