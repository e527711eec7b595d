package auditexporter

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// retentionPolicy assigns retention classes with an auditlog.Policy whose
// classes are ordered so that, when several match a record, the one that
// keeps it longest wins (ties go to the class name that sorts first):
// over-retaining is the failure a compliance officer can live with,
// under-retaining is not. Safe for concurrent use.
type retentionPolicy struct {
	policy *auditlog.Policy

	// cache remembers the class of each (tool, subject type) pair seen:
	// there are few, and glob matching every record costs more than the
	// rest of the classification. Bounded by cacheLimit.
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

// newRetentionPolicy builds the policy of a validated configuration.
func newRetentionPolicy(rc RetentionConfig) *retentionPolicy {
	p := &auditlog.Policy{DefaultClass: rc.DefaultClass}
	for name, c := range rc.Classes {
		p.Classes = append(p.Classes, auditlog.Class{Name: name, Days: c.Days, Tools: c.Tools, SubjectTypes: c.SubjectTypes})
	}
	slices.SortFunc(p.Classes, func(a, b auditlog.Class) int {
		return cmp.Or(cmp.Compare(b.Days, a.Days), cmp.Compare(a.Name, b.Name))
	})
	return &retentionPolicy{policy: p, cache: map[cacheKey]classDays{}}
}

// classify returns the class and days of a call of tool on a subject of
// subjectType.
func (p *retentionPolicy) classify(tool, subjectType string) (string, int) {
	k := cacheKey{tool, subjectType}
	p.mu.RLock()
	cd, ok := p.cache[k]
	p.mu.RUnlock()
	if ok {
		return cd.class, cd.days
	}
	cd.class, cd.days = p.policy.Classify(tool, subjectType)
	p.mu.Lock()
	if len(p.cache) >= cacheLimit {
		clear(p.cache)
	}
	// Keys are cloned: they point into span data the caller may reuse.
	p.cache[cacheKey{strings.Clone(tool), strings.Clone(subjectType)}] = cd
	p.mu.Unlock()
	return cd.class, cd.days
}

// apply sets r.Retention as auditlog.Policy.Retention does: retain_until is
// from plus the class's days, in UTC, its text taken from the memory of m,
// the Mapper that mapped r. The exporter passes the later of the span's
// start and the time it writes the record.
func (p *retentionPolicy) apply(r *auditlog.Record, start pcommon.Timestamp, m *toolspan.Mapper) {
	class, days := p.classify(r.ToolName, r.Subject.Type)
	r.Retention = auditlog.Retention{Class: class, Days: days, RetainUntil: retainUntilText(start, days, m)}
}

// retainUntilText is the text of retainUntil(toolspan.TimestampTime(start),
// days), from m's memory. Where start and the instant a whole number of
// days from it are both int64 nanoseconds, it adds the days to start's
// nanoseconds and formats those, without building a time.Time (see
// toolspan.Mapper.FormatUnixNano): the calendar conversion of time.Time
// took half of the classification. A start from 2^63 on (after 2262) is
// unsigned, as OTLP defines it, not the negative int64 AsTime makes of it,
// which put retain_until before 1970.
func retainUntilText(start pcommon.Timestamp, days int, m *toolspan.Mapper) string {
	const nsPerDay = int64(24 * time.Hour)
	if days >= -maxDurationDays && days <= maxDurationDays && start <= math.MaxInt64 {
		ns := int64(start)
		if d := int64(days) * nsPerDay; (d >= 0 && ns <= math.MaxInt64-d) || (d < 0 && ns >= math.MinInt64-d) {
			return m.FormatUnixNano(ns + d)
		}
	}
	return m.FormatTime(retainUntil(toolspan.TimestampTime(start), days))
}

// maxDurationDays is the most days a time.Duration holds with room to spare.
const maxDurationDays = 100_000

// retainUntil is start.UTC().AddDate(0, 0, days). UTC has no daylight
// saving time and Go's clock no leap seconds, so a day there is always 24
// hours and adding them is the same instant, without AddDate's calendar
// arithmetic, which cost more than the rest of the classification.
func retainUntil(start time.Time, days int) time.Time {
	if days >= -maxDurationDays && days <= maxDurationDays {
		return start.UTC().Add(time.Duration(days) * 24 * time.Hour)
	}
	return start.UTC().AddDate(0, 0, days)
}
