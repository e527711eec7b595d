package query

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/query")

// scenarioFile is the OTLP JSON form of the scenario, in the collector file
// exporter's format (one request per line). TestScenarioGolden keeps it in
// sync with the scenario package.
var scenarioFile = filepath.Join("..", "testdata", "query", "scenario.otlp.jsonl")

var (
	captureOnce sync.Once
	captured    []ptrace.Traces
	captureErr  error
)

// scenarioTraces returns the scenario as captured from the SDK's OTLP
// exporter (computed once per test binary).
func scenarioTraces(t testing.TB) []ptrace.Traces {
	t.Helper()
	captureOnce.Do(func() { captured, captureErr = scenario.Capture(context.Background()) })
	if captureErr != nil {
		t.Fatalf("capture scenario: %v", captureErr)
	}
	return captured
}

// scenarioJSONL renders traces as OTLP JSON lines.
func scenarioJSONL(t testing.TB, tds []ptrace.Traces) []byte {
	t.Helper()
	var m ptrace.JSONMarshaler
	var b []byte
	for _, td := range tds {
		line, err := m.MarshalTraces(td)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, line...), '\n')
	}
	return b
}

// scenarioRecords maps the scenario's tool spans to records, as the audit
// exporter would (without chain fields).
func scenarioRecords(t testing.TB) []auditlog.Record {
	t.Helper()
	c := newRecordCollector(Filter{}, toolspan.Options{})
	for _, td := range scenarioTraces(t) {
		c.add(td)
	}
	return c.records()
}

func writeFile(t testing.TB, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

type ptraceTraces = ptrace.Traces

func jsonIndent(dst *bytes.Buffer, src []byte) error { return json.Indent(dst, src, "", "  ") }

func utf8Valid(s string) bool { return utf8.ValidString(s) }

func ptraceNew() ptrace.Traces { return ptrace.NewTraces() }
