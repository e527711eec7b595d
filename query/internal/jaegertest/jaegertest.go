// Package jaegertest runs a real Jaeger v2 binary for tests: memory
// storage, every endpoint on 127.0.0.1 on a free port, internal telemetry
// off. That includes the tracing of its own queries, which Jaeger would
// otherwise export to OTEL_EXPORTER_OTLP_ENDPOINT, by default
// localhost:4317 where a collector under test may listen, and flush (or
// retry against a closed port) when it stops. The binary is found through
// the OTELAUDIT_JAEGER_BIN environment variable (make tools builds it into
// _build/bin/jaeger).
package jaegertest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// EnvBin names the environment variable holding the Jaeger binary's path.
const EnvBin = "OTELAUDIT_JAEGER_BIN"

// Jaeger is a running Jaeger process.
type Jaeger struct {
	// QueryURL is the base URL of the query service, e.g.
	// http://127.0.0.1:34567.
	QueryURL string
	// OTLPHTTP and OTLPGRPC are the host:port of the OTLP receivers.
	OTLPHTTP string
	OTLPGRPC string

	cmd    *exec.Cmd
	dir    string
	mu     sync.Mutex
	output bytes.Buffer
	done   chan struct{}
}

const config = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      mem:
        memory:
          max_traces: %d
  jaeger_query:
    storage:
      traces: mem
    enable_tracing: false
    http:
      endpoint: %s
    grpc:
      endpoint: %s
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: %s
      http:
        endpoint: %s
exporters:
  jaeger_storage_exporter:
    trace_storage: mem
`

// Bin returns the Jaeger binary path from the environment, "" if unset.
func Bin() string { return os.Getenv(EnvBin) }

// Start launches Jaeger and waits until its query API answers.
func Start(ctx context.Context, bin string) (*Jaeger, error) {
	return StartMaxTraces(ctx, bin, 100000)
}

// StartMaxTraces is Start with the memory store holding at most maxTraces
// traces: Jaeger then refuses searches deeper than that.
func StartMaxTraces(ctx context.Context, bin string, maxTraces int) (*Jaeger, error) {
	ports, err := freePorts(4)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "otelaudit-jaeger-")
	if err != nil {
		return nil, err
	}
	j := &Jaeger{
		QueryURL: "http://" + ports[0],
		OTLPGRPC: ports[2],
		OTLPHTTP: ports[3],
		dir:      dir,
		done:     make(chan struct{}),
	}
	cfg := filepath.Join(dir, "jaeger.yaml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, config, maxTraces, ports[0], ports[1], ports[2], ports[3]), 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	j.cmd = exec.Command(bin, "--config", cfg)
	j.cmd.Stdout = j
	j.cmd.Stderr = j
	j.cmd.SysProcAttr = procAttr()
	if err := j.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		j.cmd.Wait()
		close(j.done)
	}()
	deadline := time.Now().Add(90 * time.Second)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryURL+"/api/v3/services", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return j, nil
			}
		}
		select {
		case <-j.done:
			err := fmt.Errorf("jaeger exited during start-up: %s", j.Output())
			j.Stop()
			return nil, err
		case <-ctx.Done():
			j.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			out := j.Output()
			j.Stop()
			return nil, fmt.Errorf("jaeger did not answer within 90s: %s", out)
		}
	}
}

// Write collects the process output.
func (j *Jaeger) Write(p []byte) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.output.Write(p)
}

// Output returns what the process printed so far.
func (j *Jaeger) Output() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.output.String()
}

// Stop terminates Jaeger (SIGTERM, then SIGKILL after 10s) and removes its
// files. Safe to call twice.
func (j *Jaeger) Stop() error {
	if j.cmd.Process != nil {
		select {
		case <-j.done:
		default:
			j.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-j.done:
			case <-time.After(10 * time.Second):
				j.cmd.Process.Kill()
				<-j.done
			}
		}
	}
	return os.RemoveAll(j.dir)
}

// freePorts returns n distinct free 127.0.0.1:port addresses.
func freePorts(n int) ([]string, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}
