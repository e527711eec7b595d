package query

import (
	"context"
	"fmt"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// Kinds of Source, as reported in Result.Source and in JSON output.
const (
	SourceStore    = "store"
	SourceJaeger   = "jaeger"
	SourceOTLPJSON = "otlp-json"
)

// Source yields the audit records that match a filter.
//
// Implementations return an error only when the source cannot be read
// (unreachable server, unreadable or malformed file); a store whose content
// fails verification is not an error but a Result whose Integrity says so.
type Source interface {
	// Kind names the source: SourceStore, SourceJaeger or SourceOTLPJSON.
	Kind() string
	// Fetch returns every record matching f (f.Match holds for each),
	// sorted by timestamp, then trace id and span id.
	Fetch(ctx context.Context, f Filter) (*Result, error)
}

// Result is what a Source returned for one Filter.
type Result struct {
	// Source is the Kind of the source.
	Source string
	// Records match the filter, sorted by timestamp, trace id, span id.
	Records []auditlog.Record
	// Integrity says whether the records are proven unchanged.
	Integrity Integrity
	// From and To bound the time range the source actually covered: the
	// filter's Since and Until, or for Jaeger the range searched (a
	// search needs one); zero values mean unbounded. Reconcile uses them
	// so that calls outside a trace search are not reported as missing
	// traces, and reports them as its range.
	From, To time.Time
	// Precision is the resolution of the source's timestamps and
	// durations, zero when exact (nanoseconds). Jaeger's legacy API has
	// microseconds; Reconcile compares at the coarser resolution.
	Precision time.Duration
	// Warnings are notes for the user, such as a Jaeger search that hit
	// its trace limit and may be incomplete.
	Warnings []string
	// Conflicts are further copies of spans in Records (same trace and
	// span id) whose records differ from the copy in Records: a trace
	// source may hold one span twice, and two versions of one span are
	// a difference Reconcile reports, not a copy to drop. Each is named
	// in Warnings; the analyses count the copy in Records.
	Conflicts []auditlog.Record

	// filled lists, for a result of innermost, the fields of each record
	// that were filled from outer observations of its call, and from
	// which (see FilledField).
	filled map[spanKey][]FilledField
}

// rangeFrom and rangeTo are From and To in RFC 3339, "" when open.
func (res *Result) rangeFrom() string { return formatBound(res.From) }
func (res *Result) rangeTo() string   { return formatBound(res.To) }

func formatBound(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// RangeNote is a one-line note of the range a Jaeger result covers, for
// output that has no room to say it (a timeline, a table, CSV, a FHIR
// Bundle); "" for other sources, whose range is the one asked for. A
// Jaeger search needs a range, so without --since it reaches back only
// the lookback, and an answer that did not say so would read as complete.
func (res *Result) RangeNote() string {
	if res.Source != SourceJaeger {
		return ""
	}
	return fmt.Sprintf("searched Jaeger from %s to %s only: calls outside that range are not included (give --since, or a longer --lookback, to search further back)",
		res.rangeFrom(), res.rangeTo())
}

// Integrity reports how far a result is proven unchanged. Only an audit
// store read with a verifier key can be verified; traces carry no proof.
type Integrity struct {
	// Checked is true when the source supports verification and it ran.
	Checked bool `json:"checked"`
	// Verified is true when Checked and nothing was found wrong: every
	// segment read matched its signed seal, the seals chain together and
	// match the latest signed checkpoint, and the active segment verified.
	Verified bool `json:"verified"`
	// Summary is a one-line explanation, for example why nothing was
	// checked or how much was verified.
	Summary string `json:"summary"`
	// SegmentsRead and SegmentsTotal count the store segments read and
	// proven (a sealed one by the SHA-256 of its file that its seal signs,
	// or line by line) and the segments in the store.
	SegmentsRead  int `json:"segments_read"`
	SegmentsTotal int `json:"segments_total"`
	// RecordsVerified counts the records of the segments read: each one
	// proven, by its segment's file digest or by its own hash or Merkle
	// leaf.
	RecordsVerified int64 `json:"records_verified"`
	// UnsignedRecords counts the newest records of active segments that
	// are hash-chained and verified but not yet covered by a signed
	// checkpoint (the store signs one every checkpoint_interval): they
	// are as trustworthy as the store's files until then.
	UnsignedRecords uint64 `json:"unsigned_records"`
	// Findings lists every problem found, empty when Verified.
	Findings []Finding `json:"findings"`
	// Live lists what was taken as a write in progress, not a finding,
	// because a process held the store's lock as a writer does (an
	// unterminated tail, a history checkpoint being filed); any process
	// holding it has that effect, so on a store believed stopped it is
	// worth saying (the commands say it on stderr).
	Live []string `json:"live,omitempty"`
}

// Finding is one integrity problem, located as precisely as the verifier
// could.
type Finding struct {
	Chain   string `json:"chain"`
	Segment string `json:"segment"`
	// Seq is the record sequence number, -1 when the problem is not tied
	// to one record.
	Seq    int64  `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// Failed reports whether an integrity check ran and failed, or found a
// problem even without keys: the condition under which the CLI exits 1.
func (i *Integrity) Failed() bool { return (i.Checked && !i.Verified) || len(i.Findings) > 0 }

// notChecked is the Integrity of sources that carry no proof.
func notChecked(kind string) Integrity {
	return Integrity{
		Summary:  "not checked: " + kind + " data carries no integrity proof; read the audit store with --dir and --verifier",
		Findings: []Finding{},
	}
}
