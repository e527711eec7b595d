package toolspan

import "github.com/otelaudit/otelaudit/auditlog"

// canonicalizeJSON returns the RFC 8785 form of raw, or an error when raw is
// not valid JSON. It is the store's own canonicaliser, so that payloads are
// byte-identical to what the store hashes.
func canonicalizeJSON(raw []byte) ([]byte, error) { return auditlog.CanonicalizeJSON(raw) }
