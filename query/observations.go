package query

import (
	"strings"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// innermost returns res with every call counted once.
//
// One tool call can be observed several times on its way to the tool: an
// agent framework's execute_tool span, the MCP client's tools/call span
// beneath it, and the MCP server's span beneath that. Each is a faithful
// record of what its own process saw, so the store keeps them all and
// reconcile compares them all; but an access report that counted one
// access twice would be wrong. The analyses therefore keep the innermost
// observation, the one closest to where the tool ran: a record is left out
// when another record of the result, for the same tool, is its child (same
// trace, parent_span_id equal to its span_id).
//
// The innermost observation often knows least about who asked: a
// third-party MCP server sees the tool and its arguments, not the agent's
// user, patient or break-glass. So the record kept is filled, field by
// field, with what its outer observations recorded where it records
// nothing (fillFromOuter); otherwise dropping the outer records would drop
// the attribution with them.
//
// res is returned as is when nothing is left out; otherwise a shallow copy
// with its own Records.
func (res *Result) innermost() *Result {
	type key struct{ trace, span, tool string }
	var parents map[key]struct{}
	for i := range res.Records {
		r := &res.Records[i]
		if r.ParentSpanID == "" {
			continue
		}
		if parents == nil {
			parents = make(map[key]struct{})
		}
		parents[key{r.TraceID, r.ParentSpanID, r.ToolName}] = struct{}{}
	}
	isOuter := func(r *auditlog.Record) bool {
		_, ok := parents[key{r.TraceID, r.SpanID, r.ToolName}]
		return ok
	}
	n := 0
	byID := map[key]int{}
	for i := range res.Records {
		r := &res.Records[i]
		if isOuter(r) {
			n++
			byID[key{r.TraceID, r.SpanID, r.ToolName}] = i
		}
	}
	if n == 0 {
		return res
	}
	out := *res
	out.Records = make([]auditlog.Record, 0, len(res.Records)-n)
	for i := range res.Records {
		r := &res.Records[i]
		if isOuter(r) {
			continue
		}
		kept := *r
		// Walk up the observations, nearest first; the step bound
		// ends a cycle of parent ids, which spans could claim.
		filled := false
		p, ok := byID[key{r.TraceID, r.ParentSpanID, r.ToolName}]
		for steps := 0; ok && steps < n; steps++ {
			outer := &res.Records[p]
			filled = fillFromOuter(&kept, outer) || filled
			if outer.ParentSpanID == "" {
				break
			}
			p, ok = byID[key{outer.TraceID, outer.ParentSpanID, outer.ToolName}]
		}
		if filled {
			kept.Attribution = toolspan.Attribution(&kept)
		}
		out.Records = append(out.Records, kept)
	}
	return &out
}

// fillFromOuter copies into r, the observation of a call that is counted,
// the attribution an outer observation o of the same call recorded where
// r records none, and reports whether it copied anything. Fields go in
// groups that belong together (a user with their roles, a subject's type
// with its id, an agent's name with its id, break-glass with its reason),
// so that a record never pairs one observation's user with another's
// roles. Break-glass, a claim that is absent rather than false when not
// made, is copied whenever r does not make it. What happened (time,
// duration, arguments, result, success, error) stays r's own: r is where
// the tool ran.
func fillFromOuter(r *auditlog.Record, o *auditlog.Record) bool {
	filled := false
	str := func(dst *string, src string) {
		if blank(*dst) && !blank(src) {
			*dst, filled = src, true
		}
	}
	if blank(r.UserID) && !blank(o.UserID) {
		r.UserID, r.UserRoles, filled = o.UserID, o.UserRoles, true
	}
	if blank(r.Subject.Type) && blank(r.Subject.ID) && (!blank(o.Subject.Type) || !blank(o.Subject.ID)) {
		r.Subject, filled = o.Subject, true
	}
	if blank(r.Agent.Name) && blank(r.Agent.ID) && (!blank(o.Agent.Name) || !blank(o.Agent.ID)) {
		r.Agent, filled = o.Agent, true
	}
	if !r.BreakGlass && o.BreakGlass {
		r.BreakGlass, r.BreakGlassReason, filled = true, o.BreakGlassReason, true
	}
	if r.TurnNumber == nil && o.TurnNumber != nil {
		r.TurnNumber, filled = o.TurnNumber, true
	}
	str(&r.ConversationID, o.ConversationID)
	str(&r.Model, o.Model)
	str(&r.Trigger, o.Trigger)
	str(&r.Purpose, o.Purpose)
	str(&r.ToolCallID, o.ToolCallID)
	str(&r.ToolType, o.ToolType)
	str(&r.Session.ID, o.Session.ID)
	str(&r.Session.ClientAddress, o.Session.ClientAddress)
	str(&r.Session.UserAgent, o.Session.UserAgent)
	return filled
}

// blank reports whether s holds nothing but white space: a user id, subject
// or purpose of spaces names no one, in every command alike (FHIR strings
// must hold non-white-space content, so the export drops them).
func blank(s string) bool { return strings.TrimSpace(s) == "" }
