package redact

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// TestNamedValuePairs covers objects that carry a key as data, in a
// name/value pair (Kubernetes env vars, HAR header lists, AWS tags,
// CloudFormation parameters): the value member gets the action the name
// would give a member of that name, whatever the member order.
func TestNamedValuePairs(t *testing.T) {
	r := newTestRedactor(t)
	const m = "***REDACTED***"
	alice := r.Pseudonym("alice@example.com")
	tests := []struct {
		name      string
		in        string
		want      string
		wantPaths []string
	}{
		{"k8s env", `{"env":[{"name":"DB_PASSWORD","value":"hunter2"},{"name":"LOG_LEVEL","value":"debug"}]}`,
			`{"env":[{"name":"DB_PASSWORD","value":"` + m + `"},{"name":"LOG_LEVEL","value":"debug"}]}`,
			[]string{"p.env[0].value"}},
		{"k8s valueFrom is a reference", `{"env":[{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"db","key":"password"}}}]}`,
			`{"env":[{"name":"DB_PASSWORD","valueFrom":{"secretKeyRef":{"name":"db","key":"password"}}}]}`, nil},
		{"value before name", `{"value":"hunter2","name":"password"}`, `{"value":"` + m + `","name":"password"}`, []string{"p.value"}},
		{"value before name, members between", `{"value":"hunter2", "note":"x", "n":[1,{"a":2}] ,"name":"password"}`,
			`{"value":"` + m + `", "note":"x", "n":[1,{"a":2}] ,"name":"password"}`, []string{"p.value"}},
		{"HAR headers", `{"headers":[{"name":"Authorization","value":"Basic dXNlcjpwdw=="},{"name":"Cookie","value":"sid=abc; tok=def"},{"name":"Accept","value":"*/*"}]}`,
			`{"headers":[{"name":"Authorization","value":"` + m + `"},{"name":"Cookie","value":"` + m + `"},{"name":"Accept","value":"*/*"}]}`,
			[]string{"p.headers[0].value", "p.headers[1].value"}},
		{"AWS tag", `{"Tags":[{"Key":"api_token","Value":"tok-123"},{"Key":"team","Value":"core"}]}`,
			`{"Tags":[{"Key":"api_token","Value":"` + m + `"},{"Key":"team","Value":"core"}]}`, []string{"p.Tags[0].Value"}},
		{"CloudFormation parameter", `{"Parameters":[{"ParameterValue":"S3cret!","ParameterKey":"DbPassword"}]}`,
			`{"Parameters":[{"ParameterValue":"` + m + `","ParameterKey":"DbPassword"}]}`, []string{"p.Parameters[0].ParameterValue"}},
		{"generic key/value", `{"key":"client_secret","value":"cs-1"}`, `{"key":"client_secret","value":"` + m + `"}`, []string{"p.value"}},
		{"PII pseudonymised", `{"name":"email","value":"Alice@Example.com"}`, `{"name":"email","value":"` + alice + `"}`, []string{"p.value"}},
		{"PII before name", `{"value":"alice@example.com","name":"email"}`, `{"value":"` + alice + `","name":"email"}`, []string{"p.value"}},
		{"structure masked leaf by leaf", `{"name":"credentials","value":{"user":"u","pw":"p","n":[1,true]}}`,
			`{"name":"credentials","value":{"user":"` + m + `","pw":"` + m + `","n":["` + m + `",true]}}`,
			[]string{"p.value.user", "p.value.pw", "p.value.n[0]"}},
		{"structure before name", `{"value":{"user":"u","list":["a"]},"name":"credentials"}`,
			`{"value":{"user":"` + m + `","list":["` + m + `"]},"name":"credentials"}`, []string{"p.value.user", "p.value.list[0]"}},
		{"value before name: what the first pass found is not counted twice", `{"value":"4111111111111111 x@example.com","note":"card 4111111111111111","name":"password"}`,
			`{"value":"` + m + `","note":"card ` + m + `","name":"password"}`, []string{"p.note", "p.value"}},
		{"value before name: JSON in it masked whole", `{"value":"{\"password\":\"x\",\"a\":\"b\"}","name":"secret"}`,
			`{"value":"` + m + `","name":"secret"}`, []string{"p.value"}},
		{"value before name: JSON in it and a member between record", `{"value":"{\"password\":\"x\"}","note":"4111111111111111","name":"secret"}`,
			`{"value":"` + m + `","note":"` + m + `","name":"secret"}`, []string{"p.note", "p.value"}},
		{"two pairs strengthened in turn", `{"value":"a@b.com","ParameterValue":"c@d.com","key":"email","ParameterKey":"password","name":"secret"}`,
			`{"value":"` + m + `","ParameterValue":"` + m + `","key":"email","ParameterKey":"password","name":"secret"}`, []string{"p.ParameterValue", "p.value"}},
		{"two pairs strengthened in turn, other order", `{"ParameterValue":"c@d.com","value":"a@b.com","ParameterKey":"email","key":"password","ParameterKey":"token"}`,
			`{"ParameterValue":"` + m + `","value":"` + m + `","ParameterKey":"email","key":"password","ParameterKey":"token"}`, []string{"p.value", "p.ParameterValue"}},
		{"number value", `{"name":"cvv","value":123}`, `{"name":"cvv","value":"` + m + `"}`, []string{"p.value"}},
		{"number value before name", `{"value":123,"name":"cvv"}`, `{"value":"` + m + `","name":"cvv"}`, []string{"p.value"}},
		{"case and separators", `[{"NAME":"db-password","VALUE":"a"},{"parameter_key":"token","parameter_value":"b"}]`,
			`[{"NAME":"db-password","VALUE":"` + m + `"},{"parameter_key":"token","parameter_value":"` + m + `"}]`,
			[]string{"p[0].VALUE", "p[1].parameter_value"}},
		{"mixed pairings do not cross", `{"ParameterKey":"password","value":"v1","ParameterValue":"v2"}`,
			`{"ParameterKey":"password","value":"v1","ParameterValue":"` + m + `"}`, []string{"p.ParameterValue"}},
		{"name stays, its detector runs", `{"name":"alice@example.com","value":"x"}`, `{"name":"` + alice + `","value":"x"}`, []string{"p.name"}},
		{"name classified as it came", `{"key":"Bearer abcdefghijkl_password","value":"v"}`, `{"key":"Bearer ` + m + `","value":"` + m + `"}`, []string{"p.key", "p.value"}},
		{"lookalike name", `{"name":"max_tokens","value":"100"}`, `{"name":"max_tokens","value":"100"}`, nil},
		{"name not a string", `{"name":{"first":"password"},"value":"v"}`, `{"name":{"first":"password"},"value":"v"}`, nil},
		{"escaped name", `{"name":"pass\u0077ord","value":"v"}`, `{"name":"pass\u0077ord","value":"` + m + `"}`, []string{"p.value"}},
		{"mask beats pseudonym", `{"value":"v","name":"email","key":"password"}`, `{"value":"` + m + `","name":"email","key":"password"}`, []string{"p.value"}},
		{"duplicate value members", `{"value":"v1","value":"v2","name":"password"}`, `{"value":"` + m + `","value":"` + m + `","name":"password"}`, []string{"p.value"}},
		{"OTLP JSON attribute", `{"attributes":[{"key":"db.password","value":{"stringValue":"hunter2"}}]}`,
			`{"attributes":[{"key":"db.password","value":{"stringValue":"` + m + `"}}]}`, []string{"p.attributes[0].value.stringValue"}},
		{"nested pairs, names last", `{"value":{"value":"inner","name":"token"},"name":"note"}`,
			`{"value":{"value":"` + m + `","name":"token"},"name":"note"}`, []string{"p.value.value"}},
		{"nested pairs, outer masks all", `{"value":{"value":"inner","name":"note"},"name":"secret"}`,
			`{"value":{"value":"` + m + `","name":"` + m + `"},"name":"secret"}`, []string{"p.value.value", "p.value.name"}},
		{"under a masked key everything is masked", `{"secret":{"name":"x","value":"y"}}`, `{"secret":{"name":"` + m + `","value":"` + m + `"}}`, []string{"p.secret.name", "p.secret.value"}},
		{"json in json", `{"args":"{\"value\":\"hunter2\",\"name\":\"DB_PASSWORD\"}"}`, `{"args":"{\"value\":\"` + m + `\",\"name\":\"DB_PASSWORD\"}"}`, []string{"p.args.value"}},
		{"allowed name", `{"name":"token_type","value":"bearer"}`, `{"name":"token_type","value":"bearer"}`, nil},
		{"already masked", `{"value":"` + m + `","name":"password"}`, `{"value":"` + m + `","name":"password"}`, nil},
		// Lenient: a truncated value under a named pair is masked to the end.
		{"truncated value", `{"name":"password","value":"hunt`, `{"name":"password","value":"` + m, []string{"p.value"}},
		{"truncated after name", `{"value":"hunter2","name":"password"`, `{"value":"` + m + `","name":"password"`, []string{"p.value"}},
		{"truncated after name, then more", `{"value":"hunter2","name":"password",`, `{"value":"` + m + `","name":"password",`, []string{"p.value"}},
	}
	ra := newTestRedactor(t, WithAllowedKeys("token_type"))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rr := r
			if tt.name == "allowed name" {
				rr = ra
			}
			got, n, paths := redactString(rr, tt.in, true)
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
			if strings.Join(paths, ",") != strings.Join(tt.wantPaths, ",") {
				t.Errorf("paths %q, want %q", paths, tt.wantPaths)
			}
			if wantN := strings.Count(tt.want, m) + strings.Count(tt.want, "hmac-sha256:") - strings.Count(tt.in, m); n != wantN {
				t.Errorf("count %d, want %d", n, wantN)
			}
			if json.Valid([]byte(tt.in)) && !json.Valid([]byte(got)) {
				t.Errorf("invalid output %s", got)
			}
			// A second pass leaves it alone and counts nothing. (Not for
			// input cut off under a key: cutOff masks what follows the
			// key again, {"password":"***REDACTED*** included, as it did
			// before named pairs.)
			if !json.Valid([]byte(tt.in)) {
				return
			}
			again, n2, _ := redactString(rr, got, true)
			if again != got || n2 != 0 {
				t.Errorf("second pass: %s (count %d)", again, n2)
			}
		})
	}
}

// TestNamedValuePairsInText checks pairs in JSON inside free text.
func TestNamedValuePairsInText(t *testing.T) {
	r := newTestRedactor(t)
	in := `spec failed: env=[{"value":"hunter2","name":"DB_PASSWORD"}] retry`
	got, n, paths := redactString(r, in, false)
	want := `spec failed: env=[{"value":"***REDACTED***","name":"DB_PASSWORD"}] retry`
	if got != want || n != 1 || strings.Join(paths, ",") != "p[0].value" {
		t.Errorf("got %s, %d, %q", got, n, paths)
	}
}

// TestNamedValuePairsPdata checks pairs in map attributes and slices of
// maps, and in a top-level attribute map (a structured logger's
// "key", k, "value", v).
func TestNamedValuePairsPdata(t *testing.T) {
	r := newTestRedactor(t)
	const m = "***REDACTED***"
	attrs := pcommon.NewMap()
	env := attrs.PutEmptySlice("env")
	for _, kv := range [][2]string{{"DB_PASSWORD", "hunter2"}, {"LOG_LEVEL", "debug"}} {
		e := env.AppendEmpty().SetEmptyMap()
		e.PutStr("value", kv[1]) // value first: map order must not matter
		e.PutStr("name", kv[0])
	}
	h := attrs.PutEmptyMap("header")
	h.PutStr("Name", "Authorization")
	h.PutEmptyMap("Value").PutStr("scheme", "Basic dXNlcjpwdw==")
	tag := attrs.PutEmptyMap("tag")
	tag.PutInt("Value", 1234)
	tag.PutStr("Key", "email")
	cf := attrs.PutEmptyMap("param")
	cf.PutStr("ParameterKey", "note")
	cf.PutStr("ParameterValue", "plain")
	cf.PutStr("Value", "plain")
	cf.PutStr("key", "password") // pairs with Value, not ParameterValue
	// A name member the detectors change is classified as it came.
	kv := attrs.PutEmptyMap("kv")
	kv.PutStr("key", "Bearer abcdefghijkl_password")
	kv.PutStr("value", "v")
	sc := r.Scope()
	defer sc.Release()
	sc.Attributes("", attrs)
	got := attrs.AsRaw()
	want := map[string]any{
		"env": []any{
			map[string]any{"value": m, "name": "DB_PASSWORD"},
			map[string]any{"value": "debug", "name": "LOG_LEVEL"},
		},
		"header": map[string]any{"Name": "Authorization", "Value": map[string]any{"scheme": m}},
		"tag":    map[string]any{"Value": r.Pseudonym("1234"), "Key": "email"},
		"param":  map[string]any{"ParameterKey": "note", "ParameterValue": "plain", "Value": m, "key": "password"},
		"kv":     map[string]any{"key": "Bearer " + m, "value": m},
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("got  %s\nwant %s", gj, wj)
	}
	wantPaths := "env[0].value,header.Value.scheme,tag.Value,param.Value,kv.key,kv.value"
	if p := strings.Join(sc.Paths(), ","); p != wantPaths || sc.Count() != 6 {
		t.Errorf("paths %q count %d, want %q 6", p, sc.Count(), wantPaths)
	}

	// A structured logger's top-level attributes pair too.
	top := pcommon.NewMap()
	top.PutStr("key", "stripe_api_key")
	top.PutStr("value", "sk_live_x")
	sc.Reset()
	sc.Attributes("", top)
	if v, _ := top.Get("value"); v.Str() != m || strings.Join(sc.Paths(), ",") != "value" {
		t.Errorf("top level: %q %q", v.Str(), sc.Paths())
	}

	// A second pass changes and counts nothing.
	sc.Reset()
	sc.Attributes("", attrs)
	if sc.Count() != 0 {
		t.Errorf("second pass counted %d at %q", sc.Count(), sc.Paths())
	}
}

// pairBenchInputs are the inputs of BenchmarkNamedPairs and
// TestNamedPairsWorstCases, each about a megabyte: an ordinary payload
// with no pair, env lists in either member order, many value members
// before one name, many that each record a path before two names that
// redo each of them twice, and pairs nested to the depth limit with their
// names last, where each level redoes what it holds.
func pairBenchInputs() []struct{ name, in string } {
	const size = 1 << 20
	rep := func(prefix, unit, suffix string) string {
		n := (size - len(prefix) - len(suffix)) / (len(unit) + 1)
		return prefix + strings.TrimSuffix(strings.Repeat(unit+",", n), ",") + suffix
	}
	var nested strings.Builder
	const depth = DefaultMaxDepth - 2
	for range depth {
		nested.WriteString(`{"value":`)
	}
	nested.WriteString(`"` + strings.Repeat("x", size-depth*40) + `"`)
	for range depth {
		nested.WriteString(`,"name":"password"}`)
	}
	var paths strings.Builder // value members whose first pass records a path each
	paths.WriteString(`{`)
	for i := 0; paths.Len() < size-64; i++ {
		fmt.Fprintf(&paths, `"value":{"k%d":"a@b.com"},`, i)
	}
	paths.WriteString(`"key":"email","name":"password"}`)
	return []struct{ name, in string }{
		{"ordinary", rep(`{"items":[`, `{"sku":"A-1","qty":2,"note":"leave at door","price":{"value":12.5,"unit":"EUR"}}`, `]}`)},
		{"env name first", rep(`{"env":[`, `{"name":"DB_PASSWORD","value":"hunter2"},{"name":"LOG_LEVEL","value":"debug"}`, `]}`)},
		{"env value first", rep(`{"env":[`, `{"value":"hunter2","name":"DB_PASSWORD"},{"value":"debug","name":"LOG_LEVEL"}`, `]}`)},
		{"many values, name last", rep(`{`, `"value":"hunter2"`, `,"name":"password"}`)},
		{"many values with paths, names last", paths.String()},
		{"nested, names last", nested.String()},
	}
}

// TestNamedPairsWorstCases checks that in the worst cases for redoing
// values every value is masked and the output stays JSON; their time is
// BenchmarkNamedPairs's.
func TestNamedPairsWorstCases(t *testing.T) {
	r := newTestRedactor(t)
	for _, c := range pairBenchInputs() {
		out, _, _ := redactString(r, c.in, true)
		if strings.Contains(out, "hunter2") || strings.Contains(out, "xxxxxxxx") || strings.Contains(out, "a@b.com") {
			t.Errorf("%s: a value survived", c.name)
		}
		if !json.Valid([]byte(out)) {
			t.Errorf("%s: invalid output", c.name)
		}
	}
}

// BenchmarkNamedPairs redacts the inputs of pairBenchInputs; one op is one
// megabyte payload.
func BenchmarkNamedPairs(b *testing.B) {
	r := newTestRedactor(b)
	for _, c := range pairBenchInputs() {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.in)))
			b.ReportAllocs()
			for b.Loop() {
				redactString(r, c.in, true)
			}
		})
	}
}

// TestNamedPairsUnchanged checks that a pair whose value a late name
// leaves as it was (a boolean, an empty string, a value already masked) is
// reported unchanged, so that callers keep the input and free text is not
// taken as changed JSON.
func TestNamedPairsUnchanged(t *testing.T) {
	r := newTestRedactor(t)
	for _, in := range []string{
		`{"value":true,"name":"password"}`,
		`{"value":"","key":"token"}`,
		`{"value":"***REDACTED***","name":"password"}`,
		`[{"value":null,"name":"secret"},{"value":"` + r.Pseudonym("x") + `","name":"email"}]`,
	} {
		sc := r.Scope()
		out, changed, st := sc.rewriteJSON(in, 0)
		if changed || out != in || st != parseOK || sc.Count() != 0 {
			t.Errorf("%s: changed %v, %s, count %d", in, changed, out, sc.Count())
		}
		sc.Release()
	}
}
