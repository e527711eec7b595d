package auditexporter

import (
	"context"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/consumer"
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

// identityAttributes are the client.AuthData attributes that name an
// authenticated client, in order of preference: "subject" (oidc), "username"
// (basicauth) and the names other authenticators use. Attributes that hold
// credentials ("raw", tokens) are never read. bearertokenauth exposes no
// attributes at all (it checks the token and adds nothing to the context),
// so with it Source.Client stays empty.
var identityAttributes = []string{"subject", "username", "client_id", "sub", "email", "name"}

// clientIdentity returns the authenticated client of a request, "" when
// the receiver authenticated none.
func clientIdentity(info client.Info) string {
	if info.Auth == nil {
		return ""
	}
	for _, k := range identityAttributes {
		if s, ok := info.Auth.GetAttribute(k).(string); ok && s != "" {
			if !utf8.ValidString(s) {
				s = strings.ToValidUTF8(s, "\uFFFD")
			}
			return s
		}
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
// stamped into each batch first.
type clientStamper struct {
	exporter.Traces
}

func (c *clientStamper) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	stampClient(td, clientIdentity(client.FromContext(ctx)))
	return c.Traces.ConsumeTraces(ctx, td)
}

func (c *clientStamper) Capabilities() consumer.Capabilities {
	return consumer.Capabilities{MutatesData: true}
}
