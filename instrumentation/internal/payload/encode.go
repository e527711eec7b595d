// Package payload encodes tool arguments and results as bounded, masked JSON
// for span attributes.
//
// Every output is valid JSON and valid UTF-8, whatever the input: values under
// sensitive keys are replaced by a mask before they are written, nesting
// deeper than a limit is replaced by a marker, and output that would exceed a
// byte limit is cut at a member boundary and marked with "_truncated": true.
// Work is linear in the input and recursion is bounded by the depth limit.
package payload

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// bom is the UTF-8 byte order mark some writers put before JSON.
var bom = []byte("\xef\xbb\xbf")

// DepthMarker replaces a value nested deeper than the depth limit.
const DepthMarker = "[max depth]"

// TruncatedKey is the member added to a top-level object when something was
// left out of it; a truncated non-object is wrapped as
// {"_truncated":true,"_value":...}.
const (
	TruncatedKey = "_truncated"
	valueKey     = "_value"
	tailReserve  = 32 // room kept for `,"_truncated":true}` or the wrapper
)

// Limits on the configuration, so that the byte budget always leaves room for
// markers and closing brackets.
const (
	MinMaxBytes = 256
	MaxMaxBytes = 64 << 20
	MaxMaxDepth = 1000
	MaxMaskLen  = 64
)

// poolBufMax is the largest buffer kept for reuse; bigger ones are dropped so
// that one huge payload does not pin memory.
const poolBufMax = 64 << 10

// Config configures an Encoder.
type Config struct {
	// Sensitive classifies the keys whose values are masked; nil masks
	// nothing.
	Sensitive *Matcher
	// Mask replaces the value of a sensitive key.
	Mask string
	// MaxBytes bounds the size of one encoded payload.
	MaxBytes int
	// MaxDepth bounds the nesting of containers; deeper ones are replaced by
	// DepthMarker.
	MaxDepth int
}

// Encoder writes masked, bounded JSON. It is immutable after NewEncoder and
// safe for concurrent use.
type Encoder struct {
	sensitive *Matcher
	maskJSON  []byte
	maxBytes  int
	maxDepth  int
	// reserve is the room kept before writing a member: enough for any
	// scalar, the mask or a marker.
	reserve int
	pool    sync.Pool
}

// NewEncoder returns an Encoder for cfg.
func NewEncoder(cfg Config) (*Encoder, error) {
	if cfg.MaxBytes < MinMaxBytes || cfg.MaxBytes > MaxMaxBytes {
		return nil, fmt.Errorf("max payload bytes %d: must be between %d and %d", cfg.MaxBytes, MinMaxBytes, MaxMaxBytes)
	}
	if cfg.MaxDepth < 1 || cfg.MaxDepth > MaxMaxDepth {
		return nil, fmt.Errorf("max depth %d: must be between 1 and %d", cfg.MaxDepth, MaxMaxDepth)
	}
	if len(cfg.Mask) > MaxMaskLen {
		return nil, fmt.Errorf("mask %q: longer than %d bytes", cfg.Mask, MaxMaskLen)
	}
	maskJSON, _ := appendString(nil, cfg.Mask, 6*MaxMaskLen+2)
	e := &Encoder{
		sensitive: cfg.Sensitive,
		maskJSON:  maskJSON,
		maxBytes:  cfg.MaxBytes,
		maxDepth:  cfg.MaxDepth,
		reserve:   max(40, len(maskJSON)+2),
	}
	e.pool.New = func() any { return &state{e: e} }
	return e, nil
}

// MaxBytes returns the byte limit of one payload.
func (e *Encoder) MaxBytes() int { return e.maxBytes }

// state is the scratch of one encoding.
type state struct {
	e     *Encoder
	buf   []byte
	limit int
	// cut is set once the byte budget is spent: nothing more is written.
	cut bool
	// truncated is set when anything was left out (budget or depth).
	truncated bool
	keys      []string // stack of sorted map keys
	members   []member // stack of sorted map members
	scratch   []byte   // unescaped object keys of raw JSON
}

func (e *Encoder) get() *state {
	s := e.pool.Get().(*state)
	s.buf = s.buf[:0]
	s.limit = e.maxBytes - tailReserve
	s.cut, s.truncated = false, false
	return s
}

func (e *Encoder) put(s *state) {
	if cap(s.buf) > poolBufMax || cap(s.scratch) > poolBufMax || cap(s.keys) > 4096 || cap(s.members) > 4096 {
		return
	}
	// The key and member stacks were cleared as they were popped, so that a
	// pooled state holds no reference to a caller's data.
	e.pool.Put(s)
}

// Encode returns v as masked, bounded JSON and whether anything was left
// out. Common shapes (map[string]any, []any, strings, numbers, json.RawMessage)
// are walked directly; other values go through encoding/json first. A value
// that encoding/json cannot encode, or whose MarshalJSON panics, becomes a
// string marker naming its type.
func (e *Encoder) Encode(v any) (string, bool) {
	s := e.get()
	s.value(v, 0)
	out, truncated := s.finish()
	e.put(s)
	return out, truncated
}

// EncodeRaw returns the JSON text raw as masked, bounded, compact JSON and
// whether anything was left out. It returns an error, and no output, when
// raw is not a single valid JSON value or holds invalid UTF-8.
func (e *Encoder) EncodeRaw(raw []byte) (string, bool, error) {
	s := e.get()
	defer e.put(s)
	if err := s.rawTop(raw, 0); err != nil {
		return "", false, err
	}
	out, truncated := s.finish()
	return out, truncated, nil
}

// finish marks a truncated output and returns it as a string.
func (s *state) finish() (string, bool) {
	if !s.truncated {
		return string(s.buf), false
	}
	b := s.buf
	if len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}' {
		b = b[:len(b)-1]
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = append(b, `"`+TruncatedKey+`":true}`...)
		s.buf = b
		return string(b), true
	}
	out := make([]byte, 0, len(b)+tailReserve)
	out = append(out, `{"`+TruncatedKey+`":true,"`+valueKey+`":`...)
	out = append(out, b...)
	out = append(out, '}')
	return string(out), true
}

// room is how many bytes a string at depth d may take, quotes included.
func (s *state) room(d int) int { return s.limit - len(s.buf) - d }

func (s *state) str(x string, d int) {
	room := s.room(d)
	if s.cut || room < 2 {
		// Only reachable for the top-level value, which always has room; a
		// member's room was checked by beginMember.
		s.buf = append(s.buf, '"', '"')
		s.cut, s.truncated = true, true
		return
	}
	var cut bool
	s.buf, cut = appendString(s.buf, x, room)
	if cut {
		s.cut, s.truncated = true, true
	}
}

// beginMember writes the separator and key of an object member whose value
// sits at depth d, and reports false, writing nothing, when the budget
// cannot take the member.
func (s *state) beginMember(first bool, key string, d int) bool {
	if s.cut {
		return false
	}
	mark := len(s.buf)
	if !first {
		s.buf = append(s.buf, ',')
	}
	if room := s.limit - len(s.buf) - d - s.e.reserve; room >= 2 {
		var cut bool
		if s.buf, cut = appendString(s.buf, key, room); !cut {
			s.buf = append(s.buf, ':')
			return true
		}
	}
	s.buf = s.buf[:mark]
	s.cut, s.truncated = true, true
	return false
}

// beginElem is beginMember for an array element.
func (s *state) beginElem(first bool, d int) bool {
	if s.cut {
		return false
	}
	if len(s.buf)+1+d+s.e.reserve > s.limit {
		s.cut, s.truncated = true, true
		return false
	}
	if !first {
		s.buf = append(s.buf, ',')
	}
	return true
}

func (s *state) maskValue() { s.buf = append(s.buf, s.e.maskJSON...) }

func (s *state) depthMarker() {
	s.buf = append(s.buf, `"`+DepthMarker+`"`...)
	s.truncated = true
}

func (s *state) value(v any, d int) {
	switch x := v.(type) {
	case nil:
		s.buf = append(s.buf, "null"...)
	case string:
		s.str(x, d)
	case bool:
		s.buf = strconv.AppendBool(s.buf, x)
	case int:
		s.buf = strconv.AppendInt(s.buf, int64(x), 10)
	case int8:
		s.buf = strconv.AppendInt(s.buf, int64(x), 10)
	case int16:
		s.buf = strconv.AppendInt(s.buf, int64(x), 10)
	case int32:
		s.buf = strconv.AppendInt(s.buf, int64(x), 10)
	case int64:
		s.buf = strconv.AppendInt(s.buf, x, 10)
	case uint:
		s.buf = strconv.AppendUint(s.buf, uint64(x), 10)
	case uint8:
		s.buf = strconv.AppendUint(s.buf, uint64(x), 10)
	case uint16:
		s.buf = strconv.AppendUint(s.buf, uint64(x), 10)
	case uint32:
		s.buf = strconv.AppendUint(s.buf, uint64(x), 10)
	case uint64:
		s.buf = strconv.AppendUint(s.buf, x, 10)
	case float64:
		s.float(x, 64, d)
	case float32:
		s.float(float64(x), 32, d)
	case json.Number:
		if validNumber(string(x)) {
			s.buf = append(s.buf, x...)
		} else {
			s.str(string(x), d)
		}
	case map[string]any:
		s.mapAny(x, d)
	case map[string]string:
		s.mapString(x, d)
	case []any:
		if d >= s.e.maxDepth {
			s.depthMarker()
			return
		}
		s.buf = append(s.buf, '[')
		for i, el := range x {
			if !s.beginElem(i == 0, d+1) {
				break
			}
			s.value(el, d+1)
		}
		s.buf = append(s.buf, ']')
	case []string:
		if d >= s.e.maxDepth {
			s.depthMarker()
			return
		}
		s.buf = append(s.buf, '[')
		for i, el := range x {
			if !s.beginElem(i == 0, d+1) {
				break
			}
			s.str(el, d+1)
		}
		s.buf = append(s.buf, ']')
	case []map[string]any:
		if d >= s.e.maxDepth {
			s.depthMarker()
			return
		}
		s.buf = append(s.buf, '[')
		for i, el := range x {
			if !s.beginElem(i == 0, d+1) {
				break
			}
			s.mapAny(el, d+1)
		}
		s.buf = append(s.buf, ']')
	case json.RawMessage:
		s.rawNested(x, d)
	case []byte:
		s.bytes(x, d)
	default:
		s.fallback(v, d)
	}
}

// Bytes returns the bytes of v when encoding/json would write v as base64:
// a []byte of any named type, or a non-nil pointer to one, without a
// MarshalJSON or MarshalText method of its own (json.RawMessage has one).
// Such a value is recorded as what it holds instead (see state.bytes).
func Bytes(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case json.Marshaler, encoding.TextMarshaler: // json.RawMessage among them
		return nil, false
	case *[]byte:
		if x != nil {
			return *x, true
		}
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() || implementsMarshaler(rv.Type()) {
			return nil, false
		}
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Slice || rv.Type().Elem().Kind() != reflect.Uint8 || implementsMarshaler(rv.Type()) {
		return nil, false
	}
	return rv.Bytes(), true
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

func implementsMarshaler(t reflect.Type) bool {
	return t.Implements(jsonMarshaler) || t.Implements(textMarshaler) ||
		reflect.PointerTo(t).Implements(jsonMarshaler) || reflect.PointerTo(t).Implements(textMarshaler)
}

// bytes writes b as the JSON object or array it holds, else as the text it
// holds, else as a marker with its size: encoding/json's base64 would hide
// what it holds from every key and detector, here and in the collector.
func (s *state) bytes(b []byte, d int) {
	b = bytes.TrimPrefix(b, bom)
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	if i < len(b) && (b[i] == '{' || b[i] == '[') {
		mark, cut, truncated := len(s.buf), s.cut, s.truncated
		if s.rawTop(b, d) == nil {
			return
		}
		s.buf, s.cut, s.truncated = s.buf[:mark], cut, truncated
	}
	if utf8.Valid(b) {
		s.str(string(b), d)
		return
	}
	s.str("[binary "+strconv.Itoa(len(b))+" bytes]", d)
}

// float writes f as encoding/json does; NaN and infinities, which JSON cannot
// represent, become strings.
func (s *state) float(f float64, bits int, d int) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		s.str(strconv.FormatFloat(f, 'g', -1, bits), d)
		return
	}
	s.buf = appendFloat(s.buf, f, bits)
}

func appendFloat(b []byte, f float64, bits int) []byte {
	// Whole numbers, common in decoded JSON, print as integers: below
	// 2^53 (2^24 for float32) the spacing of floats is at most 1, so the
	// shortest digits that read back as f are all of its digits.
	if f != 0 && f == math.Trunc(f) && (bits == 64 && math.Abs(f) < 1<<53 || math.Abs(f) < 1<<24) {
		return strconv.AppendInt(b, int64(f), 10)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21)) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, bits)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// sortedKeys pushes the keys of m on the key stack, sorted, and returns the
// index of the first; the caller clears and pops them.
func sortedKeys[V any](s *state, m map[string]V) int {
	base := len(s.keys)
	for k := range m {
		s.keys = append(s.keys, k)
	}
	slices.Sort(s.keys[base:])
	return base
}

// member is a map entry being written.
type member struct {
	k string
	v any
}

// smallMap is the largest map whose entries are sorted on the stack.
const smallMap = 16

func (s *state) mapAny(m map[string]any, d int) {
	if m == nil {
		s.buf = append(s.buf, "null"...)
		return
	}
	if d >= s.e.maxDepth {
		s.depthMarker()
		return
	}
	// Sort the entries themselves rather than the keys, which would cost a
	// map lookup per key afterwards. Small maps sort in an array on the
	// stack: no allocation, and, as the array is indexed directly rather
	// than through a slice, no write barriers while the GC runs.
	if len(m) <= smallMap {
		var small [smallMap]member
		n := 0
		for k, v := range m {
			if n == smallMap {
				break // only if m grows under a concurrent (racy) writer
			}
			small[n] = member{k, v}
			n++
		}
		for i := 1; i < n; i++ {
			for j := i; j > 0 && keyLess(small[j].k, small[j-1].k); j-- {
				small[j], small[j-1] = small[j-1], small[j]
			}
		}
		s.writeMembers(small[:n], d)
		return
	}
	base := len(s.members)
	for k, v := range m {
		s.members = append(s.members, member{k, v})
	}
	ms := s.members[base:]
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.k, b.k) })
	s.writeMembers(ms, d)
	clear(s.members[base:])
	s.members = s.members[:base]
}

// writeMembers writes the sorted members ms of a map at depth d as an object.
func (s *state) writeMembers(ms []member, d int) {
	s.buf = append(s.buf, '{')
	for i := range ms {
		mb := &ms[i]
		if !s.beginMember(i == 0, mb.k, d+1) {
			break
		}
		if s.e.sensitive.Match(mb.k) {
			s.maskValue()
			continue
		}
		s.value(mb.v, d+1)
	}
	s.buf = append(s.buf, '}')
}

func (s *state) mapString(m map[string]string, d int) {
	if m == nil {
		s.buf = append(s.buf, "null"...)
		return
	}
	if d >= s.e.maxDepth {
		s.depthMarker()
		return
	}
	base := sortedKeys(s, m)
	n := len(m)
	s.buf = append(s.buf, '{')
	for i := range n {
		k := s.keys[base+i]
		if !s.beginMember(i == 0, k, d+1) {
			break
		}
		if s.e.sensitive.Match(k) {
			s.maskValue()
			continue
		}
		s.str(m[k], d+1)
	}
	s.buf = append(s.buf, '}')
	clear(s.keys[base:])
	s.keys = s.keys[:base]
}

// rawNested writes a json.RawMessage found inside a Go value.
func (s *state) rawNested(raw []byte, d int) {
	if len(raw) == 0 {
		s.buf = append(s.buf, "null"...)
		return
	}
	mark, cut, truncated := len(s.buf), s.cut, s.truncated
	if err := s.rawTop(raw, d); err != nil {
		s.buf, s.cut, s.truncated = s.buf[:mark], cut, truncated
		s.str("[invalid JSON]", d)
	}
}

// fallback encodes v with encoding/json and then masks and bounds the text.
func (s *state) fallback(v any, d int) {
	if b, ok := Bytes(v); ok {
		s.bytes(b, d)
		return
	}
	b, err := marshal(v)
	if err != nil {
		s.str("[unencodable "+reflect.TypeOf(v).String()+"]", d)
		return
	}
	s.rawNested(b, d)
}

// marshal is json.Marshal that turns a panicking MarshalJSON into an error.
func marshal(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("marshal panicked: %v", r)
		}
	}()
	return json.Marshal(v)
}

// keyLess is a < b for sorting map keys: the first bytes, which usually
// differ, are compared inline before the runtime's string comparison.
func keyLess(a, b string) bool {
	if a != "" && b != "" && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}
