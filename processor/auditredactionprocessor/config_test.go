package auditredactionprocessor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelaudit/otelaudit/internal/attrkey"
	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/internal/metadata"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	require.NoError(t, err)
	cfg := NewFactory().CreateDefaultConfig()
	sub, err := cm.Sub(component.NewIDWithName(metadata.Type, name).String())
	require.NoError(t, err)
	require.NoError(t, sub.Unmarshal(cfg))
	return cfg.(*Config), cfg.(*Config).Validate()
}

func TestLoadConfig(t *testing.T) {
	t.Run("defaults", func(t *testing.T) {
		cfg, err := loadConfig(t, "")
		require.NoError(t, err)
		assert.Equal(t, createDefaultConfig(), cfg)
		assert.Equal(t, attrkey.PayloadAttributes(), cfg.JSONAttributes)
		assert.Equal(t, "***REDACTED***", cfg.Mask)
		assert.Equal(t, 64, cfg.MaxDepth)
		assert.Equal(t, 1<<20, cfg.MaxValueBytes)
	})
	t.Run("custom", func(t *testing.T) {
		cfg, err := loadConfig(t, "custom")
		require.NoError(t, err)
		want := &Config{
			Mask:          "[hidden]",
			SensitiveKeys: []string{"x-internal-pin", "vault_path"},
			AllowedKeys:   []string{"token_type"},
			PIIKeys:       []string{"member_number"},
			HMACKey:       configopaque.String("0123456789abcdef0123456789abcdef-test-only"),
			Detectors: []DetectorConfig{
				{Name: "credit_card", Action: "mask"},
				{Name: "email", Action: "pseudonymize"},
				{Name: "bearer", Action: "off"},
				{Name: "employee_id", Pattern: "EMP-[0-9]{6}", Action: "pseudonymize"},
			},
			JSONAttributes: []string{"gen_ai.tool.call.arguments", "tool.payload"},
			Strict:         true,
			MaxDepth:       16,
			MaxValueBytes:  65536,
		}
		assert.Equal(t, want, cfg)
	})
	errTests := []struct {
		name string
		want []string
	}{
		{"bad_regex", []string{`detectors[0] ("employee_id"): pattern "EMP-[0-9" does not compile`}},
		{"short_key", []string{"hmac_key must be at least 32 bytes, got 9"}},
		{"no_key", []string{`detectors[0] ("ssn") with action "pseudonymize" pseudonymize: set hmac_key (at least 32 bytes)`}},
		{"bad_action", []string{`detectors[0] ("ssn"): action: unknown action "shred"`}},
		{"unknown_detector", []string{`detectors[0] ("iban"): unknown built-in detector "iban"`}},
		{"bad_limits", []string{"max_depth must be positive, got 0", "max_value_bytes must be positive, got -5", "mask must not be empty"}},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(t, tt.name)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	key := configopaque.String(strings.Repeat("k", 32))
	tests := []struct {
		name   string
		modify func(*Config)
		want   string // "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"key enables pii pseudonyms", func(c *Config) { c.HMACKey = key }, ""},
		{"pii keys with key", func(c *Config) { c.HMACKey = key; c.PIIKeys = []string{"member_id"} }, ""},
		{"pii keys without key", func(c *Config) { c.PIIKeys = []string{"member_id"} }, "pii_keys pseudonymize: set hmac_key (at least 32 bytes)"},
		{"both without key", func(c *Config) {
			c.PIIKeys = []string{"member_id"}
			c.Detectors = []DetectorConfig{{Name: "email"}, {Name: "ssn", Action: "pseudonymise"}}
		}, `pii_keys and detectors[1] ("ssn") with action "pseudonymise" pseudonymize: set hmac_key`},
		{"blank key", func(c *Config) { c.HMACKey = configopaque.String(strings.Repeat(" ", 32)) }, "hmac_key must not be only white space"},
		{"blank detector name", func(c *Config) { c.Detectors = []DetectorConfig{{Name: "  "}} }, `detectors[0]: name must not be empty, got "  "`},
		{"31 byte key", func(c *Config) { c.HMACKey = key[:31] }, "hmac_key must be at least 32 bytes, got 31"},
		{"pseudonymise spelling", func(c *Config) {
			c.HMACKey = key
			c.Detectors = []DetectorConfig{{Name: "ssn", Action: "pseudonymise"}}
		}, ""},
		{"empty detector name", func(c *Config) { c.Detectors = []DetectorConfig{{Action: "mask"}} }, "detectors[0]: name must not be empty, got \"\""},
		{"duplicate detector", func(c *Config) {
			c.Detectors = []DetectorConfig{{Name: "jwt"}, {Name: "jwt", Action: "off"}}
		}, `detectors[1] ("jwt"): name already used by detectors[0]`},
		{"custom named like built-in", func(c *Config) {
			c.Detectors = []DetectorConfig{{Name: "email", Pattern: "x"}}
		}, "cannot take the name of a built-in"},
		{"empty word", func(c *Config) { c.SensitiveKeys = []string{"ok", "_-"} }, `sensitive_keys[1]: "_-" has no letters or digits`},
		{"empty json attribute", func(c *Config) { c.JSONAttributes = []string{""} }, "json_attributes[0] must not be empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			tt.modify(cfg)
			err := cfg.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				_, err = newRedactionProcessor(cfg)
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

// A key that is set but short is one problem, reported once: not also as
// a missing key for the pii_keys that need it.
func TestValidateShortKeyOnce(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.PIIKeys = []string{"member_id"}
	cfg.HMACKey = "too-short"
	err := cfg.Validate()
	require.ErrorContains(t, err, "hmac_key must be at least 32 bytes, got 9")
	assert.NotContains(t, err.Error(), "set hmac_key")
}

// The key must never be printed, whatever formats the configuration.
func TestHMACKeyNeverPrinted(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.HMACKey = "super-secret-key-material-0123456789"
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", *cfg), fmt.Sprint(cfg.HMACKey)} {
		assert.NotContains(t, s, "super-secret")
	}
	cfg.HMACKey = "short-secret"
	assert.NotContains(t, cfg.Validate().Error(), "short-secret")
}

// TestREADMEDefaults holds the README's configuration table to the
// defaults createDefaultConfig gives, so that neither drifts alone.
func TestREADMEDefaults(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	rows := map[string]string{} // key → default column
	for line := range strings.Lines(string(readme)) {
		cells := strings.Split(line, " | ")
		if len(cells) < 3 || !strings.HasPrefix(cells[0], "| `") {
			continue
		}
		rows[strings.Trim(cells[0], "| `")] = cells[1]
	}
	cfg := createDefaultConfig().(*Config)
	quoted := func(ss ...string) string {
		for i, s := range ss {
			ss[i] = "`" + s + "`"
		}
		return strings.Join(ss, ", ")
	}
	for key, want := range map[string]string{
		"mask":            quoted(cfg.Mask),
		"json_attributes": quoted(cfg.JSONAttributes...),
		"strict":          quoted(fmt.Sprint(cfg.Strict)),
		"max_depth":       quoted(fmt.Sprint(cfg.MaxDepth)),
		"max_value_bytes": quoted(fmt.Sprint(cfg.MaxValueBytes)),
	} {
		assert.Equal(t, want, rows[key], "README default of %s", key)
	}
}
