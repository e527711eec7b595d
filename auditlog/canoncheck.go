package auditlog

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// isCanonicalJSON reports whether b is exactly the RFC 8785 canonical form
// of the one JSON value it holds, that is whether appendCanonicalJSON would
// accept b and reproduce it byte for byte. It only reads b: no output is
// built and nothing is allocated for the common case, so checking an
// already-canonical payload costs a fraction of canonicalizing it. Both
// the writer (payloads that toolspan has already canonicalized) and the
// verifier (whole record lines) use it; FuzzIsCanonicalJSON holds it to
// the canonicalizer's verdict.
func isCanonicalJSON(b []byte) bool {
	end, ok := checkValue(b, 0, 0)
	return ok && end == len(b)
}

// checkValue checks the canonical JSON value that starts at b[i] and
// returns where it ends. depth counts the enclosing arrays and objects, as
// jsonCanon.value's depth does, so that both refuse the same nesting.
func checkValue(b []byte, i, depth int) (int, bool) {
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		end, _, ok := checkString(b, i)
		return end, ok
	case c == '{':
		return checkObject(b, i, depth+1)
	case c == '[':
		return checkArray(b, i, depth+1)
	case c == 't':
		return checkLiteral(b, i, "true")
	case c == 'f':
		return checkLiteral(b, i, "false")
	case c == 'n':
		return checkLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return checkNumber(b, i)
	}
	return i, false
}

func checkLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

// checkString checks the string whose opening quote is b[i]: valid UTF-8,
// no raw control characters, and only the escapes appendString writes
// (\" \\ \b \f \n \r \t, and \u00xx in lowercase hex for the other
// controls). esc reports whether it holds any escape, so that member names
// without one can be compared in place.
func checkString(b []byte, i int) (end int, esc, ok bool) {
	i++
	for {
		// Skip plain bytes (no control character, quote, backslash or
		// non-ASCII byte) eight at a time, then jump to the first byte
		// that needs a look: the lowest flagged byte of the mask is exact,
		// whatever the borrows do to the bytes above it.
		for {
			if i+8 > len(b) {
				for i < len(b) && !needsEscape[b[i]] {
					i++
				}
				break
			}
			w := binary.LittleEndian.Uint64(b[i:])
			if m := ((w-lsb*0x20)&^w | hasZero(w^(lsb*'"')) | hasZero(w^(lsb*'\\')) | w) & msb; m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			return i, esc, false
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, true
		case c == '\\':
			if i+1 >= len(b) {
				return i, esc, false
			}
			esc = true
			switch b[i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				// Only controls without a short form are written as
				// \u00xx, in lowercase.
				if len(b)-i < 6 || b[i+2] != '0' || b[i+3] != '0' || (b[i+4] != '0' && b[i+4] != '1') {
					return i, esc, false
				}
				lo := b[i+5]
				var v byte
				switch {
				case lo >= '0' && lo <= '9':
					v = lo - '0'
				case lo >= 'a' && lo <= 'f':
					v = lo - 'a' + 10
				default:
					return i, esc, false
				}
				v += (b[i+4] - '0') << 4
				switch v {
				case '\b', '\f', '\n', '\r', '\t':
					return i, esc, false
				}
				i += 6
			default:
				return i, esc, false
			}
		case c < 0x20:
			return i, esc, false
		default: // non-ASCII
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return i, esc, false
			}
			i += size
		}
	}
}

// checkNumber checks that the number at b[i] is written as ECMAScript
// writes it (RFC 8785 §3.2.2.3), as jsonCanon.number would write it.
func checkNumber(b []byte, i int) (int, bool) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		return i, false
	}
	intDigits := i - start
	if b[start] == '-' {
		intDigits--
	}
	plainInt, fracStart := true, -1
	if i < len(b) && b[i] == '.' {
		plainInt = false
		i++
		fracStart = i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == fracStart {
			return i, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		plainInt, fracStart = false, -1
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == d {
			return i, false
		}
	}
	tok := b[start:i]
	if plainInt && len(tok) <= 15 {
		return i, string(tok) != "-0"
	}
	if fracStart >= 0 && b[i-1] != '0' {
		// A decimal fraction without exponent or trailing zero, of at most
		// 15 significant digits and at least 1e-6: such a decimal is the
		// only one of its length or shorter that rounds to its double
		// (15 digits is the precision every double holds), so it is the
		// shortest round trip ECMAScript writes, and in fixed notation.
		sig := intDigits + i - fracStart
		if intDigits == 1 && b[fracStart-2] == '0' {
			lead := 0
			for b[fracStart+lead] == '0' {
				lead++
			}
			if lead > 5 {
				sig = 16 // 1e-7 and below take the exponent form
			} else {
				sig = i - fracStart - lead
			}
		}
		if sig <= 15 {
			return i, true
		}
	}
	// The token is only viewed: ParseFloat copies what its error keeps.
	f, err := strconv.ParseFloat(unsafe.String(&tok[0], len(tok)), 64)
	if err != nil {
		return i, false
	}
	var buf [40]byte
	return i, string(appendFloat(buf[:0], f)) == string(tok)
}

func checkArray(b []byte, i, depth int) (int, bool) {
	if depth > maxJSONDepth {
		return i, false
	}
	i++
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = checkValue(b, i, depth); !ok || i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i++
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// checkObject checks an object whose members are canonical and sorted by
// the UTF-16 code units of their names, without repeats.
func checkObject(b []byte, i, depth int) (int, bool) {
	if depth > maxJSONDepth {
		return i, false
	}
	i++
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	prevStart, prevEnd, prevEsc := -1, -1, false
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		keyStart := i
		keyEnd, esc, ok := checkString(b, i)
		if !ok {
			return keyEnd, false
		}
		if prevStart >= 0 && !keyAfter(b[prevStart:prevEnd], prevEsc, b[keyStart:keyEnd], esc) {
			return keyStart, false
		}
		prevStart, prevEnd, prevEsc = keyStart, keyEnd, esc
		i = keyEnd
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		if i, ok = checkValue(b, i+1, depth); !ok || i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i++
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// keyAfter reports whether the member name b (a checked string with its
// quotes) sorts strictly after a, comparing decoded names by UTF-16 code
// units as RFC 8785 does.
func keyAfter(a []byte, aEsc bool, b []byte, bEsc bool) bool {
	a, b = a[1:len(a)-1], b[1:len(b)-1]
	if aEsc || bEsc {
		// Rare: decode both for the comparison.
		a, b = unescapeChecked(a, aEsc), unescapeChecked(b, bEsc)
	}
	return compareUTF16(a, b) < 0
}

// unescapeChecked decodes the content of a string checkString accepted.
func unescapeChecked(s []byte, esc bool) []byte {
	if !esc {
		return s
	}
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		i++
		switch s[i] {
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			v := (s[i+3] - '0') << 4
			if lo := s[i+4]; lo <= '9' {
				v += lo - '0'
			} else {
				v += lo - 'a' + 10
			}
			out = append(out, v)
			i += 4
		default: // '"' and '\\'
			out = append(out, s[i])
		}
	}
	return out
}
