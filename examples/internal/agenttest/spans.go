package agenttest

import (
	"bytes"
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
)

// Script is what playing an agent's script must record.
type Script struct {
	Conversations, Calls, Failed int
	// Turns counts the invoke_agent spans.
	Turns int
	// Keys are the attributes every tool span must carry.
	Keys []string

	_ struct{}
}

// CheckScript plays a's script with spans recorded in memory and checks it
// against want: the tally, want.Calls execute_tool spans each inside one
// of want.Turns invoke_agent spans, and want.Keys on every tool span. It
// returns the tool spans and the progress lines. The test stops if the
// script fails or the span counts are off.
func CheckScript(t *testing.T, a agentkit.Agent, want Script) (tools []sdktrace.ReadOnlySpan, out string) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	var b bytes.Buffer
	tl, err := a.Play(context.Background(), &b, sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	if err != nil {
		t.Fatal(err)
	}
	if got := (agentkit.Tally{Conversations: want.Conversations, Calls: want.Calls, Failed: want.Failed}); tl != got {
		t.Errorf("tally %+v, want %+v", tl, got)
	}
	turns := map[trace.SpanID]bool{}
	for _, s := range rec.Ended() {
		switch {
		case strings.HasPrefix(s.Name(), "execute_tool "):
			tools = append(tools, s)
		case strings.HasPrefix(s.Name(), "invoke_agent "):
			turns[s.SpanContext().SpanID()] = true
		}
	}
	if len(tools) != want.Calls || len(turns) != want.Turns {
		t.Fatalf("%d tool spans and %d turn spans, want %d and %d", len(tools), len(turns), want.Calls, want.Turns)
	}
	for _, s := range tools {
		a := Attrs(s)
		if !turns[s.Parent().SpanID()] {
			t.Errorf("%s (%v) is not inside an invoke_agent span", s.Name(), a["gen_ai.tool.call.id"])
		}
		for _, k := range want.Keys {
			if _, ok := a[k]; !ok {
				t.Errorf("%s (%v) lacks %s", s.Name(), a["gen_ai.tool.call.id"], k)
			}
		}
	}
	return tools, b.String()
}

// Attrs returns the attributes of s by key.
func Attrs(s sdktrace.ReadOnlySpan) map[string]any {
	m := map[string]any{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}
