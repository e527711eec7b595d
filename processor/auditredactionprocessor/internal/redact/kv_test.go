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
		// A Cookie header is a list: every cookie in it is masked, to the
		// end of the line.
		{"Cookie: theme=dark; sessionid=s3cret\nAccept: */*", "Cookie: ***REDACTED***\nAccept: */*"},
		{`{\"raw\":\"Cookie: a=1; sid=s3cret\r\nHost: x\"}`, `{\"raw\":\"Cookie: ***REDACTED***\r\nHost: x\"}`},
		{`Authorization: Digest username="a", response="s3cret"`, "Authorization: Digest ***REDACTED***"},
		{"Authorization: AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=s3cret",
			"Authorization: AWS4-HMAC-SHA256 ***REDACTED***"},
		// A structure after a matched key that is not JSON.
		{"{'credentials': {'user': 'bob', 'pw': 's3cret'}, 'n': 1}", "{'credentials': ***REDACTED***, 'n': 1}"},
		{"password: [s3cret, (x)] then", "password: ***REDACTED*** then"},
		{"token: {unclosed s3cret", "token: ***REDACTED***"},
		// Command-line flags.
		{"mysql -u root --password s3cret prod", "mysql -u root --password ***REDACTED*** prod"},
		{`run --api-key "s3 cret" -v`, `run --api-key "***REDACTED***" -v`},
		{"curl -u admin:s3cret https://x", "curl -u admin:***REDACTED*** https://x"},
		{"wget --user admin:s3cret", "wget --user admin:***REDACTED***"},
		{"ls -l --token-count 5 -u root", "ls -l --token-count 5 -u root"},
		{"curl --user=alice:s3cret https://x", "curl --user=alice:***REDACTED*** https://x"},
		{"curl -ualice:s3cret https://x", "curl -ualice:***REDACTED*** https://x"},
		{"curl -su alice:s3cret https://x", "curl -su alice:***REDACTED*** https://x"},
		{"curl --proxy-user alice:s3cret -U bob:s3cret2 https://x", "curl --proxy-user alice:***REDACTED*** -U bob:***REDACTED*** https://x"},
		{"docker run -u 1000:1000 nginx", "docker run -u 1000:1000 nginx"},
		{"Command '['mysql', '--password', 's3cret']' returned non-zero exit status 1.", "Command '['mysql', '--password', '***REDACTED***']' returned non-zero exit status 1."},
		{`run ["curl", "-u", "alice:s3cret", "x"`, `run ["curl", "-u", "***REDACTED***", "x"`},
		{"opts '--verbose', 'x'", "opts '--verbose', 'x'"},
		{"docker exec -u 0:0 c sh", "docker exec -u 0:0 c sh"},
		{"run --password --verbose", "run --password --verbose"},
		{"a - password b", "a - password b"},
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
