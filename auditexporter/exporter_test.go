package auditexporter

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// counter returns the sum of an int64 counter of the exporter.
func counter(t testing.TB, tel *componenttest.Telemetry, name string) int64 {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		return 0 // never recorded
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "%s is an int64 sum", name)
	var n int64
	for _, dp := range sum.DataPoints {
		n += dp.Value
	}
	return n
}

// TestEndToEnd sends the tool spans of every convention through the
// exporter, as the collector would, and checks the store: one record per
// tool span, fields as mapped, routed to its retention chain, chained and
// signed so that the verifier accepts it; other spans skipped and counted.
func TestEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	k := newKeys(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := nopSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := testConfig(dir, k)
	exp := startExporter(t, cfg, set)

	// What the mapping makes of the samples, keyed by span id.
	want := map[string]auditlog.Record{}
	for _, rs := range loadSamples(t, sampleFiles...).ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				if r, ok := toolspan.Map(rs.Resource(), ss.Scope(), sp, toolspan.Options{MaxPayloadBytes: cfg.MaxPayloadBytes}); ok {
					want[r.SpanID] = r
				}
			}
		}
	}
	require.Len(t, want, sampleToolSpans)

	require.NoError(t, exp.ConsumeTraces(context.Background(), loadSamples(t, sampleFiles...)))

	// Acknowledged means durable: the records are on disk before shutdown.
	chains := readStore(t, dir)
	wantClass := map[string]string{
		"issue_refund": "financial", "charge_payment": "financial",
		"access_patient_record": "healthcare",
	}
	total := 0
	for chain, recs := range chains {
		for i, got := range recs {
			total++
			w, ok := want[got.SpanID]
			require.True(t, ok, "record %s is one of the tool spans", got.SpanID)
			class := wantClass[got.ToolName]
			if class == "" {
				class = "general"
			}
			assert.Equal(t, class, chain, "tool %s routed to its class's chain", got.ToolName)
			assert.Equal(t, class, got.Retention.Class)
			assert.Equal(t, cfg.Retention.Classes[class].Days, got.Retention.Days)

			assert.Equal(t, 1, got.V)
			assert.Equal(t, "test.otelaudit/gateway/"+class, got.ChainID)
			assert.Equal(t, uint64(i), got.Seq, "gap-free sequence")
			if i == 0 {
				assert.Equal(t, auditlog.ZeroHash, got.PrevHash)
			} else {
				assert.Equal(t, recs[i-1].Hash, got.PrevHash)
			}
			assert.Equal(t, got.ComputeHash(), got.Hash)

			// Everything else is exactly what the mapping produced.
			w.V, w.ChainID, w.Seq, w.PrevHash, w.Hash, w.Retention = got.V, got.ChainID, got.Seq, got.PrevHash, got.Hash, got.Retention
			assert.Equal(t, w, got, "record of span %s", got.SpanID)
		}
	}
	assert.Equal(t, sampleToolSpans, total)
	assert.Len(t, chains["financial"], 2)
	assert.Len(t, chains["healthcare"], 1)
	assert.Len(t, chains["general"], 8)

	byTool := map[string]auditlog.Record{}
	for _, recs := range chains {
		for _, r := range recs {
			byTool[r.ToolName] = r
		}
	}
	assert.Equal(t, "2032-12-30T10:15:01.350000000Z", byTool["issue_refund"].Retention.RetainUntil)
	assert.Equal(t, "2031-12-31T10:15:02.000000000Z", byTool["access_patient_record"].Retention.RetainUntil)
	assert.Equal(t, "2027-01-01T11:00:00.000000000Z", byTool["reindex_catalog"].Retention.RetainUntil)

	assert.Equal(t, int64(sampleToolSpans), counter(t, tel, metricRecordsWritten))
	assert.Equal(t, int64(sampleOtherSpans), counter(t, tel, metricSkippedSpans))
	assert.Equal(t, int64(0), counter(t, tel, metricDuplicates))
	assert.Equal(t, int64(0), counter(t, tel, metricAppendFailures))

	require.NoError(t, exp.Shutdown(context.Background()))
	rep := verifyStore(t, dir, k.verifier)
	assert.Equal(t, uint64(sampleToolSpans), rep.Records)
	for _, c := range rep.Chains {
		assert.Equal(t, c.Size, c.CheckpointSize, "shutdown wrote a checkpoint covering chain %s", c.Chain)
	}

	// Files 0600, directories 0700.
	require.NoError(t, filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		require.NoError(t, err)
		if info.IsDir() {
			assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), path)
		} else {
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), path)
		}
		return nil
	}))
}

// TestRedelivery sends the same batch twice, and again after a restart:
// every span is written once.
func TestRedelivery(t *testing.T) {
	dir := t.TempDir()
	k := newKeys(t)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := nopSettings()
	set.TelemetrySettings = tel.NewTelemetrySettings()
	cfg := testConfig(dir, k)

	exp := startExporter(t, cfg, set)
	td := loadSamples(t, sampleFiles...)
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	assert.Equal(t, int64(sampleToolSpans), counter(t, tel, metricRecordsWritten))
	assert.Equal(t, int64(sampleToolSpans), counter(t, tel, metricDuplicates))
	require.NoError(t, exp.Shutdown(context.Background()))

	exp = startExporter(t, cfg, nopSettings())
	require.NoError(t, exp.ConsumeTraces(context.Background(), loadSamples(t, sampleFiles...)))
	require.NoError(t, exp.Shutdown(context.Background()))

	n := 0
	seen := map[string]bool{}
	for _, recs := range readStore(t, dir) {
		for _, r := range recs {
			n++
			key := r.TraceID + "/" + r.SpanID
			assert.False(t, seen[key], "span %s written twice", key)
			seen[key] = true
		}
	}
	assert.Equal(t, sampleToolSpans, n)
	verifyStore(t, dir, k.verifier)
}

// TestSecretsBeyondMaxPayloadNeverHitDisk plants secrets in payloads larger
// than max_payload_bytes, in every convention's payload attributes, and
// searches every byte the store wrote.
func TestSecretsBeyondMaxPayloadNeverHitDisk(t *testing.T) {
	dir := t.TempDir()
	k := newKeys(t)
	cfg := testConfig(dir, k)
	cfg.MaxPayloadBytes = 512
	exp := startExporter(t, cfg, nopSettings())

	const secret = "sk-live-51HqLyjWDarjtT1zdp7dcXYZ"
	const visible = "visible-small-payload-7731"
	pad := strings.Repeat("x", 600)
	td := ptrace.NewTraces()
	ss := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty()
	add := func(id byte, attrs map[string]any) {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(pcommon.TraceID{id})
		sp.SetSpanID(pcommon.SpanID{id})
		sp.SetName("tool")
		require.NoError(t, sp.Attributes().FromRaw(attrs))
	}
	add(1, map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.arguments": `{"api_key":"` + secret + `","pad":"` + pad + `"}`, "gen_ai.tool.call.result": `{"note":"` + visible + `"}`})
	add(2, map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.result": "token=" + secret + " " + pad})
	add(3, map[string]any{"openinference.span.kind": "TOOL", "input.value": secret + pad})
	add(4, map[string]any{"traceloop.span.kind": "tool", "traceloop.entity.input": `{"args":[],"kwargs":{"password":"` + secret + `","pad":"` + pad + `"}}`})
	add(5, map[string]any{"gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.arguments": map[string]any{"secret": secret, "pad": pad}})
	add(6, map[string]any{"mcp.method.name": "tools/call", "gen_ai.tool.call.arguments": `{"k":"` + strings.Repeat("\x01", 100) + secret + `"}`})
	ai := ss.Spans().AppendEmpty()
	ai.SetTraceID(pcommon.TraceID{7})
	ai.SetSpanID(pcommon.SpanID{7})
	ai.SetName("ai.toolCall")
	ai.Attributes().PutStr("ai.toolCall.args", `{"card":"`+secret+`","pad":"`+pad+`"}`)

	require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	require.NoError(t, exp.Shutdown(context.Background()))

	recs := readStore(t, dir)["general"]
	require.Len(t, recs, 7)
	found := false
	for path, b := range allBytes(t, dir) {
		assert.False(t, bytes.Contains(b, []byte(secret)), "secret found in %s", path)
		assert.False(t, bytes.Contains(b, []byte("sk-live")), "secret prefix found in %s", path)
		found = found || bytes.Contains(b, []byte(visible))
	}
	assert.True(t, found, "the search sees payloads below the limit, so it would see a leak")
	truncated := 0
	for _, r := range recs {
		for _, p := range [][]byte{r.Arguments, r.ResultSummary} {
			if bytes.Contains(p, []byte(`"_truncated":true`)) {
				truncated++
			}
		}
	}
	assert.Equal(t, 7, truncated, "every oversized payload is a marker")
}

func TestStartFailures(t *testing.T) {
	k := newKeys(t)
	notAKey := filepath.Join(t.TempDir(), "garbage.key")
	require.NoError(t, os.WriteFile(notAKey, []byte("this is not a key"), 0o600))
	aFile := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(aFile, nil, 0o600))

	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{name: "missing key file", modify: func(c *Config) { c.SigningKeyFile = "/nonexistent/signer.key" }, want: `reading signing_key_file "/nonexistent/signer.key"`},
		{name: "not a key", modify: func(c *Config) { c.SigningKeyFile = notAKey }, want: "does not hold a note signer key"},
		{name: "inline key not a key", modify: func(c *Config) { c.SigningKeyFile = ""; c.SigningKey = "PRIVATE+KEY+nope" }, want: "signing_key does not hold a note signer key"},
		{name: "directory is a file", modify: func(c *Config) { c.Directory = filepath.Join(aFile, "store") }, want: "opening the audit store in directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir(), k)
			tt.modify(cfg)
			exp, err := NewFactory().CreateTraces(context.Background(), nopSettings(), cfg)
			require.NoError(t, err)
			err = exp.Start(context.Background(), componenttest.NewNopHost())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "PRIVATE+KEY+nope", "keys are never echoed")
			require.NoError(t, exp.Shutdown(context.Background()))
		})
	}
}

func TestInlineSigningKey(t *testing.T) {
	k := newKeys(t)
	b, err := os.ReadFile(k.signerFile)
	require.NoError(t, err)
	dir := t.TempDir()
	cfg := testConfig(dir, k)
	cfg.SigningKeyFile = ""
	cfg.SigningKey = configopaque.String(b)
	require.NoError(t, cfg.Validate())
	exp := startExporter(t, cfg, nopSettings())
	require.NoError(t, exp.ConsumeTraces(context.Background(), loadSamples(t, "genai.json")))
	require.NoError(t, exp.Shutdown(context.Background()))
	verifyStore(t, dir, k.verifier)
}

func TestShutdownWithoutStart(t *testing.T) {
	exp, err := NewFactory().CreateTraces(context.Background(), nopSettings(), testConfig(t.TempDir(), newKeys(t)))
	require.NoError(t, err)
	require.NoError(t, exp.Shutdown(context.Background()))
}

func TestConsumeAfterShutdownFails(t *testing.T) {
	cfg := testConfig(t.TempDir(), newKeys(t))
	noRetry(cfg)
	exp := startExporter(t, cfg, nopSettings())
	require.NoError(t, exp.Shutdown(context.Background()))
	err := exp.ConsumeTraces(context.Background(), loadSamples(t, "genai.json"))
	require.Error(t, err)
}

// fakeAuth is the auth data an authenticator such as oidc or basicauth
// attaches to a request.
type fakeAuth map[string]any

func (a fakeAuth) GetAttribute(k string) any { return a[k] }
func (a fakeAuth) GetAttributeNames() []string {
	var out []string
	for k := range a {
		out = append(out, k)
	}
	return out
}

// bearerWant is the documented fingerprint of a bearer token, computed
// independently of the code under test.
func bearerWant(token string) string {
	sum := sha256.Sum256([]byte(token))
	return fmt.Sprintf("bearer:sha256:%x", sum[:12])
}

func TestClientIdentity(t *testing.T) {
	tests := []struct {
		name string
		info client.Info
		want string
	}{
		{name: "unauthenticated", info: client.Info{}, want: ""},
		{name: "oidc subject", info: client.Info{Auth: fakeAuth{"subject": "svc-checkout", "raw": "eyJhbGciOi..."}}, want: "svc-checkout"},
		{name: "basicauth username", info: client.Info{Auth: fakeAuth{"username": "gateway-eu", "raw": "Z2F0ZXdheS1ldTpwdw=="}}, want: "gateway-eu"},
		{name: "only credentials", info: client.Info{Auth: fakeAuth{"raw": "secret-token"}}, want: ""},
		{name: "non-string attribute", info: client.Info{Auth: fakeAuth{"subject": 42, "username": "u"}}, want: "u"},
		// bearertokenauth names nobody: the accepted token's fingerprint does,
		// from the headers the receiver keeps with include_metadata.
		{name: "bearer token", info: client.Info{Metadata: client.NewMetadata(map[string][]string{
			"Authorization": {"Bearer s3cr3t-agent-token"},
		})}, want: bearerWant("s3cr3t-agent-token")},
		{name: "bearer scheme any case", info: client.Info{Metadata: client.NewMetadata(map[string][]string{
			"authorization": {"bearer  s3cr3t-agent-token "},
		})}, want: bearerWant("s3cr3t-agent-token")},
		{name: "basic credentials are not a bearer token", info: client.Info{Metadata: client.NewMetadata(map[string][]string{
			"authorization": {"Basic dXNlcjpwdw=="},
		})}, want: ""},
		{name: "named client wins over the token", info: client.Info{
			Auth:     fakeAuth{"subject": "svc-checkout"},
			Metadata: client.NewMetadata(map[string][]string{"authorization": {"Bearer t"}}),
		}, want: "svc-checkout"},
	}
	modes := []struct {
		name   string
		modify func(*Config)
	}{
		// The default in-memory queue keeps the request context.
		{name: "context", modify: func(*Config) {}},
		// Batching merges requests: the client travels in the data.
		{name: "stamped", modify: func(c *Config) {
			c.QueueConfig.Get().Batch = configoptional.Some(exporterhelper.NewDefaultBatchConfig())
		}},
	}
	for _, mode := range modes {
		for _, tt := range tests {
			t.Run(mode.name+"/"+tt.name, func(t *testing.T) {
				dir := t.TempDir()
				cfg := testConfig(dir, newKeys(t))
				mode.modify(cfg)
				exp := startExporter(t, cfg, nopSettings())
				td := loadSamples(t, "mcp.json")
				// A sender that sets the exporter's own attribute forges nothing.
				td.ResourceSpans().At(0).Resource().Attributes().PutStr(clientAttribute, "forged-client")
				ctx := client.NewContext(context.Background(), tt.info)
				require.NoError(t, exp.ConsumeTraces(ctx, td))
				require.NoError(t, exp.Shutdown(context.Background()))
				recs := readStore(t, dir)["general"]
				require.Len(t, recs, 2)
				for _, r := range recs {
					assert.Equal(t, tt.want, r.Source.Client)
				}
			})
		}
	}
}

func TestCapabilities(t *testing.T) {
	storage := component.MustNewIDWithName("file_storage", "audit")
	tests := []struct {
		name   string
		modify func(*Config)
		mutate bool
	}{
		{name: "default queue keeps the context", modify: func(*Config) {}, mutate: false},
		{name: "no queue", modify: func(c *Config) { noRetry(c) }, mutate: false},
		{name: "persistent queue", modify: func(c *Config) { c.QueueConfig.Get().StorageID = &storage }, mutate: true},
		{name: "batching", modify: func(c *Config) {
			c.QueueConfig.Get().Batch = configoptional.Some(exporterhelper.NewDefaultBatchConfig())
		}, mutate: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t.TempDir(), newKeys(t))
			tt.modify(cfg)
			exp, err := NewFactory().CreateTraces(context.Background(), nopSettings(), cfg)
			require.NoError(t, err)
			assert.Equal(t, tt.mutate, exp.Capabilities().MutatesData, "the exporter mutates data only to stamp the client")
		})
	}
}

func TestInvalidRecordIsPermanent(t *testing.T) {
	// Validate forbids class names that cannot name a chain; bypassing it
	// shows that what the store rejects as invalid is not retried.
	dir := t.TempDir()
	cfg := testConfig(dir, newKeys(t))
	noRetry(cfg)
	cfg.Retention.Classes["bad class"] = ClassConfig{Days: 9999, Tools: []string{"*"}}
	exp := startExporter(t, cfg, nopSettings())
	err := exp.ConsumeTraces(context.Background(), loadSamples(t, "genai.json"))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
}

// TestComponentLifecycle mirrors the collector's generated lifecycle test:
// create from the default configuration (plus the three required keys),
// start, consume empty and sample data, shut down; and create, shut down.
func TestComponentLifecycle(t *testing.T) {
	k := newKeys(t)
	f := NewFactory()
	for _, started := range []bool{true, false} {
		cfg := f.CreateDefaultConfig().(*Config)
		cfg.Directory = t.TempDir()
		cfg.Origin = "lifecycle.test/gw"
		cfg.SigningKeyFile = k.signerFile
		// As the collector validates: nested sections (timeout,
		// sending_queue, retry_on_failure) included.
		require.NoError(t, confmap.Validate(cfg))
		exp, err := f.CreateTraces(context.Background(), nopSettings(), cfg)
		require.NoError(t, err)
		if started {
			require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
			require.NoError(t, exp.ConsumeTraces(context.Background(), ptrace.NewTraces()))
			require.NoError(t, exp.ConsumeTraces(context.Background(), loadSamples(t, "genai.json")))
		}
		require.NoError(t, exp.Shutdown(context.Background()))
		if started {
			verifyStore(t, cfg.Directory, k.verifier)
		}
	}
}
