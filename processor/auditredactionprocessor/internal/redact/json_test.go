package redact

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const testKey = "0123456789abcdef0123456789abcdef"

func newTestRedactor(t testing.TB, opts ...Option) *Redactor {
	t.Helper()
	r, err := New(append([]Option{WithHMACKey([]byte(testKey))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// redactString runs a payload string through a fresh scope, as the value of
// the attribute "p".
func redactString(r *Redactor, s string, payload bool) (string, int, []string) {
	sc := r.Scope()
	defer sc.Release()
	sc.path = append(sc.path[:0], "p"...)
	out, changed, tooDeep := sc.text(s, 0, payload)
	if tooDeep {
		sc.record(1)
		out = r.maskJSON
	} else if !changed {
		out = s
	}
	return out, sc.Count(), append([]string(nil), sc.Paths()...)
}

func TestRewriteJSON(t *testing.T) {
	r := newTestRedactor(t)
	email := r.Pseudonym("alice@example.com")
	name := r.Pseudonym("Alice Smith")
	tests := []struct {
		name      string
		in        string
		want      string
		wantPaths []string
	}{
		{"untouched", `{"a": 1, "b": [true, null, "x"]}`, `{"a": 1, "b": [true, null, "x"]}`, nil},
		{"sensitive key", `{"user":"bob","password":"hunter2"}`, `{"user":"bob","password":"***REDACTED***"}`, []string{"p.password"}},
		{"order and spacing kept", "{ \"z\" : 1 ,\n \"api_key\" : \"sk-1\" , \"a\":2 }", "{ \"z\" : 1 ,\n \"api_key\" : \"***REDACTED***\" , \"a\":2 }", []string{"p.api_key"}},
		{"nested", `{"payment":{"card_number":"4111111111111111","amount":12.5}}`, `{"payment":{"card_number":"***REDACTED***","amount":12.5}}`, []string{"p.payment.card_number"}},
		{"number under key", `{"cvv":123}`, `{"cvv":"***REDACTED***"}`, []string{"p.cvv"}},
		{"bool under key kept", `{"password":true,"secret":null}`, `{"password":true,"secret":null}`, nil},
		{"array index path", `{"items":[{"ssn":"x"},{"ok":1},{"ssn":"y"}]}`, `{"items":[{"ssn":"` + r.Pseudonym("x") + `"},{"ok":1},{"ssn":"` + r.Pseudonym("y") + `"}]}`, []string{"p.items[0].ssn", "p.items[2].ssn"}},
		{"container under key masked leaf by leaf", `{"credentials":{"user":"u","pass":"p","n":[1,2]}}`, `{"credentials":{"user":"***REDACTED***","pass":"***REDACTED***","n":["***REDACTED***","***REDACTED***"]}}`, []string{"p.credentials.user", "p.credentials.pass", "p.credentials.n[0]", "p.credentials.n[1]"}},
		{"secrets as member names under key", `{"api_keys":{"sk-live-4f9a8b7c6d5e":"prod","sk-live-1a2b3c4d5e6f":"dev"},"n":1}`,
			`{"api_keys":{"***REDACTED***":"***REDACTED***","***REDACTED***#2":"***REDACTED***"},"n":1}`,
			[]string{"p.api_keys.***REDACTED***", "p.api_keys.***REDACTED***#2"}},
		{"argv array", `{"argv":["mysqldump","--password","S3cret","db"]}`, `{"argv":["mysqldump","--password","***REDACTED***","db"]}`, []string{"p.argv[2]"}},
		{"argv user flag", `{"cmd":["curl","-u","alice:S3cret","https://x"]}`, `{"cmd":["curl","-u","***REDACTED***","https://x"]}`, []string{"p.cmd[2]"}},
		{"argv uid gid", `{"cmd":["docker","run","-u","1000:1000","--token-count","5"]}`, `{"cmd":["docker","run","-u","1000:1000","--token-count","5"]}`, nil},
		{"argv flag then flag", `["tool","--token","--verbose"]`, `["tool","--token","--verbose"]`, nil},
		{"pii pseudonymised", `{"patient_name":"Alice Smith"}`, `{"patient_name":"` + name + `"}`, []string{"p.patient_name"}},
		{"detector in value", `{"note":"card 4111 1111 1111 1111 thanks"}`, `{"note":"card ***REDACTED*** thanks"}`, []string{"p.note"}},
		{"email detector pseudonymises", `{"to":"Alice@Example.com"}`, `{"to":"` + email + `"}`, []string{"p.to"}},
		{"card as number", `{"n":4111111111111111}`, `{"n":"***REDACTED***"}`, []string{"p.n"}},
		{"escaped secret decoded", `{"note":"ssn\u0020123-45-6789"}`, `{"note":"ssn ***REDACTED***"}`, []string{"p.note"}},
		{"escaped key decoded", `{"pass\u0077ord":"x"}`, `{"pass\u0077ord":"***REDACTED***"}`, []string{"p.password"}},
		{"json in json", `{"args":"{\"password\":\"hunter2\",\"q\":\"hi\"}"}`, `{"args":"{\"password\":\"***REDACTED***\",\"q\":\"hi\"}"}`, []string{"p.args.password"}},
		{"json in json in json", `{"a":"{\"b\":\"{\\\"token\\\":\\\"t0k\\\"}\"}"}`, `{"a":"{\"b\":\"{\\\"token\\\":\\\"***REDACTED***\\\"}\"}"}`, []string{"p.a.b.token"}},
		{"email under pii key folds like the detector", `{"email":"Alice@Example.com","note":"email: ALICE@example.com"}`, `{"email":"` + email + `","note":"email: ` + email + `"}`, []string{"p.email", "p.note"}},
		{"email as member name", `{"alice@example.com":{"role":"admin"}}`, `{"` + email + `":{"role":"admin"}}`, []string{"p." + email}},
		{"already redacted", `{"password":"***REDACTED***","email":"` + email + `"}`, `{"password":"***REDACTED***","email":"` + email + `"}`, nil},
		{"top-level array", `[{"token":"a"},"4111111111111111"]`, `[{"token":"***REDACTED***"},"***REDACTED***"]`, []string{"p[0].token", "p[1]"}},
		{"unicode kept", `{"msg":"héllo ☃","secret":"s"}`, `{"msg":"héllo ☃","secret":"***REDACTED***"}`, []string{"p.secret"}},
		{"lookalike untouched", `{"max_tokens":100,"token_count":5,"prompt_tokens":3}`, `{"max_tokens":100,"token_count":5,"prompt_tokens":3}`, nil},
		// Malformed JSON: lenient.
		{"truncated under key", `{"user":"bob","password":"hunt`, `{"user":"bob","password":"***REDACTED***`, []string{"p.password"}},
		{"truncated after value", `{"note":"x","token":"abc","n`, `{"note":"x","token":"***REDACTED***","n`, []string{"p.token"}},
		{"garbage tail detectors", `{"a":1} trailing 4111111111111111`, `{"a":1} trailing ***REDACTED***`, []string{"p"}},
		{"not json with card", `{card 4111111111111111}`, `{card ***REDACTED***}`, []string{"p"}},
		{"single quotes", `{'password': 'x', 'mail': 'bob@example.com'}`, `{'password': '***REDACTED***', 'mail': '` + r.Pseudonym("bob@example.com") + `'}`, []string{"p"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, paths := redactString(r, tt.in, true)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if strings.Join(paths, ",") != strings.Join(tt.wantPaths, ",") {
				t.Errorf("paths = %q, want %q", paths, tt.wantPaths)
			}
			if (n == 0) != (len(tt.wantPaths) == 0) {
				t.Errorf("count = %d with paths %q", n, tt.wantPaths)
			}
			if json.Valid([]byte(tt.in)) && !json.Valid([]byte(got)) {
				t.Errorf("valid input gave invalid output %s", got)
			}
		})
	}
}

func TestRewriteJSONStrict(t *testing.T) {
	r := newTestRedactor(t, WithStrict(true))
	for _, in := range []string{`{"password":"hunt`, `not json at all`, `{"a":1}}`} {
		got, n, paths := redactString(r, in, true)
		if got != DefaultMask || n != 1 || len(paths) != 1 || paths[0] != "p" {
			t.Errorf("strict %q: got %q, %d, %q", in, got, n, paths)
		}
	}
	// A valid payload is rewritten as usual in strict mode.
	got, _, _ := redactString(r, `{"token":"x","a":1}`, true)
	if got != `{"token":"***REDACTED***","a":1}` {
		t.Errorf("strict valid payload: %s", got)
	}
	// Strict applies to payload attributes only; other text is scanned.
	got, _, _ = redactString(r, `[INFO] mail bob@example.com`, false)
	if want := `[INFO] mail ` + r.Pseudonym("bob@example.com"); got != want {
		t.Errorf("strict non-payload: %s, want %s", got, want)
	}
}

func TestRewriteJSONLimits(t *testing.T) {
	r := newTestRedactor(t, WithMaxDepth(8), WithMaxValueBytes(1<<16))
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	const maskJSON = `"` + DefaultMask + `"`
	if got, n, _ := redactString(r, deep, true); got != maskJSON || n != 1 {
		t.Errorf("deep array: got %.40q count %d", got, n)
	}
	deepObj := strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000)
	if got, _, _ := redactString(r, deepObj[:60000], true); got != maskJSON {
		t.Errorf("deep object: got %.40q", got)
	}
	// Nesting through JSON strings counts too.
	nested := `{"password":"x"}`
	for i := 0; i < 10; i++ {
		b, _ := json.Marshal(map[string]string{"a": nested})
		nested = string(b)
	}
	if got, _, _ := redactString(r, nested, true); got != maskJSON {
		t.Errorf("deep JSON-in-JSON: got %.60q", got)
	}
	// Within the limit the same nesting is rewritten.
	shallow := `{"password":"x"}`
	for i := 0; i < 3; i++ {
		b, _ := json.Marshal(map[string]string{"a": shallow})
		shallow = string(b)
	}
	got, _, paths := redactString(r, shallow, true)
	if strings.Contains(got, `\"x\"`) || len(paths) != 1 || paths[0] != "p.a.a.a.password" {
		t.Errorf("JSON-in-JSON: %s %q", got, paths)
	}
	big := `{"a":"` + strings.Repeat("x", 1<<16) + `"}`
	if got, n, _ := redactString(r, big, true); got != maskJSON || n != 1 {
		t.Errorf("oversized: got %.40q", got)
	}
}

func TestRewriteJSONInvalidUTF8(t *testing.T) {
	r := newTestRedactor(t)
	in := "{\"a\":\"\xff\xfe bob@example.com\",\"b\":\"\xc3\"}"
	got, n, _ := redactString(r, in, true)
	if n != 1 || strings.Contains(got, "bob@example.com") {
		t.Fatalf("got %q (%d)", got, n)
	}
	if !json.Valid([]byte(got)) {
		t.Fatalf("invalid JSON out: %q", got)
	}
	var v map[string]string
	if err := json.Unmarshal([]byte(got), &v); err != nil || !strings.HasPrefix(v["a"], "\ufffd\ufffd ") {
		t.Fatalf("unmarshal %q: %v %q", got, err, v)
	}
}

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", "q\"b\\s/", "\n\r\t\x00\x1f", "é☃😀", "\xff", "a\u2028b"} {
		enc := appendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(enc, &back); err != nil {
			t.Fatalf("%q encoded as invalid %s: %v", s, enc, err)
		}
		if !strings.Contains(s, "\xff") && back != s {
			t.Errorf("round trip %q -> %s -> %q", s, enc, back)
		}
		if dec := decodeJSONString(string(enc[1 : len(enc)-1])); !strings.Contains(s, "\xff") && dec != s {
			t.Errorf("decodeJSONString(%s) = %q, want %q", enc, dec, s)
		}
	}
	if got := decodeJSONString(`\ud83d\ude00 \ud800x \u00e9`); got != "😀 \ufffdx é" {
		t.Errorf("surrogates: %q", got)
	}
}

func TestPseudonym(t *testing.T) {
	r := newTestRedactor(t)
	p := r.Pseudonym("123-45-6789")
	if !strings.HasPrefix(p, "hmac-sha256:") || len(p) != 12+64 || !r.isRedacted(p) {
		t.Fatalf("pseudonym %q", p)
	}
	if p != r.Pseudonym("123-45-6789") {
		t.Error("pseudonym is not deterministic")
	}
	other, _ := New(WithHMACKey([]byte(strings.Repeat("z", 32))))
	if other.Pseudonym("123-45-6789") == p {
		t.Error("pseudonym does not depend on the key")
	}
	noKey, _ := New()
	if noKey.Pseudonym("x") != "" {
		t.Error("pseudonym without a key")
	}
	// Known-answer: HMAC-SHA256("key"*..., value) matches crypto/hmac.
	if p != "hmac-sha256:"+hmacHex(testKey, "123-45-6789") {
		t.Error("pseudonym is not HMAC-SHA256 of the value")
	}
}

// With the size limit raised, a 10 MB payload is scanned in full, in linear
// time, and a secret at its very end is still found.
func TestTenMegabytes(t *testing.T) {
	r := newTestRedactor(t, WithMaxValueBytes(16<<20))
	var b strings.Builder
	b.WriteString(`{"rows":[`)
	for b.Len() < 10<<20 {
		b.WriteString(`{"id":12345,"note":"an ordinary row of text","tags":["a","b"]},`)
	}
	b.WriteString(`{"password":"last-secret","note":"card 4111111111111111"}]}`)
	in := b.String()
	got, n, paths := redactString(r, in, true)
	if n != 2 || strings.Contains(got, "last-secret") || strings.Contains(got, "4111111111111111") {
		t.Fatalf("count %d, paths %q", n, paths)
	}
	if len(got) != len(in)-len("last-secret")+len(DefaultMask)-16+len(DefaultMask) {
		t.Fatalf("output length %d, input %d", len(got), len(in))
	}
	// The same size of free text with no JSON in it.
	text := strings.Repeat("plain words, 12:30, a=b; ", (10<<20)/25) + "mail bob@example.com"
	got, n, _ = redactString(r, text, false)
	if n != 1 || strings.Contains(got, "bob@example.com") {
		t.Fatalf("free text: count %d", n)
	}
}

// TestEmbeddedJSON checks JSON inside text that is not JSON as a whole: it
// is rewritten as JSON, so structures under a matched key are masked leaf
// by leaf, and the text around it still goes through the detectors.
func TestEmbeddedJSON(t *testing.T) {
	r := newTestRedactor(t)
	tests := []struct {
		name      string
		in        string
		payload   bool
		want      string
		wantPaths []string
	}{
		{"after a prefix", `Tool returned: {"credentials":{"user":"bob","pw":"s3"},"api_keys":["k1"]} at 4111111111111111`, false,
			`Tool returned: {"credentials":{"user":"***REDACTED***","pw":"***REDACTED***"},"api_keys":["***REDACTED***"]} at ***REDACTED***`,
			[]string{"p.credentials.user", "p.credentials.pw", "p.api_keys[0]", "p"}},
		{"code fence", "```json\n{\"credentials\":{\"pw\":\"s3\"}}\n```", true,
			"```json\n{\"credentials\":{\"pw\":\"***REDACTED***\"}}\n```", []string{"p.credentials.pw"}},
		{"sse line", "data: {\"token\":\"s3\"}\n\n", false, "data: {\"token\":\"***REDACTED***\"}\n\n", []string{"p.token"}},
		{"byte order mark", "\ufeff{\"secret\":{\"a\":\"s3\"}}", true, "\ufeff{\"secret\":{\"a\":\"***REDACTED***\"}}", []string{"p.secret.a"}},
		{"second ndjson document", "{\"ok\":1}\n{\"credentials\":{\"pw\":\"s3\"}}", true,
			"{\"ok\":1}\n{\"credentials\":{\"pw\":\"***REDACTED***\"}}", []string{"p.credentials.pw"}},
		{"key before structure", `login failed, credentials: {"user":"bob","n":1} password=[1,"x"]`, false,
			`login failed, credentials: {"user":"***REDACTED***","n":"***REDACTED***"} password=["***REDACTED***","***REDACTED***"]`,
			[]string{"p.user", "p.n", "p[0]", "p[1]"}},
		{"brackets that are not json", "[Turn 3] {not json} [1, 2", false, "[Turn 3] {not json} [1, 2", nil},
		{"python dict in payload", `{'credentials': {'user': 'bob', 'pw': 's3'}}`, true, `{'credentials': ***REDACTED***}`, []string{"p"}},
		{"untouched embedded", `got {"a":[1,2]} ok`, false, `got {"a":[1,2]} ok`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, paths := redactString(r, tt.in, tt.payload)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
			if strings.Join(paths, ",") != strings.Join(tt.wantPaths, ",") {
				t.Errorf("paths = %q, want %q", paths, tt.wantPaths)
			}
			if (n == 0) != (len(tt.wantPaths) == 0) {
				t.Errorf("count = %d with paths %q", n, tt.wantPaths)
			}
		})
	}
}

// TestEmbeddedJSONBrackets pushes text made of brackets that never close
// (or close late) through the free-text path: every '{' and '[' is tried
// as JSON, and the tries are bounded (a megabyte of "[1," took 3.5 s
// before); text that uses the bound up has its rest masked, so that what
// follows the brackets cannot get past it, escaped as JSON or not (64
// brackets before {"k":"\u0041KIA…"} did).
func TestEmbeddedJSONBrackets(t *testing.T) {
	r := newTestRedactor(t)
	for _, unit := range []string{"[", "{", "[1,", `{"a":`, `["x",`, "[[1],", `{"a":[`, `x{"k":"v"`} {
		in := "text " + strings.Repeat(unit, (DefaultMaxValueBytes-64)/len(unit)) + ` token=s3cret {"k":"\u0041KIAIOSFODNN7EXAMPLE"}`
		got, _, _ := redactString(r, in, false)
		if strings.Contains(got, "s3cret") || strings.Contains(got, "IOSFODNN7") {
			t.Errorf("%q…: what followed the brackets leaked", unit)
		}
	}
	in := strings.Repeat("[", 64) + ` {"k":"\u0041KIAIOSFODNN7EXAMPLE"}`
	if got, _, _ := redactString(r, in, false); strings.Contains(got, "IOSFODNN7") {
		t.Errorf("64 brackets before an escaped key: %q", got)
	}
}

// TestEmbeddedJSONCutOff: JSON in text cut off by a length limit, whose
// parsed part holds something to redact, is redacted as JSON (its escapes
// decoded) and not left to the text rules, which escapes get past.
func TestEmbeddedJSONCutOff(t *testing.T) {
	r := newTestRedactor(t, WithDetector(DetectorEmail, ActionMask))
	for _, tt := range []struct{ in, secret string }{
		{`Tool failed: {"dsn":"postgres:\/\/app:S3cretPw@db\/x","n":"x`, "S3cretPw"},
		{`Tool failed: {"k":"\u0041KIAIOSFODNN7EXAMPLE","n":"x`, "IOSFODNN7"},
		{`Tool failed: {"result":"{\"data\":\"{\\\"token\\\":\\\"S3cretPw\\\"}\"}","n":"x`, "S3cretPw"},
		{`Tool failed: {"m":"ren\u00e9e@example.org","n":"x`, "ren"},
		{`Tool failed: {"a":"x@y.io","password":"hun`, "hun"},
	} {
		got, _, _ := redactString(r, tt.in, false)
		if strings.Contains(got, tt.secret) {
			t.Errorf("%s\nleaked %q: %s", tt.in, tt.secret, got)
		}
	}
}

// TestMemberNameCollisions checks that member names redacted alike stay
// distinct, so that a JSON parser keeps every member.
func TestMemberNameCollisions(t *testing.T) {
	r := newTestRedactor(t, WithDetector(DetectorEmail, ActionMask))
	keyed := newTestRedactor(t)
	p := keyed.Pseudonym("alice@example.com")
	tests := []struct {
		name string
		r    *Redactor
		in   string
		want string
	}{
		{"two masked", r, `{"acl":{"alice@example.com":"admin","bob@example.com":"viewer"}}`,
			`{"acl":{"***REDACTED***":"admin","***REDACTED***#2":"viewer"}}`},
		{"three masked and a plain one", r, `{"a@x.io":1,"b@x.io":2,"k":3,"c@x.io":4}`,
			`{"***REDACTED***":1,"***REDACTED***#2":2,"k":3,"***REDACTED***#3":4}`},
		{"one address in two cases", keyed, `{"alice@example.com":1,"ALICE@example.com":2}`,
			`{"` + p + `":1,"` + p + `#2":2}`},
		{"name taken by a plain member", r, `{"a@x.io":1,"***REDACTED***":2}`,
			`{"***REDACTED***":1,"***REDACTED***#2":2}`},
		{"nested objects are separate", r, `{"a@x.io":{"b@x.io":1},"c":{"d@x.io":2}}`,
			`{"***REDACTED***":{"***REDACTED***":1},"c":{"***REDACTED***":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, _ := redactString(tt.r, tt.in, true)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			var in, out map[string]any
			if err := json.Unmarshal([]byte(tt.in), &in); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(got), &out); err != nil {
				t.Fatal(err)
			}
			if len(out) != len(in) {
				t.Errorf("%d members parse from the output, %d from the input", len(out), len(in))
			}
		})
	}
}

func TestIntegralDigits(t *testing.T) {
	tests := []struct {
		in   string
		want string // "" for not ok
	}{
		{"4111111111111111e0", "4111111111111111"},
		{"4111111111111111E0", "4111111111111111"},
		{"4111111111111111.0", "4111111111111111"},
		{"37828224631000.5e1", "378282246310005"},
		{"1.23456789e8", "123456789"},
		{"1.23456789E+8", "123456789"},
		{"-4.111111111111111e15", "-4111111111111111"},
		{"100e-2", "1"},
		{"0.0", "0"},
		{"0e5", "0"},
		{"1e23", "100000000000000000000000"},
		{"1e24", ""},
		{"1e400", ""},
		{"1e-400", ""},
		{"0.5", ""},
		{"12.25e1", ""},
		{"123", ""}, // plain integers are scanned as written
		{"-7", ""},
	}
	for _, tt := range tests {
		got, ok := integralDigits(tt.in)
		if ok != (tt.want != "") || got != tt.want {
			t.Errorf("integralDigits(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
	}
}

// TestNumberForms checks that a card number written with an exponent or a
// fraction is detected, and that one integer gets one pseudonym however a
// JSON number writes it.
func TestNumberForms(t *testing.T) {
	r := newTestRedactor(t)
	ssn := r.Pseudonym("123456789")
	tests := []struct{ in, want string }{
		{`{"pan":4111111111111111e0,"amex":37828224631000.5e1}`, `{"pan":"***REDACTED***","amex":"***REDACTED***"}`},
		{`{"pan":4111111111111111.0}`, `{"pan":"***REDACTED***"}`},
		{`{"ssn":123456789}`, `{"ssn":"` + ssn + `"}`},
		{`{"ssn":1.23456789e8}`, `{"ssn":"` + ssn + `"}`},
		{`{"ssn":123456789.00}`, `{"ssn":"` + ssn + `"}`},
		{`{"amount":12.5,"big":1e300,"t":1712345678901234567}`, `{"amount":12.5,"big":1e300,"t":1712345678901234567}`},
	}
	for _, tt := range tests {
		got, _, _ := redactString(r, tt.in, true)
		if got != tt.want {
			t.Errorf("%s:\ngot  %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

// TestManyCollidingNames: thousands of member names redacted alike get
// distinct suffixes in linear time; each new name searched the names before
// it for every n, cubic in their number (4,000 took 53 s, a megabyte did not
// finish in 14 minutes).
func TestManyCollidingNames(t *testing.T) {
	r := newTestRedactor(t)
	const n = 20000
	var b strings.Builder
	b.WriteString(`{"api_keys":{`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":1`, i)
	}
	b.WriteString(`}}`)
	got, count, _ := redactString(r, b.String(), true)
	var out map[string]map[string]any
	if err := json.Unmarshal([]byte(got), &out); err != nil {
		t.Fatal(err)
	}
	if len(out["api_keys"]) != n || count != 2*n {
		t.Fatalf("%d members, %d redactions; want %d and %d", len(out["api_keys"]), count, n, 2*n)
	}
}

// BenchmarkFreeTextBrackets redacts a megabyte of brackets that never close
// (or close late), the text TestEmbeddedJSONBrackets checks: each op is one
// megabyte string through the free-text path.
func BenchmarkFreeTextBrackets(b *testing.B) {
	r := newTestRedactor(b)
	for _, unit := range []string{"[", "[1,", `{"a":[`, `["x",`} {
		in := "text " + strings.Repeat(unit, (DefaultMaxValueBytes-64)/len(unit))
		b.Run(strings.Trim(unit, `"`), func(b *testing.B) {
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				redactString(r, in, false)
			}
		})
	}
}

// BenchmarkCollidingNames redacts an object of 20,000 members whose names
// are all masked alike, the input of TestManyCollidingNames.
func BenchmarkCollidingNames(b *testing.B) {
	r := newTestRedactor(b)
	var sb strings.Builder
	sb.WriteString(`{"api_keys":{`)
	for i := range 20000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `"k%d":1`, i)
	}
	sb.WriteString(`}}`)
	in := sb.String()
	for b.Loop() {
		redactString(r, in, true)
	}
}
