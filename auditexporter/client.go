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
// client from ConsumeTraces to the writer. The request context, where the
// receiver's authenticator put the client, does not survive a persistent
// sending queue, but the data does; so the exporter stamps the identity into
// the data before exporterhelper queues it. Only the exporter sets it: a
// value that arrives from a sender is overwritten or removed, so it cannot
// be forged.
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

// clientStamper is the exporter as the pipeline sees it: exporterhelper's
// exporter, with the client identity stamped into each batch first.
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
