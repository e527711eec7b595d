package payload

import (
	"strings"
	"testing"
)

var testSensitive = []string{
	"password", "passwd", "pwd", "secret", "token", "api_key", "access_key",
	"authorization", "auth", "credit_card", "card_number", "cvv", "ssn", "pin",
}

func mustSensitive(t testing.TB) *Matcher {
	t.Helper()
	m, err := NewSensitiveMatcher(testSensitive)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSensitiveMatcher(t *testing.T) {
	m := mustSensitive(t)
	tests := []struct {
		key  string
		want bool
	}{
		// Spellings of one term.
		{"password", true},
		{"Password", true},
		{"PASSWORD", true},
		{"pass_word", true},
		{"api_key", true},
		{"apiKey", true},
		{"APIKey", true},
		{"api-key", true},
		{"X-API-Key", true},
		{"api.key", true},
		{"Api Key", true},
		{"apikey", true},
		{"creditCard", true},
		{"credit-card", true},
		{"CREDIT_CARD", true},
		{"Authorization", true},
		// Compound keys that end in a term.
		{"db_password", true},
		{"dbPassword", true},
		{"dbpassword", true},
		{"user.password", true},
		{"new-password", true},
		{"access_token", true},
		{"accessToken", true},
		{"accesstoken", true},
		{"refresh_token", true},
		{"client_secret", true},
		{"clientSecret", true},
		{"aws_access_key", true},
		{"user_ssn", true},
		{"customer.ssn", true},
		{"basic_auth", true},
		{"card_pin", true},
		{"oauth2_token", true},
		{"password2", true},
		{"password_2", true},
		{"Token123", true},
		// Look-alikes that do not end in a term.
		{"max_tokens", false},
		{"maxTokens", false},
		{"token_count", false},
		{"tokenCount", false},
		{"tokenizer", false},
		{"tokens", false},
		{"secretary", false},
		{"password_hint_shown", false},
		{"author", false},
		{"oauth", false},
		{"oauth_provider", false},
		{"spin", false},
		{"shipping", false},
		{"lesson", false},
		{"passport", false},
		{"keyboard", false},
		{"monkey", false},
		{"session_id", false},
		{"api_key_id", false},
		{"id", false},
		{"", false},
		{"___", false},
		{"12345", false},
		{"pässword", false},
		{"密码", false},
	}
	for _, tt := range tests {
		if got := m.Match(tt.key); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestSensitiveMatcherLongKey(t *testing.T) {
	m := mustSensitive(t)
	long := strings.Repeat("x_", 10000)
	if !m.Match(long + "password") {
		t.Error("a long key ending in password did not match")
	}
	if m.Match(long + "name") {
		t.Error("a long key ending in name matched")
	}
	if m.Match("password" + long) {
		t.Error("a long key starting with password matched")
	}
	key := long + "db_password"
	if got := testing.AllocsPerRun(100, func() { m.Match(key) }); got != 0 {
		t.Errorf("Match allocates %v times, want 0", got)
	}
}

func TestKeyMatcher(t *testing.T) {
	m, err := NewKeyMatcher([]string{"*_id", "status", "count", "Order-Total"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want bool
	}{
		{"id", true},
		{"ID", true},
		{"order_id", true},
		{"orderId", true},
		{"customer-id", true},
		{"paid", false},
		{"idle", false},
		{"status", true},
		{"Status", true},
		{"order_status", false},
		{"count", true},
		{"count2", true},
		{"discount", false},
		{"order_total", true},
		{"orderTotal", true},
		{"total", false},
		{strings.Repeat("a", 300) + "status", false},
	}
	for _, tt := range tests {
		if got := m.Match(tt.key); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestMatcherBadTerms(t *testing.T) {
	for _, bad := range []string{"", "___", "123", "key2", "pässword"} {
		if _, err := NewSensitiveMatcher([]string{bad}); err == nil {
			t.Errorf("NewSensitiveMatcher(%q) succeeded, want an error", bad)
		} else if !strings.Contains(err.Error(), "key ") {
			t.Errorf("NewSensitiveMatcher(%q) error %q does not name the key", bad, err)
		}
		if _, err := NewKeyMatcher([]string{"*" + bad}); err == nil {
			t.Errorf("NewKeyMatcher(%q) succeeded, want an error", "*"+bad)
		}
	}
}

func TestNilMatcher(t *testing.T) {
	var m *Matcher
	if m.Match("password") || m.Len() != 0 {
		t.Error("a nil Matcher matched")
	}
	m, err := NewSensitiveMatcher([]string{"password", "Password", "pass_word"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Len() != 1 {
		t.Errorf("Len = %d after adding one term three times, want 1", m.Len())
	}
}
