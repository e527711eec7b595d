package toolspan

import (
	"encoding/base64"
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelaudit/otelaudit/auditlog"
)

// validUTF8 returns s with every invalid UTF-8 sequence replaced by U+FFFD,
// without copying when s is already valid (the common case).
func validUTF8(s string) string {
	if isASCII(s) || utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// isASCII reports whether every byte of s is below 0x80. Attribute values
// are short and nearly always ASCII: this check, eight bytes at a time
// with an overlapping last word, is cheaper for them than
// utf8.ValidString, which walks a short tail byte by byte.
func isASCII(s string) bool {
	const msb = 0x8080808080808080
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	if len(b) < 8 {
		var acc byte
		for _, c := range b {
			acc |= c
		}
		return acc < utf8.RuneSelf
	}
	var acc uint64
	for i := 0; i+8 <= len(b); i += 8 {
		acc |= binary.LittleEndian.Uint64(b[i:])
	}
	acc |= binary.LittleEndian.Uint64(b[len(b)-8:])
	return acc&msb == 0
}

// valueString renders an attribute value as a valid UTF-8 string.
func valueString(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return validUTF8(v.Str())
	}
	return validUTF8(v.AsString())
}

// appendValueJSON appends v as JSON. Map keys keep their order and numbers
// their Go formatting: the result is valid JSON but not canonical, and is
// meant to be canonicalised afterwards. Strings are made valid UTF-8; bytes
// become base64 strings; NaN and the infinities, which JSON cannot express,
// become the strings "NaN", "Infinity" and "-Infinity".
func appendValueJSON(dst []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		return auditlog.AppendJSONString(dst, validUTF8(v.Str()))
	case pcommon.ValueTypeInt:
		return strconv.AppendInt(dst, v.Int(), 10)
	case pcommon.ValueTypeDouble:
		return appendFloatJSON(dst, v.Double())
	case pcommon.ValueTypeBool:
		return strconv.AppendBool(dst, v.Bool())
	case pcommon.ValueTypeBytes:
		b := v.Bytes().AsRaw()
		dst = append(dst, '"')
		dst = base64.StdEncoding.AppendEncode(dst, b)
		return append(dst, '"')
	case pcommon.ValueTypeMap:
		dst = append(dst, '{')
		first := true
		for k, e := range v.Map().All() {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = auditlog.AppendJSONString(dst, validUTF8(k))
			dst = append(dst, ':')
			dst = appendValueJSON(dst, e)
		}
		return append(dst, '}')
	case pcommon.ValueTypeSlice:
		dst = append(dst, '[')
		s := v.Slice()
		for i := 0; i < s.Len(); i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendValueJSON(dst, s.At(i))
		}
		return append(dst, ']')
	default:
		return append(dst, "null"...)
	}
}

func appendFloatJSON(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(dst, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(dst, `"-Infinity"`...)
	}
	return strconv.AppendFloat(dst, f, 'g', -1, 64)
}
