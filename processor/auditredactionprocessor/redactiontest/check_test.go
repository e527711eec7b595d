package redactiontest

import (
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Check must report every planted value when nothing was redacted, or the
// leak test proves nothing.
func TestCheckCatchesUnredactedOutput(t *testing.T) {
	g := NewGenerator(7)
	for i := 0; i < 200; i++ {
		b := g.Next()
		out := ptrace.NewTraces()
		b.Traces.CopyTo(out)
		errs := Check(b, out)
		leaks := 0
		for _, err := range errs {
			if strings.Contains(err.Error(), "leaked into the protobuf") {
				leaks++
			}
		}
		if leaks != len(b.Secrets) {
			t.Fatalf("batch %d: %d protobuf leaks reported for %d planted values", i, leaks, len(b.Secrets))
		}
	}
}

func TestCheckCatchesChangedLookalikes(t *testing.T) {
	b := NewGenerator(3).Next()
	out := ptrace.NewTraces()
	b.Traces.CopyTo(out)
	l := b.Lookalikes[0]
	out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(l.Span).Attributes().PutStr(l.Key, "***REDACTED***")
	found := false
	for _, err := range Check(b, out) {
		found = found || strings.Contains(err.Error(), "look-alike "+l.Key)
	}
	if !found {
		t.Fatal("a changed look-alike went unreported")
	}
}

func TestGeneratedPayloadsAreJSON(t *testing.T) {
	g := NewGenerator(11)
	for i := 0; i < 500; i++ {
		b := g.Next()
		for _, span := range b.Traces.ResourceSpans().At(0).ScopeSpans().At(0).Spans().All() {
			for _, k := range attrkey.PayloadAttributes() {
				v, ok := span.Attributes().Get(k)
				if ok && v.Str() != "" && !json.Valid([]byte(v.Str())) {
					t.Fatalf("%s is not JSON: %s", k, v.Str())
				}
			}
		}
	}
}

func TestGeneratorDeterministic(t *testing.T) {
	a, b := NewGenerator(5).Next(), NewGenerator(5).Next()
	if !a.Traces.ResourceSpans().At(0).Resource().Attributes().Equal(b.Traces.ResourceSpans().At(0).Resource().Attributes()) ||
		strings.Join(a.Secrets, "|") != strings.Join(b.Secrets, "|") {
		t.Fatal("same seed, different batches")
	}
}
