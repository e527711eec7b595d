package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// The differential tests hold the encoder to a reference built from
// encoding/json: the value is first masked and depth-limited by a plain
// walk (refWalk, the masking model), then written by encoding/json with
// HTML escaping off. The encoder must produce the same bytes. The reference
// encodes the encoder's documented departures from encoding/json, and
// nothing else:
//
//   - U+2028 and U+2029 are written as they are, not as \u2028 and \u2029;
//   - NaN and infinities, which JSON cannot hold, become the strings "NaN",
//     "+Inf" and "-Inf"; a json.Number that is not a number becomes a string;
//   - a nil []any, []string or []map[string]any is written as [], like an
//     empty one (a nil map is null, as in encoding/json);
//   - an empty json.RawMessage is null, and one that is not valid JSON in
//     valid UTF-8 becomes the string "[invalid JSON]";
//   - a value encoding/json cannot encode becomes "[unencodable TYPE]";
//   - a value nested deeper than the limit becomes "[max depth]", and the
//     output then carries "_truncated": true.

// diffDepth is the depth limit of the differential encoder: low enough that
// generated values reach it.
const diffDepth = 5

func newDiffEncoder(t testing.TB) *Encoder {
	t.Helper()
	return newTestEncoder(t, 1<<20, diffDepth)
}

// refEncode returns the reference encoding of v and whether a depth marker
// was written.
func refEncode(t testing.TB, e *Encoder, v any) (string, bool) {
	t.Helper()
	r := refWalker{m: e.sensitive, maxDepth: e.maxDepth}
	w := r.walk(v, 0)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		t.Fatalf("reference: encoding/json refused the masked value %#v: %v", w, err)
	}
	out := unescapeSeparators(strings.TrimSuffix(buf.String(), "\n"))
	switch {
	case !r.marked:
		return out, false
	case out == "{}":
		return `{"` + TruncatedKey + `":true}`, true
	case strings.HasPrefix(out, "{"):
		return out[:len(out)-1] + `,"` + TruncatedKey + `":true}`, true
	}
	return `{"` + TruncatedKey + `":true,"` + valueKey + `":` + out + `}`, true
}

// unescapeSeparators turns encoding/json's \u2028 and \u2029 escapes back
// into the characters. Backslashes occur only inside strings, and every
// escape is skipped whole, so an escaped backslash followed by "u2028" is
// left alone.
func unescapeSeparators(s string) string {
	if !strings.Contains(s, `\u202`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if esc := s[i:min(i+6, len(s))]; esc == `\u2028` || esc == `\u2029` {
			b.WriteRune(rune(0x2020 + int(esc[5]-'0')))
			i += 5
			continue
		}
		b.WriteString(s[i : i+2])
		i++
	}
	return b.String()
}

// refWalker is the masking model: it copies a value into the plain shapes
// encoding/json writes (map[string]any, []any, scalars), with values under
// sensitive keys replaced by the mask and containers at the depth limit by
// DepthMarker.
type refWalker struct {
	m        *Matcher
	maxDepth int
	marked   bool // a depth marker was written
}

func (r *refWalker) depth() any {
	r.marked = true
	return DepthMarker
}

func (r *refWalker) walk(v any, d int) any {
	switch x := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'g', -1, 64)
		}
		return x
	case float32:
		if f := float64(x); math.IsNaN(f) || math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'g', -1, 32)
		}
		return x
	case json.Number:
		if validNumber(string(x)) {
			return x
		}
		return string(x)
	case map[string]any:
		if x == nil {
			return nil
		}
		if d >= r.maxDepth {
			return r.depth()
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			if r.m.Match(k) {
				out[k] = testMask
			} else {
				out[k] = r.walk(val, d+1)
			}
		}
		return out
	case map[string]string:
		if x == nil {
			return nil
		}
		if d >= r.maxDepth {
			return r.depth()
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			if r.m.Match(k) {
				out[k] = testMask
			} else {
				out[k] = val
			}
		}
		return out
	case []any:
		if d >= r.maxDepth {
			return r.depth()
		}
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = r.walk(val, d+1)
		}
		return out
	case []string:
		if d >= r.maxDepth {
			return r.depth()
		}
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = val
		}
		return out
	case []map[string]any:
		if d >= r.maxDepth {
			return r.depth()
		}
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = r.walk(val, d+1)
		}
		return out
	case orderedObject:
		if d >= r.maxDepth {
			return r.depth()
		}
		out := make(orderedObject, len(x))
		for i, m := range x {
			out[i] = orderedMember{m.k, testMask}
			if !r.m.Match(m.k) {
				out[i].v = r.walk(m.v, d+1)
			}
		}
		return out
	case json.RawMessage:
		if len(x) == 0 {
			return nil
		}
		if !json.Valid(x) || !utf8.Valid(x) {
			return "[invalid JSON]"
		}
		return r.walk(decodeRef(x), d)
	case []byte:
		// Not encoding/json's base64: the JSON object or array it holds,
		// else its text, else a marker.
		if t := bytes.TrimLeft(x, " \t\n\r"); len(t) > 0 && (t[0] == '{' || t[0] == '[') && json.Valid(x) && utf8.Valid(x) {
			return r.walk(decodeRef(x), d)
		}
		if utf8.Valid(x) {
			return string(x)
		}
		return "[binary " + strconv.Itoa(len(x)) + " bytes]"
	}
	b, err := refMarshal(v)
	if err != nil {
		return "[unencodable " + reflect.TypeOf(v).String() + "]"
	}
	return r.walk(json.RawMessage(b), d)
}

// orderedObject is a JSON object decoded with its members in order,
// duplicates included, as the encoder rewrites raw JSON: a map would sort
// and merge them.
type orderedObject []orderedMember

type orderedMember struct {
	k string
	v any
}

func (o orderedObject) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, m := range o {
		if i > 0 {
			b = append(b, ',')
		}
		k, err := marshalNoHTML(m.k)
		if err != nil {
			return nil, err
		}
		v, err := marshalNoHTML(m.v)
		if err != nil {
			return nil, err
		}
		b = append(append(append(b, k...), ':'), v...)
	}
	return append(b, '}'), nil
}

func marshalNoHTML(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// decodeRef decodes JSON the reference accepted: objects as orderedObject,
// numbers as written.
func decodeRef(b []byte) any {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	token := func() json.Token {
		tok, err := dec.Token()
		if err != nil {
			panic(fmt.Sprintf("reference: decode %q: %v", b, err))
		}
		return tok
	}
	var read func() any
	read = func() any {
		switch tok := token(); tok {
		case json.Delim('{'):
			o := orderedObject{}
			for dec.More() {
				k := token().(string)
				o = append(o, orderedMember{k, read()})
			}
			token()
			return o
		case json.Delim('['):
			a := []any{}
			for dec.More() {
				a = append(a, read())
			}
			token()
			return a
		default:
			return tok
		}
	}
	return read()
}

func refMarshal(v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return json.Marshal(v)
}

// Types that the encoder hands to encoding/json.
type (
	diffStruct struct {
		A        string `json:"a"`
		Password string `json:"password"`
		Z        any    `json:"z"`
	}
	// diffMarshaler writes v through json.Marshal.
	diffMarshaler struct{ v any }
	diffText      string
	errMarshaler  struct{}
	// diffRaw writes its bytes as they are, valid JSON or not.
	diffRaw []byte
)

func (m diffMarshaler) MarshalJSON() ([]byte, error) { return json.Marshal(m.v) }
func (d diffText) MarshalText() ([]byte, error)      { return []byte("text:" + string(d)), nil }
func (errMarshaler) MarshalJSON() ([]byte, error)    { return nil, errors.New("no") }
func (r diffRaw) MarshalJSON() ([]byte, error)       { return r, nil }

// source feeds the value generator: the fuzzer's bytes, then zeros, which
// pick the leaves, so that every input yields a finite value.
type source struct {
	data []byte
	rng  *rand.Rand // when not nil, used instead of data
}

func (s *source) byte() byte {
	if s.rng != nil {
		return byte(s.rng.Uint32())
	}
	if len(s.data) == 0 {
		return 0
	}
	c := s.data[0]
	s.data = s.data[1:]
	return c
}

func (s *source) n(k int) int { return int(s.byte()) % k }

func (s *source) uint64() uint64 {
	var u uint64
	for range 8 {
		u = u<<8 | uint64(s.byte())
	}
	return u
}

var diffKeys = []string{
	"", "a", "ab", "b", "order_id", "amount", "password", "db_password", "Authorization",
	"api_key", "apiKey", "max_tokens", "token_count", "token", "ssn", "spin", "cvv2",
	"<a&b>", "k\xff", "k\xfe", "é", "\u2028", "x\ny", "\"q\"", `back\slash`, "\x00", "\x7f",
	"Z", "_truncated", "ünïcode", "日本",
}

var diffStrings = []string{
	"", "plain", "O-1001", "damaged in transit", "<script>&amp;</script>",
	"\xff\xfe", "a\xc3", "\xed\xa0\x80", "\u2028\u2029", `\u2028`, "tab\there", "\b\f\r\n\x01\x1f",
	"\x7f", "é日本😀", "\"quoted\"", `back\slash`, "S3NT1N3L",
}

var diffFloats = []float64{
	0, math.Copysign(0, -1), 1, -1.5, 129.99, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 1.5e300,
	123456789.125, 3, -42, 1 << 53, 1<<53 - 1, -(1<<53 - 1), 1e15, 16777215, 16777216, 16777217, 1e16, math.SmallestNonzeroFloat64, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1),
}

var diffNumbers = []json.Number{"0", "-0", "12", "-0.5e10", "1e999", "1E+2", "abc", "01", "", "1.", "+1", " 1"}

var diffRaws = []string{
	`{}`, `[]`, `null`, `1.0`, `"\u003c\u2028x"`, `{"a":1,"password":"p","z":[true,{"token":2}]}`,
	`[{"a":{"b":{"c":{"d":{"e":{}}}}}}]`, `{"a":`, ` `, "\"\xff\"", `"\ud800"`, ` [1 , 2] `, `1e999`,
}

// gen returns a random value of the shapes the encoder meets.
func gen(s *source, d int) any {
	if d > diffDepth+2 {
		return nil
	}
	switch s.n(20) {
	case 0:
		return nil
	case 1:
		return diffStrings[s.n(len(diffStrings))]
	case 2:
		b := make([]byte, s.n(12))
		for i := range b {
			b[i] = s.byte()
		}
		return string(b)
	case 3:
		return s.n(2) == 1
	case 4:
		u := s.uint64()
		switch s.n(10) {
		case 0:
			return int(u)
		case 1:
			return int8(u)
		case 2:
			return int16(u)
		case 3:
			return int32(u)
		case 4:
			return int64(u)
		case 5:
			return uint(u)
		case 6:
			return uint8(u)
		case 7:
			return uint16(u)
		case 8:
			return uint32(u)
		default:
			return []any{uint64(u), uint64(math.MaxUint64), int64(math.MinInt64)}[s.n(3)]
		}
	case 5:
		if s.n(4) == 0 {
			return math.Float64frombits(s.uint64())
		}
		return diffFloats[s.n(len(diffFloats))]
	case 6:
		if s.n(4) == 0 {
			return math.Float32frombits(uint32(s.uint64()))
		}
		return float32(diffFloats[s.n(len(diffFloats))])
	case 7:
		return diffNumbers[s.n(len(diffNumbers))]
	case 8, 9:
		if s.n(8) == 0 {
			return map[string]any(nil)
		}
		m := map[string]any{}
		for range s.n(7) {
			m[diffKeys[s.n(len(diffKeys))]] = gen(s, d+1)
		}
		if s.n(16) == 0 {
			// More members than the encoder sorts on the stack.
			for i := range smallMap + 3 {
				m[fmt.Sprintf("k%02d", i)] = i
			}
		}
		return m
	case 10:
		if s.n(8) == 0 {
			return map[string]string(nil)
		}
		m := map[string]string{}
		for range s.n(5) {
			m[diffKeys[s.n(len(diffKeys))]] = diffStrings[s.n(len(diffStrings))]
		}
		return m
	case 11:
		if s.n(8) == 0 {
			return []any(nil)
		}
		a := make([]any, s.n(5))
		for i := range a {
			a[i] = gen(s, d+1)
		}
		return a
	case 12:
		if s.n(8) == 0 {
			return []string(nil)
		}
		a := make([]string, s.n(4))
		for i := range a {
			a[i] = diffStrings[s.n(len(diffStrings))]
		}
		return a
	case 13:
		if s.n(8) == 0 {
			return []map[string]any(nil)
		}
		a := make([]map[string]any, s.n(3))
		for i := range a {
			a[i], _ = gen(s, d+1).(map[string]any)
		}
		return a
	case 14:
		if s.n(3) == 0 {
			if b, err := refMarshal(gen(s, d+1)); err == nil {
				return json.RawMessage(b)
			}
		}
		return json.RawMessage(diffRaws[s.n(len(diffRaws))])
	case 15:
		return diffStruct{A: diffStrings[s.n(len(diffStrings))], Password: "S3NT1N3L", Z: gen(s, d+1)}
	case 16:
		return diffMarshaler{gen(s, d+1)}
	case 17:
		switch s.n(6) {
		case 0:
			return errMarshaler{}
		case 1:
			return panicky{}
		case 2:
			return diffRaw(diffRaws[s.n(len(diffRaws))])
		case 3:
			return time.Unix(int64(s.n(200))*1e7, int64(s.n(100))).UTC()
		case 4:
			return map[diffText]int{diffText(diffStrings[s.n(len(diffStrings))]): 1}
		default:
			return func() {}
		}
	case 18:
		str := diffStrings[s.n(len(diffStrings))]
		n := int64(s.n(100))
		return []any{&str, &n, (*int)(nil), &diffStruct{A: "p"}}[s.n(4)]
	default:
		return []any{struct{}{}, []byte("bytes\xff"), [2]int{1, 2}, map[string]int{"b": 1, "a": 2}}[s.n(4)]
	}
}

// checkDifferential compares the encoder with the reference on v.
func checkDifferential(t *testing.T, e *Encoder, v any) {
	t.Helper()
	want, marked := refEncode(t, e, v)
	got, truncated := e.Encode(v)
	if got != want {
		t.Fatalf("value %#v:\nencoder   %q\nreference %q", v, got, want)
	}
	if truncated != marked {
		t.Fatalf("value %#v: truncated = %v, want %v", v, truncated, marked)
	}
}

// TestDifferentialEncoding compares the encoder with the encoding/json
// reference on random nested values: every shape the encoder walks itself
// and the ones it hands to encoding/json, with invalid UTF-8, NaN and
// infinities, json.Marshaler types, nil maps and slices, extreme integers,
// sensitive keys and look-alikes, and nesting past the depth limit.
func TestDifferentialEncoding(t *testing.T) {
	e := newDiffEncoder(t)
	src := &source{rng: rand.New(rand.NewPCG(1, 2))}
	n := 20000
	if testing.Short() {
		n = 2000
	}
	kinds := map[string]int{}
	for range n {
		v := gen(src, 0)
		kinds[fmt.Sprintf("%T", v)]++
		checkDifferential(t, e, v)
		// The same value one level down, under a plain and a sensitive key.
		checkDifferential(t, e, map[string]any{"v": v, "token": v})
	}
	// The generator must reach every shape, or the test proves less than
	// it claims.
	for _, k := range []string{"<nil>", "string", "bool", "float64", "float32", "json.Number", "map[string]interface {}",
		"map[string]string", "[]interface {}", "[]string", "[]map[string]interface {}", "json.RawMessage",
		"payload.diffStruct", "payload.diffMarshaler", "payload.errMarshaler", "payload.panicky", "time.Time",
		"*string", "uint64", "int8"} {
		if kinds[k] == 0 {
			t.Errorf("the generator made no %s", k)
		}
	}
}

// TestDifferentialCases pins the departures from encoding/json listed above
// and a few values where the two could part.
func TestDifferentialCases(t *testing.T) {
	e := newDiffEncoder(t)
	deep := any(1)
	for range diffDepth + 2 {
		deep = []any{deep}
	}
	for _, tc := range []struct {
		name string
		v    any
		want string
	}{
		{"separators kept", "a\u2028b\u2029", "\"a\u2028b\u2029\""},
		{"escaped separator text", `\u2028`, `"\\u2028"`},
		{"html kept", "<a&b>", `"<a&b>"`},
		{"invalid UTF-8", "a\xffb", `"a\ufffdb"`},
		{"control characters", "\b\f\n\r\t\x01\x7f", `"\b\f\n\r\t\u0001` + "\x7f" + `"`},
		{"NaN and infinities", []any{math.NaN(), math.Inf(1), float32(math.Inf(-1))}, `["NaN","+Inf","-Inf"]`},
		{"float formats", []any{1e-7, 1e21, 1e20, float32(0.1), math.Copysign(0, -1)}, `[1e-7,1e+21,100000000000000000000,0.1,-0]`},
		{"extreme integers", []any{uint64(math.MaxUint64), int64(math.MinInt64)}, `[18446744073709551615,-9223372036854775808]`},
		{"nil containers", []any{map[string]any(nil), map[string]string(nil), []any(nil), []string(nil), []map[string]any(nil)}, `[null,null,[],[],[]]`},
		{"invalid json.Number", json.Number("01"), `"01"`},
		{"raw empty and invalid", []any{json.RawMessage(nil), json.RawMessage(`{"a":`)}, `[null,"[invalid JSON]"]`},
		{"raw masked, order and duplicates kept", json.RawMessage(`{"z":1,"Password":"x","a":"\u003c","z":2}`), `{"z":1,"Password":"***REDACTED***","a":"<","z":2}`},
		{"marshaler masked", diffStruct{A: "a", Password: "p", Z: map[string]any{"api_key": 1}}, `{"a":"a","password":"***REDACTED***","z":{"api_key":"***REDACTED***"}}`},
		{"unencodable", errMarshaler{}, `"[unencodable payload.errMarshaler]"`},
		{"depth", deep, `{"_truncated":true,"_value":[[[[["[max depth]"]]]]]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := e.Encode(tc.v)
			if got != tc.want {
				t.Errorf("encoder %q, want %q", got, tc.want)
			}
			if ref, _ := refEncode(t, e, tc.v); ref != tc.want {
				t.Errorf("reference %q, want %q", ref, tc.want)
			}
		})
	}
}

// FuzzDifferentialEncoding builds a value from the fuzzer's bytes and
// compares the encoder with the encoding/json reference on it.
func FuzzDifferentialEncoding(f *testing.F) {
	for _, seed := range [][]byte{
		nil,
		{8, 3, 5, 1, 7, 5, 14},
		{8, 6, 6, 9, 5, 0, 5, 8, 7, 1, 4, 0, 0, 0, 0, 0, 0, 0, 7},
		{11, 4, 8, 4, 11, 3, 8, 2, 11, 2, 8, 1, 11, 1, 1},
		{16, 8, 3, 3, 2, 5, 2, 9, 5, 15},
		{14, 0, 8, 2, 6, 3, 19, 5, 16},
		{17, 0, 17, 1, 17, 2, 4, 17, 3, 9, 9, 17, 4, 3},
		[]byte("\x08\x05\x00\x05\x0e\x0f\x06\x11\x05\x12\x02\xff\xfe\x01"),
	} {
		f.Add(seed)
	}
	e := newDiffEncoder(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		v := gen(&source{data: data}, 0)
		checkDifferential(t, e, v)
		checkDifferential(t, e, map[string]any{"v": v, "secret": v})
	})
}

// TestWholeFloats holds the integer fast path of appendFloat to
// encoding/json around the bounds where it stops (2^24 for float32, 2^53
// for float64) and on random whole numbers of every magnitude.
func TestWholeFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var f64 []float64
	for _, edge := range []float64{1 << 24, 1 << 53, 1e15, 1e21} {
		for d := -40.0; d <= 40; d++ {
			f64 = append(f64, edge+d, -(edge + d), edge*(1+d/1e6))
		}
	}
	for range 20000 {
		f64 = append(f64, math.Trunc(math.Ldexp(r.Float64(), r.IntN(70))), float64(r.Int64N(1<<53)))
	}
	for _, f := range f64 {
		for _, v := range []any{f, float32(f)} {
			want, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			var got []byte
			if x, ok := v.(float32); ok {
				got = appendFloat(nil, float64(x), 32)
			} else {
				got = appendFloat(nil, f, 64)
			}
			if string(got) != string(want) {
				t.Fatalf("%T %v: got %s, want %s", v, v, got, want)
			}
		}
	}
}

// TestSummarizeManyIdentifiers covers summaries with more identifiers than
// the stack array holds, up to and past maxIDs: they come out sorted, with
// sensitive ones masked, and at most maxIDs of them.
func TestSummarizeManyIdentifiers(t *testing.T) {
	e := newDiffEncoder(t)
	keys, err := NewKeyMatcher([]string{"*_id", "api_key"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 7, 8, 9, 12, maxIDs - 1, maxIDs, maxIDs + 5} {
		m := map[string]any{"note": "x", "api_key": "k"}
		var want []string
		if n > 0 {
			want = append(want, `"api_key":"***REDACTED***"`)
		}
		for i := range n - 1 {
			k := fmt.Sprintf("k%02d_id", i)
			m[k] = i
			want = append(want, fmt.Sprintf(`"%s":%d`, k, i))
		}
		if n == 0 {
			delete(m, "api_key")
		}
		got := e.Summarize(m, SummaryOptions{Keys: keys, Outcome: true, Success: true, LargeAt: 1 << 20})
		if n <= maxIDs {
			if w := `{"success":true` + strings.Join(append([]string{""}, want...), ",") + `}`; got != w {
				t.Errorf("%d identifiers: got %s, want %s", n, got, w)
			}
			continue
		}
		// Past maxIDs, which ones are kept depends on the map's order.
		var v map[string]any
		if err := json.Unmarshal([]byte(got), &v); err != nil {
			t.Fatal(err)
		}
		if len(v) != 1+maxIDs {
			t.Errorf("%d identifiers: %d members in %s, want %d", n, len(v), got, 1+maxIDs)
		}
	}
}
