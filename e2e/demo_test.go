//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoEnv returns the environment of scripts/demo.sh for this test: the
// binaries under test, a temporary state directory and free ports.
func demoEnv(t *testing.T, b binaries, dir string) ([]string, map[string]int) {
	ports := map[string]int{}
	names := []string{"OTELAUDIT_OTLP_GRPC_PORT", "OTELAUDIT_OTLP_HTTP_PORT", "OTELAUDIT_HEALTH_PORT",
		"JAEGER_QUERY_HTTP_PORT", "JAEGER_QUERY_GRPC_PORT", "JAEGER_OTLP_GRPC_PORT", "JAEGER_OTLP_HTTP_PORT"}
	env := cleanEnv("BIN="+b.agentDir, "COLLECTOR="+b.collector, "JAEGER="+b.jaeger, "CLI="+b.cli, "DEMO_DIR="+dir)
	for i, p := range freePorts(t, len(names)) {
		ports[names[i]] = p
		env = append(env, names[i]+"="+strconv.Itoa(p))
	}
	return env, ports
}

func runDemo(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{repoFile(t, "scripts/demo.sh")}, args...)...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// listening reports whether something accepts connections on the port.
func listening(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err == nil {
		c.Close()
	}
	return err == nil
}

// TestDemoScript runs `make demo`'s script as a user would, then with
// KEEP=1 and its stop command, and checks what it prints and that it
// leaves nothing running.
func TestDemoScript(t *testing.T) {
	b := loadBinaries(t)
	dir := filepath.Join(t.TempDir(), "demo")
	env, ports := demoEnv(t, b, dir)

	out, err := runDemo(t, env)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^supportagent: 15 tool calls \(2 failed\) in 4 conversations exported to OTLP/HTTP`),
		regexp.MustCompile(`(?m)^medicalrecords: 21 tool calls \(1 failed\) in 6 conversations exported to OTLP/gRPC`),
		regexp.MustCompile(`(?m)^mcpagent: 6 tool calls \(1 failed\) over MCP`),
		// The timeline, from the store and from Jaeger, with the refund's
		// secrets masked.
		regexp.MustCompile(`(?s)from the audit store.*\[Turn 2\] ✅ issue_refund\(\{[^\n]*api_key=\*\*\*REDACTED\*\*\*.*from Jaeger.*\[Turn 2\] ✅ issue_refund`),
		regexp.MustCompile(`(?m)^Totals: 12 accesses \(12 succeeded, 0 failed\), 0 break-glass, 1 unique users \(m\.ross\)$`),
		regexp.MustCompile(`(?m)^break_glass .*patient/P-1004 .*dr\.santos`),
		regexp.MustCompile(`(?m)^break_glass .*patient/P-1003 .*d-77`),
		regexp.MustCompile(`(?m)^subject_burst .*patient/P-1007 .*m\.ross +12 `),
		regexp.MustCompile(`(?m)^Consistent: every tool span has its audit record and every field matches\.$`),
		regexp.MustCompile(`(?m)^OK: 48 records in 3 chains, 0 problems$`),
		// The demo waited for signed checkpoints over every record.
		regexp.MustCompile(`(?m)^chain healthcare \(.*\): records 0\.\.32, 1 segments, latest checkpoint 33, `),
		regexp.MustCompile(`(?m)^== Jaeger: http://127\.0\.0\.1:` + strconv.Itoa(ports["JAEGER_QUERY_HTTP_PORT"]) + ` `),
	} {
		if !want.MatchString(out) {
			t.Errorf("demo output lacks %s", want)
		}
	}
	if strings.Contains(out, "sk_live_") {
		t.Error("the demo printed the planted api_key")
	}
	for name, p := range ports {
		if listening(p) {
			t.Errorf("after the demo, %s %d still has a listener", name, p)
		}
	}

	// KEEP=1 leaves both services running and says how to stop them.
	out, err = runDemo(t, slices.Concat(env, []string{"KEEP=1"}))
	t.Cleanup(func() { _, _ = runDemo(t, env, "stop") }) // even if the test fails
	if err != nil {
		t.Fatalf("demo KEEP=1: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Stop them with:   make demo-stop") {
		t.Errorf("KEEP=1 output does not say how to stop:\n%s", out)
	}
	for _, name := range []string{"OTELAUDIT_OTLP_HTTP_PORT", "JAEGER_QUERY_HTTP_PORT"} {
		if !listening(ports[name]) {
			t.Errorf("with KEEP=1, nothing listens on %s %d", name, ports[name])
		}
	}
	// A second run refuses to start over the running one.
	if out, err := runDemo(t, env); err == nil || !strings.Contains(out, "is still running") {
		t.Errorf("second demo over a kept one: %v\n%s", err, out)
	}
	out, err = runDemo(t, env, "stop")
	if err != nil || !strings.Contains(out, "demo: stopped") {
		t.Errorf("demo stop: %v\n%s", err, out)
	}
	for name, p := range ports {
		if listening(p) {
			t.Errorf("after demo stop, %s %d still has a listener", name, p)
		}
	}
	// The store it left behind still verifies.
	if _, err := os.Stat(filepath.Join(dir, "store")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(b.cli, "verify", "--dir", filepath.Join(dir, "store"), "--verifier", filepath.Join(dir, "verifier.key"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("verify the demo's store: %v\n%s", err, out)
	}
}

// TestDemoRefusesTakenPort checks that the demo names a taken port and the
// variable that moves it, and starts nothing.
func TestDemoRefusesTakenPort(t *testing.T) {
	b := loadBinaries(t)
	env, ports := demoEnv(t, b, filepath.Join(t.TempDir(), "demo"))
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", ports["OTELAUDIT_OTLP_GRPC_PORT"]))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	out, err := runDemo(t, env)
	want := fmt.Sprintf("port %d (otelcol-audit OTLP/gRPC) is taken on 127.0.0.1: stop what listens there, or run with OTELAUDIT_OTLP_GRPC_PORT=<free port>", ports["OTELAUDIT_OTLP_GRPC_PORT"])
	if err == nil || !strings.Contains(out, want) {
		t.Errorf("demo with a taken port: %v\n%s", err, out)
	}
	if listening(ports["JAEGER_QUERY_HTTP_PORT"]) {
		t.Error("the demo started Jaeger although a port was taken")
	}
}
