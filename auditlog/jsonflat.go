package auditlog

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"unicode/utf8"
)

// maxFlatMembers bounds the objects appendFlatObject handles; larger ones
// take the general canonicalizer, whose sort scales better.
const maxFlatMembers = 16

// flatMember locates one member of the object appendFlatObject reads: its
// name with quotes at src[key:keyEnd], its value at src[val:valEnd]. The
// offsets are 32-bit so that the member array, which Go zeroes on every
// call, stays small.
type flatMember struct {
	key, keyEnd, val, valEnd int32
	// prefix is the first eight bytes of the name, big-endian and padded
	// with zeros: names hold no NUL, so comparing prefixes orders names
	// unless both share their first eight bytes.
	prefix uint64
}

// appendFlatObject appends the canonical form of raw to dst when raw is
// the shape most tool payloads have: one object of at most 16 members
// whose names are ASCII without escapes and whose values are scalars
// already in canonical form (strings without escapes, integers of up to 15
// characters, true, false, null), with any whitespace between tokens. The
// output is then the members sorted by name and copied through, which
// spares the general canonicalizer's bookkeeping.
//
// It reports false, having appended nothing, for anything else (invalid
// JSON included): the caller then runs the general canonicalizer, which
// gives the same output for the shapes handled here (FuzzFlatObject
// cross-checks this) and the errors for the rest.
func appendFlatObject(dst, raw []byte) ([]byte, bool) {
	if len(raw) > math.MaxInt32 {
		return dst, false
	}
	var members [maxFlatMembers]flatMember
	n, size := 0, 0
	i := skipSpace(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return dst, false
	}
	i = skipSpace(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		i++
	} else {
		for {
			if n == maxFlatMembers || i >= len(raw) || raw[i] != '"' {
				return dst, false
			}
			m := &members[n]
			m.key = int32(i)
			end, ascii := scanPlainString(raw, i)
			if end < 0 || !ascii {
				return dst, false
			}
			m.keyEnd = int32(end)
			m.prefix = namePrefix(raw, i+1, end-1)
			i = skipSpace(raw, end)
			if i >= len(raw) || raw[i] != ':' {
				return dst, false
			}
			i = skipSpace(raw, i+1)
			if i >= len(raw) {
				return dst, false
			}
			m.val = int32(i)
			if end = scanFlatScalar(raw, i); end < 0 {
				return dst, false
			}
			m.valEnd = int32(end)
			size += int(m.keyEnd-m.key) + 1 + int(m.valEnd-m.val)
			n++
			i = skipSpace(raw, end)
			if i >= len(raw) {
				return dst, false
			}
			if raw[i] == ',' {
				i = skipSpace(raw, i+1)
				continue
			}
			if raw[i] != '}' {
				return dst, false
			}
			i++
			break
		}
	}
	if skipSpace(raw, i) != len(raw) {
		return dst, false
	}
	ms := members[:n]
	// Insertion sort by name. The names are ASCII, whose byte order is
	// their UTF-16 order; equal names are a duplicate, which the general
	// canonicalizer reports.
	for a := 1; a < len(ms); a++ {
		m := ms[a]
		b := a
		for ; b > 0; b-- {
			p := &ms[b-1]
			var c int
			switch {
			case p.prefix < m.prefix:
				c = -1
			case p.prefix > m.prefix:
				c = 1
			default:
				c = bytes.Compare(raw[p.key+1:p.keyEnd-1], raw[m.key+1:m.keyEnd-1])
			}
			if c == 0 {
				return dst, false
			}
			if c < 0 {
				break
			}
			ms[b] = ms[b-1]
		}
		ms[b] = m
	}
	size += 1 + len(ms) // braces and commas
	if len(ms) == 0 {
		size = 2
	}
	n0 := len(dst)
	dst = slices.Grow(dst, size)[:n0+size]
	out := dst[n0:]
	out[0] = '{'
	o := 1
	for j, m := range ms {
		if j > 0 {
			out[o] = ','
			o++
		}
		if m.val == m.keyEnd+1 {
			// Compact input: name, colon and value are one run.
			o += copy(out[o:], raw[m.key:m.valEnd])
			continue
		}
		o += copy(out[o:], raw[m.key:m.keyEnd])
		out[o] = ':'
		o++
		o += copy(out[o:], raw[m.val:m.valEnd])
	}
	out[o] = '}'
	return dst, true
}

// namePrefix packs the first eight bytes of the name raw[i:end],
// big-endian, zero-padded.
func namePrefix(raw []byte, i, end int) uint64 {
	n := end - i
	if i+8 <= len(raw) {
		// One load, with the bytes past a short name masked off.
		p := binary.BigEndian.Uint64(raw[i:])
		if n < 8 {
			p &= ^uint64(0) << (64 - 8*n)
		}
		return p
	}
	var p uint64
	for j, c := range raw[i:end] {
		p |= uint64(c) << (56 - 8*j)
	}
	return p
}

func skipSpace(b []byte, i int) int {
	if i < len(b) && b[i] > ' ' {
		return i // the common case: no whitespace at all
	}
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// scanPlainString returns the offset just past the JSON string starting
// at b[i] (a quote), or -1 when it is unterminated, holds an escape, a
// control character or invalid UTF-8; ascii reports whether every byte
// is ASCII.
func scanPlainString(b []byte, i int) (end int, ascii bool) {
	i++
	ascii = true
	for {
		// Eight bytes at a time up to the first that is not plain, then
		// byte by byte in the tail shorter than a word.
		if i+8 <= len(b) {
			m := specialBytes(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && !needsEscape[b[i]] {
				i++
			}
			if i >= len(b) {
				return -1, false
			}
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, ascii
		case c < utf8.RuneSelf: // '\\' or a control character
			return -1, false
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return -1, false
			}
			ascii = false
			i += size
		}
	}
}

// scanFlatScalar returns the offset just past the scalar value at b[i]
// when it is already in canonical form, -1 otherwise (objects, arrays,
// escaped strings, numbers that need reformatting, invalid JSON).
func scanFlatScalar(b []byte, i int) int {
	switch c := b[i]; {
	case c == '"':
		end, _ := scanPlainString(b, i)
		return end
	case c == 't':
		return literalAt(b, i, "true")
	case c == 'f':
		return literalAt(b, i, "false")
	case c == 'n':
		return literalAt(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		// An integer without leading zeros and of at most 15 characters
		// is its own ECMAScript form, except -0.
		j := i
		if c == '-' {
			j++
		}
		d := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		switch {
		case j == d, j-i > 15, b[d] == '0' && (j-d > 1 || c == '-'):
			return -1
		case j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E'):
			return -1
		}
		return j
	}
	return -1
}

func literalAt(b []byte, i int, lit string) int {
	if end, ok := checkLiteral(b, i, lit); ok {
		return end
	}
	return -1
}
