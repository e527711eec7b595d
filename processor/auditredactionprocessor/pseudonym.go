package auditredactionprocessor // import "github.com/otelaudit/otelaudit/processor/auditredactionprocessor"

import "github.com/otelaudit/otelaudit/processor/auditredactionprocessor/internal/redact"

// Pseudonym returns the pseudonym this processor gives value under a PII
// key when its hmac_key is hmacKey: "hmac-sha256:" and the hex
// HMAC-SHA256 of value, an e-mail address case-folded first (as the email
// detector folds the addresses it finds in text). Tools use it to look a
// person up in redacted data, e.g. `otelaudit pseudonym`. Safe for
// concurrent use.
func Pseudonym(hmacKey []byte, value string) string {
	return redact.PseudonymOf(hmacKey, value)
}
