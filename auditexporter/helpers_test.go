package auditexporter

import (
	"context"
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/mod/sumdb/note"

	"github.com/otelaudit/otelaudit/auditlog"
)

// sampleFiles are the shared OTLP JSON samples, one per convention.
var sampleFiles = []string{"genai.json", "mcp.json", "openinference.json", "traceloop.json", "vercel_ai.json"}

// Counts of the samples: 11 tool spans, 8 other spans.
const (
	sampleToolSpans  = 11
	sampleOtherSpans = 8
)

// keys is a note key pair written to a temporary file.
type keys struct {
	signerFile string
	verifier   note.Verifier
}

func newKeys(t testing.TB) keys {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "test.otelaudit")
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "signer.key")
	require.NoError(t, os.WriteFile(file, []byte(skey+"\n"), 0o600))
	v, err := note.NewVerifier(vkey)
	require.NoError(t, err)
	return keys{signerFile: file, verifier: v}
}

// testConfig is the default configuration pointed at dir.
func testConfig(dir string, k keys) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Directory = dir
	cfg.Origin = "test.otelaudit/gateway"
	cfg.SigningKeyFile = k.signerFile
	cfg.CheckpointInterval = 0
	// Before every sample span: retention counts from the spans' starts,
	// which the tests' expected records use.
	cfg.now = func() time.Time { return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) }
	return cfg
}

// noRetry makes ConsumeTraces return the store's error at once.
func noRetry(cfg *Config) {
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.RetryConfig.Enabled = false
}

// startExporter creates and starts the exporter; it is shut down when the
// test ends unless the test did so.
func startExporter(t testing.TB, cfg *Config, set exporter.Settings) exporter.Traces {
	t.Helper()
	exp, err := NewFactory().CreateTraces(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	o := &onceShutdown{Traces: exp}
	t.Cleanup(func() { _ = o.Shutdown(context.Background()) })
	return o
}

// onceShutdown lets a test shut the exporter down itself and the cleanup
// do it otherwise: the collector shuts a component down exactly once, and
// exporterhelper does not tolerate a second call.
type onceShutdown struct {
	exporter.Traces
	once sync.Once
	err  error
}

func (o *onceShutdown) Shutdown(ctx context.Context) error {
	o.once.Do(func() { o.err = o.Traces.Shutdown(ctx) })
	return o.err
}

func nopSettings() exporter.Settings { return exportertest.NewNopSettings(Type) }

// loadSamples merges the given sample files into one Traces.
func loadSamples(t testing.TB, files ...string) ptrace.Traces {
	t.Helper()
	out := ptrace.NewTraces()
	for _, f := range files {
		raw, err := os.ReadFile(filepath.Join("..", "testdata", "spans", f))
		require.NoError(t, err)
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
		require.NoError(t, err)
		td.ResourceSpans().MoveAndAppendTo(out.ResourceSpans())
	}
	return out
}

// readStore returns the records on disk, by chain, in chain order.
func readStore(t testing.TB, dir string) map[string][]auditlog.Record {
	t.Helper()
	out := map[string][]auditlog.Record{}
	segs, err := filepath.Glob(filepath.Join(dir, "*", "*.jsonl"))
	require.NoError(t, err)
	slices.Sort(segs)
	for _, seg := range segs {
		chain := filepath.Base(filepath.Dir(seg))
		require.NoError(t, auditlog.ReadSegmentFile(seg, func(r *auditlog.Record, _ []byte) error {
			c := *r
			c.Arguments = append([]byte(nil), r.Arguments...)
			c.ResultSummary = append([]byte(nil), r.ResultSummary...)
			c.UserRoles = slices.Clone(r.UserRoles)
			c.Redaction.Paths = slices.Clone(r.Redaction.Paths)
			if r.TurnNumber != nil {
				n := *r.TurnNumber
				c.TurnNumber = &n
			}
			if r.Error != nil {
				e := *r.Error
				c.Error = &e
			}
			out[chain] = append(out[chain], c)
			return nil
		}))
	}
	return out
}

// verifyStore runs the store's verifier and fails the test on any finding.
func verifyStore(t testing.TB, dir string, v note.Verifier) *auditlog.Report {
	t.Helper()
	rep, err := auditlog.Verify(dir, note.VerifierList(v))
	require.NoError(t, err)
	require.True(t, rep.OK(), "verify findings: %v", rep.Findings)
	return rep
}

// allBytes returns the content of every regular file under dir.
func allBytes(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = b
		return err
	}))
	return out
}

// eventually polls cond for up to 10 s.
func eventually(t testing.TB, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
