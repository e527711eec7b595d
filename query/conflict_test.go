package query

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

// oneSpan is a request holding one tool span (always the same trace and
// span id) made on behalf of user.
func oneSpan(user string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(pcommon.TraceID{0xc0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	s.SetSpanID(pcommon.SpanID{0xc0, 1, 2, 3, 4, 5, 6, 7})
	s.SetName("execute_tool get_record")
	start := scenario.Base.Add(120 * time.Hour)
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	s.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
	s.Attributes().PutStr("gen_ai.tool.name", "get_record")
	s.Attributes().PutStr("user.id", user)
	return td
}

// TestReconcileConflictingCopies: a trace source holding one span twice
// with different content is a difference, whichever copy comes first; the
// same span twice with the same content is not.
func TestReconcileConflictingCopies(t *testing.T) {
	audit := result(scenario.Records([]ptrace.Traces{oneSpan("alice")})...)
	audit.Source = SourceStore
	cases := []struct {
		name   string
		copies []string
		want   bool // consistent
	}{
		{"one copy", []string{"alice"}, true},
		{"identical copies", []string{"alice", "alice"}, true},
		{"audited copy first", []string{"alice", "mallory"}, false},
		{"audited copy last", []string{"mallory", "alice"}, false},
		{"three versions", []string{"alice", "mallory", "alice", "eve"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tds []ptrace.Traces
			for _, u := range c.copies {
				tds = append(tds, oneSpan(u))
			}
			file := writeFile(t, "copies.jsonl", scenarioJSONL(t, tds))
			traces, err := NewOTLPFileSource([]string{file}).Fetch(context.Background(), Filter{})
			require.NoError(t, err)
			require.Len(t, traces.Records, 1, "the span is counted once")
			r := Reconcile(traces, audit)
			assert.Equal(t, c.want, r.Consistent, "%+v", r.Differences)
			assert.Equal(t, 1, r.Spans)
			assert.Equal(t, 1, r.Matched)
			if c.want {
				assert.Empty(t, traces.Warnings)
				return
			}
			assert.NotEmpty(t, traces.Warnings)
			var users []string
			for _, d := range r.Differences {
				if d.Field == "user_id" {
					users = append(users, string(d.Trace))
				}
			}
			assert.Contains(t, users, `"mallory"`, "the copy that differs from the record is reported")
		})
	}
}
