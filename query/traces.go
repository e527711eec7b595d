package query

import (
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// spanKey identifies one span, the unit of deduplication and of
// reconciliation.
type spanKey struct{ trace, span string }

// recordCollector maps trace data to records with the audit exporter's own
// mapping (internal/toolspan), keeps those matching a filter, and drops
// repeated spans, which a trace backend may hold more than once after a
// redelivery.
type recordCollector struct {
	opts   toolspan.Options
	filter Filter
	seen   map[spanKey]struct{}
	recs   []auditlog.Record
	// spans counts the tool spans seen, matching or not.
	spans int
}

func newRecordCollector(f Filter, opts toolspan.Options) *recordCollector {
	return &recordCollector{opts: opts, filter: f, seen: map[spanKey]struct{}{}}
}

// add maps every tool span of td.
func (c *recordCollector) add(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				rec, ok := toolspan.Map(rs.Resource(), ss.Scope(), spans.At(k), c.opts)
				if !ok {
					continue
				}
				key := spanKey{rec.TraceID, rec.SpanID}
				if _, dup := c.seen[key]; dup {
					continue
				}
				c.seen[key] = struct{}{}
				c.spans++
				if c.filter.Match(&rec) {
					c.recs = append(c.recs, rec)
				}
			}
		}
	}
}

// records returns the collected records in the order of sortRecords.
func (c *recordCollector) records() []auditlog.Record {
	if c.recs == nil {
		c.recs = []auditlog.Record{}
	}
	sortRecords(c.recs)
	return c.recs
}
