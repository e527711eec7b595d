package instrumentation

import (
	"fmt"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// Capture says how much of a payload (arguments or result) is recorded.
type Capture uint8

const (
	// CaptureDefault inherits the setting of the level above: a Tool
	// inherits the Auditor's, and the Auditor uses CaptureFull for
	// arguments and CaptureSummary for results.
	CaptureDefault Capture = iota
	// CaptureOff records nothing.
	CaptureOff
	// CaptureSummary records a JSON object with the identifier members of
	// the payload (see WithResultKeys), the item count of an array, and, for
	// a large payload, its size and "_truncated": true. A result summary
	// also says whether the call succeeded.
	CaptureSummary
	// CaptureFull records the payload as masked, bounded JSON. A result that
	// does not fit in the size limit is recorded as a summary.
	CaptureFull
)

func (c Capture) String() string {
	switch c {
	case CaptureDefault:
		return "default"
	case CaptureOff:
		return "off"
	case CaptureSummary:
		return "summary"
	case CaptureFull:
		return "full"
	}
	return fmt.Sprintf("Capture(%d)", uint8(c))
}

func (c Capture) valid() bool { return c <= CaptureFull }

// Defaults.
const (
	// DefaultMask replaces the values of sensitive keys.
	DefaultMask = "***REDACTED***"
	// DefaultMaxPayloadBytes bounds each recorded payload.
	DefaultMaxPayloadBytes = 16 << 10
	// DefaultMaxDepth bounds the nesting of a recorded payload.
	DefaultMaxDepth = 32
	// DefaultToolType is the gen_ai.tool.type of a tool without one.
	DefaultToolType = "function"
	// DefaultPanicFlushTimeout bounds the flush of the TracerProvider after
	// a tool call panicked (see WithPanicFlushTimeout).
	DefaultPanicFlushTimeout = 5 * time.Second
)

// DefaultSensitiveKeys returns, in a new slice, the keys whose values are
// masked unless WithoutDefaultSensitiveKeys is given.
//
// A key is sensitive when, ignoring case, separators (_ - . and spaces) and
// camelCase steps, and trailing digits, it ends with one of these terms at a
// word boundary ("db_password", "X-Api-Key", "accessToken"); terms of five
// or more letters also match at the end of a longer word ("dbpassword").
// Look-alikes that do not end in a term, such as "max_tokens" or
// "token_count", are not masked.
func DefaultSensitiveKeys() []string {
	return []string{
		"password", "passwords", "passwd", "pwd", "passphrase",
		"password_confirmation", "password_confirm",
		"secret", "secrets",
		"token",
		"api_key", "access_key", "secret_key", "private_key", "signing_key", "encryption_key",
		"authorization", "auth", "cookie", "set_cookie",
		"credential", "credentials",
		"credit_card", "card_number", "cvv", "cvc",
		"ssn", "social_security_number",
		"pin", "otp",
	}
}

// DefaultResultKeys returns, in a new slice, the identifier patterns copied
// into result summaries unless WithResultKeys is given. A pattern matches a
// key ignoring case and separators ("order_id" matches "orderId"); a pattern
// that starts with "*" matches every key ending with the rest at a word
// boundary, so "*_id" matches "id", "order_id" and "customerId".
func DefaultResultKeys() []string {
	return []string{"*_id", "*_status", "*_count", "state", "total"}
}

// Option configures an Auditor.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	tp               trace.TracerProvider
	sensitive        []string
	noDefaultSecrets bool
	mask             string
	resultKeys       []string
	resultKeysSet    bool
	args             Capture
	result           Capture
	maxBytes         int
	maxDepth         int
	panicFlush       time.Duration
	tools            []Tool
}

func newConfig(opts []Option) config {
	c := config{
		mask:     DefaultMask,
		args:     CaptureFull,
		result:   CaptureSummary,
		maxBytes: DefaultMaxPayloadBytes,
		maxDepth: DefaultMaxDepth,

		panicFlush: DefaultPanicFlushTimeout,
	}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	return c
}

// WithTracerProvider sets the TracerProvider the spans are recorded with.
// The default is otel.GetTracerProvider() at the time New is called (which
// follows a global provider set later).
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tp = tp })
}

// WithSensitiveKeys adds keys to the sensitive keys whose values are masked
// (see DefaultSensitiveKeys for how keys match). It adds to earlier calls.
func WithSensitiveKeys(keys ...string) Option {
	return optionFunc(func(c *config) { c.sensitive = append(c.sensitive, keys...) })
}

// WithoutDefaultSensitiveKeys leaves out DefaultSensitiveKeys: only the keys
// given with WithSensitiveKeys are masked.
func WithoutDefaultSensitiveKeys() Option {
	return optionFunc(func(c *config) { c.noDefaultSecrets = true })
}

// WithMask sets the string that replaces the values of sensitive keys
// (default DefaultMask): valid UTF-8, not empty (an empty mask could not be
// told apart from an empty value), at most 64 bytes.
func WithMask(mask string) Option {
	return optionFunc(func(c *config) { c.mask = mask })
}

// WithResultKeys sets the identifier patterns copied into summaries,
// replacing DefaultResultKeys; to extend the defaults, pass
// append(DefaultResultKeys(), ...). With no patterns, summaries carry no
// identifiers.
func WithResultKeys(patterns ...string) Option {
	return optionFunc(func(c *config) {
		c.resultKeys = append([]string(nil), patterns...)
		c.resultKeysSet = true
	})
}

// WithArgumentCapture sets how arguments are recorded
// (gen_ai.tool.call.arguments) for tools that do not say otherwise. The
// default is CaptureFull: masked, bounded JSON.
func WithArgumentCapture(c Capture) Option {
	return optionFunc(func(cfg *config) { cfg.args = c })
}

// WithResultCapture sets how results are recorded (gen_ai.tool.call.result)
// for tools that do not say otherwise. The default is CaptureSummary: never
// the full payload.
func WithResultCapture(c Capture) Option {
	return optionFunc(func(cfg *config) { cfg.result = c })
}

// WithMaxPayloadBytes bounds the size of each recorded payload (default
// DefaultMaxPayloadBytes, between 256 bytes and 64 MiB). A result larger
// than this is summarised with its size and "_truncated": true. Keep it
// below any attribute value length limit of the TracerProvider, which
// would cut the JSON without marking it.
func WithMaxPayloadBytes(n int) Option {
	return optionFunc(func(c *config) { c.maxBytes = n })
}

// WithMaxDepth bounds the nesting of recorded payloads (default
// DefaultMaxDepth, between 1 and 1000). Deeper values are replaced by the
// string "[max depth]".
func WithMaxDepth(n int) Option {
	return optionFunc(func(c *config) { c.maxDepth = n })
}

// WithPanicFlushTimeout sets how long a call whose handler panicked waits,
// before the panic continues, for the TracerProvider to export the spans it
// holds (default DefaultPanicFlushTimeout; 0 does not wait).
//
// A panic that nothing recovers ends the process before a batching span
// processor exports what it buffered, and deferred calls of other
// goroutines, such as main's TracerProvider.Shutdown, never run: without the
// flush, the audit spans of the calls before the panic, and the panic's own,
// would be lost. The flush happens only when the span's provider has a
// ForceFlush(context.Context) error method, as the SDK's has.
func WithPanicFlushTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.panicFlush = d })
}

// WithTools declares tools with their own type, description or capture
// settings, for calls made with Auditor.Execute, Run or Auditor.Start.
// Tools registered with a Registry carry their own.
func WithTools(tools ...Tool) Option {
	return optionFunc(func(c *config) { c.tools = append(c.tools, tools...) })
}
