package payload

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

const testMask = "***REDACTED***"

func newTestEncoder(t testing.TB, maxBytes, maxDepth int) *Encoder {
	t.Helper()
	e, err := NewEncoder(Config{Sensitive: mustSensitive(t), Mask: testMask, MaxBytes: maxBytes, MaxDepth: maxDepth})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type order struct {
	ID       string `json:"order_id"`
	Password string `json:"password"`
	Amount   int    `json:"amount"`
	Note     string `json:"note,omitempty"`
}

type panicky struct{}

func (panicky) MarshalJSON() ([]byte, error) { panic("boom") }

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return []byte(`{"a":`), nil }

func TestEncode(t *testing.T) {
	e := newTestEncoder(t, 1<<20, 8)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `null`},
		{"string", "hi", `"hi"`},
		{"escapes", "a\"b\\c\n\t\x01\u2028<>&", `"a\"b\\c\n\t\u0001` + "\u2028" + `<>&"`},
		{"invalid utf8", "a\xffb\xc3", `"a\ufffdb\ufffd"`},
		{"bool", true, `true`},
		{"ints", []any{int8(-8), int16(16), int32(-32), int64(64), uint(1), uint8(8), uint16(16), uint32(32), uint64(math.MaxUint64)},
			`[-8,16,-32,64,1,8,16,32,18446744073709551615]`},
		{"floats", []any{1.5, float32(0.25), 1e21, 1e-7, 0.0, -2.0}, `[1.5,0.25,1e+21,1e-7,0,-2]`},
		{"non-finite floats", []any{math.NaN(), math.Inf(1), math.Inf(-1)}, `["NaN","+Inf","-Inf"]`},
		{"json.Number", []any{json.Number("12.5e3"), json.Number("1x")}, `[12.5e3,"1x"]`},
		{"sorted keys", map[string]any{"b": 1, "a": 2, "c": map[string]any{"z": 1, "y": 2}}, `{"a":2,"b":1,"c":{"y":2,"z":1}}`},
		{"masked top level", map[string]any{"user": "ann", "password": "hunter2", "apiKey": 42}, `{"apiKey":"***REDACTED***","password":"***REDACTED***","user":"ann"}`},
		{"masked whole object", map[string]any{"secret": map[string]any{"a": 1}}, `{"secret":"***REDACTED***"}`},
		{"masked nested", map[string]any{"db": map[string]any{"host": "h", "db_password": "p"}}, `{"db":{"db_password":"***REDACTED***","host":"h"}}`},
		{"masked in arrays", map[string]any{"users": []any{map[string]any{"name": "a", "token": "t1"}, []any{map[string]any{"SSN": "1"}}}},
			`{"users":[{"name":"a","token":"***REDACTED***"},[{"SSN":"***REDACTED***"}]]}`},
		{"look-alikes kept", map[string]any{"max_tokens": 100, "token_count": 3}, `{"max_tokens":100,"token_count":3}`},
		{"map[string]string", map[string]string{"Authorization": "Bearer x", "accept": "json"}, `{"Authorization":"***REDACTED***","accept":"json"}`},
		{"[]string", []string{"a", "b"}, `["a","b"]`},
		{"[]map", []map[string]any{{"pwd": 1}, nil}, `[{"pwd":"***REDACTED***"},null]`},
		{"nil map", map[string]any(nil), `null`},
		{"raw message", map[string]any{"q": json.RawMessage(` { "password" : "x", "n" : [1, 2] } `)}, `{"q":{"password":"***REDACTED***","n":[1,2]}}`},
		{"empty raw message", map[string]any{"q": json.RawMessage(nil)}, `{"q":null}`},
		{"invalid raw message", map[string]any{"q": json.RawMessage(`{"a":`), "r": 1}, `{"q":"[invalid JSON]","r":1}`},
		{"struct", order{ID: "O-1", Password: "p", Amount: 3}, `{"order_id":"O-1","password":"***REDACTED***","amount":3}`},
		{"struct pointer in map", map[string]any{"o": &order{ID: "O-2"}}, `{"o":{"order_id":"O-2","password":"***REDACTED***","amount":0}}`},
		{"html in struct", struct{ S string }{"<a&b>"}, `{"S":"<a&b>"}`},
		{"bytes as text", []byte("hi"), `"hi"`},
		{"bytes holding JSON", []byte(` {"card_number":"4111111111111111","password":"hunter2","n":1}`), `{"card_number":"***REDACTED***","password":"***REDACTED***","n":1}`},
		{"bytes holding invalid JSON", []byte(`{"password":`), `"{\"password\":"`},
		{"bytes not text", []byte{0x62, 0xff, 0x00}, `"[binary 3 bytes]"`},
		{"bytes nested", map[string]any{"body": []byte(`[{"token":"t"}]`)}, `{"body":[{"token":"***REDACTED***"}]}`},
		{"unencodable", map[string]any{"c": make(chan int)}, `{"c":"[unencodable chan int]"}`},
		{"panicking marshaler", map[string]any{"p": panicky{}}, `{"p":"[unencodable payload.panicky]"}`},
		{"invalid marshaler", map[string]any{"p": badJSON{}}, `{"p":"[unencodable payload.badJSON]"}`},
		{"invalid utf8 key", map[string]any{"k\xff": 1}, `{"k\ufffd":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := e.Encode(tt.in)
			if got != tt.want {
				t.Errorf("Encode = %s\nwant     %s", got, tt.want)
			}
			if truncated {
				t.Error("truncated = true, want false")
			}
			if !json.Valid([]byte(got)) || !utf8.ValidString(got) {
				t.Errorf("output is not valid JSON/UTF-8: %q", got)
			}
		})
	}
}

func TestEncodeRaw(t *testing.T) {
	e := newTestEncoder(t, 1<<20, 8)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"compacts", " {\n \"a\" : [ 1 , 2.5e-3 , true , false , null ] } \n", `{"a":[1,2.5e-3,true,false,null]}`},
		{"masks", `{"user":"ann","password":"hunter2"}`, `{"user":"ann","password":"***REDACTED***"}`},
		{"masks escaped key", `{"pass\u0077ord":"hunter2","api\u005fkey":"k"}`, `{"password":"***REDACTED***","api_key":"***REDACTED***"}`},
		{"masks objects and arrays", `{"secret":{"a":[1,{"b":2}]},"tokens":[{"access_token":"t"}]}`,
			`{"secret":"***REDACTED***","tokens":[{"access_token":"***REDACTED***"}]}`},
		{"keeps look-alikes", `{"max_tokens":1,"token_count":2}`, `{"max_tokens":1,"token_count":2}`},
		{"duplicate keys both masked", `{"password":"a","password":"b"}`, `{"password":"***REDACTED***","password":"***REDACTED***"}`},
		{"canonical escapes", `"\u0041\/\b\f\n\r\t\"\\\u00e9\ud83d\ude00\u0001"`, `"A/\b\f\n\r\t\"\\é😀\u0001"`},
		{"lone surrogates", `["\ud800","\udc00x","\ud800\u0041"]`, "[\"\uFFFD\",\"\uFFFDx\",\"\uFFFDA\"]"},
		{"top-level scalar", ` 42 `, `42`},
		{"empty containers", `{"a":{},"b":[]}`, `{"a":{},"b":[]}`},
		{"utf8", `{"名前":"値"}`, `{"名前":"値"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated, err := e.EncodeRaw([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("EncodeRaw = %s\nwant        %s", got, tt.want)
			}
			if truncated {
				t.Error("truncated = true, want false")
			}
			if err := Validate([]byte(tt.in)); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func TestEncodeRawInvalid(t *testing.T) {
	e := newTestEncoder(t, 1<<20, 8)
	tests := []struct {
		in     string
		offset int
		msg    string
	}{
		{``, 0, "no JSON value"},
		{`   `, 3, "no JSON value"},
		{`{`, 1, "expected a string key"},
		{`{"a"}`, 4, "expected ':'"},
		{`{"a":}`, 5, "unexpected character"},
		{`{"a":1,}`, 7, "expected a string key"},
		{`{"a":1 "b":2}`, 7, "expected ',' or '}'"},
		{`[1,]`, 3, "unexpected character"},
		{`[1 2]`, 3, "expected ',' or ']'"},
		{`[1`, 2, "unexpected end of input"},
		{`{"a":1} x`, 8, "unexpected data after"},
		{`"abc`, 0, "unterminated string"},
		{"\"a\x01\"", 2, "control character"},
		{"\"a\xffb\"", 2, "invalid UTF-8"},
		{`"\x"`, 1, "invalid escape"},
		{`"\u12"`, 1, `invalid \u escape`},
		{`01`, 1, "unexpected data after"},
		{`-`, 1, "invalid number"},
		{`1.`, 2, "no digits after the decimal point"},
		{`1e+`, 3, "no digits in the exponent"},
		{`tru`, 0, "invalid literal"},
		{`nul`, 0, "invalid literal"},
		{`{"password":[1,}`, 15, "unexpected character"},
		{`{"deep":[[[[[[[[[[1,]]]]]]]]]]}`, 20, "unexpected character"},
		{"{\"k\xff\":1}", 3, "invalid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, _, err := e.EncodeRaw([]byte(tt.in))
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("EncodeRaw(%q) = %q, %v; want a *SyntaxError", tt.in, got, err)
			}
			if se.Offset != tt.offset || !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("EncodeRaw(%q) error = %v; want offset %d and %q", tt.in, err, tt.offset, tt.msg)
			}
			if got != "" {
				t.Errorf("EncodeRaw returned output %q with an error", got)
			}
			if Validate([]byte(tt.in)) == nil {
				t.Errorf("Validate(%q) accepted invalid input", tt.in)
			}
			if json.Valid([]byte(tt.in)) && utf8.ValidString(tt.in) {
				t.Errorf("test case %q is valid JSON", tt.in)
			}
		})
	}
}

func TestDepthLimit(t *testing.T) {
	e := newTestEncoder(t, 1<<20, 3)
	deep := `{"a":{"b":{"c":{"d":1}},"x":[[["y"]]]},"n":1}`
	got, truncated, err := e.EncodeRaw([]byte(deep))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"a":{"b":{"c":"[max depth]"},"x":["[max depth]"]},"n":1,"_truncated":true}`
	if got != want || !truncated {
		t.Errorf("EncodeRaw = %s, %v\nwant        %s, true", got, truncated, want)
	}
	var v any
	if err := json.Unmarshal([]byte(deep), &v); err != nil {
		t.Fatal(err)
	}
	if got, truncated := e.Encode(v); !truncated || !strings.Contains(got, `"c":"[max depth]"`) {
		t.Errorf("Encode = %s, %v; want the depth marker", got, truncated)
	}

	// A cycle is cut by the depth limit.
	cyclic := map[string]any{"name": "loop"}
	cyclic["self"] = cyclic
	got, truncated = e.Encode(cyclic)
	if !truncated || got != `{"name":"loop","self":{"name":"loop","self":{"name":"loop","self":"[max depth]"}},"_truncated":true}` {
		t.Errorf("Encode(cycle) = %s, %v", got, truncated)
	}

	// Input nested far beyond any limit is validated without recursion.
	huge := strings.Repeat("[", 1_000_000) + strings.Repeat("]", 1_000_000)
	got, truncated, err = e.EncodeRaw([]byte(huge))
	if err != nil || got != `{"_truncated":true,"_value":[[["[max depth]"]]]}` || !truncated {
		t.Errorf("EncodeRaw(10⁶ nested arrays) = %.80s, %v, %v", got, truncated, err)
	}
	if err := Validate([]byte(huge[:len(huge)-1])); err == nil {
		t.Error("Validate accepted unbalanced brackets")
	}
}

func TestByteLimit(t *testing.T) {
	const limit = 300
	e := newTestEncoder(t, limit, 8)
	many := map[string]any{}
	for i := range 100 {
		many[strings.Repeat("k", 3)+string(rune('A'+i%26))+string(rune('a'+i/26))] = i
	}
	long := strings.Repeat("é", 1000)
	tests := []struct {
		name   string
		in     any
		prefix string
	}{
		{"long string member", map[string]any{"a": 1, "text": long, "z": 2}, `{"a":1,"text":"éé`},
		{"many members", many, `{"kkkAa":0,`},
		{"long top-level string", long, `{"_truncated":true,"_value":"éé`},
		{"long array", []any{long, long}, `{"_truncated":true,"_value":["éé`},
		{"long key", map[string]any{strings.Repeat("k", 1000): 1, "a": 1}, `{"a":1,"_truncated":true}`},
		{"masked value near the limit", map[string]any{"a": strings.Repeat("x", 200), "password": "p", "token": "t"}, `{"a":"xxx`},
		{"raw", json.RawMessage(`{"text":"` + long + `","n":1}`), `{"text":"éé`},
		{"raw escaped", json.RawMessage(`{"text":"` + strings.Repeat(`\n`, 500) + `"}`), `{"text":"\n\n`},
		{"raw long number", json.RawMessage(`[` + strings.Repeat("9", 1000) + `]`), `{"_truncated":true,"_value":["999`},
		{"struct", struct{ Text string }{long}, `{"Text":"éé`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, truncated := e.Encode(tt.in)
			if !truncated {
				t.Errorf("truncated = false for %s", got)
			}
			if len(got) > limit {
				t.Errorf("len = %d, over the limit %d: %s", len(got), limit, got)
			}
			if !json.Valid([]byte(got)) || !utf8.ValidString(got) {
				t.Fatalf("invalid output %q", got)
			}
			if !strings.HasPrefix(got, tt.prefix) {
				t.Errorf("output %s\ndoes not start with %s", got, tt.prefix)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(got), &v); err != nil || v[TruncatedKey] != true {
				t.Errorf("output %s has no top-level %q: true", got, TruncatedKey)
			}
			if strings.Contains(got, `"p"`) || strings.Contains(got, `"t"`) {
				t.Errorf("a masked value leaked: %s", got)
			}
		})
	}
}

func TestSizeOfMatchesEncode(t *testing.T) {
	e, err := NewEncoder(Config{MaxBytes: MaxMaxBytes, MaxDepth: 10})
	if err != nil {
		t.Fatal(err)
	}
	values := []any{
		nil, "plain", "esc\"\\\n\x01\xff é", true, false, -12, int8(3), uint64(99), 1.25, float32(3.5), 1e300, 1e-9,
		json.Number("3.14"), json.RawMessage(`{"a":1}`),
		map[string]any{}, map[string]any{"a": []any{1, "x", nil, map[string]any{"b\n": false}}},
		map[string]string{"k": "v", "k2": "\t"}, map[string]string{},
		[]any{}, []string{"a", "b"}, []string{}, []map[string]any{{"a": 1}, {}},
		order{ID: "x", Amount: 2},
	}
	for _, v := range values {
		enc, _ := e.Encode(v)
		nodes := sizeNodes
		if got := e.sizeOf(v, 0, &nodes); got != len(enc) {
			t.Errorf("sizeOf(%#v) = %d, want len(%s) = %d", v, got, enc, len(enc))
		}
	}
}

func TestSummarize(t *testing.T) {
	e := newTestEncoder(t, 4096, 8)
	keys, err := NewKeyMatcher([]string{"*_id", "status", "count", "api_key"})
	if err != nil {
		t.Fatal(err)
	}
	big := map[string]any{"order_id": "O-9", "rows": strings.Repeat("x", 5000)}
	tests := []struct {
		name string
		v    any
		o    SummaryOptions
		want string
	}{
		{"identifiers", map[string]any{"order_id": "O-1", "status": "shipped", "items": []any{1, 2}, "customer": map[string]any{"id": "C"}, "count": 2, "note": "n"},
			SummaryOptions{Outcome: true, Success: true, LargeAt: 4096},
			`{"success":true,"count":2,"order_id":"O-1","status":"shipped"}`},
		{"sensitive identifier masked", map[string]any{"api_key": "k", "id": 7},
			SummaryOptions{Outcome: true, Success: true, LargeAt: 4096},
			`{"success":true,"api_key":"***REDACTED***","id":7}`},
		{"null and objects skipped", map[string]any{"id": nil, "status": map[string]any{}},
			SummaryOptions{Outcome: true, Success: true, LargeAt: 4096}, `{"success":true}`},
		{"error", nil, SummaryOptions{Outcome: true, Success: false, Err: "not found", LargeAt: 4096},
			`{"success":false,"error":"not found"}`},
		{"array", []any{1, 2, 3}, SummaryOptions{Outcome: true, Success: true, LargeAt: 4096}, `{"success":true,"_items":3}`},
		{"large", big, SummaryOptions{Outcome: true, Success: true, SizeKey: "_result_size", LargeAt: 4096},
			`{"success":true,"order_id":"O-9","_result_size":5028,"_truncated":true}`},
		{"forced", map[string]any{"id": 1}, SummaryOptions{SizeKey: "_size", Force: true}, `{"id":1,"_size":8,"_truncated":true}`},
		{"raw object", json.RawMessage(`{"order_id":"O-\u0031","status":"ok","x":{"id":1},"api_key":"k","count":1e2,"n":null}`),
			SummaryOptions{Outcome: true, Success: true, LargeAt: 4096},
			`{"success":true,"order_id":"O-1","status":"ok","api_key":"***REDACTED***","count":1e2}`},
		{"raw array", json.RawMessage(` [ {"a":1}, [2], "x" ] `), SummaryOptions{Outcome: true, Success: true, LargeAt: 4096},
			`{"success":true,"_items":3}`},
		{"raw invalid", json.RawMessage(`{"order_id":"O-1","x":[}`), SummaryOptions{Outcome: true, Success: true, LargeAt: 4096},
			`{"success":true,"order_id":"O-1"}`},
		{"struct", order{ID: "O-5", Amount: 1}, SummaryOptions{Outcome: true, Success: true, LargeAt: 4096},
			`{"success":true,"order_id":"O-5"}`},
		{"scalar", "a long document", SummaryOptions{Outcome: true, Success: true, SizeKey: "_result_size", LargeAt: 4},
			`{"success":true,"_result_size":17,"_truncated":true}`},
		{"map[string]string", map[string]string{"status": "ok", "body": "b"}, SummaryOptions{Outcome: true, Success: true, LargeAt: 4096},
			`{"success":true,"status":"ok"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Keys = keys
			got := e.Summarize(tt.v, tt.o)
			if got != tt.want {
				t.Errorf("Summarize = %s\nwant          %s", got, tt.want)
			}
		})
	}
}

func TestSummarizeBounded(t *testing.T) {
	e := newTestEncoder(t, MinMaxBytes, 8)
	keys, _ := NewKeyMatcher([]string{"*_id"})
	m := map[string]any{}
	for i := range 200 {
		m[strings.Repeat("x", i%50)+"_id"+strings.Repeat("_id", i/50)] = strings.Repeat("v", 300)
	}
	got := e.Summarize(m, SummaryOptions{Keys: keys, Outcome: true, Err: strings.Repeat("e", 1000), SizeKey: "_result_size", LargeAt: 10})
	if len(got) > MinMaxBytes || !json.Valid([]byte(got)) {
		t.Errorf("summary of %d bytes (limit %d), valid=%v: %s", len(got), MinMaxBytes, json.Valid([]byte(got)), got)
	}
	if !strings.Contains(got, `"_result_size":`) || !strings.HasSuffix(got, `"_truncated":true}`) {
		t.Errorf("summary lost its tail: %s", got)
	}
}

func TestNewEncoderErrors(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{MaxBytes: 10, MaxDepth: 5}, "max payload bytes 10"},
		{Config{MaxBytes: MaxMaxBytes + 1, MaxDepth: 5}, "max payload bytes"},
		{Config{MaxBytes: 1024, MaxDepth: 0}, "max depth 0"},
		{Config{MaxBytes: 1024, MaxDepth: 5000}, "max depth 5000"},
		{Config{MaxBytes: 1024, MaxDepth: 5, Mask: strings.Repeat("m", 65)}, "mask"},
	}
	for _, tt := range tests {
		if _, err := NewEncoder(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewEncoder(%+v) error = %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func TestConcurrentEncode(t *testing.T) {
	e := newTestEncoder(t, 1024, 8)
	v := map[string]any{"a": strings.Repeat("x", 2000), "password": "p", "list": []any{1, 2, 3}}
	want, _ := e.Encode(v)
	done := make(chan string)
	for range 8 {
		go func() {
			var last string
			for range 200 {
				last, _ = e.Encode(v)
				if last != want {
					break
				}
			}
			done <- last
		}()
	}
	for range 8 {
		if got := <-done; got != want {
			t.Errorf("concurrent Encode = %s, want %s", got, want)
		}
	}
}

func TestEncodeDoesNotRetainInput(t *testing.T) {
	e := newTestEncoder(t, 1024, 8)
	raw := []byte(`{"a":"value"}`)
	got, _, err := e.EncodeRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	copy(raw, bytes.Repeat([]byte("X"), len(raw)))
	if got != `{"a":"value"}` {
		t.Errorf("output changed with the input: %s", got)
	}
}

// refMask is the reference model of masking and depth limiting over decoded
// JSON.
func refMask(v any, d int, m *Matcher, maxDepth int) any {
	switch x := v.(type) {
	case map[string]any:
		if d >= maxDepth {
			return DepthMarker
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			if m.Match(k) {
				out[k] = testMask
			} else {
				out[k] = refMask(val, d+1, m, maxDepth)
			}
		}
		return out
	case []any:
		if d >= maxDepth {
			return DepthMarker
		}
		out := make([]any, len(x))
		for i, val := range x {
			out[i] = refMask(val, d+1, m, maxDepth)
		}
		return out
	}
	return v
}

// checkMasked fails when a value under a sensitive key is not the mask.
func checkMasked(t *testing.T, v any, m *Matcher, out string) {
	t.Helper()
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			if m.Match(k) && val != testMask {
				t.Fatalf("sensitive key %q holds %v in %s", k, val, out)
			}
			checkMasked(t, val, m, out)
		}
	case []any:
		for _, val := range x {
			checkMasked(t, val, m, out)
		}
	}
}

func decodeNumbers(t *testing.T, b []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", b, err)
	}
	return v
}

func TestReferenceModel(t *testing.T) {
	e := newTestEncoder(t, 1<<20, 4)
	in := `{"a":[{"password":{"x":1}},{"b":{"c":{"d":{"e":1}}}}],"Token":"t","n":-0.5e10}`
	got, _, err := e.EncodeRaw([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := refMask(decodeNumbers(t, []byte(in)), 0, e.sensitive, 4)
	gotV := decodeNumbers(t, []byte(got)).(map[string]any)
	delete(gotV, TruncatedKey)
	if !reflect.DeepEqual(gotV, want) {
		t.Errorf("got %v\nwant %v", gotV, want)
	}
}

func TestSizeBound(t *testing.T) {
	e, err := NewEncoder(Config{MaxBytes: MaxMaxBytes, MaxDepth: 3})
	if err != nil {
		t.Fatal(err)
	}
	values := []any{
		nil, true, "s\n\x01é", 7, uint8(3), -1.5e300, float32(2), json.Number("12"), json.RawMessage(`[1,2]`),
		map[string]any{"a": []any{1, "x", map[string]any{"b": map[string]any{"c": map[string]any{}}}}},
		map[string]string{"k": "v\t"}, []string{"a", "\"b\""}, []any{[]any{[]any{[]any{1}}}},
		[]map[string]any{{"a": 1}}, order{ID: "x"},
	}
	for _, v := range values {
		nodes := sizeNodes
		exact := e.sizeOf(v, 0, &nodes)
		if b := e.sizeBound(v, 0, 1<<30); b < exact {
			t.Errorf("sizeBound(%#v) = %d, below the exact size %d", v, b, exact)
		}
	}
	// It stops early, above the limit, on large values.
	big := map[string]any{}
	for i := range 1000 {
		big[string(rune('a'+i%26))+strings.Repeat("k", i%7)+string(rune('A'+i/26))] = strings.Repeat("v", 100)
	}
	for _, v := range []any{big, []any{big}, []string{strings.Repeat("x", 1000)}, map[string]string{"k": strings.Repeat("x", 1000)}} {
		if b := e.sizeBound(v, 0, 100); b <= 100 {
			t.Errorf("sizeBound of a large %T = %d, not above the limit", v, b)
		}
	}
	// Values it cannot bound cheaply are reported as over the limit, so that
	// they are measured exactly.
	if b := e.sizeBound(order{}, 0, 100); b <= 100 {
		t.Errorf("sizeBound(struct) = %d", b)
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	err := Validate([]byte(`{"a" 1}`))
	if err == nil || err.Error() != "invalid JSON at offset 5: expected ':' after an object key" {
		t.Errorf("Validate error = %v", err)
	}
}
