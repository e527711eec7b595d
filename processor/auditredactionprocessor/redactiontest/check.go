package redactiontest

import (
	"bytes"
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Check marshals out, the processor's output for b, as OTLP protobuf and as
// OTLP JSON and returns one error per problem: a planted secret found in
// either encoding, an ordinary value missing, a look-alike attribute
// changed, or a span reporting fewer redactions than were planted in it.
func Check(b Batch, out ptrace.Traces) []error {
	var errs []error
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(out)
	if err != nil {
		return []error{fmt.Errorf("proto marshal: %w", err)}
	}
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(out)
	if err != nil {
		return []error{fmt.Errorf("json marshal: %w", err)}
	}
	for _, s := range b.Secrets {
		needle := []byte(s)
		if bytes.Contains(pb, needle) {
			errs = append(errs, fmt.Errorf("planted value %q leaked into the protobuf output", s))
		}
		if bytes.Contains(js, needle) {
			errs = append(errs, fmt.Errorf("planted value %q leaked into the JSON output", s))
		}
	}
	for _, s := range b.Ordinary {
		if !bytes.Contains(pb, []byte(s)) {
			errs = append(errs, fmt.Errorf("ordinary value %q is missing from the output", s))
		}
	}
	spans := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for _, l := range b.Lookalikes {
		got, ok := spans.At(l.Span).Attributes().Get(l.Key)
		if !ok || !got.Equal(l.Value) {
			errs = append(errs, fmt.Errorf("look-alike %s = %v changed to %v", l.Key, l.Value.AsRaw(), got.AsRaw()))
		}
	}
	for i, want := range b.SpanSecrets {
		var n int64
		if v, ok := spans.At(i).Attributes().Get(attrkey.RedactionCount); ok {
			n = v.Int()
		}
		if n < int64(want) {
			errs = append(errs, fmt.Errorf("span %d: %s = %d, planted %d", i, attrkey.RedactionCount, n, want))
		}
	}
	return errs
}
