package payload

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Members of a summary besides the copied identifiers.
const (
	SuccessKey = "success"
	ErrorKey   = "error"
	ItemsKey   = "_items"
)

const (
	// maxIDs bounds the identifiers copied into one summary.
	maxIDs = 32
	// maxIDBytes bounds one copied identifier value, quotes included.
	maxIDBytes = 256
	// maxErrBytes bounds the error message of a summary, quotes included.
	maxErrBytes = 512
	// summaryTail keeps room for the size, items and truncation members.
	summaryTail = 96
	// sizeNodes bounds the values visited to measure a result; past it the
	// reported size is a lower bound.
	sizeNodes = 1 << 20
)

// SummaryOptions configures Summarize.
type SummaryOptions struct {
	// Keys selects the members of an object value that are copied, when
	// their values are strings, numbers or booleans.
	Keys *Matcher
	// Outcome writes "success" first, and "error" with Err when Err is not
	// empty.
	Outcome bool
	Success bool
	Err     string
	// SizeKey names the member that carries the size in bytes of the
	// value's JSON encoding when the value is large.
	SizeKey string
	// LargeAt is the size above which SizeKey and "_truncated": true are
	// written.
	LargeAt int
	// Force writes SizeKey and "_truncated": true whatever the size.
	Force bool
}

// Summarize returns a JSON object that describes v without carrying it: the
// outcome, the identifiers selected by o.Keys from an object (masked when
// their key is sensitive), "_items" with the length of an array, and the
// value's size with "_truncated": true when it is large.
func (e *Encoder) Summarize(v any, o SummaryOptions) string {
	s := e.get()
	defer e.put(s)
	s.limit = e.maxBytes - summaryTail
	s.buf = append(s.buf, '{')
	first := true
	if o.Outcome {
		s.buf = append(s.buf, `"`+SuccessKey+`":`...)
		s.buf = strconv.AppendBool(s.buf, o.Success)
		first = false
		if o.Err != "" && s.beginMember(false, ErrorKey, 1) {
			s.buf, _ = appendString(s.buf, o.Err, min(maxErrBytes, s.room(1)))
		}
	}
	size, items, bound := -1, -1, -1
	switch x := v.(type) {
	case map[string]any:
		first, bound = summaryMap(s, x, o.Keys, first, o.LargeAt)
	case map[string]string:
		first, bound = summaryMap(s, x, o.Keys, first, o.LargeAt)
	case []any:
		items = len(x)
	case []string:
		items = len(x)
	case []map[string]any:
		items = len(x)
	case json.RawMessage:
		if len(x) > 0 {
			size = len(x)
			first, items = s.summaryRaw(x, o.Keys, first)
		}
	case []byte:
		// Not JSON (the caller passes JSON as json.RawMessage): its size,
		// never its base64.
		size = len(x)
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
	default:
		if b, err := marshal(v); err == nil {
			size = len(b)
			first, items = s.summaryRaw(b, o.Keys, first)
		}
	}
	// The tail members below fit in the summaryTail bytes kept free.
	if items >= 0 {
		first = tailMember(s, first, ItemsKey)
		s.buf = strconv.AppendInt(s.buf, int64(items), 10)
	}
	if size < 0 && bound < 0 {
		bound = e.sizeBound(v, 0, o.LargeAt)
	}
	if size < 0 && (o.Force || bound > o.LargeAt) {
		nodes := sizeNodes
		size = e.sizeOf(v, 0, &nodes)
	}
	if o.Force || size > o.LargeAt {
		if o.SizeKey != "" {
			first = tailMember(s, first, o.SizeKey)
			s.buf = strconv.AppendInt(s.buf, int64(size), 10)
		}
		tailMember(s, first, TruncatedKey)
		s.buf = append(s.buf, "true"...)
	}
	s.buf = append(s.buf, '}')
	return string(s.buf)
}

func tailMember(s *state, first bool, key string) bool {
	if !first {
		s.buf = append(s.buf, ',')
	}
	s.buf = append(s.buf, '"')
	s.buf = append(s.buf, key...)
	s.buf = append(s.buf, '"', ':')
	return false
}

// summaryMap copies the identifier members of m that have scalar values, in
// key order, and returns an upper bound of the size of m's encoding (see
// sizeBound), computed in the same pass over m.
func summaryMap[V any](s *state, m map[string]V, keys *Matcher, first bool, limit int) (bool, int) {
	// The first identifiers are kept, with their values, in an array on the
	// stack that is indexed directly: no allocation, no second map lookup,
	// and no write barriers while the GC marks. More spill to s.members.
	var small [8]member
	n := 0
	base := len(s.members)
	bound := 2 + len(m)
	match := keys.Len() > 0
	for k, v := range m {
		if bound <= limit {
			bound += 6*len(k) + 3 + s.e.sizeBound(v, 1, limit-bound)
		}
		if match && n < maxIDs && keys.Match(k) && scalar(v) {
			if n < len(small) {
				small[n] = member{k, v}
			} else {
				s.members = append(s.members, member{k, v})
			}
			n++
		}
	}
	var ids []member
	if n <= len(small) {
		for i := 1; i < n; i++ {
			for j := i; j > 0 && keyLess(small[j].k, small[j-1].k); j-- {
				small[j], small[j-1] = small[j-1], small[j]
			}
		}
		ids = small[:n]
	} else {
		s.members = append(s.members, small[:]...)
		ids = s.members[base:]
		slices.SortFunc(ids, func(a, b member) int { return strings.Compare(a.k, b.k) })
	}
	for i := range ids {
		mb := &ids[i]
		if !s.beginMember(first, mb.k, 1) {
			break
		}
		first = false
		if s.e.sensitive.Match(mb.k) {
			s.maskValue()
		} else {
			s.summaryValue(mb.v)
		}
	}
	clear(s.members[base:])
	s.members = s.members[:base]
	return first, bound
}

func scalar[V any](v V) bool {
	switch any(v).(type) {
	case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		return true
	}
	return false
}

// summaryValue writes a scalar identifier value, cutting long strings.
func (s *state) summaryValue(v any) {
	if x, ok := v.(string); ok {
		s.buf, _ = appendString(s.buf, x, min(maxIDBytes, s.room(1)))
		return
	}
	s.value(v, 1)
}

// summaryRaw copies the identifier members of a JSON object, or counts the
// elements of a JSON array. Malformed JSON yields what was read before the
// problem.
func (s *state) summaryRaw(raw []byte, keys *Matcher, first bool) (bool, int) {
	pos := skipWS(raw, 0)
	if pos >= len(raw) {
		return first, -1
	}
	switch raw[pos] {
	case '[':
		items := 0
		pos = skipWS(raw, pos+1)
		if pos < len(raw) && raw[pos] == ']' {
			return first, 0
		}
		for {
			end, err := skipValue(raw, pos)
			if err != nil {
				return first, -1
			}
			items++
			if pos = skipWS(raw, end); pos >= len(raw) || raw[pos] != ',' {
				break
			}
			pos++
		}
		if pos >= len(raw) || raw[pos] != ']' {
			return first, -1
		}
		return first, items
	case '{':
	default:
		return first, -1
	}
	if keys.Len() == 0 {
		return first, -1
	}
	n := 0
	pos = skipWS(raw, pos+1)
	for pos < len(raw) && raw[pos] == '"' {
		kend, kesc, err := scanString(raw, pos)
		if err != nil {
			break
		}
		key := raw[pos+1 : kend-1]
		if kesc {
			s.scratch = unescape(s.scratch[:0], key)
			key = s.scratch
		}
		if pos = skipWS(raw, kend); pos >= len(raw) || raw[pos] != ':' {
			break
		}
		if pos = skipWS(raw, pos+1); pos >= len(raw) {
			break
		}
		k := bytesString(key)
		var end int
		c := raw[pos]
		if n < maxIDs && c != '{' && c != '[' && c != 'n' && keys.Match(k) {
			if end, err = scanScalar(raw, pos); err != nil {
				break
			}
			tok := raw[pos:end]
			if len(tok) <= maxIDBytes && s.beginMember(first, k, 1) {
				first = false
				n++
				switch {
				case s.e.sensitive.Match(k):
					s.maskValue()
				case c == '"':
					s.scratch = unescape(s.scratch[:0], tok[1:len(tok)-1])
					s.buf, _ = appendString(s.buf, bytesString(s.scratch), min(maxIDBytes, s.room(1)))
				default:
					s.buf = append(s.buf, tok...)
				}
			}
		} else if end, err = skipValue(raw, pos); err != nil {
			break
		}
		if pos = skipWS(raw, end); pos >= len(raw) || raw[pos] != ',' {
			break
		}
		pos = skipWS(raw, pos+1)
	}
	return first, -1
}

// sizeOf returns the size in bytes of the JSON encoding of v, visiting at
// most *nodes values.
func (e *Encoder) sizeOf(v any, d int, nodes *int) int {
	if *nodes <= 0 {
		return 0
	}
	*nodes--
	var tmp [32]byte
	switch x := v.(type) {
	case nil:
		return 4
	case string:
		return quotedLen(x)
	case bool:
		if x {
			return 4
		}
		return 5
	case int:
		return len(strconv.AppendInt(tmp[:0], int64(x), 10))
	case int8:
		return len(strconv.AppendInt(tmp[:0], int64(x), 10))
	case int16:
		return len(strconv.AppendInt(tmp[:0], int64(x), 10))
	case int32:
		return len(strconv.AppendInt(tmp[:0], int64(x), 10))
	case int64:
		return len(strconv.AppendInt(tmp[:0], x, 10))
	case uint:
		return len(strconv.AppendUint(tmp[:0], uint64(x), 10))
	case uint8:
		return len(strconv.AppendUint(tmp[:0], uint64(x), 10))
	case uint16:
		return len(strconv.AppendUint(tmp[:0], uint64(x), 10))
	case uint32:
		return len(strconv.AppendUint(tmp[:0], uint64(x), 10))
	case uint64:
		return len(strconv.AppendUint(tmp[:0], x, 10))
	case float64:
		return len(appendFloat(tmp[:0], x, 64))
	case float32:
		return len(appendFloat(tmp[:0], float64(x), 32))
	case json.Number:
		return len(x)
	case json.RawMessage:
		return len(x)
	case map[string]any:
		if x == nil {
			return 4
		}
		if d >= e.maxDepth {
			return len(DepthMarker) + 2
		}
		n := 1 + max(len(x), 1)
		for k, v := range x {
			n += quotedLen(k) + 1 + e.sizeOf(v, d+1, nodes)
		}
		return n
	case map[string]string:
		if x == nil {
			return 4
		}
		n := 1 + max(len(x), 1)
		for k, v := range x {
			n += quotedLen(k) + 1 + quotedLen(v)
		}
		return n
	case []any:
		if d >= e.maxDepth {
			return len(DepthMarker) + 2
		}
		n := 1 + max(len(x), 1)
		for _, v := range x {
			n += e.sizeOf(v, d+1, nodes)
		}
		return n
	case []string:
		n := 1 + max(len(x), 1)
		for _, v := range x {
			n += quotedLen(v)
		}
		return n
	case []map[string]any:
		n := 1 + max(len(x), 1)
		for _, v := range x {
			n += e.sizeOf(v, d+1, nodes)
		}
		return n
	}
	if b, err := marshal(v); err == nil {
		return len(b)
	}
	return 0
}

// sizeBound returns an upper bound of sizeOf(v) that costs no formatting;
// it stops early, returning more than limit, once the bound passes limit.
func (e *Encoder) sizeBound(v any, d, limit int) int {
	const number = 24 // the longest integer or shortest float64 text
	switch x := v.(type) {
	case nil, bool:
		return 5
	case string:
		return 6*len(x) + 2
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64:
		return number
	case json.Number:
		return len(x)
	case json.RawMessage:
		return len(x)
	case map[string]any:
		if d >= e.maxDepth {
			return len(DepthMarker) + 2
		}
		n := 2 + len(x)
		for k, v := range x {
			if n += 6*len(k) + 3 + e.sizeBound(v, d+1, limit-n); n > limit {
				return n
			}
		}
		return n
	case map[string]string:
		n := 2 + len(x)
		for k, v := range x {
			if n += 6*len(k) + 6*len(v) + 5; n > limit {
				return n
			}
		}
		return n
	case []any:
		if d >= e.maxDepth {
			return len(DepthMarker) + 2
		}
		n := 2 + len(x)
		for _, v := range x {
			if n += e.sizeBound(v, d+1, limit-n); n > limit {
				return n
			}
		}
		return n
	case []string:
		n := 2 + len(x)
		for _, v := range x {
			if n += 6*len(v) + 2; n > limit {
				return n
			}
		}
		return n
	}
	// Other types are measured exactly.
	return limit + 1
}

// quotedLen is the length of s written by appendString without a limit.
func quotedLen(s string) int {
	n := 2
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f':
			n += 2
			i++
		case c < 0x20:
			n += 6
			i++
		case c < utf8.RuneSelf:
			n++
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				n += 6
			} else {
				n += size
			}
			i += size
		}
	}
	return n
}
