package auditexporter

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// Defaults of the configuration (SPEC §4 and §7).
const (
	defaultSegmentMaxBytes    = 64 << 20 // 67108864
	defaultSegmentMaxAge      = time.Hour
	defaultCheckpointInterval = 10 * time.Second
	defaultMaxPayloadBytes    = 64 << 10 // 65536
	defaultRetentionClass     = "general"
)

// Below these, a non-zero segment.max_bytes, segment.max_age or
// checkpoint_interval is valid but draws a warning at start: it looks like
// a unit left out (max_bytes: 64, max_age: 1ms), and every seal or
// checkpoint writes, signs and fsyncs files.
const (
	warnSegmentMaxBytes    = 64 << 10
	warnSegmentMaxAge      = time.Second
	warnCheckpointInterval = 100 * time.Millisecond
)

// warnings returns what start logs about a valid but costly cfg.
func (cfg *Config) warnings() []string {
	var w []string
	if n := cfg.Segment.MaxBytes; n > 0 && n < warnSegmentMaxBytes {
		w = append(w, fmt.Sprintf("segment.max_bytes is %d: a segment is sealed (four files written and fsynced) about every %d bytes of records; did you mean %d MiB?", n, n, n))
	}
	if d := cfg.Segment.MaxAge; d > 0 && d < warnSegmentMaxAge {
		w = append(w, fmt.Sprintf("segment.max_age is %s: a chain receiving records seals a segment (four files written and fsynced) at least that often", d))
	}
	if d := cfg.CheckpointInterval; d > 0 && d < warnCheckpointInterval {
		w = append(w, fmt.Sprintf("checkpoint_interval is %s: each chain receiving records signs and fsyncs a checkpoint that often", d))
	}
	return w
}

// Config is the configuration of the audit exporter. createDefaultConfig
// fills every field with a safe default except Directory, Origin and the
// signing key, which have none.
type Config struct {
	// Directory is the audit store: one subdirectory (0700) per retention
	// class, holding append-only segment files (0600). Required.
	Directory string `mapstructure:"directory"`

	// Origin names this collector's chains; chain ids, and the origin line
	// of their signed checkpoints, are Origin + "/" + class. Required, one
	// line, for example "example.com/otelaudit/gateway-1".
	Origin string `mapstructure:"origin"`

	// SigningKeyFile holds the note signer key (golang.org/x/mod/sumdb/note,
	// Ed25519) that signs checkpoints, as written by `otelaudit keygen`.
	// Exactly one of SigningKeyFile and SigningKey is required.
	SigningKeyFile string `mapstructure:"signing_key_file"`

	// SigningKey is the signer key itself, for deployments that pass it in
	// an environment variable (signing_key: ${env:OTELAUDIT_SIGNER}). It is
	// never printed.
	SigningKey configopaque.String `mapstructure:"signing_key"`

	// Segment says when the active segment of a chain is sealed.
	Segment SegmentConfig `mapstructure:"segment"`

	// CheckpointInterval is the longest time between two signed checkpoints
	// of a chain that received records. Default 10s; 0 writes checkpoints
	// only at segment seals and at shutdown.
	CheckpointInterval time.Duration `mapstructure:"checkpoint_interval"`

	// MaxPayloadBytes bounds the tool arguments and result summary of a
	// record. Larger payloads are replaced by a marker holding only their
	// size and SHA-256. Default 65536, at most 4 MiB.
	MaxPayloadBytes int `mapstructure:"max_payload_bytes"`

	// DedupWindow is how many recent (trace_id, span_id) pairs the store
	// remembers, across restarts, to drop redelivered spans. Default
	// 1048576, at most 16777216 (auditlog.MaxDedupWindow); 0 disables
	// deduplication. Memory: up to 48 bytes a pair, allocated at start.
	DedupWindow int `mapstructure:"dedup_window"`

	// Retention maps tools and subject types to retention classes; each
	// class is its own chain.
	Retention RetentionConfig `mapstructure:"retention"`

	// TimeoutConfig bounds one attempt to write a batch (key `timeout`).
	TimeoutConfig exporterhelper.TimeoutConfig `mapstructure:",squash"`

	// QueueConfig is exporterhelper's sending queue. The default waits for
	// the result (wait_for_result: true) and blocks when full, so that a
	// batch is acknowledged only once it is on disk and nothing is dropped;
	// with a persistent queue (`storage`) acknowledgement happens when the
	// queue has stored the batch instead.
	QueueConfig configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`

	// RetryConfig is exporterhelper's retry policy. The default never gives
	// up (max_elapsed_time: 0): an audit batch is retried, with backoff,
	// until the disk has room again.
	RetryConfig configretry.BackOffConfig `mapstructure:"retry_on_failure"`

	// now is the clock retention counts from when it is later than a
	// span's start; nil is time.Now. Tests set it.
	now func() time.Time

	_ struct{}
}

// SegmentConfig says when a segment is sealed and a new one started.
type SegmentConfig struct {
	// MaxBytes seals a segment once it holds this many bytes. Default
	// 67108864 (64 MiB).
	MaxBytes int64 `mapstructure:"max_bytes"`
	// MaxAge seals a segment once its first record is this old. Default 1h.
	MaxAge time.Duration `mapstructure:"max_age"`

	_ struct{}
}

// RetentionConfig is the retention policy: each record gets, among the
// classes whose tools or subject types match it, the one that keeps it
// longest (ties go to the name that sorts first), else DefaultClass.
type RetentionConfig struct {
	// DefaultClass is the class of records no class claims. Default
	// "general".
	DefaultClass string `mapstructure:"default_class"`
	// Classes by name. The defaults define financial (2555 days),
	// healthcare (2190 days) and general (365 days); configured classes are
	// added to them, and a configured class of the same name replaces the
	// default one's settings.
	Classes map[string]ClassConfig `mapstructure:"classes"`

	_ struct{}
}

// ClassConfig is one retention class.
type ClassConfig struct {
	// Days records of the class are kept. Required, 1 to
	// auditlog.MaxRetentionDays (365000, about 1,000 years), so that
	// retain_until stays an RFC 3339 time.
	Days int `mapstructure:"days"`
	// Tools are glob patterns (path.Match syntax) of tool names that
	// belong to the class.
	Tools []string `mapstructure:"tools"`
	// SubjectTypes are audit.subject.type values that belong to the class.
	SubjectTypes []string `mapstructure:"subject_types"`

	_ struct{}
}

var _ component.Config = (*Config)(nil)

// Unmarshal decodes the configuration. It exists for one convenience: a
// persistent queue (sending_queue::storage) cannot wait for results, so
// unless the user set wait_for_result explicitly, configuring storage turns
// the default wait_for_result off instead of failing validation.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	if q := cfg.QueueConfig.Get(); q != nil && q.StorageID != nil && !conf.IsSet("sending_queue::wait_for_result") {
		q.WaitForResult = false
	}
	return nil
}

// Validate checks the exporter's own settings; the collector validates the
// exporterhelper sections (timeout, sending_queue, retry_on_failure) itself.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if strings.TrimSpace(cfg.Directory) == "" {
		add("directory: must be set to the audit store's directory")
	}
	switch {
	case cfg.Origin == "":
		add("origin: must be set, e.g. \"example.com/otelaudit/gateway-1\"")
	case strings.ContainsAny(cfg.Origin, "\r\n") || strings.TrimSpace(cfg.Origin) != cfg.Origin:
		add("origin: %q must be one line without surrounding spaces", cfg.Origin)
	}
	switch {
	case cfg.SigningKeyFile == "" && cfg.SigningKey == "":
		add("signing_key_file: must be set to a note signer key file (see `otelaudit keygen`), or use signing_key")
	case cfg.SigningKeyFile != "" && cfg.SigningKey != "":
		add("signing_key_file and signing_key: set only one of them")
	}
	if cfg.Segment.MaxBytes < 0 {
		add("segment.max_bytes: must not be negative, got %d", cfg.Segment.MaxBytes)
	}
	if cfg.Segment.MaxAge < 0 {
		add("segment.max_age: must not be negative, got %q", cfg.Segment.MaxAge)
	}
	if cfg.CheckpointInterval < 0 {
		add("checkpoint_interval: must not be negative, got %q", cfg.CheckpointInterval)
	}
	switch {
	case cfg.MaxPayloadBytes <= 0:
		add("max_payload_bytes: must be positive, got %d", cfg.MaxPayloadBytes)
	case cfg.MaxPayloadBytes > toolspan.MaxMaxPayloadBytes:
		// Beyond it a record line could pass auditlog.MaxRecordBytes,
		// which the verifier reports as malformed rather than read.
		add("max_payload_bytes: must be at most %d (4 MiB), got %d", toolspan.MaxMaxPayloadBytes, cfg.MaxPayloadBytes)
	}
	switch {
	case cfg.DedupWindow < 0:
		add("dedup_window: must not be negative, got %d", cfg.DedupWindow)
	case cfg.DedupWindow > auditlog.MaxDedupWindow:
		add("dedup_window: must be at most %d (768 MiB of memory, allocated at start), got %d", auditlog.MaxDedupWindow, cfg.DedupWindow)
	}
	errs = append(errs, cfg.Retention.validate()...)
	return errors.Join(errs...)
}

func (rc *RetentionConfig) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(rc.Classes) == 0 {
		add("retention.classes: at least one class is required")
	}
	if _, ok := rc.Classes[rc.DefaultClass]; !ok {
		add("retention.default_class: %q is not one of retention.classes (%s)", rc.DefaultClass, strings.Join(rc.classNames(), ", "))
	}
	for _, name := range rc.classNames() {
		c := rc.Classes[name]
		key := "retention.classes." + name
		if err := auditlog.CheckChainName(name); err != nil {
			add("%s: class name %v", key, err)
		}
		switch {
		case c.Days <= 0:
			add("%s.days: must be positive, got %d", key, c.Days)
		case c.Days > auditlog.MaxRetentionDays:
			add("%s.days: must be at most %d (about 1,000 years), got %d", key, auditlog.MaxRetentionDays, c.Days)
		}
		for _, p := range c.Tools {
			if p == "" {
				add("%s.tools: empty pattern", key)
				continue
			}
			if _, err := path.Match(p, ""); err != nil {
				add("%s.tools: bad glob pattern %q: %v", key, p, err)
			}
		}
		for _, st := range c.SubjectTypes {
			if strings.TrimSpace(st) == "" {
				add("%s.subject_types: empty subject type", key)
			}
		}
	}
	return errs
}

// classNames returns the class names in order.
func (rc *RetentionConfig) classNames() []string {
	names := make([]string, 0, len(rc.Classes))
	for n := range rc.Classes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
