package toolspan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
)

func strValue(s string) pcommon.Value { return pcommon.NewValueStr(s) }

func mapValue(t testing.TB, m map[string]any) pcommon.Value {
	v := pcommon.NewValueMap()
	require.NoError(t, v.Map().FromRaw(m))
	return v
}

func marker(rawPayload string) string {
	sum := sha256.Sum256([]byte(rawPayload))
	return fmt.Sprintf(`{"_sha256":"%s","_size":%d,"_truncated":true}`, hex.EncodeToString(sum[:]), len(rawPayload))
}

func TestPayload(t *testing.T) {
	big := `{"blob":"` + strings.Repeat("x", 200) + `"}`
	controls := strings.Repeat("\x01", 100)
	tests := []struct {
		name  string
		v     pcommon.Value
		limit int
		mode  unwrap
		want  string
	}{
		{name: "JSON object string is canonicalised", v: strValue(` {"b": 1.50, "a": [true, null, "\u0041"]} `), limit: 1000, want: `{"a":[true,null,"A"],"b":1.5}`},
		{name: "JSON array string", v: strValue(`[3, 2, 1]`), limit: 1000, want: `[3,2,1]`},
		{name: "JSON scalar string", v: strValue(`42`), limit: 1000, want: `42`},
		{name: "plain text becomes a JSON string", v: strValue("Sunny, 18°C <hot> & \"dry\"\n"), limit: 1000, want: `"Sunny, 18°C <hot> & \"dry\"\n"`},
		{name: "text that starts like JSON", v: strValue(`{not json`), limit: 1000, want: `"{not json"`},
		{name: "duplicate members are kept as text", v: strValue(`{"a":1,"a":2}`), limit: 1000, want: `"{\"a\":1,\"a\":2}"`},
		{name: "control characters escaped the JCS way", v: strValue("a\x01b\x1fc\td"), limit: 1000, want: `"a\u0001b\u001fc\td"`},
		{name: "invalid UTF-8 replaced", v: strValue("ab\xffcd"), limit: 1000, want: "\"ab\uFFFDcd\""},
		{name: "map attribute", v: mapValue(t, map[string]any{"z": int64(1), "a": map[string]any{"y": "s", "b": []any{1.25, false}}}), limit: 1000, want: `{"a":{"b":[1.25,false],"y":"s"},"z":1}`},
		{name: "slice attribute", v: func() pcommon.Value {
			v := pcommon.NewValueSlice()
			require.NoError(t, v.Slice().FromRaw([]any{"a", int64(2), nil}))
			return v
		}(), limit: 1000, want: `["a",2,null]`},
		{name: "int", v: pcommon.NewValueInt(-17), limit: 1000, want: `-17`},
		{name: "int over a tiny limit", v: pcommon.NewValueInt(71), limit: 1, want: marker(`71`)},
		{name: "bool over a tiny limit", v: pcommon.NewValueBool(false), limit: 4, want: marker(`false`)},
		{name: "int beyond 2^53 is written as its double", v: pcommon.NewValueInt(9007199254740993), limit: 1000, want: `9007199254740992`},
		{name: "double", v: pcommon.NewValueDouble(1e21), limit: 1000, want: `1e+21`},
		{name: "NaN becomes a string", v: pcommon.NewValueDouble(math.NaN()), limit: 1000, want: `"NaN"`},
		{name: "bool", v: pcommon.NewValueBool(true), limit: 1000, want: `true`},
		{name: "bytes become base64", v: func() pcommon.Value {
			v := pcommon.NewValueBytes()
			v.Bytes().FromRaw([]byte{0, 1, 2, 0xff})
			return v
		}(), limit: 1000, want: `"AAEC/w=="`},
		{name: "empty value", v: pcommon.NewValueEmpty(), limit: 1000, want: ``},
		{name: "over the limit", v: strValue(big), limit: 100, want: marker(big)},
		{name: "exactly at the limit", v: strValue(`"abc"`), limit: 5, want: `"abc"`},
		{name: "encoding over the limit", v: strValue(controls), limit: 200, want: marker(controls)},
		{name: "negative limit keeps everything", v: strValue(big), limit: -1, want: big},
		{name: "map over the limit", v: mapValue(t, map[string]any{"k": strings.Repeat("v", 50)}), limit: 20, want: marker(`{"k":"` + strings.Repeat("v", 50) + `"}`)},
		{name: "traceloop kwargs", v: strValue(`{"args": [], "kwargs": {"b": 2, "a": 1}}`), limit: 1000, mode: unwrapTraceloopInput, want: `{"a":1,"b":2}`},
		{name: "traceloop args", v: strValue(`{"args": ["Paris", 3], "kwargs": {}}`), limit: 1000, mode: unwrapTraceloopInput, want: `["Paris",3]`},
		{name: "traceloop args and kwargs stay wrapped", v: strValue(`{"args": [1], "kwargs": {"a": 1}}`), limit: 1000, mode: unwrapTraceloopInput, want: `{"args":[1],"kwargs":{"a":1}}`},
		{name: "langchain inputs", v: strValue(`{"input_str": "x", "tags": [], "metadata": {}, "inputs": {"q": "x"}, "kwargs": {}}`), limit: 1000, mode: unwrapTraceloopInput, want: `{"q":"x"}`},
		{name: "langchain input_str only", v: strValue(`{"input_str": "{\"q\": 1}", "tags": [], "inputs": null}`), limit: 1000, mode: unwrapTraceloopInput, want: `{"q":1}`},
		{name: "langchain input_str text", v: strValue(`{"input_str": "{'q': 1}", "inputs": null}`), limit: 1000, mode: unwrapTraceloopInput, want: `"{'q': 1}"`},
		{name: "real arguments named inputs are not unwrapped", v: strValue(`{"inputs": [1], "threshold": 2}`), limit: 1000, mode: unwrapTraceloopInput, want: `{"inputs":[1],"threshold":2}`},
		{name: "langchain output string holding JSON", v: strValue(`{"output": "{\"ok\": true}", "kwargs": {"color": "green"}}`), limit: 1000, mode: unwrapTraceloopOutput, want: `{"ok":true}`},
		{name: "langchain outputs", v: strValue(`{"outputs": {"answer": 42}, "kwargs": {}}`), limit: 1000, mode: unwrapTraceloopOutput, want: `{"answer":42}`},
		{name: "nesting deeper than the canonicaliser accepts is kept as text", v: strValue(strings.Repeat("[", 10001) + strings.Repeat("]", 10001)), limit: -1, want: `"` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `"`},
		{name: "unwrap applies the limit to the raw attribute", v: strValue(`{"args": [], "kwargs": {"k": "` + strings.Repeat("s", 100) + `"}}`), limit: 50, mode: unwrapTraceloopInput, want: marker(`{"args": [], "kwargs": {"k": "` + strings.Repeat("s", 100) + `"}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := payload(nil, tt.v, tt.limit, tt.mode)
			assert.Equal(t, tt.want, string(got))
			if len(got) > 0 {
				c, err := canonicalizeJSON(got)
				require.NoError(t, err)
				assert.Equal(t, string(c), string(got), "canonical")
			}
		})
	}
}

// TestPayloadSecretBeyondLimitNeverWritten plants a secret in a payload
// larger than the limit and checks that no byte sequence of it survives.
func TestPayloadSecretBeyondLimitNeverWritten(t *testing.T) {
	const secret = "sk-live-51HqLyjWDarjtT1zdp7dc"
	for _, v := range []pcommon.Value{
		strValue(`{"api_key":"` + secret + `","pad":"` + strings.Repeat("p", 500) + `"}`),
		strValue("token " + secret + strings.Repeat(" filler", 100)),
		mapValue(t, map[string]any{"api_key": secret, "pad": strings.Repeat("p", 500)}),
	} {
		got := payload(nil, v, 256, unwrapNone)
		assert.NotContains(t, string(got), secret)
		assert.NotContains(t, string(got), "sk-live")
		assert.Contains(t, string(got), `"_truncated":true`)
	}
}

func TestAppendJSONStringMatchesJCS(t *testing.T) {
	for _, s := range []string{"", "plain", "\"\\/", "\x00\x07\x08\x09\x0a\x0b\x0c\x0d\x1f\x7f", "<>&\u2028\u2029", "é😀"} {
		checkJSONString(t, s)
	}
}

func checkJSONString(t testing.TB, s string) {
	t.Helper()
	got := auditlog.AppendJSONString(nil, s)
	viaStd, err := json.Marshal(s)
	require.NoError(t, err)
	want, err := canonicalizeJSON(viaStd)
	require.NoError(t, err)
	require.Equal(t, string(want), string(got), "string %q", s)
}

func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "\x00\x1f\x7f", "\u2028", "😀", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkJSONString(t, validUTF8(s))
	})
}

// FuzzMap feeds arbitrary attribute values, of every type, to every
// recognised attribute of every convention: Map must accept the span, never
// panic, and always produce a record that canonicalises, with payloads
// bounded by the limit.
func FuzzMap(f *testing.F) {
	f.Add(uint8(0), "execute_tool x", "k", `{"a":1}`, "text", []byte{1, 2}, int64(3), 1.5, int16(64))
	f.Add(uint8(1), "tools/call y", "user.roles", "a,b", "\xff\xfe", []byte("\xff"), int64(-1), math.Inf(1), int16(-1))
	f.Add(uint8(2), "tool", "input.value", `{"args":[],"kwargs":{"q":"\u0000"}}`, `[1,2`, []byte{}, int64(1<<62), math.NaN(), int16(0))
	f.Add(uint8(3), "t.tool", "traceloop.entity.input", `{"inputs":{"a":[{"b":{}}]},"tags":[]}`, `{"output":"{\"x\":1}"}`, []byte(nil), int64(0), math.Copysign(0, -1), int16(10))
	f.Add(uint8(4), "ai.toolCall", "ai.telemetry.metadata.userId", strings.Repeat("[", 300), "\"quoted\"", []byte("bytes"), int64(7), 1e300, int16(200))
	keys := []string{
		"gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
		"gen_ai.conversation.id", "gen_ai.request.model", "user.id", "user.roles", "session.id",
		"audit.turn_number", "audit.trigger", "audit.break_glass", "audit.redaction.count", "audit.redaction.paths",
		"error.type", "tool.name", "input.value", "output.value", "traceloop.entity.input", "traceloop.entity.output",
		"ai.toolCall.args", "ai.toolCall.result", "ai.toolCall.input", "jsonrpc.request.id", "mcp.session.id",
		"traceloop.association.properties.session_id", "audit.subject.id",
	}
	f.Fuzz(func(t *testing.T, conv uint8, name, key, s1, s2 string, b []byte, n int64, d float64, limit int16) {
		span := newSpan(t, name, nil)
		at := span.Attributes()
		switch conv % 5 {
		case 0:
			at.PutStr("gen_ai.operation.name", "execute_tool")
		case 1:
			at.PutStr("mcp.method.name", "tools/call")
		case 2:
			at.PutStr("openinference.span.kind", "TOOL")
		case 3:
			at.PutStr("traceloop.span.kind", "tool")
		case 4:
			span.SetName("ai.toolCall")
		}
		at.PutStr(key, s1)
		for i, k := range keys {
			switch (i + int(conv)) % 7 {
			case 0:
				at.PutStr(k, s1)
			case 1:
				at.PutStr(k, s2)
			case 2:
				at.PutEmptyBytes(k).FromRaw(b)
			case 3:
				at.PutInt(k, n)
			case 4:
				at.PutDouble(k, d)
			case 5:
				m := at.PutEmptyMap(k)
				m.PutStr(s1, s2)
				m.PutEmptySlice(s2).AppendEmpty().SetStr(string(b))
			case 6:
				sl := at.PutEmptySlice(k)
				sl.AppendEmpty().SetStr(s2)
				sl.AppendEmpty().SetDouble(d)
			}
		}
		span.Status().SetMessage(s2)
		span.Events().AppendEmpty().SetName("exception")
		span.Events().At(0).Attributes().PutStr("exception.message", s1)
		res := pcommon.NewResource()
		res.Attributes().PutStr("service.name", s2)
		scope := pcommon.NewInstrumentationScope()
		scope.SetName(string(b))

		opts := Options{MaxPayloadBytes: int(limit)}
		r, ok := Map(res, scope, span, opts)
		require.True(t, ok, "a span of a recognised convention is always a tool span")
		assertCanonicalRecord(t, r)
		out, err := json.Marshal(r)
		require.NoError(t, err)
		require.True(t, utf8.Valid(out))
		for _, p := range []json.RawMessage{r.Arguments, r.ResultSummary} {
			if opts.payloadLimit() >= 0 && len(p) > opts.payloadLimit() {
				require.True(t, bytes.HasPrefix(p, []byte(`{"_sha256":"`)), "an oversized payload is a marker: %s", p)
			}
		}
	})
}

// FuzzMapOTLPJSON feeds arbitrary OTLP JSON, the query engine's input, to
// Map: whatever parses as traces maps without panicking to records that
// canonicalise.
func FuzzMapOTLPJSON(f *testing.F) {
	for _, name := range sampleFiles {
		raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "spans", name))
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"ai.toolCall","attributes":[{"key":"ai.toolCall.args","value":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{}}}]}}}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
		if err != nil {
			return
		}
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, sp := range ss.Spans().All() {
					r, ok := Map(rs.Resource(), ss.Scope(), sp, Options{MaxPayloadBytes: 1024})
					require.Equal(t, ok, IsToolSpan(sp))
					if ok {
						assertCanonicalRecord(t, r)
					}
				}
			}
		}
	})
}

// TestPayloadHuge maps a 16 MiB argument: it becomes a marker without being
// parsed, and its hash is that of the raw bytes.
func TestPayloadHuge(t *testing.T) {
	huge := `{"blob":"` + strings.Repeat("A", 16<<20) + `"}`
	r := mapOne(t, map[string]any{"gen_ai.tool.call.arguments": huge, "gen_ai.tool.call.result": strings.Repeat("\xff", 1<<20)}, Options{})
	assert.Equal(t, marker(huge), string(r.Arguments))
	assert.Equal(t, marker(strings.Repeat("\xff", 1<<20)), string(r.ResultSummary), "invalid UTF-8 is hashed as it came")
}

// FuzzLooksLikeJSON checks the filter's promise: it rejects no valid JSON
// text, so that the parse it spares could never have succeeded.
func FuzzLooksLikeJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, " [1, 2] ", `"x"`, "true", "false", "null", "-1.5e+3", "0", "the parcel left", "3 items", "{", `"`, "nullx", " \t\n{}\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if json.Valid([]byte(s)) && !looksLikeJSON(s) {
			t.Fatalf("looksLikeJSON(%q) = false for valid JSON", s)
		}
	})
}
