package payload

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

var fuzzSeeds = []string{
	`{"user":"ann","password":"hunter2","n":1}`,
	`{"db":{"host":"h","db_password":"p"},"list":[{"api_key":"k"},{"max_tokens":5}]}`,
	`{"pass\u0077ord":"x","\ud800":"\udc00","e":"\u00e9\n"}`,
	`[1,-0.5e+10,true,false,null,"s",{},[]]`,
	`{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}`,
	`"top-level string"`,
	`{"a":1,"a":2,"secret":{"nested":[1,2]}}`,
	`{"k":"` + strings.Repeat("x", 400) + `","Authorization":"Bearer t"}`,
	`{"a":`,
	"{\"a\":\"\xff\"}",
	`[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]`,
	` 1e999 `,
}

// checkOutput asserts the invariants of every encoder output.
func checkOutput(t *testing.T, e *Encoder, out string) any {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("output is not valid UTF-8: %q", out)
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("output is not valid JSON: %q", out)
	}
	if len(out) > e.maxBytes {
		t.Fatalf("output of %d bytes exceeds the limit %d", len(out), e.maxBytes)
	}
	v := decodeNumbers(t, []byte(out))
	checkMasked(t, v, e.sensitive, out)
	return v
}

// FuzzEncodeRaw checks the JSON rewriter: it accepts exactly what
// encoding/json accepts as valid UTF-8 JSON, never panics, always writes
// valid bounded JSON with every sensitive value masked, and, when nothing was
// truncated, writes the same data as the reference model.
func FuzzEncodeRaw(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	big := newTestEncoder(f, 1<<20, 6)
	small := newTestEncoder(f, MinMaxBytes, 6)
	f.Fuzz(func(t *testing.T, data []byte) {
		valid := json.Valid(data) && utf8.Valid(data)
		if err := Validate(data); (err == nil) != valid {
			t.Fatalf("Validate(%q) = %v, encoding/json valid = %v", data, err, valid)
		}
		out, truncated, err := big.EncodeRaw(data)
		if (err == nil) != valid {
			t.Fatalf("EncodeRaw(%q) error = %v, encoding/json valid = %v", data, err, valid)
		}
		if err != nil {
			return
		}
		got := checkOutput(t, big, out)
		want := refMask(decodeNumbers(t, data), 0, big.sensitive, big.maxDepth)
		if truncated {
			// Only the depth limit can truncate at this size: unwrap the mark.
			m, ok := got.(map[string]any)
			if !ok || m[TruncatedKey] != true {
				t.Fatalf("truncated output %s has no mark", out)
			}
			if wm, isObj := want.(map[string]any); isObj {
				if _, clash := wm[TruncatedKey]; clash {
					return
				}
				delete(m, TruncatedKey)
			} else {
				got = m[valueKey]
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("EncodeRaw(%s) = %s\ndecoded %#v\nwant    %#v", data, out, got, want)
		}
		if out, _, err := small.EncodeRaw(data); err != nil {
			t.Fatalf("small encoder: %v", err)
		} else {
			checkOutput(t, small, out)
		}
	})
}

// FuzzEncodeValue checks the encoder of Go values with fuzzed keys and
// strings (including invalid UTF-8) placed beside and under sensitive keys.
func FuzzEncodeValue(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "note", "value")
	}
	f.Add([]byte(`{}`), "db_password", "s3cr3t")
	f.Add([]byte(`[]`), "k\xff", "v\xfe\x01")
	big := newTestEncoder(f, 1<<20, 6)
	small := newTestEncoder(f, MinMaxBytes, 6)
	f.Fuzz(func(t *testing.T, data []byte, key, val string) {
		var payload any
		if json.Unmarshal(data, &payload) != nil {
			payload = string(data)
		}
		v := map[string]any{
			"payload":  payload,
			"password": val,
			"list":     []any{map[string]any{key: val, "api_key": val}, val},
			"headers":  map[string]string{key: val, "Authorization": val},
			"raw":      json.RawMessage(data),
			"bytes":    data,
		}
		if key != "" {
			v[key] = val
		}
		// A sentinel placed only under sensitive keys, among fuzzed data,
		// never reaches the output, whatever the nesting or the encoder.
		const sentinel = "S3NT1N3L-0f-a-s3cr3t"
		if !strings.Contains(string(data), sentinel) && !strings.Contains(key, sentinel) {
			secretKey := key + "_password"
			w := map[string]any{
				"payload":   payload,
				secretKey:   sentinel,
				"nested":    map[string]any{key: []any{map[string]any{"apiKey": sentinel}}, "Authorization": sentinel},
				"raw":       json.RawMessage(`{"token":"` + sentinel + `","x":[{"client_secret":{"v":"` + sentinel + `"}}]}`),
				"body":      []byte(`{"token":"` + sentinel + `","x":[{"client_secret":{"v":"` + sentinel + `"}}]}`),
				"headers":   map[string]string{"X-Api-Key": sentinel, key: "v"},
				"deep":      []any{[]any{[]any{[]any{[]any{[]any{[]any{map[string]any{"ssn": sentinel}}}}}}}},
				"structure": struct{ Password string }{sentinel},
			}
			for _, e := range []*Encoder{big, small} {
				if out, _ := e.Encode(w); strings.Contains(out, sentinel) {
					t.Fatalf("a sensitive value leaked: %s", out)
				}
				if out, _, err := e.EncodeRaw([]byte(`{"` + "password" + `":"` + sentinel + `","p":` + string(mustMarshal(t, payload)) + `}`)); err == nil && strings.Contains(out, sentinel) {
					t.Fatalf("a sensitive value leaked from raw JSON: %s", out)
				}
				if out := e.Summarize(w, SummaryOptions{Keys: e.sensitive, Outcome: true}); strings.Contains(out, sentinel) {
					t.Fatalf("a sensitive value leaked into a summary: %s", out)
				}
			}
		}
		for _, e := range []*Encoder{big, small} {
			out, _ := e.Encode(v)
			got := checkOutput(t, e, out)
			if e == big {
				m := got.(map[string]any)
				if m["password"] != testMask {
					t.Fatalf("password not masked: %s", out)
				}
				if !big.sensitive.Match(key) && val != "" && utf8.ValidString(val) && utf8.ValidString(key) {
					if l := m["list"].([]any); l[1] != val {
						t.Fatalf("value %q lost: %s", val, out)
					}
				}
			}
		}
	})
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzSummarize checks summaries of raw and decoded results.
func FuzzSummarize(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), "error message")
	}
	e := newTestEncoder(f, MinMaxBytes, 6)
	keys, err := NewKeyMatcher([]string{"*_id", "status", "password", "n"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, msg string) {
		var decoded any
		_ = json.Unmarshal(data, &decoded)
		for _, v := range []any{json.RawMessage(data), decoded} {
			out := e.Summarize(v, SummaryOptions{Keys: keys, Outcome: true, Err: msg, SizeKey: "_result_size", LargeAt: 64})
			got := checkOutput(t, e, out)
			m, ok := got.(map[string]any)
			if !ok || m[SuccessKey] != false {
				t.Fatalf("summary %s has no outcome", out)
			}
			if msg != "" && m[ErrorKey] == nil {
				t.Fatalf("summary %s has no error", out)
			}
		}
	})
}
