package query

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// BoundaryReach is how far either side of a time range's bounds FetchCalls
// looks for the other observations of calls at its edges: observations of one call (an
// agent's span and the MCP server's span beneath it) start milliseconds
// apart, but those milliseconds can straddle --since or --until.
const BoundaryReach = 5 * time.Minute

// FetchCalls fetches what the analyses (timeline, calls, stats, report,
// anomalies, the FHIR export) count for f: each call once, in the time
// range of its innermost observation (where the tool ran, the timestamp
// the call is shown with), with the outer observations that fill its
// attribution even when they started outside the range. A call whose
// innermost observation lies outside the range is left out, even when an
// outer observation of it lies inside. So a call straddling a boundary
// (agent span at 23:59:59.995, MCP server span at 00:00:00.005) is counted
// once, in the later window, with the agent span's user and patient, from
// every source alike, and a filter on those (--user, --subject) selects it
// in that window too.
//
// To see every observation of the calls at the range's edges, the source
// is also asked for the BoundaryReach either side of each bound, filtered
// by tool only (an observation of a call may record no user or subject);
// those calls are grouped (innermost) and kept when their innermost
// observation is in the range and, as filled, they match f. Observations
// of one call that start more than BoundaryReach apart across a bound are
// not joined. Reconcile compares spans and records as they are, and uses
// Source.Fetch.
func FetchCalls(ctx context.Context, src Source, f Filter) (*Result, error) {
	res, err := src.Fetch(ctx, f)
	narrows := f.UserID != "" || f.hasSubject() || f.ConversationID != "" || f.FailedOnly
	if err != nil || (!narrows && f.Since.IsZero() && f.Until.IsZero()) {
		return res, err
	}
	// Jaeger's range is the one it searched (the lookback when f has no
	// Since); the other sources' is f's own.
	from, to := f.Since, f.Until
	if !res.From.IsZero() {
		from = res.From
	}
	if !res.To.IsZero() {
		to = res.To
	}
	seen := make(map[spanKey]bool, len(res.Records))
	for i := range res.Records {
		r := &res.Records[i]
		seen[spanKey{r.TraceID, r.SpanID}] = true
	}
	recs := res.Records
	integrity := res.Integrity
	warnings := res.Warnings
	// The observations a filter on user, subject or conversation matched
	// may be only some of their calls' (the agent's span has the user,
	// the MCP server's span beneath it the patient): the others, which
	// fill the call, are in the same trace, of the same tool, and start
	// within BoundaryReach of it.
	var related map[[2]string]bool
	if narrows {
		related = make(map[[2]string]bool, len(res.Records))
		for i := range res.Records {
			related[[2]string{res.Records[i].TraceID, res.Records[i].ToolName}] = true
		}
	}
	edge := func(since, until time.Time, only map[[2]string]bool) error {
		extra, err := src.Fetch(ctx, Filter{Tool: f.Tool, Since: since, Until: until})
		if err != nil {
			return err
		}
		for i := range extra.Records {
			r := &extra.Records[i]
			if only != nil && !only[[2]string{r.TraceID, r.ToolName}] {
				continue
			}
			if k := (spanKey{r.TraceID, r.SpanID}); !seen[k] {
				seen[k] = true
				recs = append(recs, *r)
			}
		}
		// What the extra reads find wrong is as much a finding.
		if len(extra.Integrity.Findings) > 0 {
			integrity.Findings = append(slicesClip(integrity.Findings), extra.Integrity.Findings...)
			integrity.Verified = false
			integrity.Summary = fmt.Sprintf("NOT verified: %d finding(s)", len(integrity.Findings))
		}
		warnings = append(slicesClip(warnings), extra.Warnings...)
		return nil
	}
	var edges [][2]time.Time
	if !from.IsZero() {
		edges = append(edges, [2]time.Time{from.Add(-BoundaryReach), from.Add(BoundaryReach)})
	}
	if !to.IsZero() {
		e := [2]time.Time{to.Add(-BoundaryReach), to.Add(BoundaryReach)}
		if len(edges) > 0 && !e[0].After(edges[0][1]) {
			edges[0][1] = e[1] // a short range: one read covers both edges
		} else {
			edges = append(edges, e)
		}
	}
	for _, e := range edges {
		if err := edge(e[0], e[1], nil); err != nil {
			return nil, err
		}
	}
	if narrows {
		for _, w := range callWindows(res.Records) {
			if err := edge(w[0], w[1], related); err != nil {
				return nil, err
			}
		}
	}
	out := *res
	out.Integrity, out.Warnings = integrity, warnings
	out.Records = callsIn(recs, f, from, to)
	sortRecords(out.Records)
	return &out, nil
}

// callWindows returns the time ranges within BoundaryReach of the starts
// of recs, those closer than a minute apart merged, so that a filter's
// matches cost a few reads of the source, not one each.
func callWindows(recs []auditlog.Record) [][2]time.Time {
	starts := make([]time.Time, 0, len(recs))
	for i := range recs {
		if t := recordTime(&recs[i]); !t.IsZero() {
			starts = append(starts, t)
		}
	}
	slices.SortFunc(starts, time.Time.Compare)
	var out [][2]time.Time
	for _, t := range starts {
		w := [2]time.Time{t.Add(-BoundaryReach), t.Add(BoundaryReach)}
		if n := len(out); n > 0 && !w[0].After(out[n-1][1].Add(time.Minute)) {
			out[n-1][1] = w[1]
			continue
		}
		out = append(out, w)
	}
	return out
}

// slicesClip keeps append from writing into the source's own array.
func slicesClip[S ~[]E, E any](s S) S { return s[:len(s):len(s)] }

// callsIn keeps the calls of recs whose innermost observations start in
// [from, to) and, as filled from their outer observations, match f's
// other conditions, each with the outer observations it is filled from;
// it drops the rest, outer observations of calls outside the range
// included.
func callsIn(recs []auditlog.Record, f Filter, from, to time.Time) []auditlog.Record {
	g := groupObservations(recs)
	match := f
	match.Since, match.Until = from, to
	keep := make([]bool, len(recs))
	for i := range recs {
		if g != nil && g.merged[i] {
			continue // an outer observation: kept with its call below
		}
		r := &recs[i]
		if g != nil {
			r = g.view(i)
		}
		if !match.Match(r) {
			continue
		}
		keep[i] = true
		for j := i; g != nil && g.link[j] >= 0 && !keep[g.link[j]]; j = g.link[j] {
			keep[g.link[j]] = true
		}
	}
	out := make([]auditlog.Record, 0, len(recs))
	for i := range recs {
		if keep[i] {
			out = append(out, recs[i])
		}
	}
	return out
}
