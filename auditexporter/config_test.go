package auditexporter

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestFactory(t *testing.T) {
	f := NewFactory()
	assert.Equal(t, "audit", f.Type().String())
	assert.Equal(t, component.StabilityLevelAlpha, f.TracesStability())
	assert.Equal(t, component.StabilityLevelUndefined, f.MetricsStability(), "traces only")
	assert.Equal(t, component.StabilityLevelUndefined, f.LogsStability(), "traces only")
	require.NoError(t, componenttest.CheckConfigStruct(f.CreateDefaultConfig()))
}

func TestDefaultConfig(t *testing.T) {
	cfg := NewFactory().CreateDefaultConfig().(*Config)
	assert.Equal(t, int64(67108864), cfg.Segment.MaxBytes)
	assert.Equal(t, time.Hour, cfg.Segment.MaxAge)
	assert.Equal(t, 10*time.Second, cfg.CheckpointInterval)
	assert.Equal(t, 65536, cfg.MaxPayloadBytes)
	assert.Equal(t, 1<<20, cfg.DedupWindow)
	assert.Equal(t, "general", cfg.Retention.DefaultClass)
	assert.Equal(t, 2555, cfg.Retention.Classes["financial"].Days)
	assert.Equal(t, 2190, cfg.Retention.Classes["healthcare"].Days)
	assert.Equal(t, []string{"patient"}, cfg.Retention.Classes["healthcare"].SubjectTypes)
	assert.Equal(t, 365, cfg.Retention.Classes["general"].Days)

	q := cfg.QueueConfig.Get()
	require.NotNil(t, q, "the sending queue is on by default")
	assert.True(t, q.WaitForResult, "acknowledge only after the fsync")
	assert.True(t, q.BlockOnOverflow, "apply backpressure instead of dropping")
	assert.True(t, cfg.RetryConfig.Enabled)
	assert.Equal(t, time.Duration(0), cfg.RetryConfig.MaxElapsedTime, "never give up on an audit batch")
	require.NoError(t, confmap.Validate(&cfg.RetryConfig))

	// Nothing to default for the three settings that identify a store.
	err := cfg.Validate()
	require.Error(t, err)
	for _, key := range []string{"directory:", "origin:", "signing_key_file:"} {
		assert.Contains(t, err.Error(), key)
	}
	assert.Len(t, strings.Split(err.Error(), "\n"), 3, "only those three: %v", err)
}

func TestLoadConfig(t *testing.T) {
	conf, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)

	defaults := func() *Config { return createDefaultConfig().(*Config) }
	base := func() *Config {
		c := defaults()
		c.Directory = "/var/lib/otelaudit"
		c.Origin = "example.com/otelaudit/gateway-1"
		c.SigningKeyFile = "/etc/otelaudit/signer.key"
		return c
	}
	tests := []struct {
		id      string
		want    func() *Config
		wantErr []string
	}{
		{id: "audit", want: base},
		{
			id: "audit/full",
			want: func() *Config {
				c := base()
				c.Segment = SegmentConfig{MaxBytes: 1 << 20, MaxAge: 30 * time.Minute}
				c.CheckpointInterval = 5 * time.Second
				c.MaxPayloadBytes = 4096
				c.DedupWindow = 1000
				// Configured classes are added to the defaults; a class of
				// a default's name replaces its days and its tool list.
				c.Retention.Classes["financial"] = ClassConfig{Days: 3650, Tools: []string{"charge_payment", "refund_*"}}
				c.Retention.Classes["pci"] = ClassConfig{Days: 400, Tools: []string{"card_*"}}
				c.TimeoutConfig.Timeout = 10 * time.Second
				q := c.QueueConfig.Get()
				q.NumConsumers = 2
				q.QueueSize = 5000
				c.RetryConfig.InitialInterval = 2 * time.Second
				c.RetryConfig.MaxInterval = time.Minute
				return c
			},
		},
		{
			id: "audit/persistent",
			want: func() *Config {
				c := base()
				q := c.QueueConfig.Get()
				id := component.MustNewIDWithName("file_storage", "audit")
				q.StorageID = &id
				q.WaitForResult = false // a persistent queue cannot wait for results
				return c
			},
		},
		{
			id: "audit/noqueue",
			want: func() *Config {
				c := base()
				c.SigningKeyFile = ""
				c.SigningKey = "PRIVATE+KEY+example.com/otelaudit+0c1e7a9b+AQ0..."
				c.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
				return c
			},
		},
		{
			id: "audit/bad",
			wantErr: []string{
				`directory: must be set`,
				`origin: " two\nlines" must be one line without surrounding spaces`,
				`signing_key_file and signing_key: set only one of them`,
				`segment.max_bytes: must not be negative, got -1`,
				`segment.max_age: must not be negative, got "-1s"`,
				`checkpoint_interval: must not be negative, got "-10s"`,
				`max_payload_bytes: must be positive, got 0`,
				`dedup_window: must not be negative, got -5`,
				`retention.default_class: "gold" is not one of retention.classes (bad class, financial, general, healthcare)`,
				`retention.classes.bad class: class name "bad class" must be 1-64 letters`,
				`retention.classes.bad class.days: must be positive, got 0`,
				`retention.classes.bad class.tools: bad glob pattern "[a-": syntax error in pattern`,
				`retention.classes.bad class.subject_types: empty subject type`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			sub, err := conf.Sub(tt.id)
			require.NoError(t, err)
			cfg := defaults()
			require.NoError(t, sub.Unmarshal(cfg))
			err = confmap.Validate(cfg)
			if tt.wantErr != nil {
				require.Error(t, err)
				for _, w := range tt.wantErr {
					assert.Contains(t, err.Error(), w)
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want(), cfg)
		})
	}
}

func TestValidate(t *testing.T) {
	valid := func() *Config {
		c := createDefaultConfig().(*Config)
		c.Directory = "/tmp/audit"
		c.Origin = "example.com/audit"
		c.SigningKeyFile = "/tmp/key"
		return c
	}
	require.NoError(t, valid().Validate())
	atBounds := valid()
	atBounds.DedupWindow = 1 << 24
	atBounds.Retention.Classes["general"] = ClassConfig{Days: 365_000}
	require.NoError(t, atBounds.Validate(), "the largest values allowed are valid")

	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{name: "blank directory", modify: func(c *Config) { c.Directory = "  " }, want: "directory: must be set"},
		{name: "missing origin", modify: func(c *Config) { c.Origin = "" }, want: "origin: must be set"},
		{name: "origin with trailing space", modify: func(c *Config) { c.Origin = "a/b " }, want: `origin: "a/b " must be one line`},
		{name: "no key", modify: func(c *Config) { c.SigningKeyFile = "" }, want: "signing_key_file: must be set"},
		{name: "two keys", modify: func(c *Config) { c.SigningKey = "k" }, want: "set only one of them"},
		{name: "negative segment bytes", modify: func(c *Config) { c.Segment.MaxBytes = -5 }, want: "segment.max_bytes: must not be negative, got -5"},
		{name: "dedup window beyond memory", modify: func(c *Config) { c.DedupWindow = 100_000_000_000 }, want: "dedup_window: must be at most 16777216 (768 MiB of memory, allocated at start), got 100000000000"},
		{name: "dedup window one past the maximum", modify: func(c *Config) { c.DedupWindow = 1<<24 + 1 }, want: "dedup_window: must be at most 16777216"},
		{name: "negative payload", modify: func(c *Config) { c.MaxPayloadBytes = -1 }, want: "max_payload_bytes: must be positive, got -1"},
		{name: "payload over 4 MiB", modify: func(c *Config) { c.MaxPayloadBytes = 4<<20 + 1 }, want: "max_payload_bytes: must be at most 4194304 (4 MiB), got 4194305"},
		{name: "unknown default class", modify: func(c *Config) { c.Retention.DefaultClass = "gold" }, want: `retention.default_class: "gold" is not one of`},
		{name: "no classes", modify: func(c *Config) { c.Retention.Classes = nil }, want: "retention.classes: at least one class is required"},
		{name: "bad glob", modify: func(c *Config) {
			c.Retention.Classes["general"] = ClassConfig{Days: 1, Tools: []string{"a[b"}}
		}, want: `retention.classes.general.tools: bad glob pattern "a[b"`},
		{name: "empty glob", modify: func(c *Config) {
			c.Retention.Classes["general"] = ClassConfig{Days: 1, Tools: []string{""}}
		}, want: `retention.classes.general.tools: empty pattern`},
		{name: "negative days", modify: func(c *Config) {
			c.Retention.Classes["general"] = ClassConfig{Days: -365}
		}, want: "retention.classes.general.days: must be positive, got -365"},
		// retain_until past 9999 is not RFC 3339, and as text sorts
		// before today's: such records were pruned as soon as written.
		{name: "days past year 9999", modify: func(c *Config) {
			c.Retention.Classes["legal"] = ClassConfig{Days: 3_000_000}
		}, want: "retention.classes.legal.days: must be at most 365000 (about 1,000 years), got 3000000"},
		{name: "days that overflow", modify: func(c *Config) {
			c.Retention.Classes["legal"] = ClassConfig{Days: 4611686018427387904}
		}, want: "retention.classes.legal.days: must be at most 365000 (about 1,000 years), got 4611686018427387904"},
		{name: "days one past the maximum", modify: func(c *Config) {
			c.Retention.Classes["general"] = ClassConfig{Days: 365_001}
		}, want: "retention.classes.general.days: must be at most 365000"},
		{name: "class that cannot name a directory", modify: func(c *Config) {
			c.Retention.Classes["../etc"] = ClassConfig{Days: 1}
		}, want: `class name "../etc" must be`},
		// The store's root holds legal_hold (a file of holds), .lock and
		// .prune.lock: a chain directory of that name collides with them.
		{name: "class named like the store's legal hold file", modify: func(c *Config) {
			c.Retention.Classes["legal_hold"] = ClassConfig{Days: 3650}
		}, want: `retention.classes.legal_hold: class name "legal_hold" is reserved: the store's root holds the legal hold file of every chain of that name`},
		{name: "legal hold file in another case", modify: func(c *Config) {
			c.Retention.Classes["Legal_Hold"] = ClassConfig{Days: 3650}
		}, want: `retention.classes.Legal_Hold: class name "Legal_Hold" is reserved`},
		{name: "class named like the lock file", modify: func(c *Config) {
			c.Retention.Classes[".lock"] = ClassConfig{Days: 1}
		}, want: `retention.classes..lock: class name ".lock" must be`},
		{name: "default class of a reserved name", modify: func(c *Config) {
			c.Retention.Classes = map[string]ClassConfig{"legal_hold": {Days: 1}}
			c.Retention.DefaultClass = "legal_hold"
		}, want: `retention.classes.legal_hold: class name "legal_hold" is reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.modify(c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, strings.ToLower(err.Error()[:1]), err.Error()[:1], "errors start lowercase")
		})
	}
}

// TestREADMEDefaults holds the README's configuration table and its table
// of default retention classes to createDefaultConfig, so that neither
// drifts alone.
func TestREADMEDefaults(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	rows := map[string][]string{} // first cell → the others
	for line := range strings.Lines(string(readme)) {
		cells := strings.Split(strings.TrimSpace(line), "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "`") {
			continue
		}
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		rows[strings.Trim(cells[1], "`")] = cells[2 : len(cells)-1]
	}
	unquote := func(s string) string { return strings.Trim(s, "`") }
	cfg := createDefaultConfig().(*Config)

	for key, want := range map[string]time.Duration{
		"segment.max_age":     cfg.Segment.MaxAge,
		"checkpoint_interval": cfg.CheckpointInterval,
		"timeout":             cfg.TimeoutConfig.Timeout,
	} {
		require.Contains(t, rows, key)
		got, err := time.ParseDuration(unquote(rows[key][0]))
		if assert.NoError(t, err, key) {
			assert.Equal(t, want, got, "README default of %s", key)
		}
	}
	for key, want := range map[string]string{
		"segment.max_bytes":       fmt.Sprint(cfg.Segment.MaxBytes),
		"max_payload_bytes":       fmt.Sprint(cfg.MaxPayloadBytes),
		"dedup_window":            fmt.Sprint(cfg.DedupWindow),
		"retention.default_class": cfg.Retention.DefaultClass,
	} {
		require.Contains(t, rows, key)
		assert.Equal(t, want, unquote(rows[key][0]), "README default of %s", key)
	}

	quoted := func(ss []string) string {
		q := make([]string, len(ss))
		for i, s := range ss {
			q[i] = "`" + s + "`"
		}
		return strings.Join(q, ", ")
	}
	require.NotEmpty(t, cfg.Retention.Classes)
	for name, c := range cfg.Retention.Classes {
		row := rows[name]
		if assert.Len(t, row, 3, "README row of default class %q", name) {
			assert.Equal(t, []string{fmt.Sprint(c.Days), quoted(c.Tools), quoted(c.SubjectTypes)}, row, "README row of default class %q", name)
		}
	}
}

// TestSmallValuesWarn starts the exporter with values that look like a
// unit left out: they are valid, and each draws a warning naming its key.
func TestSmallValuesWarn(t *testing.T) {
	k := newKeys(t)
	cases := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"defaults", func(*Config) {}, ""},
		{"floors", func(c *Config) {
			c.Segment = SegmentConfig{MaxBytes: 64 << 10, MaxAge: time.Second}
			c.CheckpointInterval = 100 * time.Millisecond
		}, ""},
		{"segment bytes without a unit", func(c *Config) { c.Segment.MaxBytes = 64 }, "segment.max_bytes is 64"},
		{"segment age in milliseconds", func(c *Config) { c.Segment.MaxAge = time.Millisecond }, "segment.max_age is 1ms"},
		{"checkpoint every millisecond", func(c *Config) { c.CheckpointInterval = time.Millisecond }, "checkpoint_interval is 1ms"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// A store the exporter creates: t.TempDir is 0755, which
			// draws a warning of its own (TestStartTightensDirectory).
			cfg := testConfig(filepath.Join(t.TempDir(), "store"), k)
			tc.modify(cfg)
			require.NoError(t, cfg.Validate())
			core, logs := observer.New(zap.WarnLevel)
			set := nopSettings()
			set.Logger = zap.New(core)
			startExporter(t, cfg, set)
			var got []string
			for _, e := range logs.All() {
				got = append(got, e.Message)
			}
			if tc.want == "" {
				assert.Empty(t, got)
				return
			}
			require.Len(t, got, 1)
			assert.Contains(t, got[0], tc.want)
		})
	}
}

// TestStartTightensDirectory starts the exporter on a store directory
// that exists open to other users, as t.TempDir makes it (0755): the
// directory is made 0700 (SPEC §4) and the warning names it.
func TestStartTightensDirectory(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Chmod(dir, 0o755))
	core, logs := observer.New(zap.WarnLevel)
	set := nopSettings()
	set.Logger = zap.New(core)
	startExporter(t, testConfig(dir, newKeys(t)), set)
	st, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), st.Mode().Perm())
	require.Equal(t, 1, logs.Len(), "%v", logs.All())
	e := logs.All()[0]
	assert.Contains(t, e.Message, "audit store directory was open to other users")
	assert.Equal(t, dir, e.ContextMap()["path"])
	assert.Equal(t, "0755", e.ContextMap()["mode_before"])
}
