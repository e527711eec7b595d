package auditredactionprocessor

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// TestPseudonymMatchesProcessor runs values through the processor, under
// PII keys, inside JSON arguments and in free text, and holds Pseudonym to
// what came out: the HMAC-SHA256 of the value, of the case-folded value
// for an e-mail address.
func TestPseudonymMatchesProcessor(t *testing.T) {
	td := ptrace.NewTraces()
	span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("execute_tool lookup")
	attrs := span.Attributes()
	attrs.PutStr("patient_name", "Maria Garcia")
	attrs.PutStr("user.email", "Jane.Doe@Example.COM")
	attrs.PutStr("gen_ai.tool.call.arguments", `{"dob":"1961-03-14","note":"write to Bob@Example.org"}`)
	out := runTraces(t, keyedConfig(), td).ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes()

	raw := func(v string) string {
		m := hmac.New(sha256.New, []byte(testHMACKey))
		m.Write([]byte(v))
		return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	}
	key := []byte(testHMACKey)
	cases := []struct {
		value, want, got string
	}{
		{"Maria Garcia", raw("Maria Garcia"), attr(t, out, "patient_name")},
		{"Jane.Doe@Example.COM", raw("jane.doe@example.com"), attr(t, out, "user.email")},
		{"1961-03-14", raw("1961-03-14"), jsonMember(t, attr(t, out, "gen_ai.tool.call.arguments"), "dob")},
		{"Bob@Example.org", raw("bob@example.org"), jsonMember(t, attr(t, out, "gen_ai.tool.call.arguments"), "note")[len("write to "):]},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, Pseudonym(key, c.value), "Pseudonym(%q)", c.value)
		assert.Equal(t, c.want, c.got, "the processor's pseudonym of %q", c.value)
	}
}

func attr(t *testing.T, attrs pcommon.Map, key string) string {
	t.Helper()
	v, ok := attrs.Get(key)
	require.True(t, ok, key)
	return v.Str()
}

func jsonMember(t *testing.T, doc, key string) string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal([]byte(doc), &m), doc)
	return m[key]
}
