package payload

import (
	"unicode/utf8"
	"unsafe"
)

const hexDigits = "0123456789abcdef"

// bytesString views b as a string without copying. The caller must not
// modify b while the string is in use.
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// appendString appends s to dst as a JSON string of at most max bytes,
// quotes included. Invalid UTF-8 becomes U+FFFD, so the output is always
// valid UTF-8. When s does not fit, it is cut on a character boundary and
// appendString reports true. max must be at least 2.
func appendString(dst []byte, s string, max int) ([]byte, bool) {
	limit := len(dst) + max - 1 // the closing quote goes here at the latest
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r != utf8.RuneError || size != 1 {
				i += size
				continue
			}
		}
		var cut bool
		if dst, cut = appendPlain(dst, s[start:i], limit); cut {
			return append(dst, '"'), true
		}
		var esc [6]byte
		seq := esc[:2]
		esc[0] = '\\'
		switch c {
		case '"', '\\':
			esc[1] = c
		case '\n':
			esc[1] = 'n'
		case '\r':
			esc[1] = 'r'
		case '\t':
			esc[1] = 't'
		case '\b':
			esc[1] = 'b'
		case '\f':
			esc[1] = 'f'
		default:
			if c >= utf8.RuneSelf {
				seq = append(esc[:0], `\ufffd`...)
			} else {
				seq = append(esc[:1], 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
		}
		if len(dst)+len(seq) > limit {
			return append(dst, '"'), true
		}
		dst = append(dst, seq...)
		i++
		start = i
	}
	dst, cut := appendPlain(dst, s[start:], limit)
	return append(dst, '"'), cut
}

// appendPlain appends s, which needs no escaping and is valid UTF-8, cutting
// it on a character boundary so that dst does not grow past limit.
func appendPlain(dst []byte, s string, limit int) ([]byte, bool) {
	room := limit - len(dst)
	if len(s) <= room {
		return append(dst, s...), false
	}
	if room < 0 {
		room = 0
	}
	for room > 0 && s[room]&0xC0 == 0x80 {
		room--
	}
	return append(dst, s[:room]...), true
}
