// Package query answers questions about AI agents' tool calls from three
// kinds of source: an otelaudit audit store (integrity checked), Jaeger's
// query API and OTLP JSON files. Every source yields the same
// auditlog.Record values (spans are mapped by internal/toolspan, the same
// mapping the audit exporter uses), so one conversation gives one timeline
// whichever source it is read from.
//
// A Source fetches the records that match a Filter together with what is
// known about their integrity. The analyses (Timeline, Calls, Stats,
// Report, Anomalies, FHIRBundle, Reconcile) are pure functions over those
// records; their results render as text, JSON or CSV through Render.
//
// Everything in this package is safe for concurrent use unless a type's
// documentation says otherwise; sources hold no mutable state between
// calls.
package query
