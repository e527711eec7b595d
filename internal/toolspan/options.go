package toolspan

// DefaultMaxPayloadBytes is the payload bound Map applies when
// Options.MaxPayloadBytes is zero: 64 KiB, the exporter's default.
const DefaultMaxPayloadBytes = 65536

// Names of the span conventions Map recognises, as written to
// Record.Source.Convention.
const (
	ConventionGenAI         = "genai"
	ConventionMCP           = "mcp"
	ConventionOpenInference = "openinference"
	ConventionTraceloop     = "traceloop"
	ConventionVercelAI      = "vercel_ai"
)

// Options tunes Map. The zero value is ready to use.
type Options struct {
	// MaxPayloadBytes bounds the tool arguments and the result summary
	// written to a record. A payload whose attribute holds more bytes, or
	// whose canonical JSON would, is replaced by the marker
	// {"_sha256":"<hex>","_size":N,"_truncated":true}, which carries the
	// size and SHA-256 of the raw attribute bytes and nothing of their
	// content. Zero means DefaultMaxPayloadBytes; a negative value disables
	// the bound (for trusted, already-bounded input only).
	MaxPayloadBytes int

	_ struct{}
}

func (o Options) payloadLimit() int {
	if o.MaxPayloadBytes == 0 {
		return DefaultMaxPayloadBytes
	}
	return o.MaxPayloadBytes
}
