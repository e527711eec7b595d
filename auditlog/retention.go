package auditlog

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Default retention classes (SPEC §4), in days.
const (
	FinancialDays  = 2555
	HealthcareDays = 2190
	GeneralDays    = 365
)

// MaxRetentionDays is the most days a retention class may keep records:
// 365,000, about 1,000 years. Counted from any instant an OTLP span start
// can name (its unsigned nanoseconds end in 2554), retain_until stays
// within the four-digit years of RFC 3339; prune keeps a record whose
// days are beyond it.
const MaxRetentionDays = 365_000

// Class is one retention class: records of matching tools or subject
// types are kept Days days and written to the chain named Name.
type Class struct {
	Name string
	Days int
	// Tools are path.Match patterns on the tool name.
	Tools []string
	// SubjectTypes are audit.subject.type values, matched exactly.
	SubjectTypes []string
	_            struct{}
}

// Policy maps tool calls to retention classes. The zero Policy is not
// usable; start from DefaultPolicy. A Policy must not be modified while
// Classify runs; Classify itself is safe for concurrent use.
type Policy struct {
	// DefaultClass names the class of calls no class matches; it must be
	// one of Classes.
	DefaultClass string
	// Classes are tried in order; the first whose Tools or SubjectTypes
	// match wins.
	Classes []Class
	_       struct{}
}

// DefaultPolicy returns the SPEC defaults: financial (2555 days:
// charge_payment, issue_refund, apply_credit), healthcare (2190 days:
// access_patient_record, update_treatment, subject type patient) and the
// default class general (365 days).
func DefaultPolicy() *Policy {
	return &Policy{
		DefaultClass: "general",
		Classes: []Class{
			{Name: "financial", Days: FinancialDays, Tools: []string{"charge_payment", "issue_refund", "apply_credit"}},
			{Name: "healthcare", Days: HealthcareDays, Tools: []string{"access_patient_record", "update_treatment"}, SubjectTypes: []string{"patient"}},
			{Name: "general", Days: GeneralDays},
		},
	}
}

// Validate checks that class names can name chains (CheckChainName), days
// are 1 to MaxRetentionDays,
// patterns are well formed and the default class exists.
func (p *Policy) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for _, c := range p.Classes {
		if err := CheckChainName(c.Name); err != nil {
			errs = append(errs, fmt.Errorf("retention class name %w", err))
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("retention class %q is defined twice", c.Name))
		}
		seen[c.Name] = true
		if c.Days <= 0 || c.Days > MaxRetentionDays {
			errs = append(errs, fmt.Errorf("retention class %q: days must be 1 to %d, got %d", c.Name, MaxRetentionDays, c.Days))
		}
		for _, t := range c.Tools {
			if _, err := path.Match(t, ""); err != nil {
				errs = append(errs, fmt.Errorf("retention class %q: tool pattern %q: %w", c.Name, t, err))
			}
		}
	}
	if !seen[p.DefaultClass] {
		errs = append(errs, fmt.Errorf("retention default_class %q is not one of the classes", p.DefaultClass))
	}
	return errors.Join(errs...)
}

// Classify returns the class and retention days for a call of tool on a
// subject of subjectType. Tool patterns are path.Match globs, compared
// case-sensitively as tool names are; subject types are compared ignoring
// case, so that a span's "Patient" is kept as long as "patient": a type
// spelled another way must not shorten retention.
func (p *Policy) Classify(tool, subjectType string) (class string, days int) {
	for _, c := range p.Classes {
		for _, t := range c.Tools {
			if ok, _ := path.Match(t, tool); ok {
				return c.Name, c.Days
			}
		}
		if subjectType != "" && slices.ContainsFunc(c.SubjectTypes, func(st string) bool { return strings.EqualFold(st, subjectType) }) {
			return c.Name, c.Days
		}
	}
	for _, c := range p.Classes {
		if c.Name == p.DefaultClass {
			return c.Name, c.Days
		}
	}
	return p.DefaultClass, GeneralDays
}

// Retention returns the retention tag of a call of tool on subjectType
// that started at ts: class, days and retain_until = ts + days.
func (p *Policy) Retention(tool, subjectType string, ts time.Time) Retention {
	class, days := p.Classify(tool, subjectType)
	return Retention{Class: class, Days: days, RetainUntil: ts.UTC().AddDate(0, 0, days).Format(TimeFormat)}
}

// retainedUntil returns when r's retention runs out, or why its retention
// tag cannot say: retain_until must be an RFC 3339 time no earlier than
// timestamp plus days, days 1 to MaxRetentionDays, and timestamp an RFC
// 3339 time from 1970 on (an OTLP start time is unsigned nanoseconds since
// then; a record before it was written by an exporter that read a start
// after 2262 as negative). Prune keeps the records it cannot date, and
// says why: a malformed or overflowed tag must not make a record expire.
func retainedUntil(r *Record) (time.Time, string) {
	rt := &r.Retention
	until, err := time.Parse(time.RFC3339Nano, rt.RetainUntil)
	if err != nil {
		return time.Time{}, fmt.Sprintf("retain_until %q is not an RFC 3339 time", rt.RetainUntil)
	}
	if rt.Days <= 0 || rt.Days > MaxRetentionDays {
		return time.Time{}, fmt.Sprintf("retention days %d are not 1 to %d", rt.Days, MaxRetentionDays)
	}
	ts, err := time.Parse(time.RFC3339Nano, r.Timestamp)
	switch {
	case err != nil:
		return time.Time{}, fmt.Sprintf("timestamp %q is not an RFC 3339 time", r.Timestamp)
	case ts.Before(time.Unix(0, 0)):
		return time.Time{}, fmt.Sprintf("timestamp %q is before 1970, where no span starts", r.Timestamp)
	case until.Before(ts.AddDate(0, 0, rt.Days)):
		return time.Time{}, fmt.Sprintf("retain_until %q is earlier than timestamp %q plus %d days", rt.RetainUntil, r.Timestamp, rt.Days)
	}
	return until, ""
}
