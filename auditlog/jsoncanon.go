package auditlog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"
)

// maxJSONDepth bounds the nesting of arrays and objects CanonicalizeJSON
// accepts, so that hostile input cannot exhaust the stack. It matches the
// limit of encoding/json and github.com/gowebpki/jcs.
const maxJSONDepth = 10000

// SyntaxError describes JSON that CanonicalizeJSON cannot canonicalize.
type SyntaxError struct {
	// Offset is the byte offset in the input where the problem was found.
	Offset int
	// Msg says what is wrong, in lowercase.
	Msg string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at offset %d: %s", e.Offset, e.Msg)
}

// CanonicalizeJSON returns the RFC 8785 (JCS) canonical form of the JSON
// text raw, in a new slice: members sorted by their UTF-16 code units,
// numbers in ECMAScript form, strings with minimal escaping, no whitespace.
//
// It returns a *SyntaxError, and no output, when raw is not one JSON value
// (with optional surrounding whitespace), holds invalid UTF-8 or an
// unpaired surrogate escape, repeats a member name, holds a number a double
// cannot represent, or nests deeper than 10,000 levels.
//
// Safe for concurrent use.
func CanonicalizeJSON(raw []byte) ([]byte, error) {
	return appendCanonicalJSON(make([]byte, 0, len(raw)), raw)
}

// AppendCanonicalJSON appends the canonical form of raw to dst, as
// CanonicalizeJSON returns it, and returns the extended slice. On error it
// returns dst unchanged in length (the bytes of its spare capacity may
// have been written). Safe for concurrent use on distinct dst.
func AppendCanonicalJSON(dst, raw []byte) ([]byte, error) { return appendCanonicalJSON(dst, raw) }

// appendCanonicalJSON appends the canonical form of raw to dst. On error
// the bytes of dst beyond its original length are unspecified.
func appendCanonicalJSON(dst, raw []byte) ([]byte, error) {
	if out, ok := appendFlatObject(dst, raw); ok {
		return out, nil
	}
	return appendCanonicalJSONGeneral(dst, raw)
}

// appendCanonicalJSONGeneral is appendCanonicalJSON without the fast path
// for flat objects: any JSON value, and the errors for what is not JSON.
func appendCanonicalJSONGeneral(dst, raw []byte) ([]byte, error) {
	p := canonPool.Get().(*jsonCanon)
	*p = jsonCanon{src: raw, keys: p.keys[:0], stack: p.stack[:0], body: p.body[:0]}
	defer p.release()
	p.skipWS()
	out, err := p.value(dst, 0)
	if err != nil {
		return dst, err
	}
	p.skipWS()
	if p.pos != len(p.src) {
		return dst, p.errf("unexpected %s after top-level value", p.quoteNext())
	}
	return out, nil
}

// canonPool keeps canonicalizers with their scratch space: growing the
// member stack and key buffer from nothing on every call cost more than a
// small payload's whole canonicalization.
var canonPool = sync.Pool{New: func() any { return new(jsonCanon) }}

// maxPooledScratch bounds the scratch space a pooled canonicalizer keeps,
// so that one huge payload does not pin its memory.
const maxPooledScratch = 64 << 10

func (p *jsonCanon) release() {
	p.src, p.top = nil, nil
	if cap(p.keys) > maxPooledScratch || cap(p.body) > maxPooledScratch || cap(p.stack) > maxPooledScratch/int(unsafe.Sizeof(member{})) {
		return
	}
	canonPool.Put(p)
}

type jsonCanon struct {
	src []byte
	pos int
	// top, when non-nil, receives the members of the top-level object in
	// output order (only valid when no reordering was needed).
	top       *[]member
	reordered bool
	// keys is scratch space for escaped member names, and stack for the
	// members of the objects being parsed; both are reused.
	keys  []byte
	stack []member
	// body is scratch space for reordering an object's members.
	body []byte
	// esc is false when the string canonString last read had no escape.
	esc bool
}

func (p *jsonCanon) errf(format string, args ...any) error {
	return &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
}

func (p *jsonCanon) quoteNext() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	end := min(p.pos+8, len(p.src))
	return strconv.Quote(string(p.src[p.pos:end]))
}

func (p *jsonCanon) skipWS() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *jsonCanon) value(dst []byte, depth int) ([]byte, error) {
	if p.pos >= len(p.src) {
		return dst, p.errf("unexpected end of input")
	}
	switch c := p.src[p.pos]; {
	case c == '{':
		return p.object(dst, depth+1)
	case c == '[':
		return p.array(dst, depth+1)
	case c == '"':
		return p.canonString(dst)
	case c == 't':
		return p.literal(dst, "true")
	case c == 'f':
		return p.literal(dst, "false")
	case c == 'n':
		return p.literal(dst, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number(dst)
	default:
		return dst, p.errf("unexpected %s", p.quoteNext())
	}
}

func (p *jsonCanon) literal(dst []byte, lit string) ([]byte, error) {
	if len(p.src)-p.pos < len(lit) || string(p.src[p.pos:p.pos+len(lit)]) != lit {
		return dst, p.errf("invalid literal %s", p.quoteNext())
	}
	p.pos += len(lit)
	return append(dst, lit...), nil
}

// number scans an RFC 8259 number and appends its ECMAScript form.
func (p *jsonCanon) number(dst []byte) ([]byte, error) {
	start := p.pos
	s := p.src
	i := p.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		p.pos = i
		return dst, p.errf("invalid number")
	}
	plainInt := true
	if i < len(s) && s[i] == '.' {
		plainInt = false
		i++
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			p.pos = i
			return dst, p.errf("invalid number: no digits after decimal point")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		plainInt = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		d := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == d {
			p.pos = i
			return dst, p.errf("invalid number: no digits in exponent")
		}
	}
	p.pos = i
	tok := s[start:i]
	// Fast path: short integers are already in ECMAScript form, except -0.
	if plainInt && len(tok) <= 15 && string(tok) != "-0" {
		return append(dst, tok...), nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil {
		p.pos = start
		return dst, p.errf("number %q out of range", truncate(string(tok), 32))
	}
	return appendFloat(dst, f), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// canonString appends the canonical form of the JSON string at p.pos. A
// string without escapes is already canonical once validated, and is
// copied through.
func (p *jsonCanon) canonString(dst []byte) ([]byte, error) {
	s := p.src
	i := p.pos + 1
	// Skip eight plain bytes at a time (no control character, quote,
	// backslash or non-ASCII byte among them).
	for i+8 <= len(s) && plainWord(binary.LittleEndian.Uint64(s[i:])) {
		i += 8
	}
	for ; i < len(s); i++ {
		c := s[i]
		if !needsEscape[c] {
			continue
		}
		if c == '"' {
			dst = append(dst, s[p.pos:i+1]...)
			p.pos = i + 1
			p.esc = false
			return dst, nil
		}
		if c < utf8.RuneSelf {
			break
		}
		{
			r, size := utf8.DecodeRune(s[i:])
			if r == utf8.RuneError && size == 1 {
				break // let str report it
			}
			i += size - 1
		}
	}
	p.esc = true // perhaps: the string has an escape or a bad byte
	buf, err := p.str(p.keys[len(p.keys):])
	if err != nil {
		return dst, err
	}
	return appendString(dst, string(buf)), nil
}

const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// hasZero is nonzero when some byte of w is zero.
func hasZero(w uint64) uint64 { return (w - lsb) &^ w & msb }

// str decodes the JSON string at p.pos, appending its UTF-8 text to buf.
func (p *jsonCanon) str(buf []byte) ([]byte, error) {
	p.pos++ // opening quote
	s := p.src
	start := p.pos
	for {
		if p.pos >= len(s) {
			return buf, p.errf("unterminated string")
		}
		c := s[p.pos]
		switch {
		case c == '"':
			buf = append(buf, s[start:p.pos]...)
			p.pos++
			return buf, nil
		case c == '\\':
			buf = append(buf, s[start:p.pos]...)
			var err error
			if buf, err = p.escape(buf); err != nil {
				return buf, err
			}
			start = p.pos
		case c < 0x20:
			return buf, p.errf("control character 0x%02x in string", c)
		case c < utf8.RuneSelf:
			p.pos++
		default:
			r, size := utf8.DecodeRune(s[p.pos:])
			if r == utf8.RuneError && size == 1 {
				return buf, p.errf("invalid UTF-8 byte 0x%02x in string", c)
			}
			p.pos += size
		}
	}
}

func (p *jsonCanon) escape(buf []byte) ([]byte, error) {
	s := p.src
	if p.pos+1 >= len(s) {
		return buf, p.errf("unterminated escape")
	}
	c := s[p.pos+1]
	p.pos += 2
	switch c {
	case '"', '\\', '/':
		return append(buf, c), nil
	case 'b':
		return append(buf, '\b'), nil
	case 'f':
		return append(buf, '\f'), nil
	case 'n':
		return append(buf, '\n'), nil
	case 'r':
		return append(buf, '\r'), nil
	case 't':
		return append(buf, '\t'), nil
	case 'u':
		r1, ok := p.hex4()
		if !ok {
			return buf, p.errf("invalid \\u escape")
		}
		if !utf16.IsSurrogate(r1) {
			return utf8.AppendRune(buf, r1), nil
		}
		if r1 >= 0xDC00 {
			return buf, p.errf("unpaired low surrogate \\u%04x", r1)
		}
		if p.pos+1 >= len(s) || s[p.pos] != '\\' || s[p.pos+1] != 'u' {
			return buf, p.errf("unpaired high surrogate \\u%04x", r1)
		}
		p.pos += 2
		r2, ok := p.hex4()
		if !ok {
			return buf, p.errf("invalid \\u escape")
		}
		if r2 < 0xDC00 || r2 > 0xDFFF {
			return buf, p.errf("high surrogate \\u%04x followed by \\u%04x", r1, r2)
		}
		return utf8.AppendRune(buf, utf16.DecodeRune(r1, r2)), nil
	default:
		p.pos--
		return buf, p.errf("invalid escape \\%c", c)
	}
}

func (p *jsonCanon) hex4() (rune, bool) {
	if len(p.src)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.src[p.pos : p.pos+4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	p.pos += 4
	return r, true
}

func (p *jsonCanon) array(dst []byte, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return dst, p.errf("nesting deeper than %d", maxJSONDepth)
	}
	p.pos++
	dst = append(dst, '[')
	p.skipWS()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return append(dst, ']'), nil
	}
	for {
		var err error
		p.skipWS()
		if dst, err = p.value(dst, depth); err != nil {
			return dst, err
		}
		p.skipWS()
		if p.pos >= len(p.src) {
			return dst, p.errf("unterminated array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
			dst = append(dst, ',')
		case ']':
			p.pos++
			return append(dst, ']'), nil
		default:
			return dst, p.errf("expected ',' or ']' in array, found %s", p.quoteNext())
		}
	}
}

// member locates one written member of an object: its decoded name (in
// p.src or p.keys) and its canonical text in dst. It holds no pointers, so
// the member stack costs the garbage collector nothing.
type member struct {
	keyOff, keyLen int
	keyInSrc       bool
	start, end     int // in dst, from the opening quote of the name
}

func (p *jsonCanon) key(m *member) []byte {
	if m.keyInSrc {
		return p.src[m.keyOff : m.keyOff+m.keyLen]
	}
	return p.keys[m.keyOff : m.keyOff+m.keyLen]
}

func (p *jsonCanon) object(dst []byte, depth int) ([]byte, error) {
	if depth > maxJSONDepth {
		return dst, p.errf("nesting deeper than %d", maxJSONDepth)
	}
	p.pos++
	objStart := len(dst)
	dst = append(dst, '{')
	p.skipWS()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return append(dst, '}'), nil
	}
	keysBase := len(p.keys)
	base := len(p.stack)
	defer func() { p.keys, p.stack = p.keys[:keysBase], p.stack[:base] }()
	sorted := true
	for {
		p.skipWS()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return dst, p.errf("expected member name, found %s", p.quoteNext())
		}
		if len(p.stack) > base {
			dst = append(dst, ',')
		}
		m := member{start: len(dst)}
		var err error
		keyPos := p.pos
		if dst, err = p.canonString(dst); err != nil {
			return dst, err
		}
		if k := p.src[keyPos+1 : p.pos-1]; !p.esc || bytes.IndexByte(k, '\\') < 0 {
			m.keyOff, m.keyLen, m.keyInSrc = keyPos+1, len(k), true
		} else {
			// Escaped: decode it for sorting.
			end := p.pos
			p.pos = keyPos
			start := len(p.keys)
			if p.keys, err = p.str(p.keys); err != nil {
				return dst, err
			}
			p.pos = end
			m.keyOff, m.keyLen = start, len(p.keys)-start
		}
		dst = append(dst, ':')
		p.skipWS()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return dst, p.errf("expected ':' after member name, found %s", p.quoteNext())
		}
		p.pos++
		p.skipWS()
		// The value may be an object that uses p.keys and p.stack as
		// scratch; it restores the lengths it found.
		if dst, err = p.value(dst, depth); err != nil {
			return dst, err
		}
		m.end = len(dst)
		if n := len(p.stack); n > base {
			c := compareUTF16(p.key(&p.stack[n-1]), p.key(&m))
			if c == 0 {
				return dst, p.errf("duplicate member name %q", truncate(string(p.key(&m)), 32))
			}
			if c > 0 {
				sorted = false
			}
		}
		p.stack = append(p.stack, m)
		p.skipWS()
		if p.pos >= len(p.src) {
			return dst, p.errf("unterminated object")
		}
		if p.src[p.pos] == ',' {
			p.pos++
			continue
		}
		if p.src[p.pos] == '}' {
			p.pos++
			break
		}
		return dst, p.errf("expected ',' or '}' in object, found %s", p.quoteNext())
	}
	members := p.stack[base:]
	if sorted {
		if depth == 1 && p.top != nil {
			*p.top = append((*p.top)[:0], members...)
		}
		return append(dst, '}'), nil
	}
	if depth == 1 {
		p.reordered = true
	}
	if len(members) <= 16 {
		// Insertion sort: payload objects are small, and a generic sort's
		// calls cost more than the comparisons. Equal names meet.
		for i := 1; i < len(members); i++ {
			m := members[i]
			k := p.key(&m)
			j := i
			for ; j > 0; j-- {
				c := compareUTF16(p.key(&members[j-1]), k)
				if c == 0 {
					return dst, &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf("duplicate member name %q", truncate(string(k), 32))}
				}
				if c < 0 {
					break
				}
				members[j] = members[j-1]
			}
			members[j] = m
		}
	} else {
		slices.SortFunc(members, func(a, b member) int { return compareUTF16(p.key(&a), p.key(&b)) })
		for i := 1; i < len(members); i++ {
			if compareUTF16(p.key(&members[i-1]), p.key(&members[i])) == 0 {
				return dst, &SyntaxError{Offset: p.pos, Msg: fmt.Sprintf("duplicate member name %q", truncate(string(p.key(&members[i])), 32))}
			}
		}
	}
	// Nested objects reorder into p.body too, but only while this one
	// is being parsed, before it reorders: the scratch is free here.
	body := p.body[:0]
	for i, m := range members {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, dst[m.start:m.end]...)
	}
	p.body = body
	dst = append(dst[:objStart+1], body...)
	return append(dst, '}'), nil
}

// compareUTF16 orders two UTF-8 strings by their UTF-16 code units, as
// RFC 8785 §3.2.3 sorts member names. It differs from byte order only
// between supplementary characters and U+E000..U+FFFF.
func compareUTF16(a, b []byte) int {
	// Skip the common prefix, then back up to the start of the character
	// where the names differ (valid UTF-8: both have one there).
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return len(a) - len(b)
	}
	if a[i] < utf8.RuneSelf && b[i] < utf8.RuneSelf {
		return int(a[i]) - int(b[i])
	}
	for i > 0 && a[i]&0xc0 == 0x80 {
		i--
	}
	a, b = a[i:], b[i:]
	for len(a) > 0 && len(b) > 0 {
		if a[0] < utf8.RuneSelf && b[0] < utf8.RuneSelf {
			if a[0] != b[0] {
				return int(a[0]) - int(b[0])
			}
			a, b = a[1:], b[1:]
			continue
		}
		ra, na := utf8.DecodeRune(a)
		rb, nb := utf8.DecodeRune(b)
		if ra != rb {
			return int(utf16Unit(ra)) - int(utf16Unit(rb))
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16Unit returns the first UTF-16 code unit of r.
func utf16Unit(r rune) rune {
	if r >= 0x10000 {
		r1, _ := utf16.EncodeRune(r)
		return r1
	}
	return r
}
