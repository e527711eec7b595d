package payload

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// SyntaxError describes input that is not a single valid JSON value in valid
// UTF-8. Offset is the byte offset of the problem.
type SyntaxError struct {
	Offset int
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

func syntaxErr(off int, format string, args ...any) error {
	return &SyntaxError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}

// Validate reports whether raw is exactly one valid JSON value (RFC 8259)
// with valid UTF-8 strings, surrounded only by whitespace. It does not
// recurse, so nesting depth is unlimited, and it does not allocate for
// nesting up to 64 levels.
func Validate(raw []byte) error {
	pos := skipWS(raw, 0)
	if pos == len(raw) {
		return syntaxErr(pos, "no JSON value")
	}
	end, err := skipValue(raw, pos)
	if err != nil {
		return err
	}
	if pos = skipWS(raw, end); pos != len(raw) {
		return syntaxErr(pos, "unexpected data after the JSON value")
	}
	return nil
}

func skipWS(in []byte, pos int) int {
	for pos < len(in) {
		switch in[pos] {
		case ' ', '\t', '\n', '\r':
			pos++
		default:
			return pos
		}
	}
	return pos
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// scanString checks the string token that starts at in[pos] (a quote) and
// returns the offset just past its closing quote and whether it holds
// escapes.
func scanString(in []byte, pos int) (end int, escaped bool, err error) {
	i := pos + 1
	for i < len(in) {
		c := in[i]
		switch {
		case c == '"':
			return i + 1, escaped, nil
		case c == '\\':
			escaped = true
			if i+1 >= len(in) {
				return 0, false, syntaxErr(i, "unterminated string")
			}
			switch in[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(in) || !isHex(in[i+2]) || !isHex(in[i+3]) || !isHex(in[i+4]) || !isHex(in[i+5]) {
					return 0, false, syntaxErr(i, `invalid \u escape`)
				}
				i += 6
			default:
				return 0, false, syntaxErr(i, "invalid escape %q", in[i:i+2])
			}
		case c < 0x20:
			return 0, false, syntaxErr(i, "control character %#x in string", c)
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, false, syntaxErr(i, "invalid UTF-8")
			}
			i += size
		}
	}
	return 0, false, syntaxErr(pos, "unterminated string")
}

func hexVal(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		default:
			r |= rune(c - 'A' + 10)
		}
	}
	return r
}

// unescape appends the decoded content of a string token body already
// checked by scanString. Unpaired surrogates become U+FFFD, as in
// encoding/json.
func unescape(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		c := body[i]
		if c != '\\' {
			dst = append(dst, c)
			i++
			continue
		}
		switch body[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hexVal(body[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if i+6 <= len(body) && body[i] == '\\' && body[i+1] == 'u' {
					r2 = hexVal(body[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, body[i+1])
		}
		i += 2
	}
	return dst
}

func scanLiteral(in []byte, pos int) (int, error) {
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(in)-pos >= len(lit) && string(in[pos:pos+len(lit)]) == lit {
			return pos + len(lit), nil
		}
	}
	return 0, syntaxErr(pos, "invalid literal")
}

func scanNumber(in []byte, pos int) (int, error) {
	i := pos
	if i < len(in) && in[i] == '-' {
		i++
	}
	switch {
	case i < len(in) && in[i] == '0':
		i++
	case i < len(in) && in[i] >= '1' && in[i] <= '9':
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
	default:
		return 0, syntaxErr(i, "invalid number")
	}
	if i < len(in) && in[i] == '.' {
		i++
		d := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == d {
			return 0, syntaxErr(i, "invalid number: no digits after the decimal point")
		}
	}
	if i < len(in) && (in[i] == 'e' || in[i] == 'E') {
		i++
		if i < len(in) && (in[i] == '+' || in[i] == '-') {
			i++
		}
		d := i
		for i < len(in) && in[i] >= '0' && in[i] <= '9' {
			i++
		}
		if i == d {
			return 0, syntaxErr(i, "invalid number: no digits in the exponent")
		}
	}
	return i, nil
}

// validNumber reports whether s is exactly one JSON number.
func validNumber(s string) bool {
	end, err := scanNumber([]byte(s), 0)
	return err == nil && end == len(s)
}

// scanScalar checks the string, number or literal token at in[pos].
func scanScalar(in []byte, pos int) (int, error) {
	switch c := in[pos]; {
	case c == '"':
		end, _, err := scanString(in, pos)
		return end, err
	case c == 't' || c == 'f' || c == 'n':
		return scanLiteral(in, pos)
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(in, pos)
	}
	return 0, syntaxErr(pos, "unexpected character %q", in[pos])
}

// scanKey checks an object key and the colon after it, returning the offset
// of the member's value.
func scanKey(in []byte, pos int) (int, error) {
	if pos >= len(in) || in[pos] != '"' {
		return 0, syntaxErr(pos, "expected a string key")
	}
	end, _, err := scanString(in, pos)
	if err != nil {
		return 0, err
	}
	pos = skipWS(in, end)
	if pos >= len(in) || in[pos] != ':' {
		return 0, syntaxErr(pos, "expected ':' after an object key")
	}
	return skipWS(in, pos+1), nil
}

// skipValue checks the JSON value that starts at in[pos] and returns the
// offset just past it. It keeps its own stack instead of recursing.
func skipValue(in []byte, pos int) (int, error) {
	var arr [64]byte
	stack := arr[:0] // closing bracket of each open container
	for {
		// A value is expected at pos.
		pos = skipWS(in, pos)
		if pos >= len(in) {
			return 0, syntaxErr(pos, "unexpected end of input")
		}
		var err error
		switch in[pos] {
		case '{':
			pos = skipWS(in, pos+1)
			if pos < len(in) && in[pos] == '}' {
				pos++
				break
			}
			stack = append(stack, '}')
			if pos, err = scanKey(in, pos); err != nil {
				return 0, err
			}
			continue
		case '[':
			pos = skipWS(in, pos+1)
			if pos < len(in) && in[pos] == ']' {
				pos++
				break
			}
			stack = append(stack, ']')
			continue
		default:
			if pos, err = scanScalar(in, pos); err != nil {
				return 0, err
			}
		}
		// A value ended at pos: close containers until one continues.
		for {
			if len(stack) == 0 {
				return pos, nil
			}
			pos = skipWS(in, pos)
			if pos >= len(in) {
				return 0, syntaxErr(pos, "unexpected end of input")
			}
			top := stack[len(stack)-1]
			if in[pos] == top {
				stack = stack[:len(stack)-1]
				pos++
				continue
			}
			if in[pos] != ',' {
				return 0, syntaxErr(pos, "expected ',' or %q", top)
			}
			pos = skipWS(in, pos+1)
			if top == '}' {
				if pos, err = scanKey(in, pos); err != nil {
					return 0, err
				}
			}
			break
		}
	}
}

// rawTop rewrites the JSON text raw, which must be one value surrounded only
// by whitespace, as a value at depth d.
func (s *state) rawTop(raw []byte, d int) error {
	pos := skipWS(raw, 0)
	if pos == len(raw) {
		return syntaxErr(pos, "no JSON value")
	}
	end, err := s.rawValue(raw, pos, d)
	if err != nil {
		return err
	}
	if pos = skipWS(raw, end); pos != len(raw) {
		return syntaxErr(pos, "unexpected data after the JSON value")
	}
	return nil
}

// rawValue rewrites the value at in[pos] (not whitespace), at depth d.
func (s *state) rawValue(in []byte, pos, d int) (int, error) {
	switch c := in[pos]; {
	case c == '{':
		return s.rawObject(in, pos, d)
	case c == '[':
		return s.rawArray(in, pos, d)
	case c == '"':
		end, esc, err := scanString(in, pos)
		if err != nil {
			return 0, err
		}
		s.rawString(in[pos:end], esc, d)
		return end, nil
	default:
		end, err := scanScalar(in, pos)
		if err != nil {
			return 0, err
		}
		if tok := in[pos:end]; len(tok) <= s.e.reserve || len(tok) <= s.room(d) {
			s.buf = append(s.buf, tok...)
		} else {
			// A number too long for the budget cannot be cut and stay a
			// number: keep its first digits as a string.
			s.str(bytesString(tok), d)
		}
		return end, nil
	}
}

// rawString writes the string token tok (quotes included).
func (s *state) rawString(tok []byte, escaped bool, d int) {
	if !escaped {
		if len(tok) <= s.room(d) {
			s.buf = append(s.buf, tok...)
			return
		}
		// Unescaped content needs no escaping: str cuts it as it is.
		s.str(bytesString(tok[1:len(tok)-1]), d)
		return
	}
	s.scratch = unescape(s.scratch[:0], tok[1:len(tok)-1])
	s.str(bytesString(s.scratch), d)
}

func (s *state) rawObject(in []byte, pos, d int) (int, error) {
	if d >= s.e.maxDepth {
		end, err := skipValue(in, pos)
		if err == nil {
			s.depthMarker()
		}
		return end, err
	}
	s.buf = append(s.buf, '{')
	pos = skipWS(in, pos+1)
	if pos < len(in) && in[pos] == '}' {
		s.buf = append(s.buf, '}')
		return pos + 1, nil
	}
	first := true
	for {
		if pos >= len(in) || in[pos] != '"' {
			return 0, syntaxErr(pos, "expected a string key")
		}
		kend, kesc, err := scanString(in, pos)
		if err != nil {
			return 0, err
		}
		key := in[pos+1 : kend-1]
		if kesc {
			s.scratch = unescape(s.scratch[:0], key)
			key = s.scratch
		}
		if pos = skipWS(in, kend); pos >= len(in) || in[pos] != ':' {
			return 0, syntaxErr(pos, "expected ':' after an object key")
		}
		if pos = skipWS(in, pos+1); pos >= len(in) {
			return 0, syntaxErr(pos, "unexpected end of input")
		}
		k := bytesString(key)
		switch {
		case !s.beginMember(first, k, d+1):
			pos, err = skipValue(in, pos)
		case s.e.sensitive.Match(k):
			first = false
			pos, err = skipValue(in, pos)
			s.maskValue()
		default:
			first = false
			pos, err = s.rawValue(in, pos, d+1)
		}
		if err != nil {
			return 0, err
		}
		if pos = skipWS(in, pos); pos >= len(in) {
			return 0, syntaxErr(pos, "unexpected end of input")
		}
		switch in[pos] {
		case ',':
			pos = skipWS(in, pos+1)
		case '}':
			s.buf = append(s.buf, '}')
			return pos + 1, nil
		default:
			return 0, syntaxErr(pos, "expected ',' or '}'")
		}
	}
}

func (s *state) rawArray(in []byte, pos, d int) (int, error) {
	if d >= s.e.maxDepth {
		end, err := skipValue(in, pos)
		if err == nil {
			s.depthMarker()
		}
		return end, err
	}
	s.buf = append(s.buf, '[')
	pos = skipWS(in, pos+1)
	if pos < len(in) && in[pos] == ']' {
		s.buf = append(s.buf, ']')
		return pos + 1, nil
	}
	for i := 0; ; i++ {
		if pos >= len(in) {
			return 0, syntaxErr(pos, "unexpected end of input")
		}
		var err error
		if s.beginElem(i == 0, d+1) {
			pos, err = s.rawValue(in, pos, d+1)
		} else {
			pos, err = skipValue(in, pos)
		}
		if err != nil {
			return 0, err
		}
		if pos = skipWS(in, pos); pos >= len(in) {
			return 0, syntaxErr(pos, "unexpected end of input")
		}
		switch in[pos] {
		case ',':
			pos = skipWS(in, pos+1)
		case ']':
			s.buf = append(s.buf, ']')
			return pos + 1, nil
		default:
			return 0, syntaxErr(pos, "expected ',' or ']'")
		}
	}
}
