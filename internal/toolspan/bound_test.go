package toolspan

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
)

// TestBoundedRecordSize maps the largest span a sender can make, every
// field far over its bound and made of control bytes (six bytes each once
// escaped), with payloads at MaxMaxPayloadBytes, and checks that the
// record line stays within auditlog.MaxRecordBytes, the longest line the
// verifier reads.
func TestBoundedRecordSize(t *testing.T) {
	huge := strings.Repeat("\x01", 1<<20)
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", huge)
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName(huge)
	span := ss.Spans().AppendEmpty()
	span.SetName("execute_tool " + huge)
	span.Status().SetCode(ptrace.StatusCodeError)
	span.Status().SetMessage(huge)
	a := span.Attributes()
	a.PutStr("gen_ai.operation.name", "execute_tool")
	for _, k := range []string{"gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.tool.type", "gen_ai.conversation.id",
		"gen_ai.request.model", "gen_ai.agent.name", "gen_ai.agent.id", "user.id", "session.id", "client.address",
		"user_agent.original", "audit.trigger", "audit.purpose", "audit.subject.type", "audit.subject.id",
		"audit.break_glass.reason", "error.type"} {
		a.PutStr(k, huge)
	}
	a.PutBool("audit.break_glass", true)
	for _, k := range []string{"user.roles", "audit.redaction.paths"} {
		l := a.PutEmptySlice(k)
		for range 200 {
			l.AppendEmpty().SetStr(huge[:4096])
		}
		l.AppendEmpty().SetStr(huge)
	}
	// Payloads whose encoding is just under the limit: text of control
	// bytes, each written as \u0001.
	text := strings.Repeat("\x01", MaxMaxPayloadBytes/6-1)
	a.PutStr("gen_ai.tool.call.arguments", text)
	a.PutStr("gen_ai.tool.call.result", text)

	r, ok := Map(rs.Resource(), ss.Scope(), span, Options{MaxPayloadBytes: MaxMaxPayloadBytes})
	require.True(t, ok)
	r.ChainID = "example.com/audit/" + strings.Repeat("c", 64)
	r.Retention = auditlog.Retention{Class: strings.Repeat("c", 64), Days: 365000, RetainUntil: "9999-12-31T00:00:00Z"}
	r.PrevHash = strings.Repeat("0", 64)
	line := r.AppendCanonical(nil, true)
	assert.LessOrEqual(t, len(line)+1, auditlog.MaxRecordBytes, "record line of %d bytes", len(line))
	// The payloads were kept, not replaced by their markers: the bound
	// is what the fields add to two payloads at the limit.
	assert.Greater(t, len(r.Arguments), MaxMaxPayloadBytes/2)
	assert.Greater(t, len(line), 2*(MaxMaxPayloadBytes-16))
	for _, s := range []string{r.UserID, r.ToolName, r.Error.Message, r.Source.Scope, r.Attribution.Initiator} {
		assert.LessOrEqual(t, len(s), MaxFieldBytes)
	}
	// The roles joined with commas, the last being the cut mark.
	assert.LessOrEqual(t, len(r.Attribution.InitiatorRole), MaxListBytes+len(r.UserRoles)+32)
}

func TestCutField(t *testing.T) {
	long := strings.Repeat("é", MaxFieldBytes) // 2 bytes each
	sum := sha256.Sum256([]byte(long))
	mark := "…[cut: " + strconv.Itoa(len(long)) + " bytes, sha256:" + hex.EncodeToString(sum[:]) + "]"
	got := cutField(long)
	assert.True(t, strings.HasSuffix(got, mark), "mark: %q", got[len(got)-120:])
	assert.True(t, utf8.ValidString(got))
	assert.LessOrEqual(t, len(got), MaxFieldBytes)
	assert.Greater(t, len(got), MaxFieldBytes-len(mark)-2)
	assert.True(t, strings.HasPrefix(long, strings.TrimSuffix(got, mark)))

	// Under the bound, the record is as before.
	r := mapOne(t, map[string]any{"user.id": strings.Repeat("u", MaxFieldBytes), "user.roles": []any{"a", "b"}}, Options{})
	assert.True(t, r.UserID == strings.Repeat("u", MaxFieldBytes), "a user id at the bound was changed")
	assert.Equal(t, []string{"a", "b"}, r.UserRoles)
	r = mapOne(t, map[string]any{"user.id": strings.Repeat("u", MaxFieldBytes+1)}, Options{})
	assert.Equal(t, MaxFieldBytes, len(r.UserID))
	assert.True(t, strings.Contains(r.UserID, "u…[cut: 16385 bytes, sha256:"), "no cut mark")
}

func TestBoundList(t *testing.T) {
	big := strings.Repeat("r", MaxFieldBytes+10)
	tests := []struct {
		name string
		in   []string
		want func(t *testing.T, out []string)
	}{
		{"small list kept", []string{"a", "b"}, func(t *testing.T, out []string) { assert.Equal(t, []string{"a", "b"}, out) }},
		{"long element cut, rest kept", []string{"a", big, "c"}, func(t *testing.T, out []string) {
			require.Len(t, out, 3)
			assert.Equal(t, "a", out[0])
			assert.Contains(t, out[1], "…[cut: 16394 bytes")
			assert.Equal(t, "c", out[2])
		}},
		{"too many bytes", slicesRepeat(strings.Repeat("x", 1000), 100), func(t *testing.T, out []string) {
			require.Len(t, out, 66)
			assert.Equal(t, "…[cut: 35 more]", out[65])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]string(nil), tt.in...)
			tt.want(t, boundList(in))
			assert.Equal(t, tt.in, in, "the input was changed")
		})
	}
}

func slicesRepeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
