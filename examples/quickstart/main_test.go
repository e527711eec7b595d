package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/otelaudit/otelaudit/examples/internal/agenttest"
)

const (
	toolSpans = 8
	turnSpans = 5
	secret    = "hunter2-not-a-real-password"
	// envRunMain makes the test binary run main instead of the tests.
	envRunMain = "QUICKSTART_TEST_RUN_MAIN"
)

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestRunPrintsSpans(t *testing.T) {
	agenttest.ClearEnv(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if got := countLines(text, "execute_tool "); got != toolSpans {
		t.Errorf("%d execute_tool spans printed, want %d\n%s", got, toolSpans, text)
	}
	if got := countLines(text, "invoke_agent "); got != turnSpans {
		t.Errorf("%d invoke_agent spans printed, want %d", got, turnSpans)
	}
	for _, want := range []string{
		`"smtp_password":"***REDACTED***"`,
		`execute_tool update_treatment  internal  [ERROR: role "nurse" may not change a treatment plan`,
		"error.type                   permission_denied",
		"audit.break_glass            true",
		"audit.break_glass.reason     patient unresponsive in the ER, attending physician unavailable",
		"audit.trigger                proactive",
		"user.id                      bob",
		"service.name                 quickstart-agent",
		"quickstart: 8 tool calls recorded and exported to standard output",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, secret) {
		t.Error("the secret reached the output")
	}
}

func countLines(text, prefix string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

func TestRunJSON(t *testing.T) {
	agenttest.ClearEnv(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, true); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(strings.TrimSuffix(out.String(), lastLine(out.String()))))
	names := map[string]int{}
	for {
		var span struct{ Name string }
		if err := dec.Decode(&span); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("stdout exporter output: %v", err)
		}
		names[strings.Fields(span.Name)[0]]++
	}
	if names["execute_tool"] != toolSpans || names["invoke_agent"] != turnSpans {
		t.Errorf("spans = %v", names)
	}
	if strings.Contains(out.String(), secret) {
		t.Error("the secret reached the output")
	}
}

func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:] + "\n"
}

func TestRunOTLP(t *testing.T) {
	for _, protocol := range []string{"http", "grpc"} {
		t.Run(protocol, func(t *testing.T) {
			r := agenttest.NewReceiver(t, protocol, "")
			r.PointAt(t, "")
			var out bytes.Buffer
			if err := run(context.Background(), &out, false); err != nil {
				t.Fatal(err)
			}
			if want := "quickstart: 8 tool calls recorded and exported to OTLP/"; !strings.Contains(out.String(), want) {
				t.Errorf("output = %q, want %q", out.String(), want)
			}
			check(t, r.Spans())
		})
	}
}

// check checks the spans a collector received.
func check(t *testing.T, spans []agenttest.Span) {
	t.Helper()
	if len(spans) != toolSpans+turnSpans {
		t.Fatalf("collector received %d spans, want %d", len(spans), toolSpans+turnSpans)
	}
	tools := 0
	for _, s := range spans {
		if s.Resource["service.name"] != serviceName || s.SchemaURL != semconv.SchemaURL {
			t.Errorf("resource %v, schema %q; want service.name %q, schema %q", s.Resource, s.SchemaURL, serviceName, semconv.SchemaURL)
		}
		if !strings.HasPrefix(s.Name, "execute_tool ") {
			continue
		}
		tools++
		a := agenttest.Strings(s.Attributes)
		if a["gen_ai.operation.name"] != "execute_tool" || a["gen_ai.tool.call.id"] == "" || a["user.id"] == "" {
			t.Errorf("span %s lacks attribution: %v", s.Name, a)
		}
		if strings.Contains(a["gen_ai.tool.call.arguments"], secret) {
			t.Errorf("span %s carries the secret", s.Name)
		}
		if s.Name == "execute_tool update_treatment" && s.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("the failed call has status %v", s.Status)
		}
	}
	if tools != toolSpans {
		t.Errorf("%d tool spans, want %d", tools, toolSpans)
	}
}

// A collector that refuses the spans (here a wrong token) makes run fail:
// the SDK only logs a failed background export, so quickstart counts them.
func TestRunExportsOrFails(t *testing.T) {
	agenttest.CheckExport(t, func(ctx context.Context, w io.Writer) error { return run(ctx, w, false) },
		toolSpans+turnSpans, "quickstart: 8 tool calls recorded and exported to OTLP/")
}

// The command exits 1, with the reason, when its spans are refused, and 0
// when they are accepted.
func TestExitStatus(t *testing.T) {
	tests := []struct {
		token      string
		wantStatus int
		wantOut    string
	}{
		{token: "s3cret-token", wantStatus: 0, wantOut: "quickstart: 8 tool calls recorded and exported to OTLP/HTTP "},
		{token: "wrong-token", wantStatus: 1, wantOut: "quickstart: flush spans to OTLP/HTTP "},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			r := agenttest.NewReceiver(t, "http", "s3cret-token")
			r.PointAt(t, tt.token)
			t.Setenv(envRunMain, "1")
			cmd := exec.Command(os.Args[0])
			out, err := cmd.CombinedOutput()
			status := 0
			if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
				status = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if status != tt.wantStatus || !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("exit status %d, want %d, output:\n%s\nwant a line with %q", status, tt.wantStatus, out, tt.wantOut)
			}
			if tt.wantStatus != 0 && !strings.Contains(string(out), "13 spans not exported") {
				t.Errorf("the error does not say how many spans were lost:\n%s", out)
			}
		})
	}
}

func TestCanceledRun(t *testing.T) {
	agenttest.ClearEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, false); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}
