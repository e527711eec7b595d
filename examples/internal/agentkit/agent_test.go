package agentkit_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/examples/internal/agenttest"
	"github.com/otelaudit/otelaudit/instrumentation"
)

func testAgent() agentkit.Agent {
	return agentkit.Agent{Name: "testagent", Service: "test-agent", Scope: "test", Tools: testTools, Script: testScript}
}

func TestAgentRunPrints(t *testing.T) {
	agenttest.ClearEnv(t)
	var out bytes.Buffer
	if err := testAgent().Run(context.Background(), &out, agentkit.WithListing(&out)); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"conversation c1: u1 (a,b), model m1\n",
		"execute_tool no  internal  [ERROR: refused]",
		"service.name                 test-agent\n",
		"\ntestagent: 5 tool calls (2 failed) in 2 conversations exported to standard output (set OTEL_EXPORTER_OTLP_ENDPOINT to send them to a collector)\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if !strings.HasSuffix(text, "collector)\n") {
		t.Errorf("the summary is not the last line:\n%s", text)
	}
}

func TestAgentRunExportsOrFails(t *testing.T) {
	agenttest.CheckExport(t, func(ctx context.Context, w io.Writer) error { return testAgent().Run(ctx, w) },
		5+3, "testagent: 5 tool calls (2 failed) in 2 conversations exported to OTLP/")
}

func TestAgentToolsFail(t *testing.T) {
	agenttest.ClearEnv(t)
	broken := errors.New("no database")
	a := testAgent()
	a.Tools = func(*instrumentation.Registry) error { return broken }
	var out bytes.Buffer
	if err := a.Run(context.Background(), &out, agentkit.WithListing(&out)); !errors.Is(err, broken) {
		t.Errorf("Run = %v, want %v", err, broken)
	}
	if out.Len() != 0 {
		t.Errorf("output:\n%s", out.String())
	}
}
