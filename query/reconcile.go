package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// ReconcileResult compares the tool spans of a trace source with the
// records of an audit source, matched by trace id and span id.
type ReconcileResult struct {
	TraceSource string `json:"trace_source"`
	AuditSource string `json:"audit_source"`
	// From and To bound the compared range (RFC 3339, empty = open).
	From string `json:"from"`
	To   string `json:"to"`
	// Consistent is true when nothing is missing and nothing differs.
	Consistent        bool        `json:"consistent"`
	Spans             int         `json:"spans"`
	Records           int         `json:"records"`
	Matched           int         `json:"matched"`
	MissingInAudit    []CallRef   `json:"missing_in_audit"`
	MissingInTraces   []CallRef   `json:"missing_in_traces"`
	Differences       []FieldDiff `json:"differences"`
	IntegrityVerified bool        `json:"integrity_verified"`
	// Integrity is the audit side's integrity.
	Integrity Integrity `json:"integrity"`
	Warnings  []string  `json:"warnings"`
}

// CallRef identifies a call that is on one side only.
type CallRef struct {
	TraceID        string `json:"trace_id"`
	SpanID         string `json:"span_id"`
	Timestamp      string `json:"timestamp"`
	Tool           string `json:"tool"`
	ConversationID string `json:"conversation_id"`
	UserID         string `json:"user_id"`
}

// FieldDiff is one record field whose value differs between the trace and
// the audit record; values are JSON.
type FieldDiff struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
	Tool    string `json:"tool"`
	// Field is the record member name, as in the audit record format.
	Field string          `json:"field"`
	Trace json.RawMessage `json:"trace"`
	Audit json.RawMessage `json:"audit"`
}

// reconciledFields are the record members a trace determines. Chain
// members (v, chain_id, seq, prev_hash, hash) and retention are the
// store's own; source.client is the collector client the exporter saw,
// which a trace backend does not keep.
var reconciledFields = []struct {
	name string
	get  func(*auditlog.Record) any
}{
	{"parent_span_id", func(r *auditlog.Record) any { return r.ParentSpanID }},
	{"operation", func(r *auditlog.Record) any { return r.Operation }},
	{"tool_name", func(r *auditlog.Record) any { return r.ToolName }},
	{"tool_call_id", func(r *auditlog.Record) any { return r.ToolCallID }},
	{"tool_type", func(r *auditlog.Record) any { return r.ToolType }},
	{"arguments", func(r *auditlog.Record) any { return nullIfEmpty(r.Arguments) }},
	{"result_summary", func(r *auditlog.Record) any { return nullIfEmpty(r.ResultSummary) }},
	{"conversation_id", func(r *auditlog.Record) any { return r.ConversationID }},
	{"turn_number", func(r *auditlog.Record) any { return r.TurnNumber }},
	{"model", func(r *auditlog.Record) any { return r.Model }},
	{"agent", func(r *auditlog.Record) any { return r.Agent }},
	{"user_id", func(r *auditlog.Record) any { return r.UserID }},
	{"user_roles", func(r *auditlog.Record) any { return emptyIfNil(r.UserRoles) }},
	{"session", func(r *auditlog.Record) any { return r.Session }},
	{"trigger", func(r *auditlog.Record) any { return r.Trigger }},
	{"purpose", func(r *auditlog.Record) any { return r.Purpose }},
	{"subject", func(r *auditlog.Record) any { return r.Subject }},
	{"break_glass", func(r *auditlog.Record) any { return r.BreakGlass }},
	{"break_glass_reason", func(r *auditlog.Record) any { return r.BreakGlassReason }},
	{"success", func(r *auditlog.Record) any { return r.Success }},
	{"error", func(r *auditlog.Record) any { return r.Error }},
	{"redaction", func(r *auditlog.Record) any {
		return auditlog.Redaction{Count: r.Redaction.Count, Paths: emptyIfNil(r.Redaction.Paths)}
	}},
	{"attribution", func(r *auditlog.Record) any { return r.Attribution }},
	{"source.convention", func(r *auditlog.Record) any { return r.Source.Convention }},
	{"source.service", func(r *auditlog.Record) any { return r.Source.Service }},
	{"source.scope", func(r *auditlog.Record) any { return r.Source.Scope }},
}

func emptyIfNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Reconcile matches the records of traces (from Jaeger or OTLP JSON) with
// those of audit (an audit store) by trace id and span id, and reports
// spans without a record, records without a span, and every field that
// differs. When the trace source covered a bounded range (traces.From,
// traces.To), audit records outside it are not compared. Timestamps and
// durations are compared at the coarser precision of the two sources.
func Reconcile(traces, audit *Result) *ReconcileResult {
	out := &ReconcileResult{
		TraceSource:       traces.Source,
		AuditSource:       audit.Source,
		IntegrityVerified: audit.Integrity.Verified,
		Integrity:         audit.Integrity,
		MissingInAudit:    []CallRef{},
		MissingInTraces:   []CallRef{},
		Differences:       []FieldDiff{},
		Warnings:          append([]string{}, traces.Warnings...),
	}
	if !traces.From.IsZero() {
		out.From = traces.From.UTC().Format(time.RFC3339Nano)
	}
	if !traces.To.IsZero() {
		out.To = traces.To.UTC().Format(time.RFC3339Nano)
	}
	window := Filter{Since: traces.From, Until: traces.To}
	precision := max(traces.Precision, audit.Precision, time.Nanosecond)
	// Every copy of a span on either side is compared: two versions of
	// one span (a trace backend holding a span twice, with user.id alice
	// and mallory) are a difference, whichever comes first, and an
	// identical copy adds no row. byKey holds each span's copies.
	byKey := make(map[spanKey][]*auditlog.Record, len(audit.Records))
	var auditOrder []spanKey
	for i := range audit.Records {
		r := &audit.Records[i]
		if !window.Match(r) {
			continue
		}
		k := spanKey{r.TraceID, r.SpanID}
		if prev, dup := byKey[k]; dup {
			out.Warnings = append(out.Warnings, fmt.Sprintf("audit source holds trace %s span %s more than once", r.TraceID, r.SpanID))
			byKey[k] = append(prev, r)
			continue
		}
		byKey[k] = []*auditlog.Record{r}
		auditOrder = append(auditOrder, k)
	}
	out.Records = len(auditOrder)
	// The trace side is held to the same window: a search returns whole
	// traces, and a trace in the window may hold spans outside it, whose
	// records the window leaves out of the audit side. A span is left out
	// only when it lies outside the window by more than the sources'
	// precision, so that a time a source rounded does not move it out.
	traceWindow := window
	if !traceWindow.Since.IsZero() {
		traceWindow.Since = traceWindow.Since.Add(-precision)
	}
	if !traceWindow.Until.IsZero() {
		traceWindow.Until = traceWindow.Until.Add(precision)
	}
	copies := make(map[spanKey][]*auditlog.Record, len(traces.Conflicts))
	for i := range traces.Conflicts {
		t := &traces.Conflicts[i]
		k := spanKey{t.TraceID, t.SpanID}
		copies[k] = append(copies[k], t)
	}
	seen := make(map[spanKey]bool, len(traces.Records))
	visit := func(t *auditlog.Record) {
		k := spanKey{t.TraceID, t.SpanID}
		if seen[k] {
			return
		}
		if _, inAudit := byKey[k]; !inAudit && !traceWindow.Match(t) {
			return
		}
		seen[k] = true
		out.Spans++
		as, ok := byKey[k]
		if !ok {
			out.MissingInAudit = append(out.MissingInAudit, callRef(t))
			return
		}
		out.Matched++
		rows := map[string]bool{}
		tcs := copies[k]
		if len(tcs) == 0 || tcs[0] != t {
			tcs = append([]*auditlog.Record{t}, tcs...)
		}
		for _, tc := range tcs {
			for _, a := range as {
				for _, d := range diffRecords(tc, a, precision) {
					if row := d.Field + "\x00" + string(d.Trace) + "\x00" + string(d.Audit); !rows[row] {
						rows[row] = true
						out.Differences = append(out.Differences, d)
					}
				}
			}
		}
	}
	for i := range traces.Records {
		visit(&traces.Records[i])
	}
	// A conflicting copy whose first copy the source's filter left out
	// is the span's only copy here.
	for i := range traces.Conflicts {
		visit(&traces.Conflicts[i])
	}
	for _, k := range auditOrder {
		if !seen[k] {
			out.MissingInTraces = append(out.MissingInTraces, callRef(byKey[k][0]))
		}
	}
	out.Consistent = len(out.MissingInAudit) == 0 && len(out.MissingInTraces) == 0 && len(out.Differences) == 0
	return out
}

func callRef(r *auditlog.Record) CallRef {
	return CallRef{TraceID: r.TraceID, SpanID: r.SpanID, Timestamp: r.Timestamp, Tool: r.ToolName, ConversationID: r.ConversationID, UserID: r.UserID}
}

// diffRecords lists the fields of t and a that differ.
func diffRecords(t, a *auditlog.Record, precision time.Duration) []FieldDiff {
	var diffs []FieldDiff
	add := func(field string, tv, av any) {
		tj, _ := json.Marshal(tv)
		aj, _ := json.Marshal(av)
		diffs = append(diffs, FieldDiff{TraceID: t.TraceID, SpanID: t.SpanID, Tool: a.ToolName, Field: field, Trace: tj, Audit: aj})
	}
	tt, at := recordTime(t), recordTime(a)
	if tt.Truncate(precision) != at.Truncate(precision) {
		add("timestamp", t.Timestamp, a.Timestamp)
	}
	if math.Abs(t.DurationMS-a.DurationMS) >= float64(precision)/float64(time.Millisecond) && t.DurationMS != a.DurationMS {
		add("duration_ms", t.DurationMS, a.DurationMS)
	}
	for _, f := range reconciledFields {
		tv, av := f.get(t), f.get(a)
		tj, err1 := json.Marshal(tv)
		aj, err2 := json.Marshal(av)
		if err1 != nil || err2 != nil || !bytes.Equal(tj, aj) {
			add(f.name, tv, av)
		}
	}
	return diffs
}

// WriteText writes the counts, then every difference, one per line.
func (r *ReconcileResult) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Reconcile %s against %s, %s to %s\n", r.TraceSource, r.AuditSource, orOpen(r.From), orOpen(r.To))
	fmt.Fprintf(w, "tool spans: %d, audit records: %d, matched: %d, missing in audit: %d, missing in traces: %d, differing fields: %d\n",
		r.Spans, r.Records, r.Matched, len(r.MissingInAudit), len(r.MissingInTraces), len(r.Differences))
	header, rows := r.Table()
	if len(rows) > 0 {
		fmt.Fprintln(w)
		if err := writeTable(w, upper(header[:5]), trimRows(rows, 5)); err != nil {
			return err
		}
	}
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", sanitize(warn))
	}
	if r.Consistent {
		fmt.Fprintln(w, "\nConsistent: every tool span has its audit record and every field matches.")
	} else {
		fmt.Fprintln(w, "\nNOT consistent.")
	}
	writeIntegrityText(w, &r.Integrity)
	return nil
}

func upper(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = string(bytes.ToUpper([]byte(s)))
	}
	return out
}

func trimRows(rows [][]string, n int) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		out[i] = r[:n]
	}
	return out
}

// Table returns one row per finding: kind (missing_in_audit,
// missing_in_traces or differs), trace id, span id, tool, field, then the
// trace and audit values of a differing field.
func (r *ReconcileResult) Table() ([]string, [][]string) {
	header := []string{"kind", "trace_id", "span_id", "tool", "detail", "trace_value", "audit_value"}
	var rows [][]string
	for _, c := range r.MissingInAudit {
		rows = append(rows, []string{"missing_in_audit", c.TraceID, c.SpanID, c.Tool, "span at " + c.Timestamp + " has no audit record", "", ""})
	}
	for _, c := range r.MissingInTraces {
		rows = append(rows, []string{"missing_in_traces", c.TraceID, c.SpanID, c.Tool, "audit record at " + c.Timestamp + " has no span", "", ""})
	}
	for _, d := range r.Differences {
		rows = append(rows, []string{"differs", d.TraceID, d.SpanID, d.Tool, d.Field + ": trace " + clip(string(d.Trace)) + " ≠ audit " + clip(string(d.Audit)),
			string(d.Trace), string(d.Audit)})
	}
	return header, rows
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "…"
	}
	return s
}
