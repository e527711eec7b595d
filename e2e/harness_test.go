//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The environment variables naming the binaries under test; `make e2e`
// sets them.
const (
	envCollector = "OTELAUDIT_COLLECTOR_BIN"
	envJaeger    = "OTELAUDIT_JAEGER_BIN"
	envCLI       = "OTELAUDIT_CLI_BIN"
	envAgentDir  = "OTELAUDIT_AGENT_BIN_DIR"
)

// Bounds on every wait, generous for a loaded 2-core machine.
const (
	startTimeout = 90 * time.Second
	dataTimeout  = 90 * time.Second
	stopTimeout  = 20 * time.Second
)

// binaries are the programs under test.
type binaries struct {
	collector, jaeger, cli, agentDir string
}

func loadBinaries(t *testing.T) binaries {
	t.Helper()
	b := binaries{
		collector: os.Getenv(envCollector),
		jaeger:    os.Getenv(envJaeger),
		cli:       os.Getenv(envCLI),
		agentDir:  os.Getenv(envAgentDir),
	}
	for name, path := range map[string]string{envCollector: b.collector, envJaeger: b.jaeger, envCLI: b.cli} {
		if path == "" {
			t.Fatalf("%s is not set: run the end-to-end tests with `make e2e`, which builds the binaries", name)
		}
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if b.agentDir == "" {
		t.Fatalf("%s is not set: run the end-to-end tests with `make e2e`", envAgentDir)
	}
	return b
}

// repoFile returns the path of a file of the repository, which is the
// parent of this package's directory.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", rel))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// logBuffer collects a process's output for the test log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// tail returns the last n lines of the output, each cut to 400 bytes (the
// collector's log lines end in long resource descriptions).
func (b *logBuffer) tail(n int) string {
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… %d earlier lines cut …", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	for i, l := range lines {
		if len(l) > 400 {
			lines[i] = l[:400] + " …"
		}
	}
	return strings.Join(lines, "\n")
}

// proc is a server process under test. It is stopped when the test ends,
// even when the test fails, and its output is logged if the test failed.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *logBuffer
	done chan struct{}
	err  error // valid after done is closed
}

// cleanEnv is the test process's environment without the variables that
// configure the programs under test, so that a developer's settings cannot
// leak into the tests.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "OTEL_") || strings.HasPrefix(k, "OTELAUDIT_") || strings.HasPrefix(k, "JAEGER_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func startProc(t *testing.T, name, bin string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, out: &logBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	// Should the test binary die without running its cleanups (a panic on
	// -timeout), the kernel kills the servers too.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("output of %s (pid %d):\n%s", name, p.cmd.Process.Pid, p.out.tail(150))
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to stop (SIGTERM) and kills it if it has not
// within stopTimeout. It returns the process's exit error.
func (p *proc) stop(t *testing.T) error {
	if p.exited() {
		return p.err
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		t.Errorf("%s did not stop within %v of SIGTERM: killed", p.name, stopTimeout)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	return p.err
}

// kill kills the process with SIGKILL and waits for it to be gone.
func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// freePorts returns n distinct ports free on 127.0.0.1.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// waitFor polls cond until it reports true, for at most timeout; cond's
// message says what the last attempt found.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s: %s", timeout, what, msg)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// httpGet returns the status and body of a GET.
func httpGet(url string) (int, []byte, error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// stack is one deployment under test: otelcol-audit with its keys, store
// and queue in a temporary directory, and optionally Jaeger.
type stack struct {
	t   *testing.T
	bin binaries
	dir string

	token, hmacKey   string
	signer, verifier string
	store, queue     string

	otlpGRPC, otlpHTTP, health                           int
	jaegerQuery, jaegerQueryGRPC, jaegerGRPC, jaegerHTTP int

	jaeger, collector *proc
	collectorStarts   int
}

// newStack prepares a deployment: keys from `otelaudit keygen`, a random
// bearer token and HMAC key, free ports. Nothing runs yet.
func newStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, bin: loadBinaries(t), dir: t.TempDir()}
	s.token = "e2e-" + randomHex(t, 24)
	s.hmacKey = randomHex(t, 32)
	s.signer = filepath.Join(s.dir, "signer.key")
	s.verifier = filepath.Join(s.dir, "verifier.key")
	s.store = filepath.Join(s.dir, "store")
	s.queue = filepath.Join(s.dir, "queue")
	if out, code := s.cli("keygen", "--name", "e2e.otelaudit.example", "--signer", s.signer, "--verifier", s.verifier); code != 0 {
		t.Fatalf("keygen: exit %d: %s", code, out)
	}
	p := freePorts(t, 7)
	s.otlpGRPC, s.otlpHTTP, s.health = p[0], p[1], p[2]
	s.jaegerQuery, s.jaegerQueryGRPC, s.jaegerGRPC, s.jaegerHTTP = p[3], p[4], p[5], p[6]
	return s
}

// clientName is how the audit exporter names the bearer token's client.
func (s *stack) clientName() string {
	sum := sha256.Sum256([]byte(s.token))
	return "bearer:sha256:" + hex.EncodeToString(sum[:])[:24]
}

func (s *stack) jaegerURL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.jaegerQuery) }

func (s *stack) healthURL() string { return fmt.Sprintf("http://127.0.0.1:%d/", s.health) }

// startJaeger starts Jaeger with examples/jaeger/config.yaml and waits for
// its query API.
func (s *stack) startJaeger() {
	s.t.Helper()
	env := cleanEnv(
		"JAEGER_QUERY_HTTP_PORT="+strconv.Itoa(s.jaegerQuery),
		"JAEGER_QUERY_GRPC_PORT="+strconv.Itoa(s.jaegerQueryGRPC),
		"JAEGER_OTLP_GRPC_PORT="+strconv.Itoa(s.jaegerGRPC),
		"JAEGER_OTLP_HTTP_PORT="+strconv.Itoa(s.jaegerHTTP),
	)
	s.jaeger = startProc(s.t, "jaeger", s.bin.jaeger, env, "--config", repoFile(s.t, "examples/jaeger/config.yaml"))
	waitFor(s.t, "Jaeger's query API", startTimeout, func() (bool, string) {
		if s.jaeger.exited() {
			s.t.Fatalf("jaeger exited: %v", s.jaeger.err)
		}
		code, _, err := httpGet(s.jaegerURL() + "/api/services")
		return code == http.StatusOK, fmt.Sprint(code, err)
	})
}

// startCollector starts otelcol-audit with examples/collector/config.yaml
// and waits for its health check. It may be called again after the
// collector stopped: the store and the queue are kept.
func (s *stack) startCollector() {
	s.t.Helper()
	s.collectorStarts++
	env := cleanEnv(
		"OTELAUDIT_TOKEN="+s.token,
		"OTELAUDIT_HMAC_KEY="+s.hmacKey,
		"OTELAUDIT_DIR="+s.store,
		"OTELAUDIT_SIGNER="+s.signer,
		"OTELAUDIT_QUEUE_DIR="+s.queue,
		"OTELAUDIT_CHECKPOINT_INTERVAL=1s",
		"OTELAUDIT_OTLP_GRPC_PORT="+strconv.Itoa(s.otlpGRPC),
		"OTELAUDIT_OTLP_HTTP_PORT="+strconv.Itoa(s.otlpHTTP),
		"OTELAUDIT_HEALTH_PORT="+strconv.Itoa(s.health),
		"JAEGER_OTLP_ENDPOINT="+fmt.Sprintf("127.0.0.1:%d", s.jaegerGRPC),
	)
	name := "otelcol-audit"
	if s.collectorStarts > 1 {
		name = fmt.Sprintf("otelcol-audit (start %d)", s.collectorStarts)
	}
	c := startProc(s.t, name, s.bin.collector, env, "--config", repoFile(s.t, "examples/collector/config.yaml"))
	s.collector = c
	waitFor(s.t, "otelcol-audit's health check", startTimeout, func() (bool, string) {
		if c.exited() {
			s.t.Fatalf("%s exited: %v", name, c.err)
		}
		code, body, err := httpGet(s.healthURL())
		return code == http.StatusOK, fmt.Sprint(code, string(body), err)
	})
}

// cli runs the otelaudit CLI and returns its combined output and exit
// code.
func (s *stack) cli(args ...string) (string, int) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin.cli, args...)
	cmd.Env = cleanEnv()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	default:
		s.t.Fatalf("otelaudit %s: %v", strings.Join(args, " "), err)
		return "", -1
	}
}

// storeArgs are the CLI flags that read this stack's store.
func (s *stack) storeArgs() []string { return []string{"--dir", s.store, "--verifier", s.verifier} }

// runAgent runs an example agent against the collector over OTLP with the
// given protocol ("http/protobuf" or "grpc") and returns its output.
func (s *stack) runAgent(name, protocol string) string {
	s.t.Helper()
	port := s.otlpHTTP
	if protocol == "grpc" {
		port = s.otlpGRPC
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin.agentDir, name))
	cmd.Env = cleanEnv(
		fmt.Sprintf("OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:%d", port),
		"OTEL_EXPORTER_OTLP_PROTOCOL="+protocol,
		"OTEL_EXPORTER_OTLP_HEADERS=Authorization=Bearer%20"+s.token,
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		s.t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return string(out)
}

// record is an audit record as the store holds it: the members the tests
// look at.
type record struct {
	ChainID       string          `json:"chain_id"`
	Seq           int             `json:"seq"`
	TraceID       string          `json:"trace_id"`
	SpanID        string          `json:"span_id"`
	ToolName      string          `json:"tool_name"`
	ToolCallID    string          `json:"tool_call_id"`
	UserID        string          `json:"user_id"`
	Arguments     json.RawMessage `json:"arguments"`
	BreakGlass    bool            `json:"break_glass"`
	BreakGlassWhy string          `json:"break_glass_reason"`
	Source        struct {
		Client  string `json:"client"`
		Service string `json:"service"`
	} `json:"source"`
	Subject struct {
		ID string `json:"id"`
	} `json:"subject"`
	Redaction struct {
		Paths []string `json:"paths"`
	} `json:"redaction"`
}

// records reads every record of the store's segments. A torn last line
// (the collector is running) is left out.
func (s *stack) records() ([]record, error) {
	var recs []record
	segs, err := filepath.Glob(filepath.Join(s.store, "*", "*.jsonl"))
	if err != nil {
		return nil, err
	}
	for _, seg := range segs {
		b, err := os.ReadFile(seg)
		if err != nil {
			return nil, err
		}
		for line := range bytes.Lines(b) {
			if !bytes.HasSuffix(line, []byte("\n")) {
				break
			}
			var r record
			if err := json.Unmarshal(line, &r); err != nil {
				return nil, fmt.Errorf("%s: %w: %s", seg, err, line)
			}
			recs = append(recs, r)
		}
	}
	return recs, nil
}

// storeBytes returns every byte of every file in the store: segments,
// checkpoints, seals, indexes.
func (s *stack) storeBytes() []byte {
	s.t.Helper()
	var all bytes.Buffer
	err := filepath.WalkDir(s.store, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all.Write(b)
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return all.Bytes()
}

// waitVerified waits until `otelaudit verify` passes with at least n
// records and every chain's latest signed checkpoint covers all of the
// chain's records, and returns the records.
func (s *stack) waitVerified(n int) []record {
	s.t.Helper()
	var recs []record
	waitFor(s.t, fmt.Sprintf("%d records in the store under signed checkpoints", n), dataTimeout, func() (bool, string) {
		var err error
		if recs, err = s.records(); err != nil || len(recs) < n {
			return false, fmt.Sprintf("%d records, %v", len(recs), err)
		}
		out, code := s.cli(append([]string{"verify", "--format", "json"}, s.storeArgs()...)...)
		var v struct {
			OK      bool `json:"ok"`
			Records int  `json:"records"`
			Chains  []struct {
				Chain          string `json:"chain"`
				Size           int    `json:"size"`
				CheckpointSize int    `json:"checkpoint_size"`
			} `json:"chains"`
		}
		if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || !v.OK || v.Records < n {
			return false, fmt.Sprintf("verify: exit %d, %v: %s", code, err, out)
		}
		for _, c := range v.Chains {
			if c.CheckpointSize != c.Size {
				return false, fmt.Sprintf("chain %s: %d records, checkpoint covers %d", c.Chain, c.Size, c.CheckpointSize)
			}
		}
		return true, ""
	})
	return recs
}
