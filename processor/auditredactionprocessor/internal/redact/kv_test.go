package redact

import (
	"strings"
	"testing"
)

func TestKeyValuesInText(t *testing.T) {
	r := newTestRedactor(t)
	tests := []struct {
		in, want string
	}{
		{"login failed: password=hunter2 user=bob", "login failed: password=***REDACTED*** user=bob"},
		{"GET /cb?code=1&access_token=abc.def&state=x", "GET /cb?code=1&access_token=***REDACTED***&state=x"},
		{`tool failed with args {"token":"t-1","q":"x"}`, `tool failed with args {"token":"***REDACTED***","q":"x"}`},
		{`raw {\"api_key\":\"k-9\",\"n\":1}`, `raw {\"api_key\":\"***REDACTED***\",\"n\":1}`},
		{"Authorization: Basic dXNlcjpwYXNz", "Authorization: Basic ***REDACTED***"},
		{"Cookie: sid=abc; theme=dark", "Cookie: ***REDACTED***; theme=dark"},
		{"secret: 'two words'", "secret: '***REDACTED***'"},
		{`client_secret = "s \" q" next`, `client_secret = "***REDACTED***" next`},
		{"dob: 1980-01-02", "dob: " + r.Pseudonym("1980-01-02")},
		{"max_tokens=100 token_count: 5", "max_tokens=100 token_count: 5"},
		{"has_password: true", "has_password: true"},
		{"url https://example.com:8080/x", "url https://example.com:8080/x"},
		{"time 12:30:00", "time 12:30:00"},
		{"password=", "password="},
		{"password=***REDACTED***", "password=***REDACTED***"},
		{"=x :y", "=x :y"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, _, _ := redactString(r, tt.in, false)
			if got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestEmailPseudonymLinks checks that one address under a PII key gets one
// pseudonym in a JSON payload and in key=value text, whatever its case,
// with the email detector on or off.
func TestEmailPseudonymLinks(t *testing.T) {
	for _, detector := range []Action{ActionPseudonymize, ActionNone} {
		t.Run(detector.String(), func(t *testing.T) {
			r := newTestRedactor(t, WithDetector("email", detector))
			want := r.Pseudonym("alice@example.com")
			for _, in := range []string{
				`{"email":"ALICE@example.com"}`,
				`{"email":"alice@example.com"}`,
				"lookup failed: email=Alice@Example.com",
				"email: ALICE@EXAMPLE.COM",
			} {
				got, _, _ := redactString(r, in, true)
				if !strings.Contains(got, want) {
					t.Errorf("%q became %q, want the pseudonym %s", in, got, want)
				}
			}
		})
	}
}
