package auditexporter

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// clientAttribute is the resource attribute that carries the authenticated
// client from ConsumeTraces to the writer when the request context, where
// the receiver's authenticator put the client, does not reach the writer: a
// persistent sending queue stores only the data, and batching merges the
// requests of several clients. In those configurations the exporter stamps
// the identity into the data before exporterhelper queues it, and declares
// that it mutates data. Only the exporter sets the attribute: a value that
// arrives from a sender is overwritten or removed, so it cannot be forged;
// in the other configurations it is never read.
const clientAttribute = "otelaudit.collector.client"

// clientIdentity returns the authenticated client of a request, "" when
// the receiver authenticated none.
//
// Authenticators that name their client (oidc "subject", basicauth
// "username", and the names others use) are read first; attributes that
// hold credentials ("raw", tokens) never are. bearertokenauth adds nothing
// to the context: it only checks the token. For it, the client is the
// credential it accepted, named by a fingerprint of the bearer token
// ("bearer:sha256:" and the first 24 hex digits of the token's SHA-256) read
// from the request headers, which the receiver keeps when it runs with
// include_metadata: true. The fingerprint identifies which issued token
// sent the span without revealing it, as long as tokens are random (a
// guessable token is guessable from its hash, as from anything else).
func clientIdentity(info client.Info) string {
	if info.Auth != nil {
		for _, k := range [...]string{"subject", "username", "client_id", "sub", "email", "name"} {
			if s, ok := info.Auth.GetAttribute(k).(string); ok && s != "" {
				if !utf8.ValidString(s) {
					s = strings.ToValidUTF8(s, "\uFFFD")
				}
				return s
			}
		}
	}
	return bearerFingerprint(info.Metadata.Get("authorization"))
}

// bearerFingerprint names the bearer token among the request's
// Authorization header values, "" when there is none.
func bearerFingerprint(values []string) string {
	for _, v := range values {
		scheme, token, ok := strings.Cut(strings.TrimSpace(v), " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "bearer") || token == "" {
			continue
		}
		sum := sha256.Sum256([]byte(token))
		return "bearer:sha256:" + hex.EncodeToString(sum[:12])
	}
	return ""
}

// stampClient writes id into every resource of td, or removes the
// attribute when id is empty.
func stampClient(td ptrace.Traces, id string) {
	for _, rs := range td.ResourceSpans().All() {
		attrs := rs.Resource().Attributes()
		if id == "" {
			attrs.Remove(clientAttribute)
		} else {
			attrs.PutStr(clientAttribute, id)
		}
	}
}

// clientStamper is the exporter as the pipeline sees it when the context is
// lost on the way: exporterhelper's exporter, with the client identity
// stamped into each batch first. Its capabilities are exporterhelper's,
// which createTraces declares as mutating in exactly this case.
type clientStamper struct {
	exporter.Traces
}

func (c *clientStamper) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	stampClient(td, clientIdentity(client.FromContext(ctx)))
	return c.Traces.ConsumeTraces(ctx, td)
}
