package auditexporter

import (
	"path"
	"slices"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// retentionPolicy assigns retention classes. When several classes match a
// record, the one that keeps it longest wins (ties go to the class name
// that sorts first): over-retaining is the failure a compliance officer can
// live with, under-retaining is not.
type retentionPolicy struct {
	classes     []retentionClass // sorted by days descending, then name
	defaultName string
	defaultDays int
}

type retentionClass struct {
	name         string
	days         int
	tools        []string
	subjectTypes []string
}

func newRetentionPolicy(rc RetentionConfig) *retentionPolicy {
	p := &retentionPolicy{defaultName: rc.DefaultClass, defaultDays: rc.Classes[rc.DefaultClass].Days}
	for name, c := range rc.Classes {
		p.classes = append(p.classes, retentionClass{name: name, days: c.Days, tools: c.Tools, subjectTypes: c.SubjectTypes})
	}
	slices.SortFunc(p.classes, func(a, b retentionClass) int {
		if a.days != b.days {
			return b.days - a.days
		}
		if a.name < b.name {
			return -1
		}
		if a.name > b.name {
			return 1
		}
		return 0
	})
	return p
}

// classify returns the class and days of a call of tool on a subject of
// subjectType.
func (p *retentionPolicy) classify(tool, subjectType string) (string, int) {
	for i := range p.classes {
		c := &p.classes[i]
		if subjectType != "" && slices.Contains(c.subjectTypes, subjectType) {
			return c.name, c.days
		}
		for _, pat := range c.tools {
			if ok, _ := path.Match(pat, tool); ok {
				return c.name, c.days
			}
		}
	}
	return p.defaultName, p.defaultDays
}

// apply sets r.Retention; start is the record's timestamp.
func (p *retentionPolicy) apply(r *auditlog.Record, start time.Time) {
	class, days := p.classify(r.ToolName, r.Subject.Type)
	r.Retention = auditlog.Retention{
		Class:       class,
		Days:        days,
		RetainUntil: start.UTC().Add(time.Duration(days) * 24 * time.Hour).Format(auditlog.TimeFormat),
	}
}
