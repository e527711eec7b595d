package auditlog

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// maxSafeInteger is the largest integer an IEEE 754 double holds exactly
// (2^53-1). RFC 8785 numbers are doubles, so integers beyond it are written
// in ECMAScript form and lose precision.
const maxSafeInteger = 1<<53 - 1

// AppendCanonical appends the RFC 8785 (JCS) canonical JSON of r to dst and
// returns the extended slice. With withHash false the "hash" member is left
// out: that is the text Hash and the Merkle leaf are computed over.
//
// The output is always valid JCS, whatever r holds: strings with invalid
// UTF-8 have each bad byte replaced by U+FFFD (as encoding/json does),
// non-finite DurationMS is written as 0, and Arguments and ResultSummary are
// canonicalized with CanonicalizeJSON (already-canonical input is copied
// through after a validating scan). Raw JSON that does not parse is written
// as a JSON string holding its text, so nothing is lost; an empty or nil raw
// value is written as null. Integers beyond ±(2^53-1) are written as the
// double they round to, as RFC 8785 requires.
//
// AppendCanonical does not modify r and is safe for concurrent use on
// records that are not being modified.
func (r *Record) AppendCanonical(dst []byte, withHash bool) []byte {
	dst, _ = r.encode(dst, withHash, false)
	return dst
}

// encode is AppendCanonical that also returns the offset in dst where the
// "hash" member starts (with withHash) or would start (without), so the
// writer can splice the hash in without encoding twice. With
// canonicalPayloads it copies Arguments and ResultSummary without checking
// them (see WithCanonicalPayloads).
func (r *Record) encode(dst []byte, withHash, canonicalPayloads bool) ([]byte, int) {
	dst = append(dst, `{"agent":{"id":`...)
	dst = appendString(dst, r.Agent.ID)
	dst = append(dst, `,"name":`...)
	dst = appendString(dst, r.Agent.Name)
	dst = append(dst, `},"arguments":`...)
	dst = appendPayload(dst, r.Arguments, canonicalPayloads)
	dst = append(dst, `,"attribution":{"initiator":`...)
	dst = appendString(dst, r.Attribution.Initiator)
	dst = append(dst, `,"initiator_role":`...)
	dst = appendString(dst, r.Attribution.InitiatorRole)
	dst = append(dst, `,"initiator_type":`...)
	dst = appendString(dst, r.Attribution.InitiatorType)
	dst = append(dst, `,"model":`...)
	dst = appendString(dst, r.Attribution.Model)
	dst = append(dst, `,"tool":`...)
	dst = appendString(dst, r.Attribution.Tool)
	dst = append(dst, `,"trigger":`...)
	dst = appendString(dst, r.Attribution.Trigger)
	dst = append(dst, `},"break_glass":`...)
	dst = strconv.AppendBool(dst, r.BreakGlass)
	dst = append(dst, `,"break_glass_reason":`...)
	dst = appendString(dst, r.BreakGlassReason)
	dst = append(dst, `,"chain_id":`...)
	dst = appendString(dst, r.ChainID)
	dst = append(dst, `,"conversation_id":`...)
	dst = appendString(dst, r.ConversationID)
	dst = append(dst, `,"duration_ms":`...)
	dst = appendFloat(dst, r.DurationMS)
	dst = append(dst, `,"error":`...)
	if r.Error == nil {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, `{"message":`...)
		dst = appendString(dst, r.Error.Message)
		dst = append(dst, `,"type":`...)
		dst = appendString(dst, r.Error.Type)
		dst = append(dst, '}')
	}
	hashAt := len(dst)
	if withHash {
		dst = append(dst, `,"hash":`...)
		dst = appendString(dst, r.Hash)
	}
	dst = append(dst, `,"model":`...)
	dst = appendString(dst, r.Model)
	dst = append(dst, `,"operation":`...)
	dst = appendString(dst, r.Operation)
	dst = append(dst, `,"parent_span_id":`...)
	dst = appendString(dst, r.ParentSpanID)
	dst = append(dst, `,"prev_hash":`...)
	dst = appendString(dst, r.PrevHash)
	dst = append(dst, `,"purpose":`...)
	dst = appendString(dst, r.Purpose)
	dst = append(dst, `,"redaction":{"count":`...)
	dst = appendInt(dst, r.Redaction.Count)
	dst = append(dst, `,"paths":`...)
	dst = appendStrings(dst, r.Redaction.Paths)
	dst = append(dst, `},"result_summary":`...)
	dst = appendPayload(dst, r.ResultSummary, canonicalPayloads)
	dst = append(dst, `,"retention":{"class":`...)
	dst = appendString(dst, r.Retention.Class)
	dst = append(dst, `,"days":`...)
	dst = appendInt(dst, int64(r.Retention.Days))
	dst = append(dst, `,"retain_until":`...)
	dst = appendString(dst, r.Retention.RetainUntil)
	dst = append(dst, `},"seq":`...)
	dst = appendUint(dst, r.Seq)
	dst = append(dst, `,"session":{"client_address":`...)
	dst = appendString(dst, r.Session.ClientAddress)
	dst = append(dst, `,"id":`...)
	dst = appendString(dst, r.Session.ID)
	dst = append(dst, `,"user_agent":`...)
	dst = appendString(dst, r.Session.UserAgent)
	dst = append(dst, `},"source":{"client":`...)
	dst = appendString(dst, r.Source.Client)
	dst = append(dst, `,"convention":`...)
	dst = appendString(dst, r.Source.Convention)
	dst = append(dst, `,"scope":`...)
	dst = appendString(dst, r.Source.Scope)
	dst = append(dst, `,"service":`...)
	dst = appendString(dst, r.Source.Service)
	dst = append(dst, `},"span_id":`...)
	dst = appendString(dst, r.SpanID)
	dst = append(dst, `,"subject":{"id":`...)
	dst = appendString(dst, r.Subject.ID)
	dst = append(dst, `,"type":`...)
	dst = appendString(dst, r.Subject.Type)
	dst = append(dst, `},"success":`...)
	dst = strconv.AppendBool(dst, r.Success)
	dst = append(dst, `,"timestamp":`...)
	dst = appendString(dst, r.Timestamp)
	dst = append(dst, `,"tool_call_id":`...)
	dst = appendString(dst, r.ToolCallID)
	dst = append(dst, `,"tool_name":`...)
	dst = appendString(dst, r.ToolName)
	dst = append(dst, `,"tool_type":`...)
	dst = appendString(dst, r.ToolType)
	dst = append(dst, `,"trace_id":`...)
	dst = appendString(dst, r.TraceID)
	dst = append(dst, `,"trigger":`...)
	dst = appendString(dst, r.Trigger)
	dst = append(dst, `,"turn_number":`...)
	if r.TurnNumber == nil {
		dst = append(dst, "null"...)
	} else {
		dst = appendInt(dst, *r.TurnNumber)
	}
	dst = append(dst, `,"user_id":`...)
	dst = appendString(dst, r.UserID)
	dst = append(dst, `,"user_roles":`...)
	dst = appendStrings(dst, r.UserRoles)
	dst = append(dst, `,"v":`...)
	dst = appendInt(dst, int64(r.V))
	return append(dst, '}'), hashAt
}

// ComputeHash returns the lowercase hex SHA-256 of r's canonical form
// without the "hash" member: the value Hash must hold.
func (r *Record) ComputeHash() string {
	var buf [2048]byte
	sum := sha256.Sum256(r.AppendCanonical(buf[:0], false))
	return hex.EncodeToString(sum[:])
}

// appendPayload is appendRaw, or a plain copy of a non-empty raw that the
// writer promised is canonical.
func appendPayload(dst, raw []byte, canonical bool) []byte {
	if canonical && len(raw) > 0 {
		return append(dst, raw...)
	}
	return appendRaw(dst, raw)
}

// appendRaw appends raw JSON in canonical form; see AppendCanonical for
// what happens to input that is not JSON.
func appendRaw(dst []byte, raw []byte) []byte {
	if len(raw) == 0 {
		return append(dst, "null"...)
	}
	// Payloads usually arrive canonical already (toolspan canonicalizes
	// them): checking that in place is several times cheaper than
	// canonicalizing again.
	if isCanonicalJSON(raw) {
		return append(dst, raw...)
	}
	out, err := appendCanonicalJSON(dst, raw)
	if err != nil {
		return appendString(dst, string(raw))
	}
	return out
}

func appendStrings(dst []byte, ss []string) []byte {
	if ss == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, s)
	}
	return append(dst, ']')
}

func appendInt(dst []byte, v int64) []byte {
	if v > maxSafeInteger || v < -maxSafeInteger {
		return appendFloat(dst, float64(v))
	}
	return strconv.AppendInt(dst, v, 10)
}

func appendUint(dst []byte, v uint64) []byte {
	if v > maxSafeInteger {
		return appendFloat(dst, float64(v))
	}
	return strconv.AppendUint(dst, v, 10)
}

// appendFloat appends f as ECMAScript Number.prototype.toString formats it
// (RFC 8785 §3.2.2.3). NaN and infinities, which JSON cannot hold, are
// written as 0.
func appendFloat(dst []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
		return append(dst, '0')
	}
	if f == math.Trunc(f) && math.Abs(f) <= maxSafeInteger {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	if f < 1e21 && f >= 1e-6 {
		if n := f * 1e6; n < 1e15 && n == math.Trunc(n) && float64(int64(n))/1e6 == f {
			// f is a whole number of millionths, as a duration in
			// milliseconds from nanosecond timestamps always is: the
			// decimal n/1e6 has at most 15 significant digits and rounds
			// to f, so it is the shortest round trip, the form
			// ECMAScript writes, and needs no general formatting.
			return appendMillionths(dst, int64(n))
		}
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
	// Go writes "1e+09"; ECMAScript writes "1e+9".
	for i := start; i < len(dst); i++ {
		if dst[i] == 'e' {
			if i+2 < len(dst) && dst[i+2] == '0' {
				dst = append(dst[:i+2], dst[i+3:]...)
			}
			break
		}
	}
	return dst
}

// appendMillionths appends n/1e6 (0 < n < 1e15, not a multiple of 1e6)
// in fixed notation without trailing zeros.
func appendMillionths(dst []byte, n int64) []byte {
	dst = strconv.AppendInt(dst, n/1e6, 10)
	frac := n % 1e6
	var digits [7]byte
	digits[0] = '.'
	for i := 6; i >= 1; i-- {
		digits[i] = byte('0' + frac%10)
		frac /= 10
	}
	end := 7
	for digits[end-1] == '0' {
		end--
	}
	return append(dst, digits[:end]...)
}

const hexDigits = "0123456789abcdef"

// needsEscape marks the ASCII bytes RFC 8785 escapes: control characters,
// '"' and '\\'. Bytes >= 0x80 are handled by the UTF-8 path.
var needsEscape = func() (t [256]bool) {
	for i := 0; i < 0x20; i++ {
		t[i] = true
	}
	t['"'] = true
	t['\\'] = true
	for i := 0x80; i < 0x100; i++ {
		t[i] = true
	}
	return t
}()

// AppendJSONString appends s to dst as an RFC 8785 (JCS) JSON string, the
// form every string of a record takes: only '"', '\\' and control
// characters are escaped, everything else is written as UTF-8, and invalid
// UTF-8 bytes become U+FFFD. It is safe for concurrent use.
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a JCS string: only '"', '\\' and control
// characters are escaped (the short forms where JSON has them, else \u00xx
// in lowercase hex); everything else, including '<', '>', '&', U+2028 and
// U+2029, is written as UTF-8. Invalid UTF-8 bytes become U+FFFD.
//
// Record strings are short and almost never need escaping: the common case
// is one pass that tests and copies eight bytes at a time, with the buffer
// grown once. (A scan and then a copy cost a memmove call per string, and
// read each string twice; a record has about forty.) The bytes after the
// last whole word are taken as one more word overlapping it, and strings
// shorter than a word as two overlapping halves or three single bytes:
// a byte loop there, with a table lookup and a branch per byte, took a
// fifth of the encoding.
func appendString(dst []byte, s string) []byte {
	n := len(dst)
	dst = slices.Grow(dst, len(s)+2)
	out := dst[n : n+len(s)+2]
	out[0] = '"'
	src := unsafe.Slice(unsafe.StringData(s), len(s))
	switch k := len(src); {
	case k >= 8:
		i := 0
		for ; i+8 <= k; i += 8 {
			w := binary.LittleEndian.Uint64(src[i:])
			if m := specialBytes(w); m != 0 {
				return appendStringSlow(dst[:n], s, i+bits.TrailingZeros64(m)>>3)
			}
			binary.LittleEndian.PutUint64(out[1+i:], w)
		}
		if i < k {
			w := binary.LittleEndian.Uint64(src[k-8:])
			if specialBytes(w) != 0 {
				return appendStringSlow(dst[:n], s, i)
			}
			binary.LittleEndian.PutUint64(out[1+k-8:], w)
		}
	case k >= 4:
		lo, hi := binary.LittleEndian.Uint32(src), binary.LittleEndian.Uint32(src[k-4:])
		if specialBytes(uint64(lo)|uint64(hi)<<32) != 0 {
			return appendStringSlow(dst[:n], s, 0)
		}
		binary.LittleEndian.PutUint32(out[1:], lo)
		binary.LittleEndian.PutUint32(out[1+k-4:], hi)
	case k > 0:
		// The first, middle and last byte (some the same), in a word
		// whose other bytes are plain.
		a, b, c := src[0], src[k>>1], src[k-1]
		if specialBytes(uint64(a)|uint64(b)<<8|uint64(c)<<16|lsb*'a'&^0xffffff) != 0 {
			return appendStringSlow(dst[:n], s, 0)
		}
		out[1], out[1+k>>1], out[k] = a, b, c
	}
	out[1+len(src)] = '"'
	return dst[:n+len(src)+2]
}

// plainPrefix returns the length of the longest prefix of s made of bytes
// that a JCS string holds as they are: printable ASCII other than '"' and
// '\\'. Bytes >= 0x80 end the prefix too (they need UTF-8 validation).
func plainPrefix(s string) int {
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	i := 0
	if len(b) < 8 {
		for i < len(b) && !needsEscape[b[i]] {
			i++
		}
		return i
	}
	// Two words per round, tested together: strings rarely hold a byte
	// to escape, and the one branch per round is then never taken.
	for ; i+16 <= len(b); i += 16 {
		w := b[i : i+16]
		m0 := specialBytes(binary.LittleEndian.Uint64(w))
		m1 := specialBytes(binary.LittleEndian.Uint64(w[8:]))
		if m0|m1 != 0 {
			if m0 != 0 {
				return i + bits.TrailingZeros64(m0)>>3
			}
			return i + 8 + bits.TrailingZeros64(m1)>>3
		}
	}
	if i+8 <= len(b) {
		if m := specialBytes(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	if i < len(b) {
		// The last eight bytes, overlapping the part scanned, which is
		// plain: a flagged byte among them is at or after i.
		j := len(b) - 8
		if m := specialBytes(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
	}
	return len(b)
}

// plainWord reports whether none of the eight bytes of w (in either byte
// order) is a control character, '"', '\\' or >= 0x80. It may report false
// for a plain word (a borrow can cross bytes); callers then look at bytes.
func plainWord(w uint64) bool {
	return ((w-lsb*0x20)&^w|hasZero(w^(lsb*'"'))|hasZero(w^(lsb*'\\'))|w)&msb == 0
}

// specialBytes returns w with the high bit of each byte set exactly when
// that byte (of the eight of w, in either byte order) is one a JCS string
// cannot hold as it is: a control character, '"', '\\' or >= 0x80. Unlike
// plainWord it is exact (each lane's sums stay below 0x100, so nothing
// carries into the next byte), so the lowest set bit locates the first
// such byte of a little-endian load.
func specialBytes(w uint64) uint64 {
	const lo7 = lsb * 0x7f
	l := w & lo7
	notQuote := (l ^ lsb*'"') + lo7      // high bit clear where the byte is '"'
	notBackslash := (l ^ lsb*'\\') + lo7 // ... where it is '\\'
	notControl := l + lsb*(0x80-0x20)    // ... where it is below 0x20
	return (w | ^(notQuote & notBackslash & notControl)) & msb
}

// appendStringSlow is appendString for s whose byte i needs attention:
// plain runs are copied in bulk, the rest escaped or validated.
func appendStringSlow(dst []byte, s string, i int) []byte {
	dst = append(dst, '"')
	start := 0
	for i < len(s) {
		c := s[i]
		if !needsEscape[c] {
			i += plainPrefix(s[i:])
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
