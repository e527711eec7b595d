package query

import (
	"crypto/sha256"
	"fmt"

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
// redelivery (or a search returns twice). A repeated span whose record
// differs from the first copy's is not the same evidence told twice: it is
// kept apart (conflicts) and warned about, so that Reconcile compares it
// and no answer depends on which copy came first unnoticed.
type recordCollector struct {
	opts   toolspan.Options
	filter Filter
	// seen holds the SHA-256 of each span's first record, canonical.
	seen map[spanKey][sha256.Size]byte
	recs []auditlog.Record
	// conflicts are the later copies of spans whose record differs from
	// the first copy's, each once.
	conflicts []auditlog.Record
	warnings  []string
	buf       []byte
	// spans counts the tool spans seen, matching or not.
	spans int
}

func newRecordCollector(f Filter, opts toolspan.Options) *recordCollector {
	return &recordCollector{opts: opts, filter: f, seen: map[spanKey][sha256.Size]byte{}}
}

// digest is the SHA-256 of rec's canonical JSON, which says whether two
// copies of a span gave the same record.
func (c *recordCollector) digest(rec *auditlog.Record) [sha256.Size]byte {
	c.buf = rec.AppendCanonical(c.buf[:0], true)
	return sha256.Sum256(c.buf)
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
				sum := c.digest(&rec)
				if first, dup := c.seen[key]; dup {
					if first != sum {
						c.conflict(&rec, sum)
					}
					continue
				}
				c.seen[key] = sum
				c.spans++
				if c.filter.Match(&rec) {
					c.recs = append(c.recs, rec)
				}
			}
		}
	}
}

// conflict records a copy of a span seen before whose record differs.
// Each distinct copy is kept once, when it matches the filter, however
// often it repeats.
func (c *recordCollector) conflict(rec *auditlog.Record, sum [sha256.Size]byte) {
	for i := range c.conflicts {
		if c.conflicts[i].TraceID == rec.TraceID && c.conflicts[i].SpanID == rec.SpanID && c.digest(&c.conflicts[i]) == sum {
			return
		}
	}
	if !c.filter.Match(rec) {
		return
	}
	c.conflicts = append(c.conflicts, *rec)
	c.warnings = append(c.warnings, fmt.Sprintf("trace %s span %s is held more than once with different content: "+
		"the first copy is counted, reconcile compares every copy", rec.TraceID, rec.SpanID))
}

// records returns the collected records in the order of sortRecords.
func (c *recordCollector) records() []auditlog.Record {
	if c.recs == nil {
		c.recs = []auditlog.Record{}
	}
	sortRecords(c.recs)
	return c.recs
}
