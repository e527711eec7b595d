package redact

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

var fuzzSeeds = []string{
	`{"a":1}`,
	`{"password":"hunter2","nested":{"api_key":"k","list":[1,"4111111111111111",{"ssn":"123-45-6789"}]}}`,
	`{"args":"{\"token\":\"abc\",\"inner\":\"{\\\"secret\\\":1}\"}"}`,
	`[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]`,
	`{"pass\u0077ord":"x","\ud83d\ude00":"😀"}`,
	"{\"a\":\"\xff\xfe\"}",
	`{"email":"Alice@Example.com","note":"Bearer abcdefghijklmnop"}`,
	`{"truncated":"`,
	`not json 4111 1111 1111 1111 AKIAIOSFODNN7EXAMPLE`,
	`-----BEGIN PRIVATE KEY-----abc-----END PRIVATE KEY-----`,
	`{"a":-1.5e+10,"b":0,"c":[true,false,null]}`,
	`"just a string with eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"`,
	`{"env":[{"value":"hunter2","name":"DB_PASSWORD"},{"name":"Cookie","value":{"a":["b"]}}]}`,
	`[{"Value":"v","Key":"email","Value":"w"},{"ParameterValue":"{\"value\":1,\"key\":\"token\"}","ParameterKey":"x"}]`,
	`<ns:Password Type="t">pw</ns:Password><entry key="token"><![CDATA[x]]></entry><param name="api_key" value="v"/>`,
	`<credentials><user>bob</user><!-- c --><pw a='1'>x</pw>`,
	"Command '['mysql', '-uroot', '-pS3cret']' returned 1; sshpass -p pw ssh -p 22 h",
	`["mysqldump","-pS3cret"]`,
	"password: “two words” token=‘a b’ secret: «c d»",
	"db:\n  password: |-\n    a\n\n    b\n  host: x",
	"user%5Bpassword%5D=x&ids[]=1&pass%77ord=y&next=%2F%3Ftoken%3Dz%26a%3D1",
}

// FuzzRewriteJSON checks the JSON rewriter on arbitrary input: it never
// panics, valid JSON stays valid, and a secret planted under a sensitive key
// and one planted in free text never survive, whatever surrounds them.
func FuzzRewriteJSON(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, "other")
	}
	f.Add(`{"value":"x","name":"password"}`, "DB_PASSWORD")
	f.Add(`"4111111111111111"`, "email")
	r, err := New(WithHMACKey([]byte(testKey)), WithMaxDepth(16), WithMaxValueBytes(1<<16))
	if err != nil {
		f.Fatal(err)
	}
	const planted = "Pl4nted-S3cret-Value-zq"
	const card = "5555555555554444"
	f.Fuzz(func(t *testing.T, doc, key string) {
		out, _, _ := redactString(r, doc, true)
		if json.Valid([]byte(doc)) && !json.Valid([]byte(out)) {
			t.Fatalf("valid input %q gave invalid output %q", doc, out)
		}
		if strings.Contains(doc, planted) || strings.Contains(key, planted) || strings.Contains(doc, card) || strings.Contains(key, card) {
			return
		}
		var inner json.RawMessage = []byte(doc)
		if !json.Valid(inner) {
			inner, _ = json.Marshal(doc)
		}
		keyJSON, _ := json.Marshal(key)
		// Named pairs, the value member first, with the fuzzed key and
		// document between: whatever sits there, the value is masked.
		pairs := json.RawMessage(`[{"value":"` + planted + `",` + string(keyJSON) + `:` + string(inner) + `,"name":"DB_PASSWORD"},` +
			`{"ParameterValue":{"x":["` + planted + `"]},"ParameterKey":"api_token",` + string(keyJSON) + `:` + string(inner) + `}]`)
		wrapped, err := json.Marshal(map[string]any{
			key:          inner,
			"a_password": planted,
			"note":       "pay " + card + " " + doc,
			"list":       []any{inner, map[string]any{"Api-Key": planted}},
			"env":        pairs,
		})
		if err != nil {
			return
		}
		out, n, _ := redactString(r, string(wrapped), true)
		if strings.Contains(out, planted) || strings.Contains(out, card) {
			t.Fatalf("planted secret survived in %q", out)
		}
		if n < 5 && out != r.maskJSON { // masked whole past the depth limit
			t.Fatalf("count %d < 5 for %q", n, out)
		}
		if !json.Valid([]byte(out)) {
			t.Fatalf("invalid output %q", out)
		}
		// Nested in a JSON string the same holds.
		str, _ := json.Marshal(map[string]string{"payload": string(wrapped)})
		out, _, _ = redactString(r, string(str), true)
		if strings.Contains(out, planted) || strings.Contains(out, card) || !json.Valid([]byte(out)) {
			t.Fatalf("nested: planted secret survived or invalid JSON in %q", out)
		}
		// A named pair's value is redacted alike, and counted alike,
		// whichever member comes first: redacting it again when the name
		// comes last must give what redacting it once under the name's
		// action gives.
		nameFirst := `{"name":` + string(keyJSON) + `,"value":` + string(inner) + `}`
		valueFirst := `{"value":` + string(inner) + `,"name":` + string(keyJSON) + `}`
		out1, n1, _ := redactString(r, nameFirst, true)
		out2, n2, _ := redactString(r, valueFirst, true)
		var m1, m2 map[string]json.RawMessage
		if err1, err2 := json.Unmarshal([]byte(out1), &m1), json.Unmarshal([]byte(out2), &m2); err1 != nil || err2 != nil {
			if out1 == r.maskJSON && out2 == r.maskJSON { // past the depth limit
				return
			}
			t.Fatalf("invalid output %q / %q", out1, out2)
		}
		if n1 != n2 || string(m1["value"]) != string(m2["value"]) || string(m1["name"]) != string(m2["name"]) {
			t.Fatalf("member order matters:\n%s (%d)\n%s (%d)", out1, n1, out2, n2)
		}
	})
}

// FuzzDetectors checks that every detector returns in-bounds, non-empty
// spans on arbitrary input, and that redacting its output again settles: a
// second pass may catch only what the first created, a third changes
// nothing.
func FuzzDetectors(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	r, err := New(WithHMACKey([]byte(testKey)))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, scan := range builtins {
			for _, sp := range scan(s, nil) {
				if sp.start < 0 || sp.end > len(s) || sp.start >= sp.end {
					t.Fatalf("%s: bad span %v in %q", name, sp, s)
				}
			}
		}
		sc := r.Scope()
		defer sc.Release()
		once, _ := sc.detect(s)
		twice, changed := sc.detect(once)
		if changed && twice != once {
			// A second pass may only find what the first one created by
			// joining text around a mask; it must never grow without
			// bound, so a third pass must be stable.
			if third, _ := sc.detect(twice); third != twice {
				t.Fatalf("not stable: %q -> %q -> %q", once, twice, third)
			}
		}
	})
}

// FuzzNamedPairs checks that member order does not matter to named pairs:
// an object of three value members and three name members, in an order
// the fuzzer picks, redacts each member to the same bytes, with the same
// count and the same paths, as the object with its name members first,
// where each value is redacted once under its final action.
func FuzzNamedPairs(f *testing.F) {
	f.Add(`"hunter2"`, `{"a":["b",1]}`, "DB_PASSWORD", "email", uint16(0))
	f.Add(`"a@b.com"`, `"c@d.com"`, "email", "password", uint16(0))
	f.Add(`"a@b.com"`, `"c@d.com"`, "email", "password", uint16(5))
	f.Add(`"{\"password\":\"x\"}"`, `4111111111111111`, "note", "token", uint16(77))
	f.Add(`{"value":"x","name":"secret"}`, `[{"key":"api_key","value":"y"}]`, "first_name", "cookie", uint16(1234))
	r, err := New(WithHMACKey([]byte(testKey)), WithMaxDepth(16), WithMaxValueBytes(1<<16))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc1, doc2, n1, n2 string, order uint16) {
		val := func(doc string) string {
			if json.Valid([]byte(doc)) {
				return doc
			}
			b, _ := json.Marshal(doc)
			return string(b)
		}
		str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
		names := []string{`"key":` + str(n1), `"ParameterKey":` + str(n2), `"name":` + str(n2)}
		values := []string{`"value":` + val(doc1), `"ParameterValue":` + val(doc2), `"Value":` + val(doc1)}
		// The fuzzer's order: permutation number order (mod 6!) of the
		// values followed by the names; 0 puts every value before every
		// name.
		pool := append(append([]string(nil), values...), names...)
		var members []string
		for idx, f := int(order)%720, 120; len(pool) > 0; {
			k := idx / f
			idx %= f
			members = append(members, pool[k])
			pool = slices.Delete(pool, k, k+1)
			if len(pool) > 0 {
				f /= len(pool)
			}
		}
		canonical := "{" + strings.Join(append(append([]string(nil), names...), values...), ",") + "}"
		shuffled := "{" + strings.Join(members, ",") + "}"
		want, wantN, wantPaths := redactString(r, canonical, true)
		got, gotN, gotPaths := redactString(r, shuffled, true)
		if want == r.maskJSON || got == r.maskJSON { // past the depth limit
			if want != got {
				t.Fatalf("one masked whole:\n%s\n%s", want, got)
			}
			return
		}
		var wm, gm map[string]json.RawMessage
		if err := json.Unmarshal([]byte(want), &wm); err != nil {
			t.Fatalf("invalid output %q", want)
		}
		if err := json.Unmarshal([]byte(got), &gm); err != nil {
			t.Fatalf("invalid output %q", got)
		}
		for k, v := range wm {
			if string(gm[k]) != string(v) {
				t.Fatalf("member %s: %s, in name-first order %s\n%s\n%s", k, gm[k], v, shuffled, got)
			}
		}
		if gotN != wantN {
			t.Fatalf("count %d, in name-first order %d\n%s\n%s", gotN, wantN, shuffled, got)
		}
		if len(wantPaths) < MaxPaths && len(gotPaths) < MaxPaths {
			slices.Sort(wantPaths)
			slices.Sort(gotPaths)
			if !slices.Equal(wantPaths, gotPaths) {
				t.Fatalf("paths %q, in name-first order %q\n%s", gotPaths, wantPaths, shuffled)
			}
		}
	})
}

// freeTextForms are templates of the free-text forms the key rules read
// beyond key=value pairs; %s is where the secret goes.
var freeTextForms = []string{
	"<password>%s</password>",
	"<ns:ApiKey>%s</ns:ApiKey>",
	"<client_secret><![CDATA[%s]]></client_secret>",
	`<wsse:Password Type="x">%s</wsse:Password>`,
	`<entry key="password">%s</entry>`,
	`<param name="token" value="%s"/>`,
	"<credentials><user>%s</user></credentials>",
	"mysql -uroot -p%s db",
	"Command '['mysqldump', '-p%s']' returned 1",
	"sshpass -p %s ssh -p 22 h",
	"password: “a %s b”",
	"token=‘%s x’",
	"password: |\n  a\n  %s\nnext: 1",
	"user%%5Bpassword%%5D=%s&x=1",
	"user[password]=%s&x=1",
	"pass%%77ord=%s",
	"next=%%2Fcb%%3Ftoken%%3D%s%%26y%%3D1",
	"<input type=password value=%s>",
	"env:\n- name: DB_PASSWORD\n  value: %s\n",
	"- value: \"%s\"\n  name: api_token\n",
	"<property>\n <name>db.password</name>\n <value>%s</value>\n</property>",
	"redis-cli -h c -a %s ping",
	"  - docker login \\\n    -p %s reg",
	"password: !!str\n  %s",
	"SQL> connect scott/%s@orcl",
	"docker login -u bob -p %s r.io",
	"keytool -list -storepass %s",
	"openssl pkcs12 -passin pass:%s",
	"sqlcmd -S db -P %s",
	"ldapsearch -x -w %s -b dc=x",
	"mongosh -u bob -p %s",
	"smbclient //s/x -U bob%%%s",
	"htpasswd -bc f bob %s",
	"sqlplus scott/%s@db",
	"MYSQL_PWD=%s",
	"Server=db;Uid=sa;Pwd=%s;",
	`{"password"=>"%s"}`,
	"['token' => '%s']",
	"{'name': 'DB_PASSWORD', 'value': '%s'}",
	"{name: api_token, value: %s}",
	"パスワード：%s",
	"password：%s",
	"Passwort: %s",
	"password = '''%s'''",
	"token: !!str %s",
	"-----BEGIN PGP PRIVATE KEY BLOCK-----\n%s\n-----END PGP PRIVATE KEY BLOCK-----",
	"Content-Disposition: form-data; name=\"password\"\r\n\r\n%s\r\n--b",
}

// FuzzFreeText plants a secret in each of freeTextForms, on a line of its
// own between arbitrary text, and checks that no part of it survives, and
// that the free-text rules never panic on the text around it.
func FuzzFreeText(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, s)
	}
	f.Add("<credentials>", "</credentials>")
	f.Add(`<a x="`, `"`)
	f.Add("mysql", "-p")
	f.Add("password: |", "  more")
	f.Add("“", "”")
	r, err := New(WithHMACKey([]byte(testKey)))
	if err != nil {
		f.Fatal(err)
	}
	const planted = "Pl4ntedS3cretzq"
	f.Fuzz(func(t *testing.T, before, after string) {
		if strings.Contains(before, planted) || strings.Contains(after, planted) {
			return
		}
		redactString(r, before+after, false)
		for _, form := range freeTextForms {
			in := before + "\n" + fmt.Sprintf(form, planted) + "\n" + after
			if out, _, _ := redactString(r, in, false); strings.Contains(out, planted[2:12]) {
				t.Fatalf("planted secret survived in %q", out)
			}
		}
	})
}
