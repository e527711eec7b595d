package redactiontest

import (
	"math/rand/v2"
	"strings"
)

// sensitiveWords are planted under random spellings; each must be caught by
// the processor's default sensitive keys.
var sensitiveWords = [][]string{
	{"password"}, {"passwd"}, {"secret"}, {"client", "secret"}, {"token"}, {"access", "token"},
	{"refresh", "token"}, {"api", "key"}, {"authorization"}, {"cookie"}, {"set", "cookie"},
	{"private", "key"}, {"credit", "card"}, {"card", "number"}, {"cvv"}, {"ssn"},
	{"passphrase"}, {"session", "token"}, {"secret", "key"}, {"credentials"},
}

// piiWords are planted under random spellings; the default PII keys catch
// them.
var piiWords = [][]string{
	{"patient", "name"}, {"first", "name"}, {"last", "name"}, {"full", "name"}, {"date", "of", "birth"},
	{"dob"}, {"birth", "date"}, {"email"}, {"phone"}, {"phone", "number"}, {"home", "address"},
}

var keyPrefixes = [][]string{nil, {"db"}, {"stripe"}, {"user"}, {"x"}, {"github"}, {"aws"}, {"upstream", "service"}}

var carrierSuffixes = [][]string{{"value"}, {"str"}, {"b64"}}

// lookalikeKeys must never be redacted: their values are ordinary.
var lookalikeKeys = []string{
	"max_tokens", "maxTokens", "token_count", "tokenCount", "prompt_tokens", "completion_tokens",
	"total_tokens", "gen_ai.usage.input_tokens", "gen_ai.request.max_tokens", "password_policy",
	"password_length", "secret_name", "api_key_id", "cookie_count", "token_type", "tokenizer",
	"client.address", "server.address", "card_count", "session.id", "tool_name", "cache_tokens",
}

// spell joins words in a random style: snake, camel, Pascal, kebab, upper,
// dotted or spaced.
func spell(rng *rand.Rand, words []string) string {
	switch rng.IntN(7) {
	case 0:
		return strings.Join(words, "_")
	case 1:
		return camel(words, false)
	case 2:
		return camel(words, true)
	case 3:
		return strings.Join(words, "-")
	case 4:
		return strings.ToUpper(strings.Join(words, "_"))
	case 5:
		return strings.Join(words, ".")
	default:
		return strings.ToUpper(strings.Join(words, "-"))
	}
}

func camel(words []string, pascal bool) string {
	var b strings.Builder
	for i, w := range words {
		if i > 0 || pascal {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		} else {
			b.WriteString(w)
		}
	}
	return b.String()
}

// sensitiveKey returns a random spelling of a random sensitive word, maybe
// with a prefix or a carrier suffix.
func sensitiveKey(rng *rand.Rand) string {
	w := sensitiveWords[rng.IntN(len(sensitiveWords))]
	words := append(append([]string(nil), keyPrefixes[rng.IntN(len(keyPrefixes))]...), w...)
	if rng.IntN(6) == 0 {
		words = append(words, carrierSuffixes[rng.IntN(len(carrierSuffixes))]...)
	}
	return spell(rng, words)
}

// piiKey returns a random spelling of a random PII word and the word itself.
func piiKey(rng *rand.Rand) (key, word string) {
	w := piiWords[rng.IntN(len(piiWords))]
	words := w
	if rng.IntN(3) == 0 {
		words = append([]string{[]string{"patient", "customer", "user"}[rng.IntN(3)]}, w...)
	}
	return spell(rng, words), strings.Join(w, "_")
}

func ordinaryKey(rng *rand.Rand) string {
	return []string{"city", "note", "query", "status", "amount", "sku", "description", "message", "items", "id"}[rng.IntN(10)] +
		[]string{"", "_2", "Info", ".x"}[rng.IntN(4)]
}
