// Package auditredactionprocessor provides the auditredaction processor: it
// makes trace and log data safe before any exporter sees it. Values of
// sensitive keys are masked, values of PII keys become keyed pseudonyms
// ("hmac-sha256:<hex>"), and value detectors (payment cards, SSNs, e-mail
// addresses, JWTs, Bearer tokens, AWS access key ids, PEM private keys and
// custom patterns) run over every string, including the strings inside JSON
// tool arguments and results, and JSON nested in JSON strings. Every span or
// log record it changes gets audit.redaction.count and audit.redaction.paths:
// where it redacted, never what.
//
// See README.md for the configuration and the path format.
package auditredactionprocessor // import "github.com/otelaudit/otelaudit/processor/auditredactionprocessor"
