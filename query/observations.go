package query

import (
	"strings"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// FilledField names one field of a counted record that was filled from an
// outer observation of the same call, and the span id of the observation
// it came from. The record's chain_id, seq, prev_hash, hash and retention
// stay those of the innermost observation as stored, so a record with
// filled fields does not re-hash to its hash: `otelaudit cat` shows the
// stored record.
type FilledField struct {
	Field      string `json:"field"`
	FromSpanID string `json:"from_span_id"`
}

// innermost returns res with every call counted once.
//
// One tool call can be observed several times on its way to the tool: an
// agent framework's execute_tool span, the MCP client's tools/call span
// beneath it, and the MCP server's span beneath that. Each is a faithful
// record of what its own process saw, so the store keeps them all and
// reconcile compares them all; but an access report that counted one
// access twice would be wrong. The analyses therefore keep the innermost
// observation, the one closest to where the tool ran.
//
// A record is an observation of the same call as its parent only when
// both are of the same tool, in the same trace, the child's
// parent_span_id is the parent's span_id, and nothing tells them apart
// (sameCall): a tool that calls itself (a sub-agent "task" tool running
// "task" again for another user or patient) makes two calls, and merging
// them would move one call's user, patient or break-glass onto the other.
// The parent compared is the parent as filled from its own outer
// observations, so a chain alice → (no user) → bob splits where bob
// starts. A call made by another tool's run (X → Y → X) is a call of its
// own: Y, not X's caller, made it.
//
// The innermost observation often knows least about who asked: a
// third-party MCP server sees the tool and its arguments, not the agent's
// user, patient or break-glass. So the record kept is filled, field by
// field, with what its outer observations recorded where it records
// nothing (fillFromOuter), and the filled fields are listed in the
// result's filled map (calls' JSON "filled_from_outer").
//
// res is returned as is when nothing is left out; otherwise a shallow copy
// with its own Records.
func (res *Result) innermost() *Result {
	g := groupObservations(res.Records)
	if g == nil {
		return res
	}
	out := *res
	out.Records = make([]auditlog.Record, 0, len(res.Records))
	for i := range res.Records {
		if g.merged[i] {
			continue
		}
		out.Records = append(out.Records, *g.view(i))
		if len(g.from[i]) > 0 {
			if out.filled == nil {
				out.filled = make(map[spanKey][]FilledField)
			}
			r := &res.Records[i]
			out.filled[spanKey{r.TraceID, r.SpanID}] = g.from[i]
		}
	}
	if len(out.Records) == len(res.Records) && out.filled == nil {
		return res
	}
	return &out
}

// observations is how the records of a result group into calls (see
// innermost).
type observations struct {
	recs []auditlog.Record
	// link[j] is the record j is an observation of the same call as, its
	// parent, or -1; merged[p] is set when some record links to p, which
	// is then left out of the count.
	link   []int
	merged []bool
	// eff[j] is record j as filled from the outer observations of its
	// call (nil: unchanged), from[j] where each filled field came from.
	eff  []*auditlog.Record
	from [][]FilledField
}

// view is record i as filled.
func (g *observations) view(i int) *auditlog.Record {
	if g.eff[i] != nil {
		return g.eff[i]
	}
	return &g.recs[i]
}

// groupObservations links each record of recs to its parent when the two
// are observations of one call; nil when no record has a parent of its
// own tool among recs (the usual case, found without allocating much).
func groupObservations(recs []auditlog.Record) *observations {
	type key struct{ trace, span, tool string }
	var parents map[key]struct{}
	for i := range recs {
		r := &recs[i]
		if r.ParentSpanID == "" {
			continue
		}
		if parents == nil {
			parents = make(map[key]struct{})
		}
		parents[key{r.TraceID, r.ParentSpanID, r.ToolName}] = struct{}{}
	}
	// byID holds the records some record names as its parent.
	byID := map[key]int{}
	for i := range recs {
		r := &recs[i]
		k := key{r.TraceID, r.SpanID, r.ToolName}
		if _, ok := parents[k]; ok {
			if _, dup := byID[k]; !dup {
				byID[k] = i
			}
		}
	}
	if len(byID) == 0 {
		return nil
	}
	parentOf := func(i int) (int, bool) {
		r := &recs[i]
		if r.ParentSpanID == "" {
			return 0, false
		}
		p, ok := byID[key{r.TraceID, r.ParentSpanID, r.ToolName}]
		return p, ok && p != i
	}

	g := &observations{
		recs:   recs,
		link:   make([]int, len(recs)),
		merged: make([]bool, len(recs)),
		eff:    make([]*auditlog.Record, len(recs)),
		from:   make([][]FilledField, len(recs)),
	}
	// Records are settled outermost first, a chain at a time, so that
	// each child is compared with its parent as filled.
	const (
		unseen = iota
		walking
		settled
	)
	state := make([]uint8, len(recs))
	var chain []int
	for i := range recs {
		g.link[i] = -1
	}
	for i := range recs {
		chain = chain[:0]
		for j, ok := i, true; ok && state[j] == unseen; j, ok = parentOf(j) {
			state[j] = walking // a cycle of parent ids stops here
			chain = append(chain, j)
		}
		for c := len(chain) - 1; c >= 0; c-- {
			j := chain[c]
			state[j] = settled
			p, ok := parentOf(j)
			if !ok || state[p] != settled || !sameCall(&recs[j], g.view(p)) {
				continue
			}
			g.link[j], g.merged[p] = p, true
			kept := recs[j]
			fields := fillFromOuter(&kept, g.view(p))
			if len(fields) == 0 {
				continue
			}
			for _, f := range fields {
				src := recs[p].SpanID
				for _, pf := range g.from[p] {
					if pf.Field == f {
						src = pf.FromSpanID
					}
				}
				g.from[j] = append(g.from[j], FilledField{Field: f, FromSpanID: src})
			}
			kept.Attribution = toolspan.Attribution(&kept)
			g.eff[j] = &kept
		}
	}
	return g
}

// sameCall reports whether r, a child span of the same tool as o, can be
// an observation of o's call: nothing both record differs. A tool call id,
// user, conversation or subject id recorded by both and not the same (a
// subject's type in any case, as SameSubject) marks two calls; one
// recorded by only one of them is what the filling is for.
func sameCall(r, o *auditlog.Record) bool {
	differ := func(a, b string) bool { return !blank(a) && !blank(b) && a != b }
	if differ(r.ToolCallID, o.ToolCallID) || differ(r.UserID, o.UserID) || differ(r.ConversationID, o.ConversationID) {
		return false
	}
	if !blank(r.Subject.ID) && !blank(o.Subject.ID) && !SameSubject(r.Subject, o.Subject) {
		return false
	}
	return true
}

// fillFromOuter copies into r, the observation of a call that is counted,
// the attribution an outer observation o of the same call recorded where
// r records none, and returns the names of the fields it filled (JSON
// member names; session members as session.id and so on). Fields go in
// groups that belong together (a user with their roles, a subject's type
// with its id, an agent's name with its id, break-glass with its reason),
// so that a record never pairs one observation's user with another's
// roles. A subject without an id (a type alone, "customer/") names no
// one, so o's subject replaces it. Break-glass, a claim that is absent
// rather than false when not made, is copied whenever r does not make it.
// What happened (time, duration, arguments, result, success, error) stays
// r's own: r is where the tool ran.
func fillFromOuter(r *auditlog.Record, o *auditlog.Record) []string {
	var filled []string
	str := func(name string, dst *string, src string) {
		if blank(*dst) && !blank(src) {
			*dst = src
			filled = append(filled, name)
		}
	}
	if blank(r.UserID) && !blank(o.UserID) {
		r.UserID, r.UserRoles = o.UserID, o.UserRoles
		filled = append(filled, "user_id")
		if len(o.UserRoles) > 0 {
			filled = append(filled, "user_roles")
		}
	}
	if blank(r.Subject.ID) && !blank(o.Subject.ID) {
		r.Subject = o.Subject
		filled = append(filled, "subject")
	}
	if blank(r.Agent.Name) && blank(r.Agent.ID) && (!blank(o.Agent.Name) || !blank(o.Agent.ID)) {
		r.Agent = o.Agent
		filled = append(filled, "agent")
	}
	if !r.BreakGlass && o.BreakGlass {
		r.BreakGlass, r.BreakGlassReason = true, o.BreakGlassReason
		filled = append(filled, "break_glass", "break_glass_reason")
	}
	if r.TurnNumber == nil && o.TurnNumber != nil {
		r.TurnNumber = o.TurnNumber
		filled = append(filled, "turn_number")
	}
	str("conversation_id", &r.ConversationID, o.ConversationID)
	str("model", &r.Model, o.Model)
	str("trigger", &r.Trigger, o.Trigger)
	str("purpose", &r.Purpose, o.Purpose)
	str("tool_call_id", &r.ToolCallID, o.ToolCallID)
	str("tool_type", &r.ToolType, o.ToolType)
	str("session.id", &r.Session.ID, o.Session.ID)
	str("session.client_address", &r.Session.ClientAddress, o.Session.ClientAddress)
	str("session.user_agent", &r.Session.UserAgent, o.Session.UserAgent)
	return filled
}

// blank reports whether s holds nothing but white space: a user id, subject
// or purpose of spaces names no one, in every command alike (FHIR strings
// must hold non-white-space content, so the export drops them).
func blank(s string) bool { return strings.TrimSpace(s) == "" }
