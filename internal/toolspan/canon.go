package toolspan

import "github.com/otelaudit/otelaudit/auditlog"

// canonicalizeJSON returns the RFC 8785 form of raw, or an error when raw is
// not valid JSON. It is the store's own canonicaliser, so that payloads are
// byte-identical to what the store hashes.
func canonicalizeJSON(raw []byte) ([]byte, error) { return auditlog.CanonicalizeJSON(raw) }

// canonicalizeString is canonicalizeJSON for text held in a string, with
// the result taken from mem (nil: a new slice). The canonicaliser only
// reads its input and writes elsewhere, so the string's bytes are lent to
// it without a copy.
func canonicalizeString(mem *arena, s string) ([]byte, error) {
	if s == "" {
		return canonicalizeJSON(nil)
	}
	return mem.canonical(view(s))
}
