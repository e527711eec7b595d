package redact

import "testing"

func TestClassifyKeys(t *testing.T) {
	r, err := New(WithHMACKey([]byte("0123456789abcdef0123456789abcdef")),
		WithSensitiveKeys("x-internal-pin"), WithPIIKeys("member_number"),
		WithAllowedKeys("token_type", "next_page_token"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key  string
		want Action
	}{
		// The list, in several spellings.
		{"password", ActionMask},
		{"Password", ActionMask},
		{"PASSWORD", ActionMask},
		{"passwd", ActionMask},
		{"secret", ActionMask},
		{"client_secret", ActionMask},
		{"clientSecret", ActionMask},
		{"token", ActionMask},
		{"access_token", ActionMask},
		{"accessToken", ActionMask},
		{"refresh-token", ActionMask},
		{"api_key", ActionMask},
		{"apiKey", ActionMask},
		{"API-KEY", ActionMask},
		{"apikey", ActionMask},
		{"x-api-key", ActionMask},
		{"Authorization", ActionMask},
		{"http.request.header.authorization", ActionMask},
		{"Proxy-Authorization", ActionMask},
		{"cookie", ActionMask},
		{"Set-Cookie", ActionMask},
		{"http.response.header.set-cookie", ActionMask},
		{"private_key", ActionMask},
		{"privateKey", ActionMask},
		{"credit_card", ActionMask},
		{"creditCard", ActionMask},
		{"card_number", ActionMask},
		{"cardNumber", ActionMask},
		{"creditCardNumber", ActionMask},
		{"cvv", ActionMask},
		{"CVV", ActionMask},
		// Compounds ending in a sensitive word.
		{"db_password", ActionMask},
		{"DB_PASSWORD", ActionMask},
		{"stripe_api_key", ActionMask},
		{"stripeApiKey", ActionMask},
		{"github.token", ActionMask},
		{"csrf token", ActionMask},
		{"aws_secret_access_key", ActionMask},
		{"user.password", ActionMask},
		// Plurals of sensitive words.
		{"passwords", ActionMask},
		{"access_tokens", ActionMask},
		{"api_keys", ActionMask},
		{"cookies", ActionMask},
		{"secrets", ActionMask},
		// Carrier suffixes.
		{"password_value", ActionMask},
		{"api_key_b64", ActionMask},
		{"tokenString", ActionMask},
		{"cookie_header", ActionMask},
		// Look-alikes: counts, limits, metadata.
		{"max_tokens", ActionNone},
		{"maxTokens", ActionNone},
		{"token_count", ActionNone},
		{"tokenCount", ActionNone},
		{"prompt_tokens", ActionNone},
		{"completion_tokens", ActionNone},
		{"total_tokens", ActionNone},
		{"gen_ai.usage.input_tokens", ActionNone},
		{"gen_ai.usage.output_tokens", ActionNone},
		{"gen_ai.request.max_tokens", ActionNone},
		{"auth_tokens", ActionMask},   // plural of the multi-word auth_token
		{"cached_tokens", ActionNone}, // plural of the unit word token only
		{"reasoning_tokens", ActionNone},
		{"token_limit", ActionNone},
		{"token_type", ActionNone},
		{"tokenizer", ActionNone},
		{"password_policy", ActionNone},
		{"password_length", ActionNone},
		{"password_required", ActionNone},
		{"secret_name", ActionNone},
		{"api_key_id", ActionNone},
		{"cookie_count", ActionNone},
		{"card_count", ActionNone},
		// Semantic-convention attributes that must pass.
		{"gen_ai.tool.name", ActionNone},
		{"gen_ai.tool.call.arguments", ActionNone},
		{"gen_ai.tool.call.id", ActionNone},
		{"user.id", ActionNone},
		{"session.id", ActionNone},
		{"client.address", ActionNone},
		{"server.address", ActionNone},
		{"network.peer.address", ActionNone},
		{"service.name", ActionNone},
		{"audit.redaction.count", ActionNone},
		{"audit.redaction.paths", ActionNone},
		{"", ActionNone},
		{"_-. ", ActionNone},
		// PII keys are pseudonymised.
		{"patient_name", ActionPseudonymize},
		{"patientName", ActionPseudonymize},
		{"first_name", ActionPseudonymize},
		{"lastName", ActionPseudonymize},
		{"date_of_birth", ActionPseudonymize},
		{"dateOfBirth", ActionPseudonymize},
		{"dob", ActionPseudonymize},
		{"DOB", ActionPseudonymize},
		{"birthDate", ActionPseudonymize},
		{"address", ActionPseudonymize},
		{"Address", ActionPseudonymize},
		{"home_address", ActionPseudonymize},
		{"email", ActionPseudonymize},
		{"user.email", ActionPseudonymize},
		{"emailAddress", ActionPseudonymize},
		{"phone", ActionPseudonymize},
		{"phoneNumber", ActionPseudonymize},
		{"mobile_phone", ActionPseudonymize},
		{"ssn", ActionPseudonymize}, // in both lists: a keyed pseudonym wins the tie
		{"patient_ssn", ActionPseudonymize},
		{"social_security_number", ActionMask},
		// PII look-alikes.
		{"tool_name", ActionNone},
		{"name", ActionNone},
		{"email_verified_count", ActionNone},
		{"phone_type", ActionNone},
		// Configured words.
		{"x_internal_pin", ActionMask},
		{"vault.x-internal-pin", ActionMask},
		{"member_number", ActionPseudonymize},
		{"memberNumber", ActionPseudonymize},
		// Allowed keys override.
		{"token_type", ActionNone},
		{"next_page_token", ActionNone},
		{"nextPageToken", ActionNone},
		{"page_token", ActionMask},
		// Non-ASCII keys do not panic and still match their ASCII tail.
		{"ünïcode_password", ActionMask},
		{"пароль", ActionMask},
		// Words beyond ASCII match the whole key, or its end from a letter
		// beyond ASCII on.
		{"ユーザーパスワード", ActionMask},
		{"パスワード_hint", ActionNone},
		{"db_пароль", ActionMask},
		{"паролька", ActionNone},
		{"Passwort", ActionMask},
		{"MYSQL_PWD", ActionMask},
		{"pwd", ActionNone},
		{"srcStorePass", ActionMask},
		{"SECRET_KEY_BASE", ActionMask},
		{"наш_пароль", ActionMask},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := r.Classify(tt.key); got != tt.want {
				t.Errorf("Classify(%q) = %v, want %v", tt.key, got, tt.want)
			}
		})
	}
}

func TestClassifyWithoutKeyMasksPII(t *testing.T) {
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"patient_name", "email", "dob", "ssn"} {
		if got := r.Classify(k); got != ActionMask {
			t.Errorf("Classify(%q) without key = %v, want mask", k, got)
		}
	}
}

func TestNormalizeKey(t *testing.T) {
	tests := map[string]string{
		"API-KEY":       "apikey",
		"api_key":       "apikey",
		"api.key":       "apikey",
		"api key":       "apikey",
		"apiKey":        "apikey",
		"__Secret--":    "secret",
		"ünï":           "ünï",
		"HTTP.Header.X": "httpheaderx",
	}
	for in, want := range tests {
		if got := string(normalizeKey(nil, in)); got != want {
			t.Errorf("normalizeKey(%q) = %q, want %q", in, got, want)
		}
	}
}
