package auditlog

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"time"
)

// Default retention classes (SPEC §4), in days.
const (
	FinancialDays  = 2555
	HealthcareDays = 2190
	GeneralDays    = 365
)

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

// Validate checks that class names can name chains (CheckChainName), days are positive,
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
		if c.Days <= 0 {
			errs = append(errs, fmt.Errorf("retention class %q: days must be positive, got %d", c.Name, c.Days))
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
// subject of subjectType.
func (p *Policy) Classify(tool, subjectType string) (class string, days int) {
	for _, c := range p.Classes {
		for _, t := range c.Tools {
			if ok, _ := path.Match(t, tool); ok {
				return c.Name, c.Days
			}
		}
		if subjectType != "" && slices.Contains(c.SubjectTypes, subjectType) {
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
