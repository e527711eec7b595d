package auditredactionprocessor

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"go.opentelemetry.io/collector/config/configopaque"

	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/internal/redact"
)

// Config is the configuration of the auditredaction processor. The zero
// value is not usable: start from the factory's default configuration.
type Config struct {
	// Mask replaces masked values. Default "***REDACTED***".
	Mask string `mapstructure:"mask"`

	// SensitiveKeys are added to the built-in sensitive key words (password,
	// secret, token, api_key, authorization, cookie, private_key,
	// card_number, cvv, ssn and more; see README.md). A key matches a word
	// when, ignoring case and the separators - _ . and space, it equals the
	// word or ends with it. Values of matching keys are masked.
	SensitiveKeys []string `mapstructure:"sensitive_keys"`

	// AllowedKeys are keys exempt from the sensitive and PII key rules,
	// compared whole in the same normalised form. Value detectors still
	// apply to their values.
	AllowedKeys []string `mapstructure:"allowed_keys"`

	// PIIKeys are added to the built-in PII key words (patient_name and
	// other name fields, date_of_birth, dob, address, email, phone, ssn and
	// more). Values of matching keys become keyed pseudonyms; without an
	// hmac_key the built-in PII keys are masked instead, and listing any
	// here requires the key.
	PIIKeys []string `mapstructure:"pii_keys"`

	// HMACKey keys the pseudonyms, at least 32 bytes. It is never printed.
	// Unkeyed hashes are never used: SSNs and birth dates are few enough to
	// be reversed by enumeration.
	HMACKey configopaque.String `mapstructure:"hmac_key"`

	// Detectors change the action of built-in detectors or add custom ones.
	// Built-ins not listed stay on: mask, except email, which is
	// pseudonymised when hmac_key is set.
	Detectors []DetectorConfig `mapstructure:"detectors"`

	// JSONAttributes are the attributes holding JSON payloads. Their string
	// values are always parsed as JSON, and strict mode masks them whole
	// when they cannot be parsed. Other strings are parsed when they look
	// like a JSON object or array. Default: the payload attributes of the
	// GenAI, OpenInference, OpenLLMetry and Vercel AI SDK conventions.
	JSONAttributes []string `mapstructure:"json_attributes"`

	// Strict masks a JSON attribute whole when it cannot be parsed, instead
	// of redacting what parses and scanning the rest with the detectors.
	// Default false.
	Strict bool `mapstructure:"strict"`

	// MaxDepth is the deepest nesting walked (objects, arrays, maps and
	// slices, counted through JSON nested in strings). A deeper value is
	// masked whole. Default 64.
	MaxDepth int `mapstructure:"max_depth"`

	// MaxValueBytes is the longest string inspected. A longer one is masked
	// whole. Default 1048576 (1 MiB).
	MaxValueBytes int `mapstructure:"max_value_bytes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// DetectorConfig is one entry of Config.Detectors.
type DetectorConfig struct {
	// Name is a built-in detector (credit_card, ssn, email, jwt, bearer,
	// aws_access_key, private_key, url_password) or, with Pattern, the name
	// of a custom one.
	Name string `mapstructure:"name"`
	// Pattern is the RE2 regular expression of a custom detector.
	Pattern string `mapstructure:"pattern"`
	// Action is mask (the default), pseudonymize or off.
	Action string `mapstructure:"action"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate checks the configuration.
func (cfg *Config) Validate() error {
	var errs []error
	if cfg.Mask == "" {
		errs = append(errs, errors.New(`mask must not be empty`))
	}
	switch n := len(cfg.HMACKey); {
	case n > 0 && n < redact.MinHMACKeyBytes:
		errs = append(errs, fmt.Errorf("hmac_key must be at least %d bytes, got %d", redact.MinHMACKeyBytes, n))
	case n > 0 && strings.TrimSpace(string(cfg.HMACKey)) == "":
		// Most likely an environment variable that expanded to padding.
		errs = append(errs, errors.New("hmac_key must not be only white space"))
	}
	// What needs the key, named as the user wrote it.
	var needKey []string
	if len(cfg.PIIKeys) > 0 {
		needKey = append(needKey, "pii_keys")
	}
	errs = append(errs, checkWords("sensitive_keys", cfg.SensitiveKeys)...)
	errs = append(errs, checkWords("allowed_keys", cfg.AllowedKeys)...)
	errs = append(errs, checkWords("pii_keys", cfg.PIIKeys)...)
	seen := map[string]int{}
	for i, d := range cfg.Detectors {
		field := fmt.Sprintf("detectors[%d]", i)
		if strings.TrimSpace(d.Name) == "" {
			errs = append(errs, fmt.Errorf("%s: name must not be empty, got %q", field, d.Name))
			continue
		}
		field = fmt.Sprintf("%s (%q)", field, d.Name)
		if j, dup := seen[d.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: name already used by detectors[%d]", field, j))
		}
		seen[d.Name] = i
		a, err := d.action()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: action: %w", field, err))
		}
		if a == redact.ActionPseudonymize {
			needKey = append(needKey, fmt.Sprintf("%s with action %q", field, d.Action))
		}
		switch {
		case d.Pattern == "" && !redact.IsBuiltinDetector(d.Name):
			errs = append(errs, fmt.Errorf("%s: unknown built-in detector %q (known: %s); set pattern for a custom one",
				field, d.Name, strings.Join(redact.BuiltinDetectors(), ", ")))
		case d.Pattern != "" && redact.IsBuiltinDetector(d.Name):
			errs = append(errs, fmt.Errorf("%s: a custom detector cannot take the name of a built-in one", field))
		case d.Pattern != "":
			if _, err := regexp.Compile(d.Pattern); err != nil {
				errs = append(errs, fmt.Errorf("%s: pattern %q does not compile: %w", field, d.Pattern, err))
			}
		}
	}
	if len(needKey) > 0 && len(cfg.HMACKey) == 0 {
		// A key that is set but too short is reported above, once.
		errs = append(errs, fmt.Errorf("%s pseudonymize: set hmac_key (at least %d bytes)",
			strings.Join(needKey, " and "), redact.MinHMACKeyBytes))
	}
	for i, k := range cfg.JSONAttributes {
		if k == "" {
			errs = append(errs, fmt.Errorf("json_attributes[%d] must not be empty", i))
		}
	}
	if cfg.MaxDepth <= 0 {
		errs = append(errs, fmt.Errorf("max_depth must be positive, got %d", cfg.MaxDepth))
	}
	if cfg.MaxValueBytes <= 0 {
		errs = append(errs, fmt.Errorf("max_value_bytes must be positive, got %d", cfg.MaxValueBytes))
	}
	return errors.Join(errs...)
}

// checkWords rejects key words that normalise to nothing and so would never
// match.
func checkWords(field string, words []string) []error {
	var errs []error
	for i, w := range words {
		if strings.Trim(w, "-_. ") == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: %q has no letters or digits", field, i, w))
		}
	}
	return errs
}

func (d DetectorConfig) action() (redact.Action, error) {
	if d.Action == "" {
		return redact.ActionMask, nil
	}
	return redact.ParseAction(d.Action)
}

// options turns a validated configuration into redactor options.
func (cfg *Config) options() ([]redact.Option, error) {
	opts := []redact.Option{
		redact.WithMask(cfg.Mask),
		redact.WithSensitiveKeys(cfg.SensitiveKeys...),
		redact.WithAllowedKeys(cfg.AllowedKeys...),
		redact.WithPIIKeys(cfg.PIIKeys...),
		redact.WithPayloadAttributes(cfg.JSONAttributes...),
		redact.WithStrict(cfg.Strict),
		redact.WithMaxDepth(cfg.MaxDepth),
		redact.WithMaxValueBytes(cfg.MaxValueBytes),
	}
	if cfg.HMACKey != "" {
		opts = append(opts, redact.WithHMACKey([]byte(cfg.HMACKey)))
	}
	for _, d := range cfg.Detectors {
		a, err := d.action()
		if err != nil {
			return nil, err
		}
		if d.Pattern == "" {
			opts = append(opts, redact.WithDetector(d.Name, a))
		} else {
			opts = append(opts, redact.WithPattern(d.Name, d.Pattern, a))
		}
	}
	return opts, nil
}
