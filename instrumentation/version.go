package instrumentation

// ScopeName is the instrumentation scope name of the spans this package
// records.
const ScopeName = "github.com/otelaudit/otelaudit/instrumentation"

// Version returns the version of this package, recorded as the
// instrumentation scope version.
func Version() string { return "0.1.0" }
