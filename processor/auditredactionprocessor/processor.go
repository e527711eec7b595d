package auditredactionprocessor

import (
	"context"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/internal/redact"
)

// redactionProcessor redacts batches in place. It holds no mutable state, so
// batches may be processed concurrently.
type redactionProcessor struct {
	r *redact.Redactor
}

// recorded is what a resource or scope contributed, carried to each of its
// spans or log records.
type recorded struct {
	count int
	paths []string
}

func (rc *recorded) take(sc *redact.Scope) {
	rc.count = sc.Count()
	rc.paths = append(rc.paths[:0], sc.Paths()...)
}

func (p *redactionProcessor) processTraces(_ context.Context, td ptrace.Traces) (ptrace.Traces, error) {
	sc := p.r.Scope()
	defer sc.Release()
	var res, scope recorded
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sc.Reset()
		sc.Attributes("resource:", rs.Resource().Attributes())
		res.take(sc)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			sc.Seed(res.count, res.paths)
			sc.Attributes("scope:", ss.Scope().Attributes())
			scope.take(sc)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sc.Seed(scope.count, scope.paths)
				p.redactSpan(sc, spans.At(k))
			}
		}
	}
	return td, nil
}

func (p *redactionProcessor) redactSpan(sc *redact.Scope, span ptrace.Span) {
	if s, ok := sc.String("span:name", span.Name()); ok {
		span.SetName(s)
	}
	if msg := span.Status().Message(); msg != "" {
		if s, ok := sc.String("span:status.message", msg); ok {
			span.Status().SetMessage(s)
		}
	}
	attrs := span.Attributes()
	sc.Attributes("", attrs)
	events := span.Events()
	for i := 0; i < events.Len(); i++ {
		ev := events.At(i)
		// An event's name is free text like a span's ("login failed for
		// bob@example.com").
		if s, ok := sc.StringAt("event", i, "name", ev.Name()); ok {
			ev.SetName(s)
		}
		sc.AttributesAt("event", i, ev.Attributes())
	}
	links := span.Links()
	for i := 0; i < links.Len(); i++ {
		sc.AttributesAt("link", i, links.At(i).Attributes())
	}
	addMarkers(attrs, sc)
}

func (p *redactionProcessor) processLogs(_ context.Context, ld plog.Logs) (plog.Logs, error) {
	sc := p.r.Scope()
	defer sc.Release()
	var res, scope recorded
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		sc.Reset()
		sc.Attributes("resource:", rl.Resource().Attributes())
		res.take(sc)
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			sc.Seed(res.count, res.paths)
			sc.Attributes("scope:", sl.Scope().Attributes())
			scope.take(sc)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				sc.Seed(scope.count, scope.paths)
				if name := lr.EventName(); name != "" {
					if s, ok := sc.String("event_name", name); ok {
						lr.SetEventName(s)
					}
				}
				sc.Value("body", lr.Body())
				sc.Attributes("", lr.Attributes())
				addMarkers(lr.Attributes(), sc)
			}
		}
	}
	return ld, nil
}

// addMarkers leaves audit.redaction.count and audit.redaction.paths on attrs
// when sc recorded redactions, adding to what an earlier pass (another
// collector in the path) left there.
func addMarkers(attrs pcommon.Map, sc *redact.Scope) {
	count := sc.Count()
	if count == 0 {
		return
	}
	// A count an earlier pass left is added to; one that no pass could
	// have left (negative, or not an integer) is replaced, so that a
	// client cannot make the count say less than this pass redacted.
	if v, ok := attrs.Get(attrkey.RedactionCount); ok && v.Type() == pcommon.ValueTypeInt && v.Int() > 0 {
		count += int(min(v.Int(), math.MaxInt32))
	}
	attrs.PutInt(attrkey.RedactionCount, int64(count))

	paths := sc.Paths()
	if v, ok := attrs.Get(attrkey.RedactionPaths); ok && v.Type() == pcommon.ValueTypeSlice && v.Slice().Len() > 0 {
		paths = mergePaths(v.Slice(), paths)
	}
	out := attrs.PutEmptySlice(attrkey.RedactionPaths)
	out.EnsureCapacity(len(paths))
	for _, p := range paths {
		out.AppendEmpty().SetStr(p)
	}
}

// mergePaths returns the paths an earlier pass left in prior, then those of
// this pass, each once and at most redact.MaxPaths of them. The paths of one
// pass are distinct and capped already (Scope.Paths), so only a second pass
// pays for this.
func mergePaths(prior pcommon.Slice, paths []string) []string {
	merged := make([]string, 0, min(prior.Len()+len(paths), redact.MaxPaths))
	seen := make(map[string]struct{}, cap(merged))
	add := func(p string) {
		if _, dup := seen[p]; !dup && len(merged) < redact.MaxPaths {
			seen[p] = struct{}{}
			merged = append(merged, p)
		}
	}
	for _, v := range prior.All() {
		add(v.AsString())
	}
	for _, p := range paths {
		add(p)
	}
	return merged
}
