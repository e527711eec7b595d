package toolspan

import "github.com/gowebpki/jcs"

// canonicalizeJSON returns the RFC 8785 form of raw, or an error when raw is
// not valid JSON.
//
// TODO(integration): switch to auditlog.CanonicalizeJSON once it lands.
func canonicalizeJSON(raw []byte) ([]byte, error) { return jcs.Transform(raw) }
