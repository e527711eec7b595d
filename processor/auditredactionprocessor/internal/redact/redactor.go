// Package redact is the engine of the auditredaction processor: key
// classification, value detectors, keyed pseudonyms and a streaming JSON
// rewriter, applied to pdata values. A Redactor is built once from options and
// is immutable afterwards; each goroutine that redacts takes a Scope from it.
package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// Defaults of the options.
const (
	DefaultMask          = "***REDACTED***"
	DefaultMaxDepth      = 64
	DefaultMaxValueBytes = 1 << 20
	// MinHMACKeyBytes is the shortest HMAC key accepted: a pseudonym is only
	// as strong as its key, and short keys can be searched.
	MinHMACKeyBytes = 32
	// MaxPaths caps the paths kept per span or record; the count stays exact.
	MaxPaths = 256
	// PseudonymPrefix starts every pseudonym.
	PseudonymPrefix = "hmac-sha256:"
)

// DefaultSensitiveKeys returns the built-in sensitive key words in a new
// slice.
func DefaultSensitiveKeys() []string { return append([]string(nil), defaultSensitiveKeys...) }

// DefaultPIIKeys returns the built-in PII key words in a new slice. A leading
// '=' marks a word that matches only a whole key.
func DefaultPIIKeys() []string { return append([]string(nil), defaultPIIKeys...) }

// Option configures a Redactor.
type Option func(*settings)

type detectorSpec struct {
	name, pattern string
	action        Action
}

type settings struct {
	mask          string
	sensitive     []string
	pii           []string
	allowed       []string
	hmacKey       []byte
	detectors     []detectorSpec
	payloads      []string
	maxDepth      int
	maxValueBytes int
	strict        bool
}

// WithMask sets the string that replaces masked values (default DefaultMask).
func WithMask(mask string) Option { return func(s *settings) { s.mask = mask } }

// WithSensitiveKeys adds words to the built-in sensitive key words.
func WithSensitiveKeys(words ...string) Option {
	return func(s *settings) { s.sensitive = append(s.sensitive, words...) }
}

// WithPIIKeys adds words to the built-in PII key words.
func WithPIIKeys(words ...string) Option {
	return func(s *settings) { s.pii = append(s.pii, words...) }
}

// WithAllowedKeys exempts keys (compared whole, in normalised form) from the
// sensitive and PII key rules. Value detectors still apply to their values.
func WithAllowedKeys(keys ...string) Option {
	return func(s *settings) { s.allowed = append(s.allowed, keys...) }
}

// WithHMACKey sets the pseudonymisation key, at least MinHMACKeyBytes long.
// Without it PII is masked rather than pseudonymised.
func WithHMACKey(key []byte) Option {
	return func(s *settings) { s.hmacKey = append([]byte(nil), key...) }
}

// WithDetector sets the action of a built-in detector (ActionNone disables
// it). Built-ins not named keep their default: mask, except email, which is
// pseudonymised when an HMAC key is set.
func WithDetector(name string, action Action) Option {
	return func(s *settings) { s.detectors = append(s.detectors, detectorSpec{name: name, action: action}) }
}

// WithPattern adds a custom detector: every match of the RE2 pattern gets
// action.
func WithPattern(name, pattern string, action Action) Option {
	return func(s *settings) {
		s.detectors = append(s.detectors, detectorSpec{name: name, pattern: pattern, action: action})
	}
}

// WithPayloadAttributes names attributes whose string values are parsed as
// JSON even when they do not look like JSON, and which strict mode masks
// whole when they cannot be parsed.
func WithPayloadAttributes(keys ...string) Option {
	return func(s *settings) { s.payloads = append(s.payloads, keys...) }
}

// WithMaxDepth sets the deepest nesting (objects, arrays, maps, slices,
// counted through JSON nested in strings) that is walked; a deeper value is
// masked whole. Default DefaultMaxDepth.
func WithMaxDepth(n int) Option { return func(s *settings) { s.maxDepth = n } }

// WithMaxValueBytes sets the longest string that is inspected; a longer one is
// masked whole. Default DefaultMaxValueBytes.
func WithMaxValueBytes(n int) Option { return func(s *settings) { s.maxValueBytes = n } }

// WithStrict makes a payload attribute that cannot be parsed as JSON masked
// whole instead of scanned by the value detectors.
func WithStrict(strict bool) Option { return func(s *settings) { s.strict = strict } }

// Redactor holds a compiled configuration. It is safe for concurrent use.
type Redactor struct {
	mask          string
	maskJSON      string // mask as a JSON string token, for JSON masked whole
	keys          *keyClassifier
	detectors     []detector
	hmacKey       []byte
	hmacs         sync.Pool
	payloads      map[string]struct{}
	maxDepth      int
	maxValueBytes int
	strict        bool
	scopes        sync.Pool
}

// New compiles a Redactor. It fails on an empty mask, an unknown built-in
// detector, a bad pattern, a short HMAC key, a pseudonymising detector
// without a key, or non-positive limits.
func New(opts ...Option) (*Redactor, error) {
	s := settings{mask: DefaultMask, maxDepth: DefaultMaxDepth, maxValueBytes: DefaultMaxValueBytes}
	for _, o := range opts {
		o(&s)
	}
	if s.mask == "" {
		// Every text starts with "": nothing would read as not yet
		// redacted, and a masked value would vanish without a trace.
		return nil, errors.New("mask must not be empty")
	}
	if s.maxDepth <= 0 {
		return nil, fmt.Errorf("max depth must be positive, got %d", s.maxDepth)
	}
	if s.maxValueBytes <= 0 {
		return nil, fmt.Errorf("max value bytes must be positive, got %d", s.maxValueBytes)
	}
	if len(s.hmacKey) > 0 && len(s.hmacKey) < MinHMACKeyBytes {
		return nil, fmt.Errorf("hmac key must be at least %d bytes, got %d", MinHMACKeyBytes, len(s.hmacKey))
	}
	if len(s.hmacKey) == 0 {
		s.hmacKey = nil
	}
	r := &Redactor{
		mask:          s.mask,
		maskJSON:      string(appendJSONString(nil, s.mask)),
		keys:          newKeyClassifier(append(DefaultSensitiveKeys(), s.sensitive...), append(DefaultPIIKeys(), s.pii...), s.allowed),
		hmacKey:       s.hmacKey,
		payloads:      make(map[string]struct{}, len(s.payloads)),
		maxDepth:      s.maxDepth,
		maxValueBytes: s.maxValueBytes,
		strict:        s.strict,
	}
	for _, p := range s.payloads {
		r.payloads[p] = struct{}{}
	}
	dets, err := buildDetectors(s.detectors, r.hmacKey != nil)
	if err != nil {
		return nil, err
	}
	r.detectors = dets
	if r.hmacKey != nil {
		key := r.hmacKey
		r.hmacs.New = func() any { return hmac.New(sha256.New, key) }
	}
	r.scopes.New = func() any { return &Scope{r: r} }
	return r, nil
}

func buildDetectors(specs []detectorSpec, haveKey bool) ([]detector, error) {
	actions := map[string]Action{}
	for _, name := range BuiltinDetectors() {
		actions[name] = ActionMask
	}
	if haveKey {
		actions[DetectorEmail] = ActionPseudonymize
	}
	var custom []detector
	seen := map[string]bool{}
	for _, d := range specs {
		if d.name == "" {
			return nil, errors.New("detector without a name")
		}
		if seen[d.name] {
			return nil, fmt.Errorf("detector %q listed twice", d.name)
		}
		seen[d.name] = true
		if d.action == ActionPseudonymize && !haveKey {
			return nil, fmt.Errorf("detector %q pseudonymizes but no hmac key is set", d.name)
		}
		if d.pattern == "" {
			if !IsBuiltinDetector(d.name) {
				return nil, fmt.Errorf("unknown built-in detector %q (known: %v); give a pattern for a custom one", d.name, BuiltinDetectors())
			}
			actions[d.name] = d.action
			continue
		}
		if IsBuiltinDetector(d.name) {
			return nil, fmt.Errorf("custom detector %q has the name of a built-in one", d.name)
		}
		re, err := regexp.Compile(d.pattern)
		if err != nil {
			return nil, fmt.Errorf("detector %q: bad pattern %q: %w", d.name, d.pattern, err)
		}
		if d.action != ActionNone {
			custom = append(custom, detector{name: d.name, action: d.action, re: re})
		}
	}
	var dets []detector
	for _, name := range BuiltinDetectors() {
		if a := actions[name]; a != ActionNone {
			dets = append(dets, detector{name: name, action: a, scan: builtins[name], lowerForHMAC: name == DetectorEmail})
		}
	}
	return append(dets, custom...), nil
}

// IsPayload reports whether key names a payload attribute.
func (r *Redactor) IsPayload(key string) bool {
	_, ok := r.payloads[key]
	return ok
}

// Pseudonym returns the pseudonym of v, or "" without an HMAC key.
func (r *Redactor) Pseudonym(v string) string {
	if r.hmacKey == nil {
		return ""
	}
	return string(r.appendPseudonym(nil, nil, v, false))
}

// PseudonymOf returns the pseudonym a Redactor with HMAC key key gives v
// under a PII key: an e-mail address is case-folded first, as the email
// detector folds it.
func PseudonymOf(key []byte, v string) string {
	return string(appendPseudonymWith(hmac.New(sha256.New, key), nil, nil, v, isEmail(v)))
}

// appendPseudonym appends PseudonymPrefix and the hex HMAC-SHA256 of v
// (lowercased when fold is set) to dst. scratch is reusable space.
func (r *Redactor) appendPseudonym(dst, scratch []byte, v string, fold bool) []byte {
	h := r.hmacs.Get().(hash.Hash)
	dst = appendPseudonymWith(h, dst, scratch, v, fold)
	r.hmacs.Put(h)
	return dst
}

// appendPseudonymWith is appendPseudonym with the HMAC h.
func appendPseudonymWith(h hash.Hash, dst, scratch []byte, v string, fold bool) []byte {
	h.Reset()
	scratch = append(scratch[:0], v...)
	if fold {
		ascii := true
		for i, c := range scratch {
			switch {
			case c >= 'A' && c <= 'Z':
				scratch[i] = c + ('a' - 'A')
			case c >= utf8.RuneSelf:
				ascii = false
			}
		}
		if !ascii {
			// An internationalised address (ÄLICE@example.com) folds
			// whole; ASCII addresses fold as they always have, so their
			// pseudonyms do not change.
			scratch = append(scratch[:0], strings.ToLower(v)...)
		}
	}
	h.Write(scratch)
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	dst = append(dst, PseudonymPrefix...)
	const hexdigits = "0123456789abcdef"
	for _, b := range sum {
		dst = append(dst, hexdigits[b>>4], hexdigits[b&0xf])
	}
	return dst
}

// isRedacted reports whether v already is the mask or a pseudonym, so that a
// second pass (an agent-side and a gateway collector) leaves it alone.
func (r *Redactor) isRedacted(v string) bool {
	if v == r.mask || v == r.maskJSON {
		return true
	}
	return v != "" && pseudonymAt(v) == len(v)
}

// isRedactedName is isRedacted for a member name, which may also carry the
// "#n" suffix that keeps redacted names distinct.
func (r *Redactor) isRedactedName(v string) bool {
	if r.isRedacted(v) {
		return true
	}
	i := strings.LastIndexByte(v, '#')
	if i < 0 || i == len(v)-1 || !r.isRedacted(v[:i]) {
		return false
	}
	for _, c := range v[i+1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// keyAction returns the action the key rules give the value of key.
func (r *Redactor) keyAction(key string, buf []byte) (Action, []byte) {
	cl, buf := r.keys.classify(key, buf)
	switch cl {
	case classSensitive:
		return ActionMask, buf
	case classPII:
		return ActionPseudonymize, buf
	}
	return ActionNone, buf
}

// Classify returns the action the key rules give the value of key: mask for
// a sensitive key, pseudonymize for a PII key (mask without an HMAC key),
// none otherwise. It is meant for tests and tools.
func (r *Redactor) Classify(key string) Action {
	a, _ := r.keyAction(key, nil)
	if a == ActionPseudonymize && r.hmacKey == nil {
		return ActionMask
	}
	return a
}
