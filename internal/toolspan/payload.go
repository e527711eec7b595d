package toolspan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

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
			return truncated(raw)
		}
		return fit(appendValueJSON(nil, v), raw, limit)
	case pcommon.ValueTypeInt:
		if i := v.Int(); i > -1<<53 && i < 1<<53 {
			// Integers of magnitude below 2^53 are exact doubles, and their
			// decimal form is already the ECMAScript form JCS asks for.
			enc := strconv.AppendInt(nil, i, 10)
			return fit(enc, enc, limit)
		}
		fallthrough
	default: // double, bool, map, slice
		raw := appendValueJSON(nil, v)
		if over(len(raw), limit) {
			return truncated(raw)
		}
		c, err := canonicalizeJSON(raw)
		if err != nil {
			// Our own encoding is valid JSON; a canonicaliser may still
			// refuse it (nesting limits, duplicate keys). Keep the content
			// as text rather than losing it.
			return fit(auditlog.AppendJSONString(nil, string(raw)), raw, limit)
		}
		return fit(c, raw, limit)
	}
}

// textPayload encodes a string payload; see payload.
func textPayload(mem *arena, s string, limit int, mode unwrap) json.RawMessage {
	if over(len(s), limit) {
		return truncated([]byte(s))
	}
	if mode == unwrapNone && looksLikeJSON(s) {
		// Fast path: the canonicaliser validates UTF-8 itself, so valid
		// JSON needs no separate pass; anything it refuses, invalid UTF-8
		// included, takes the general route below.
		if c, err := canonicalizeString(mem, s); err == nil {
			return fit(c, s, limit)
		}
	}
	clean := validUTF8(s)
	if mode != unwrapNone {
		if inner, ok := unwrapTraceloop(clean, mode); ok {
			if len(inner) > 0 && inner[0] == '"' {
				var text string
				if json.Unmarshal(inner, &text) == nil {
					return fit(textAsJSON(validUTF8(text)), s, limit)
				}
			}
			if c, err := canonicalizeJSON(inner); err == nil {
				return fit(c, s, limit)
			}
		}
	}
	return fit(textAsJSON(clean), s, limit)
}

// textAsJSON returns the canonical JSON of text that may itself be JSON.
func textAsJSON(clean string) []byte {
	if looksLikeJSON(clean) {
		if c, err := canonicalizeString(nil, clean); err == nil {
			return c
		}
	}
	return auditlog.AppendJSONString(make([]byte, 0, len(clean)+2), clean)
}

// looksLikeJSON is a cheap filter that spares plain prose a parse attempt.
func looksLikeJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[', '"', '-', 't', 'f', 'n':
			return true
		default:
			return c >= '0' && c <= '9'
		}
	}
	return false
}

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
// marker of raw replaces it. raw is the attribute as it came, a string or
// bytes, so that neither kind is copied unless the marker is needed.
func fit[T string | []byte](enc []byte, raw T, limit int) json.RawMessage {
	if over(len(enc), limit) {
		return truncated([]byte(raw))
	}
	return enc
}

// truncated builds the marker that stands in for an oversized payload. It
// is canonical JSON (members sorted) and carries nothing of the content but
// its size and hash.
func truncated(raw []byte) json.RawMessage {
	sum := sha256.Sum256(raw)
	dst := make([]byte, 0, 110)
	dst = append(dst, `{"_sha256":"`...)
	dst = hex.AppendEncode(dst, sum[:])
	dst = append(dst, `","_size":`...)
	dst = strconv.AppendInt(dst, int64(len(raw)), 10)
	dst = append(dst, `,"_truncated":true}`...)
	return dst
}
