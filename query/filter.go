package query

import (
	"fmt"
	"strings"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// Subject names whose data a call touched: a type such as "patient" and an
// id such as "P-1001".
type Subject = auditlog.Subject

// ParseSubject parses the command-line form TYPE/ID (for example
// patient/P-1001). The id may itself contain slashes; the type may not, and
// neither may be empty.
func ParseSubject(s string) (Subject, error) {
	typ, id, ok := strings.Cut(s, "/")
	if !ok || typ == "" || id == "" {
		return Subject{}, fmt.Errorf("invalid subject %q: want TYPE/ID, for example patient/P-1001", s)
	}
	return Subject{Type: typ, ID: id}, nil
}

// Filter selects records. Zero-valued fields select everything, so the zero
// Filter matches every record. Sources use a Filter to read less (an audit
// store skips segments whose signed summaries cannot match; Jaeger is asked
// for the time range) and then apply Match to every record they return, so
// callers always receive exactly the matching records.
type Filter struct {
	// ConversationID selects one conversation (gen_ai.conversation.id).
	ConversationID string
	// UserID selects the calls made on behalf of one user (user.id).
	UserID string
	// Tool selects one tool by exact name.
	Tool string
	// Subject selects the calls that touched one subject; both Type and ID
	// must be set for it to apply. The type matches in any case, the id
	// exactly (SameSubject).
	Subject Subject
	// FailedOnly selects the failed calls.
	FailedOnly bool
	// Since is the inclusive lower bound of the call start time.
	Since time.Time
	// Until is the exclusive upper bound of the call start time.
	Until time.Time

	_ struct{}
}

// everything reports whether f is the zero Filter, which matches every
// record.
func (f *Filter) everything() bool { return *f == Filter{} }

// hasSubject reports whether the filter selects a subject.
func (f *Filter) hasSubject() bool { return f.Subject.Type != "" && f.Subject.ID != "" }

// Match reports whether r passes every condition of the filter.
func (f *Filter) Match(r *auditlog.Record) bool {
	if f.ConversationID != "" && r.ConversationID != f.ConversationID {
		return false
	}
	if f.UserID != "" && r.UserID != f.UserID {
		return false
	}
	if f.Tool != "" && r.ToolName != f.Tool {
		return false
	}
	if f.hasSubject() && !SameSubject(r.Subject, f.Subject) {
		return false
	}
	if f.FailedOnly && r.Success {
		return false
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		// Record timestamps have a fixed layout and compare as strings,
		// but records from traces may come with other precisions, so
		// compare instants.
		t := recordTime(r)
		if !f.Since.IsZero() && t.Before(f.Since) {
			return false
		}
		if !f.Until.IsZero() && !t.Before(f.Until) {
			return false
		}
	}
	return true
}

// matchesAll reports whether every record of recs matches f.
func (f *Filter) matchesAll(recs []auditlog.Record) bool {
	for i := range recs {
		if !f.Match(&recs[i]) {
			return false
		}
	}
	return true
}

// Apply returns the records of recs that match f, in their order, in a new
// slice.
func (f *Filter) Apply(recs []auditlog.Record) []auditlog.Record {
	out := make([]auditlog.Record, 0, len(recs))
	for i := range recs {
		if f.Match(&recs[i]) {
			out = append(out, recs[i])
		}
	}
	return out
}

// SameSubject reports whether a and b name the same subject: the same id,
// exactly, and the same type in any letter case. Agents spell a type as
// they please ("patient", "Patient"), the FHIR export maps both to a
// Patient reference and the exporter's retention policy matches subject
// types case-insensitively, so a report that split them would miss
// accesses; ids are the systems' own keys and stay exact.
func SameSubject(a, b Subject) bool { return a.Same(b) }

// subjectKey is a map key under which every spelling of a subject's type
// falls together, as SameSubject compares them.
func subjectKey(s Subject) Subject {
	return Subject{Type: strings.ToLower(strings.ToUpper(s.Type)), ID: s.ID}
}
