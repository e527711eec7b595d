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
type recordMatch struct {
	b  []byte
	i  int
	ok bool
}

// span is a value's position in the line; strings include their quotes.
type span struct{ start, end int }

// recordFields are the positions recordMatch records: the values the
// verifier reads, and the hash member with its leading comma.
type recordFields struct {
	chainID, conv, hash, prev, retain, seq, subjID, subjType, ts, tool, user span
	hashMember                                                               span
}

func (m *recordMatch) lit(s string) {
	if m.ok && len(m.b)-m.i >= len(s) && string(m.b[m.i:m.i+len(s)]) == s {
		m.i += len(s)
		return
	}
	m.ok = false
}

func (m *recordMatch) str() span {
	start := m.i
	if !m.ok || m.i >= len(m.b) || m.b[m.i] != '"' {
		m.ok = false
		return span{}
	}
	// Most values are short: when the first byte that needs a look is
	// the closing quote, the string is done without the general loop.
	if start+9 <= len(m.b) {
		w := binary.LittleEndian.Uint64(m.b[start+1:])
		if mask := ((w-lsb*0x20)&^w | hasZero(w^(lsb*'"')) | hasZero(w^(lsb*'\\')) | w) & msb; mask != 0 {
			if j := start + 1 + bits.TrailingZeros64(mask)>>3; m.b[j] == '"' {
				m.i = j + 1
				return span{start, j + 1}
			}
		}
	}
	end, _, ok := checkString(m.b, m.i)
	m.i, m.ok = end, ok
	return span{start, end}
}

func (m *recordMatch) num() span {
	start := m.i
	if !m.ok || m.i >= len(m.b) || !(m.b[m.i] == '-' || m.b[m.i] >= '0' && m.b[m.i] <= '9') {
		m.ok = false
		return span{}
	}
	end, ok := checkNumber(m.b, m.i)
	m.i, m.ok = end, ok
	return span{start, end}
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
	m.lit("[")
	if m.ok && m.i < len(m.b) && m.b[m.i] == ']' {
		m.i++
		return
	}
	for m.ok {
		m.str()
		if m.ok && m.i < len(m.b) && m.b[m.i] == ',' {
			m.i++
			continue
		}
		m.lit("]")
		return
	}
}

// matchRecord reports whether line is a canonical record in the shape
// AppendCanonical writes, and where its fields are.
func matchRecord(line []byte, f *recordFields) bool {
	m := recordMatch{b: line, ok: true}
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
	m.lit(`,"hash":`)
	f.hash = m.str()
	f.hashMember.end = m.i
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
	m.boolean()
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
