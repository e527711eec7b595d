package auditexporter

import (
	"path"
	"slices"
	"strings"
	"sync"
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

	// cache remembers the class of each (tool, subject type) pair seen:
	// there are few, and glob matching every record would cost more than
	// the rest of the classification. Bounded by cacheLimit.
	mu    sync.RWMutex
	cache map[cacheKey]classDays
}

type cacheKey struct{ tool, subjectType string }

type classDays struct {
	class string
	days  int
}

// cacheLimit bounds the classification cache; past it the cache is
// cleared, so that a sender inventing tool names cannot grow memory.
const cacheLimit = 4096

type retentionClass struct {
	name         string
	days         int
	tools        []string
	subjectTypes []string
}

func newRetentionPolicy(rc RetentionConfig) *retentionPolicy {
	p := &retentionPolicy{
		defaultName: rc.DefaultClass,
		defaultDays: rc.Classes[rc.DefaultClass].Days,
		cache:       map[cacheKey]classDays{},
	}
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
// subjectType. Safe for concurrent use.
func (p *retentionPolicy) classify(tool, subjectType string) (string, int) {
	k := cacheKey{tool, subjectType}
	p.mu.RLock()
	cd, ok := p.cache[k]
	p.mu.RUnlock()
	if ok {
		return cd.class, cd.days
	}
	cd.class, cd.days = p.match(tool, subjectType)
	p.mu.Lock()
	if len(p.cache) >= cacheLimit {
		clear(p.cache)
	}
	// Keys are cloned: they point into span data the caller may reuse.
	p.cache[cacheKey{strings.Clone(tool), strings.Clone(subjectType)}] = cd
	p.mu.Unlock()
	return cd.class, cd.days
}

// match applies the policy without the cache.
func (p *retentionPolicy) match(tool, subjectType string) (string, int) {
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
