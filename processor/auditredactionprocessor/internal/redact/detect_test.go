package redact

import (
	"slices"
	"strings"
	"testing"
)

// spansOf returns the matched substrings.
func spansOf(f scanFunc, s string) []string {
	var got []string
	for _, sp := range f(s, nil) {
		got = append(got, s[sp.start:sp.end])
	}
	return got
}

func TestScanners(t *testing.T) {
	tests := []struct {
		name string
		scan scanFunc
		in   string
		want []string
	}{
		{"card plain", scanCards, "card 4111111111111111 ok", []string{"4111111111111111"}},
		{"card spaces", scanCards, "pay with 4111 1111 1111 1111.", []string{"4111 1111 1111 1111"}},
		{"card dashes", scanCards, "4111-1111-1111-1111", []string{"4111-1111-1111-1111"}},
		{"card amex", scanCards, "amex 3782 822463 10005", []string{"3782 822463 10005"}},
		{"card mastercard", scanCards, "5555555555554444", []string{"5555555555554444"}},
		{"card discover", scanCards, "(6011111111111117)", []string{"6011111111111117"}},
		{"card two in a run", scanCards, "4111 1111 1111 1111 5555 5555 5555 4444", []string{"4111 1111 1111 1111", "5555 5555 5555 4444"}},
		{"card after short group", scanCards, "ref 12 4111111111111111", []string{"4111111111111111"}},
		{"card bad luhn", scanCards, "4111111111111112", nil},
		{"card too short", scanCards, "411111111111", nil},
		{"card too long", scanCards, "41111111111111111111111", nil},
		{"card ns timestamp", scanCards, "1712345678901234567", nil},
		{"card inside hex", scanCards, "a4111111111111111f", nil},
		{"card inside word", scanCards, "id_4111111111111111", nil},
		{"card double separator", scanCards, "4111  1111 1111 1111", nil},
		{"card at end", scanCards, "x:4111111111111111", []string{"4111111111111111"}},
		{"card only", scanCards, "4111111111111111", []string{"4111111111111111"}},
		{"no digits", scanCards, "hello world", nil},
		{"many groups", scanCards, strings.Repeat("1 ", 1000), nil},
		{"card mastercard 2-series", scanCards, "pay 2223 0000 4841 0010 now", []string{"2223 0000 4841 0010"}},
		{"card 2-series plain", scanCards, "2223000048410010", []string{"2223000048410010"}},
		{"years", scanCards, "revenue for 2023 2024 2025 2026 shown", nil},
		{"years dashed", scanCards, "2015-2016-2017-2018", nil},
		{"single digits", scanCards, "scores 5 4 3 5 4 3 5 4 3 5 4 3 5 4 3 5 done", nil},
		{"card after short groups", scanCards, "1 2 4111 1111 1111 1111", []string{"4111 1111 1111 1111"}},

		{"ssn", scanSSNs, "ssn 123-45-6789.", []string{"123-45-6789"}},
		{"ssn start end", scanSSNs, "123-45-6789", []string{"123-45-6789"}},
		{"ssn area 000", scanSSNs, "000-45-6789", nil},
		{"ssn area 666", scanSSNs, "666-45-6789", nil},
		{"ssn area 9xx", scanSSNs, "912-45-6789", nil},
		{"ssn group 00", scanSSNs, "123-00-6789", nil},
		{"ssn serial 0000", scanSSNs, "123-45-0000", nil},
		{"ssn in longer", scanSSNs, "1123-45-6789", nil},
		{"ssn phone", scanSSNs, "555-123-4567", nil},
		{"ssn date", scanSSNs, "2024-01-15", nil},
		{"ssn followed", scanSSNs, "123-45-67890", nil},
		{"ssn two", scanSSNs, "123-45-6789,234-56-7890", []string{"123-45-6789", "234-56-7890"}},

		{"email", scanEmails, "mail alice@example.com now", []string{"alice@example.com"}},
		{"email plus", scanEmails, "<a.b+tag@mail.example.co.uk>", []string{"a.b+tag@mail.example.co.uk"}},
		{"email trailing dot", scanEmails, "write to bob@example.org.", []string{"bob@example.org"}},
		{"email no tld", scanEmails, "user@localhost", nil},
		{"email numeric tld", scanEmails, "a@1.2.3.4", nil},
		{"email bare at", scanEmails, "@example.com", nil},
		{"email handle", scanEmails, "ping @alice", nil},
		{"email two", scanEmails, "a@b.io,c@d.io", []string{"a@b.io", "c@d.io"}},
		{"email many ats", scanEmails, strings.Repeat("a@", 500), nil},
		{"email non-ascii local", scanEmails, "contact josé@example.com or maría.garcía@example.com", []string{"josé@example.com", "maría.garcía@example.com"}},
		{"email idn domain", scanEmails, "to 用户@例子.广告 now", []string{"用户@例子.广告"}},
		{"email ends at punctuation", scanEmails, "mail bob@example.com—then。", []string{"bob@example.com"}},
		{"email invalid byte", scanEmails, "mail alice\xff@example.com", []string{"alice\xff@example.com"}},
		{"email replacement char", scanEmails, "mail alice\uFFFD@example.com", []string{"alice\uFFFD@example.com"}},
		{"email not a url password", scanEmails, "postgres://admin:s3cret@db.example.com/x", nil},
		{"email url user kept", scanEmails, "ssh://git@github.com/x", []string{"git@github.com"}},

		{"url password", scanURLPasswords, "dsn postgres://admin:s3cret@db:5432/prod ok", []string{"s3cret"}},
		{"url password with at", scanURLPasswords, "redis://u:p@ss@cache/0", []string{"p@ss"}},
		{"url empty user", scanURLPasswords, "redis://:s3cret@cache:6379", []string{"s3cret"}},
		{"url srv", scanURLPasswords, `"mongodb+srv://root:pw1@cluster0.example.net/db"`, []string{"pw1"}},
		{"url no password", scanURLPasswords, "https://bob@example.com/x", nil},
		{"url port not password", scanURLPasswords, "https://example.com:8443/x?a=b@c", nil},
		{"url empty password", scanURLPasswords, "ftp://anon:@host/", nil},
		{"url two", scanURLPasswords, "a://u:p1@h b://v:p2@i", []string{"p1", "p2"}},

		{"jwt", scanJWTs, "token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk end",
			[]string{"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk"}},
		{"jwt unsigned", scanJWTs, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.", []string{"eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."}},
		{"jwe five segments", scanJWTs, "t=eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn;", []string{"eyJhbGciOiJSU0EtT0FFUCJ9.a2V5.aXY.Y2lwaGVy.dGFn"}},
		{"jwt two segments", scanJWTs, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0", nil},
		{"jwt short header", scanJWTs, "eyJa.eyJb.c", nil},
		{"jwt inside word", scanJWTs, "xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.abc", nil},
		{"jwt invalid byte", scanJWTs, "eyJhbGciOiJIUzI1NiJ9.eyJzd\xffWIiOiIxMjM0In0.sig\xffnature end", []string{"eyJhbGciOiJIUzI1NiJ9.eyJzd\xffWIiOiIxMjM0In0.sig\xffnature"}},

		{"bearer", scanBearer, "Authorization: Bearer abcDEF123456._~+/=", []string{"abcDEF123456._~+/="}},
		{"bearer lower", scanBearer, "bearer  0123456789abcdef", []string{"0123456789abcdef"}},
		{"bearer short", scanBearer, "the bearer of news", nil},
		{"bearer in word", scanBearer, "cupbearer abcdefghijkl", nil},
		{"bearer at end", scanBearer, "Bearer", nil},
		{"bearer invalid byte", scanBearer, "Bearer abcdefgh\xffs3cretxyz end", []string{"abcdefgh\xffs3cretxyz"}},
		{"bearer ends at valid non-ascii", scanBearer, "Bearer abcdefgh—next", []string{"abcdefgh"}},
		{"bearer replacement char", scanBearer, "Bearer abcdefgh\uFFFDs3cret end", []string{"abcdefgh\uFFFDs3cret"}},

		{"aws", scanAWSKeys, "key AKIAIOSFODNN7EXAMPLE used", []string{"AKIAIOSFODNN7EXAMPLE"}},
		{"aws temp", scanAWSKeys, "ASIAY34FZKBOKMUTVV7A", []string{"ASIAY34FZKBOKMUTVV7A"}},
		{"aws lowercase", scanAWSKeys, "AKIAiosfodnn7example", nil},
		{"aws too long", scanAWSKeys, "AKIAIOSFODNN7EXAMPLEX", nil},
		{"aws inside", scanAWSKeys, "XAKIAIOSFODNN7EXAMPLE", nil},
		{"aws short", scanAWSKeys, "AKIA123", nil},

		{"pem", scanPEMPrivateKeys, "k=-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----\nafter",
			[]string{"-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----"}},
		{"pem pkcs8", scanPEMPrivateKeys, "-----BEGIN PRIVATE KEY-----MIIE-----END PRIVATE KEY-----", []string{"-----BEGIN PRIVATE KEY-----MIIE-----END PRIVATE KEY-----"}},
		{"pem truncated", scanPEMPrivateKeys, "x -----BEGIN EC PRIVATE KEY-----\nMHcCAQEE", []string{"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE"}},
		{"pem certificate", scanPEMPrivateKeys, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", nil},
		{"pem public", scanPEMPrivateKeys, "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := spansOf(tt.scan, tt.in)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLuhn(t *testing.T) {
	for _, c := range []string{"4111111111111111", "5555555555554444", "378282246310005", "6011111111111117", "4012888888881881"} {
		d := make([]byte, len(c))
		for i := range c {
			d[i] = c[i] - '0'
		}
		if luhnSum(d)%10 != 0 {
			t.Errorf("%s should pass Luhn", c)
		}
		d[len(d)-1] = (d[len(d)-1] + 1) % 10
		if luhnSum(d)%10 == 0 {
			t.Errorf("%s with a changed check digit should fail Luhn", c)
		}
	}
}

func TestMergeSpans(t *testing.T) {
	tests := []struct {
		name    string
		in, out []span
	}{
		{"overlaps merge, mask wins",
			[]span{{5, 9, ActionPseudonymize, false}, {0, 3, ActionMask, false}, {2, 6, ActionPseudonymize, false}, {10, 12, ActionPseudonymize, false}},
			[]span{{0, 9, ActionMask, false}, {10, 12, ActionPseudonymize, false}}},
		// A key=value span and the email detector's span over one address:
		// the pseudonym folds case whichever of them comes first.
		{"fold kept when first", []span{{0, 5, ActionPseudonymize, true}, {0, 5, ActionPseudonymize, false}}, []span{{0, 5, ActionPseudonymize, true}}},
		{"fold taken when second", []span{{0, 5, ActionPseudonymize, false}, {0, 5, ActionPseudonymize, true}}, []span{{0, 5, ActionPseudonymize, true}}},
		{"disjoint keep their own", []span{{4, 6, ActionPseudonymize, true}, {0, 2, ActionPseudonymize, false}}, []span{{0, 2, ActionPseudonymize, false}, {4, 6, ActionPseudonymize, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mergeSpans(tt.in); !slices.Equal(got, tt.out) {
				t.Fatalf("got %v, want %v", got, tt.out)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	key := []byte(strings.Repeat("k", 32))
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"short key", []Option{WithHMACKey([]byte("short"))}, "at least 32 bytes"},
		{"unknown builtin", []Option{WithDetector("iban", ActionMask)}, `unknown built-in detector "iban"`},
		{"bad regex", []Option{WithPattern("emp", "EMP-[0-9", ActionMask)}, `bad pattern "EMP-[0-9"`},
		{"pseudonymize without key", []Option{WithDetector("ssn", ActionPseudonymize)}, "no hmac key"},
		{"custom named like builtin", []Option{WithHMACKey(key), WithPattern("email", "x", ActionMask)}, "name of a built-in"},
		{"twice", []Option{WithDetector("ssn", ActionMask), WithDetector("ssn", ActionNone)}, "listed twice"},
		{"depth", []Option{WithMaxDepth(0)}, "max depth"},
		{"size", []Option{WithMaxValueBytes(-1)}, "max value bytes"},
		{"empty mask", []Option{WithMask("")}, "mask must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New() error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := New(WithHMACKey(key), WithDetector("ssn", ActionPseudonymize), WithPattern("emp", "EMP-[0-9]{6}", ActionPseudonymize)); err != nil {
		t.Fatalf("valid options: %v", err)
	}
}
