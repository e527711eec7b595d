package auditredactionprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// TestNameValuePairs checks, through the processor, that a secret whose
// key is carried as data (a Kubernetes env var, a HAR header, an AWS tag)
// is masked in a JSON payload and in a slice of maps, with the path of
// its value member.
func TestNameValuePairs(t *testing.T) {
	args := `{"pod":{"env":[{"name":"DB_PASSWORD","value":"hunter2"},{"name":"LOG_LEVEL","value":"debug"},` +
		`{"name":"API_TOKEN","valueFrom":{"secretKeyRef":{"name":"api","key":"token"}}}]},` +
		`"request":{"headers":[{"value":"Basic dXNlcjpwdw==","name":"Authorization"},{"name":"Accept","value":"*/*"}]}}`
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		a := span.Attributes()
		a.PutStr(attrkey.GenAIToolCallArgs, args)
		tags := a.PutEmptySlice("aws.tags")
		for _, kv := range [][2]string{{"team", "core"}, {"api_token", "tok-123"}} {
			m := tags.AppendEmpty().SetEmptyMap()
			m.PutStr("Value", kv[1])
			m.PutStr("Key", kv[0])
		}
	})
	out := firstSpan(runTraces(t, createDefaultConfig().(*Config), td))
	attrs := out.Attributes()
	assert.Equal(t, `{"pod":{"env":[{"name":"DB_PASSWORD","value":"***REDACTED***"},{"name":"LOG_LEVEL","value":"debug"},`+
		`{"name":"API_TOKEN","valueFrom":{"secretKeyRef":{"name":"api","key":"token"}}}]},`+
		`"request":{"headers":[{"value":"***REDACTED***","name":"Authorization"},{"name":"Accept","value":"*/*"}]}}`,
		str(t, attrs, attrkey.GenAIToolCallArgs))
	tags, _ := attrs.Get("aws.tags")
	assert.Equal(t, []any{
		map[string]any{"Value": "core", "Key": "team"},
		map[string]any{"Value": "***REDACTED***", "Key": "api_token"},
	}, tags.Slice().AsRaw())
	assert.Equal(t, []string{
		"gen_ai.tool.call.arguments.pod.env[0].value",
		"gen_ai.tool.call.arguments.request.headers[0].value",
		"aws.tags[1].Value",
	}, redactionPaths(t, out))
	assert.Equal(t, int64(3), redactionCount(out))

	// A second collector leaves it alone and does not count it again.
	again := ptrace.NewTraces()
	runTraces(t, createDefaultConfig().(*Config), td).CopyTo(again)
	twice := firstSpan(runTraces(t, createDefaultConfig().(*Config), again))
	assert.Equal(t, str(t, attrs, attrkey.GenAIToolCallArgs), str(t, twice.Attributes(), attrkey.GenAIToolCallArgs))
	assert.Equal(t, int64(3), redactionCount(twice))
}

// pairShapes are objects that carry a key as data, each with the secret
// %[1]s planted in its value member and the key %[2]s in its name
// member, in both member orders.
var pairShapes = []string{
	`{"name":%[2]q,"value":%[1]q}`,
	`{"value":%[1]q,"name":%[2]q}`,
	`{"Name":%[2]q,"Value":%[1]q}`,
	`{"Value":%[1]q,"Name":%[2]q}`,
	`{"key":%[2]q,"value":%[1]q}`,
	`{"value":%[1]q,"key":%[2]q}`,
	`{"Key":%[2]q,"Value":%[1]q}`,
	`{"Value":%[1]q,"Key":%[2]q}`,
	`{"ParameterKey":%[2]q,"ParameterValue":%[1]q}`,
	`{"ParameterValue":%[1]q,"UsePreviousValue":false,"ParameterKey":%[2]q}`,
	`{"value":{"nested":[%[1]q]},"name":%[2]q}`,
	`{"key":%[2]q,"value":{"stringValue":%[1]q}}`,
}

// pairKeys are names that the key rules cover, as they appear in the
// name member.
var pairKeys = []string{"DB_PASSWORD", "Authorization", "Cookie", "api_token", "DbPassword", "client_secret", "email"}

// TestNameValuePairsNoLeak plants a secret in every pair shape, under
// every pair key, and carries each in a JSON payload, in JSON inside a
// JSON string, in JSON inside free text, in a map attribute, in a slice of
// maps, in a log body as a string and as a map, and searches every byte of
// the protobuf and JSON encodings of the output for it.
func TestNameValuePairsNoLeak(t *testing.T) {
	for _, cfg := range []*Config{createDefaultConfig().(*Config), keyedConfig()} {
		for si, shape := range pairShapes {
			for ki, key := range pairKeys {
				secret := fmt.Sprintf("Pl4nted-%d-%d-zq", si, ki)
				obj := fmt.Sprintf(shape, secret, key)
				var raw map[string]any
				require.NoError(t, json.Unmarshal([]byte(obj), &raw), obj)
				inString, _ := json.Marshal(map[string]string{"args": `{"list":[` + obj + `]}`})
				text := "deploy failed: spec=" + obj + " (retrying)"

				td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
					a := span.Attributes()
					a.PutStr(attrkey.GenAIToolCallArgs, `{"env":[`+obj+`]}`)
					a.PutStr(attrkey.GenAIToolCallResult, string(inString))
					a.PutStr("exception.message", text)
					require.NoError(t, a.PutEmptyMap("tool.args").FromRaw(raw))
					require.NoError(t, a.PutEmptySlice("tool.env").FromRaw([]any{map[string]any{"x": 1}, raw}))
					span.Events().AppendEmpty().Attributes().PutStr("exception.message", text)
				})
				out := runTraces(t, cfg, td)
				pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(out)
				require.NoError(t, err)
				js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(out)
				require.NoError(t, err)
				assertNoLeak(t, obj, secret, pb, js)
				// Six places, each counted once.
				assert.Equal(t, int64(6), redactionCount(firstSpan(out)), obj)

				ld := plog.NewLogs()
				lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
				lrs.AppendEmpty().Body().SetStr(obj)
				lrs.AppendEmpty().Body().SetStr(text)
				require.NoError(t, lrs.AppendEmpty().Body().SetEmptyMap().FromRaw(raw))
				sink := new(consumertest.LogsSink)
				p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(typ), cfg, sink)
				require.NoError(t, err)
				require.NoError(t, p.ConsumeLogs(context.Background(), ld))
				lpb, err := (&plog.ProtoMarshaler{}).MarshalLogs(sink.AllLogs()[0])
				require.NoError(t, err)
				ljs, err := (&plog.JSONMarshaler{}).MarshalLogs(sink.AllLogs()[0])
				require.NoError(t, err)
				assertNoLeak(t, obj, secret, lpb, ljs)
				// The name member stays: it names a field, it is no secret.
				assert.True(t, strings.Contains(string(ljs), key), "name member %q kept", key)
			}
		}
	}
}
