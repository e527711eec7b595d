package query

import "github.com/otelaudit/otelaudit/auditlog"

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
	for i := range res.Records {
		if isOuter(&res.Records[i]) {
			n++
		}
	}
	if n == 0 {
		return res
	}
	out := *res
	out.Records = make([]auditlog.Record, 0, len(res.Records)-n)
	for i := range res.Records {
		if !isOuter(&res.Records[i]) {
			out.Records = append(out.Records, res.Records[i])
		}
	}
	return &out
}
