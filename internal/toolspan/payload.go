package toolspan

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelaudit/otelaudit/auditlog"
)

// unwrap says how a payload attribute is packaged by its instrumentation.
type unwrap uint8

const (
	unwrapNone unwrap = iota
	// unwrapTraceloopInput: OpenLLMetry serialises a decorated function's
	// input as {"args":[...],"kwargs":{...}} and LangChain callbacks as
	// {"inputs":...,"input_str":...,"tags":...,"metadata":...,"kwargs":...}.
	unwrapTraceloopInput
	// unwrapTraceloopOutput: LangChain callbacks wrap outputs as
	// {"output":...,"kwargs":...} or {"outputs":...,"kwargs":...}.
	unwrapTraceloopOutput
)

// payload encodes a payload attribute (tool arguments or result) as the JSON
// stored in the record:
//
//   - a string that is valid JSON, and any map or slice, becomes canonical
//     JSON (RFC 8785);
//   - other text becomes a JSON string, other scalars their JSON value;
//   - a payload whose attribute is larger than limit bytes, or whose encoding
//     would be, becomes {"_sha256":"<hex of the raw bytes>","_size":N,"_truncated":true}.
//
// limit < 0 disables the bound. The result is always canonical JSON, taking
// memory from mem (nil: the heap).
func payload(mem *arena, v pcommon.Value, limit int, mode unwrap) json.RawMessage {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return nil
	case pcommon.ValueTypeStr:
		return textPayload(mem, v.Str(), limit, mode)
	case pcommon.ValueTypeBytes:
		raw := v.Bytes().AsRaw()
		if over(len(raw), limit) {
			return truncated(mem, raw)
		}
		// As appendValueJSON writes it, from the copy already made.
		enc := mem.build(base64.StdEncoding.EncodedLen(len(raw))+2, func(dst []byte) []byte {
			dst = append(dst, '"')
			dst = base64.StdEncoding.AppendEncode(dst, raw)
			return append(dst, '"')
		})
		return fit(mem, enc, raw, limit)
	case pcommon.ValueTypeInt:
		if i := v.Int(); i > -1<<53 && i < 1<<53 {
			// Integers of magnitude below 2^53 are exact doubles, and their
			// decimal form is already the ECMAScript form JCS asks for.
			enc := mem.build(20, func(dst []byte) []byte { return strconv.AppendInt(dst, i, 10) })
			return fit(mem, enc, enc, limit)
		}
		fallthrough
	default: // double, bool, map, slice
		// The attribute's JSON is needed only until it is canonical.
		raw := appendValueJSON(mem.scratch(), v)
		defer mem.done(raw)
		if over(len(raw), limit) {
			return truncated(mem, raw)
		}
		c, err := mem.canonical(raw)
		if err != nil {
			// Our own encoding is valid JSON; a canonicaliser may still
			// refuse it (nesting limits, duplicate keys). Keep the content
			// as text rather than losing it.
			return fit(mem, auditlog.AppendJSONString(nil, string(raw)), raw, limit)
		}
		return fit(mem, c, raw, limit)
	}
}

// textPayload encodes a string payload; see payload.
func textPayload(mem *arena, s string, limit int, mode unwrap) json.RawMessage {
	if over(len(s), limit) {
		return truncated(mem, view(s))
	}
	if mode == unwrapNone && looksLikeJSON(s) {
		// Fast path: the canonicaliser validates UTF-8 itself, so valid
		// JSON needs no separate pass; anything it refuses, invalid UTF-8
		// included, takes the general route below.
		if c, err := canonicalizeString(mem, s); err == nil {
			return fit(mem, c, view(s), limit)
		}
	}
	clean := validUTF8(s)
	if mode != unwrapNone {
		if inner, ok := unwrapTraceloop(clean, mode); ok {
			if len(inner) > 0 && inner[0] == '"' {
				var text string
				if json.Unmarshal(inner, &text) == nil {
					return fit(mem, textAsJSON(mem, validUTF8(text)), view(s), limit)
				}
			}
			if c, err := mem.canonical(inner); err == nil {
				return fit(mem, c, view(s), limit)
			}
		}
	}
	return fit(mem, textAsJSON(mem, clean), view(s), limit)
}

// textAsJSON returns the canonical JSON of text that may itself be JSON,
// taking memory from mem (nil: the heap).
func textAsJSON(mem *arena, clean string) []byte {
	if looksLikeJSON(clean) {
		if c, err := canonicalizeString(mem, clean); err == nil {
			return c
		}
	}
	// Room for the quotes and a few escapes; more spills correctly.
	return mem.build(len(clean)+len(clean)/8+8, func(dst []byte) []byte {
		if dst == nil {
			dst = make([]byte, 0, len(clean)+2)
		}
		return auditlog.AppendJSONString(dst, clean)
	})
}

// looksLikeJSON is a cheap filter that spares plain prose a parse attempt
// (whose error costs allocations): it rejects no valid JSON, since a JSON
// text, once its whitespace is trimmed, is an object from '{' to '}', an
// array from '[' to ']', a string between quotes, one of the three
// literals, or a number.
func looksLikeJSON(s string) bool {
	i, j := 0, len(s)
	for i < j && isJSONSpace(s[i]) {
		i++
	}
	for j > i && isJSONSpace(s[j-1]) {
		j--
	}
	if i == j {
		return false
	}
	s = s[i:j]
	last := s[len(s)-1]
	switch s[0] {
	case '{':
		return last == '}'
	case '[':
		return last == ']'
	case '"':
		return len(s) > 1 && last == '"'
	case 't':
		return s == "true"
	case 'f':
		return s == "false"
	case 'n':
		return s == "null"
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		for i := 1; i < len(s); i++ {
			switch c := s[i]; {
			case c >= '0' && c <= '9', c == '.', c == 'e', c == 'E', c == '+', c == '-':
			default:
				return false
			}
		}
		return true
	}
	return false
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// unwrapTraceloop returns the payload inside an OpenLLMetry wrapper object,
// or false when s is not such a wrapper. Only objects made entirely of the
// wrapper's own keys are unwrapped, so a tool whose real arguments happen to
// include a key named "inputs" is stored as it came.
func unwrapTraceloop(s string, mode unwrap) (json.RawMessage, bool) {
	b := []byte(s)
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		return nil, false
	}
	present := func(k string) bool {
		v, ok := obj[k]
		return ok && !isEmptyJSON(v)
	}
	switch mode {
	case unwrapTraceloopInput:
		if onlyKeys(obj, "args", "kwargs") {
			switch {
			case present("kwargs") && !present("args"):
				return obj["kwargs"], true
			case present("args") && !present("kwargs"):
				return obj["args"], true
			}
			return nil, false
		}
		if onlyKeys(obj, "inputs", "input_str", "tags", "metadata", "kwargs", "run_id", "parent_run_id", "serialized") {
			if present("inputs") {
				return obj["inputs"], true
			}
			if present("input_str") {
				return obj["input_str"], true
			}
		}
	case unwrapTraceloopOutput:
		if onlyKeys(obj, "output", "outputs", "kwargs", "run_id", "parent_run_id") {
			if present("outputs") {
				return obj["outputs"], true
			}
			if present("output") {
				return obj["output"], true
			}
		}
	}
	return nil, false
}

func onlyKeys(obj map[string]json.RawMessage, keys ...string) bool {
	n := 0
	for _, k := range keys {
		if _, ok := obj[k]; ok {
			n++
		}
	}
	return n == len(obj) && n > 0
}

func isEmptyJSON(v json.RawMessage) bool {
	t := bytes.TrimSpace(v)
	switch string(t) {
	case "", "null", "{}", "[]", `""`:
		return true
	}
	return false
}

func over(n, limit int) bool { return limit >= 0 && n > limit }

// fit returns enc unless it exceeds limit, in which case the truncation
// marker of raw, the attribute as it came, replaces it.
func fit(mem *arena, enc, raw []byte, limit int) json.RawMessage {
	if over(len(enc), limit) {
		return truncated(mem, raw)
	}
	return enc
}

// truncated builds the marker that stands in for an oversized payload. It
// is canonical JSON (members sorted) and carries nothing of the content but
// its size and hash. It takes memory from mem (nil: the heap).
func truncated(mem *arena, raw []byte) json.RawMessage {
	sum := sha256.Sum256(raw)
	return mem.build(110, func(dst []byte) []byte {
		if dst == nil {
			dst = make([]byte, 0, 110)
		}
		dst = append(dst, `{"_sha256":"`...)
		dst = hex.AppendEncode(dst, sum[:])
		dst = append(dst, `","_size":`...)
		dst = strconv.AppendInt(dst, int64(len(raw)), 10)
		return append(dst, `,"_truncated":true}`...)
	})
}

// view returns the bytes of s without copying them, for functions that
// only read them (the hash of an oversized payload, which a copy would
// double in memory).
func view(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
