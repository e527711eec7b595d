package auditlog

import (
	"encoding/binary"
	"math/bits"
)

// recordMatch matches a line against the exact shape AppendCanonical
// writes: the fixed member names and punctuation of a v1 record as literal
// fragments, and between them values of the expected kinds, each checked
// to be canonical. It is the verifier's fast path. A line it accepts is
// canonical (the fragments are canonical and sorted, and so is every
// value); a line it refuses may still be a record, or canonical JSON of
// another shape, and takes the general path, which gives the same verdict
// more slowly.
//
// The matcher's state is sticky: after the first mismatch every step is a
// no-op, so the template reads as straight-line code.
//
// In shape mode (matchRecordShape) values are only skipped, not checked:
// the member names, their order and the punctuation between them are
// still matched exactly, so the fields are found where a JSON parser would
// find them whenever the line is valid JSON. The verifier uses it for
// records whose bytes a verified signed checkpoint already binds
// (verify.go explains why that is enough).
type recordMatch struct {
	b     []byte
	i     int
	ok    bool
	shape bool
}

// span is a value's position in the line; strings include their quotes,
// and esc says whether a string may hold an escape (false: its bytes are
// its value).
type span struct {
	start, end int
	esc        bool
}

// recordFields are the positions recordMatch records: the values the
// verifier reads, and the hash member with its leading comma.
type recordFields struct {
	chainID, conv, hash, prev, retain, seq, subjID, subjType, ts, tool, user span
	hashMember                                                               span
	success                                                                  span
}

// lit matches member names and punctuation; in shape mode it only steps
// over them (see matchRecordShape).
func (m *recordMatch) lit(s string) {
	if m.ok && len(m.b)-m.i >= len(s) && (m.shape || string(m.b[m.i:m.i+len(s)]) == s) {
		m.i += len(s)
		return
	}
	m.ok = false
}

// key matches a literal in both modes.
func (m *recordMatch) key(s string) {
	if m.ok && len(m.b)-m.i >= len(s) && string(m.b[m.i:m.i+len(s)]) == s {
		m.i += len(s)
		return
	}
	m.ok = false
}

// char consumes the byte c if it comes next, in both modes, and reports
// whether it did.
func (m *recordMatch) char(c byte) bool {
	if m.ok && m.i < len(m.b) && m.b[m.i] == c {
		m.i++
		return true
	}
	return false
}

func (m *recordMatch) str() span {
	start := m.i
	if !m.ok || start >= len(m.b) || m.b[start] != '"' {
		m.ok = false
		return span{}
	}
	if m.shape {
		end, esc, ok := skipString(m.b, start)
		m.i, m.ok = end, ok
		return span{start, end, esc}
	}
	return m.strCanonical()
}

func (m *recordMatch) strCanonical() span {
	start := m.i
	// Most values are short: when the first byte that needs a look is
	// the closing quote, the string is done without the general loop.
	if start+9 <= len(m.b) {
		w := binary.LittleEndian.Uint64(m.b[start+1:])
		if mask := ((w-lsb*0x20)&^w | hasZero(w^(lsb*'"')) | hasZero(w^(lsb*'\\')) | w) & msb; mask != 0 {
			if j := start + 1 + bits.TrailingZeros64(mask)>>3; m.b[j] == '"' {
				m.i = j + 1
				return span{start, j + 1, false}
			}
		}
	}
	end, esc, ok := checkString(m.b, m.i)
	m.i, m.ok = end, ok
	return span{start, end, esc}
}

func (m *recordMatch) num() span {
	start := m.i
	if !m.ok || m.i >= len(m.b) || !(m.b[m.i] == '-' || m.b[m.i] >= '0' && m.b[m.i] <= '9') {
		m.ok = false
		return span{}
	}
	if m.shape {
		i := m.i + 1
		for i < len(m.b) && numberByte[m.b[i]] {
			i++
		}
		m.i = i
		return span{start, i, false}
	}
	end, ok := checkNumber(m.b, m.i)
	m.i, m.ok = end, ok
	return span{start, end, false}
}

func (m *recordMatch) boolean() {
	if m.ok && m.i < len(m.b) && m.b[m.i] == 't' {
		m.lit("true")
	} else {
		m.lit("false")
	}
}

// raw matches any canonical JSON value (a payload), at depth 1 as a member
// of the record.
func (m *recordMatch) raw() {
	if !m.ok {
		return
	}
	if m.shape {
		m.i, m.ok = skipValue(m.b, m.i)
		return
	}
	m.i, m.ok = checkValue(m.b, m.i, 1)
}

// isNull consumes null and reports whether it was there.
func (m *recordMatch) isNull() bool {
	if m.ok && len(m.b)-m.i >= 4 && string(m.b[m.i:m.i+4]) == "null" {
		m.i += 4
		return true
	}
	return false
}

// strs matches null or an array of strings.
func (m *recordMatch) strs() {
	if m.isNull() {
		return
	}
	if !m.char('[') {
		m.ok = false
		return
	}
	if m.char(']') {
		return
	}
	for m.ok {
		m.str()
		if m.char(',') {
			continue
		}
		m.ok = m.char(']')
		return
	}
}

// matchRecord reports whether line is a canonical record in the shape
// AppendCanonical writes, and where its fields are.
func matchRecord(line []byte, f *recordFields) bool {
	return matchTemplate(recordMatch{b: line, ok: true}, f)
}

// matchRecordShape finds the fields of a line that has the shape
// AppendCanonical writes without checking it is one: it follows the
// template's structure — where each value starts and ends, strings and
// nesting, null or not — but steps over member names and punctuation by
// their length and skips values without checking them. Only the hash
// member's name is compared. On a record line AppendCanonical wrote it
// finds exactly the fields matchRecord finds (FuzzMatchRecordShape checks
// it); on anything else it may find garbage or nothing, so it proves
// nothing about a line by itself. The verifier uses it for lines whose
// bytes a verified checkpoint binds (lineScanner.scanCovered explains why
// that is enough).
func matchRecordShape(line []byte, f *recordFields) bool {
	return matchTemplate(recordMatch{b: line, ok: true, shape: true}, f)
}

// matchHashMember finds the hash member of a line in the writer's shape
// from the line's structure up to it, as matchRecordShape does, without
// looking at the rest: for Seal.Proves, where a line's leaf binds
// everything but the member, so only where the member sits is in
// question.
func matchHashMember(line []byte, f *recordFields) bool {
	m := recordMatch{b: line, ok: true, shape: true}
	matchHead(&m, f)
	return m.ok
}

// matchHead is matchTemplate up to and including the hash member.
func matchHead(m *recordMatch, f *recordFields) {
	m.lit(`{"agent":{"id":`)
	m.str()
	m.lit(`,"name":`)
	m.str()
	m.lit(`},"arguments":`)
	m.raw()
	m.lit(`,"attribution":{"initiator":`)
	m.str()
	m.lit(`,"initiator_role":`)
	m.str()
	m.lit(`,"initiator_type":`)
	m.str()
	m.lit(`,"model":`)
	m.str()
	m.lit(`,"tool":`)
	m.str()
	m.lit(`,"trigger":`)
	m.str()
	m.lit(`},"break_glass":`)
	m.boolean()
	m.lit(`,"break_glass_reason":`)
	m.str()
	m.lit(`,"chain_id":`)
	f.chainID = m.str()
	m.lit(`,"conversation_id":`)
	f.conv = m.str()
	m.lit(`,"duration_ms":`)
	m.num()
	m.lit(`,"error":`)
	if !m.isNull() {
		m.lit(`{"message":`)
		m.str()
		m.lit(`,"type":`)
		m.str()
		m.lit(`}`)
	}
	f.hashMember.start = m.i
	m.key(`,"hash":`)
	f.hash = m.str()
	f.hashMember.end = m.i
}

func matchTemplate(m recordMatch, f *recordFields) bool {
	line := m.b
	matchHead(&m, f)
	m.lit(`,"model":`)
	m.str()
	m.lit(`,"operation":`)
	m.str()
	m.lit(`,"parent_span_id":`)
	m.str()
	m.lit(`,"prev_hash":`)
	f.prev = m.str()
	m.lit(`,"purpose":`)
	m.str()
	m.lit(`,"redaction":{"count":`)
	m.num()
	m.lit(`,"paths":`)
	m.strs()
	m.lit(`},"result_summary":`)
	m.raw()
	m.lit(`,"retention":{"class":`)
	m.str()
	m.lit(`,"days":`)
	m.num()
	m.lit(`,"retain_until":`)
	f.retain = m.str()
	m.lit(`},"seq":`)
	f.seq = m.num()
	m.lit(`,"session":{"client_address":`)
	m.str()
	m.lit(`,"id":`)
	m.str()
	m.lit(`,"user_agent":`)
	m.str()
	m.lit(`},"source":{"client":`)
	m.str()
	m.lit(`,"convention":`)
	m.str()
	m.lit(`,"scope":`)
	m.str()
	m.lit(`,"service":`)
	m.str()
	m.lit(`},"span_id":`)
	m.str()
	m.lit(`,"subject":{"id":`)
	f.subjID = m.str()
	m.lit(`,"type":`)
	f.subjType = m.str()
	m.lit(`},"success":`)
	f.success.start = m.i
	m.boolean()
	f.success.end = m.i
	m.lit(`,"timestamp":`)
	f.ts = m.str()
	m.lit(`,"tool_call_id":`)
	m.str()
	m.lit(`,"tool_name":`)
	f.tool = m.str()
	m.lit(`,"tool_type":`)
	m.str()
	m.lit(`,"trace_id":`)
	m.str()
	m.lit(`,"trigger":`)
	m.str()
	m.lit(`,"turn_number":`)
	if !m.isNull() {
		m.num()
	}
	m.lit(`,"user_id":`)
	f.user = m.str()
	m.lit(`,"user_roles":`)
	m.strs()
	m.lit(`,"v":`)
	m.num()
	m.lit(`}`)
	return m.ok && m.i == len(line)
}

// numberByte marks the bytes a JSON number may hold after its first.
var numberByte = [256]bool{'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true,
	'7': true, '8': true, '9': true, '.': true, 'e': true, 'E': true, '+': true, '-': true}

// skipString returns the end of the string whose opening quote is b[i]:
// just after the first quote not escaped by a backslash, and whether it
// holds a backslash. It checks nothing else.
func skipString(b []byte, i int) (end int, esc, ok bool) {
	j := i + 1
	// Eight bytes at a time to the first quote or backslash; a backslash
	// and the byte after it are skipped (the hex digits of \uXXXX need no
	// special case: they are neither).
	for j+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[j:])
		mask := (hasZero(w^(lsb*'"')) | hasZero(w^(lsb*'\\'))) & msb
		if mask == 0 {
			j += 8
			continue
		}
		k := j + bits.TrailingZeros64(mask)>>3
		if b[k] == '"' {
			return k + 1, esc, true
		}
		j, esc = k+2, true
	}
	for j < len(b) {
		switch b[j] {
		case '"':
			return j + 1, esc, true
		case '\\':
			j, esc = j+2, true
			continue
		}
		j++
	}
	return len(b), esc, false
}

// skipValue returns the end of the JSON value that starts at b[i],
// following strings and nesting only: on valid JSON it ends where a parser
// would, on anything else wherever it stops.
func skipValue(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch b[i] {
	case '"':
		end, _, ok := skipString(b, i)
		return end, ok
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				end, _, ok := skipString(b, i)
				if !ok {
					return end, false
				}
				i = end
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1, true
				}
			}
			i++
		}
		return i, false
	}
	start := i
	for i < len(b) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
		i++
	}
	return i, i > start
}
