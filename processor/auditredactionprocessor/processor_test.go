package auditredactionprocessor

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"

	"github.com/otelaudit/otelaudit/internal/attrkey"
	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor/internal/redact"
)

const testHMACKey = "0123456789abcdef0123456789abcdef"

func keyedConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.HMACKey = testHMACKey
	return cfg
}

func pseudonym(t *testing.T, v string) string {
	t.Helper()
	r, err := redact.New(redact.WithHMACKey([]byte(testHMACKey)))
	require.NoError(t, err)
	return r.Pseudonym(v)
}

// runTraces pushes td through a real processor built by the factory.
func runTraces(t *testing.T, cfg *Config, td ptrace.Traces) ptrace.Traces {
	t.Helper()
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(typ), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, p.Start(context.Background(), nil))
	require.NoError(t, p.ConsumeTraces(context.Background(), td))
	require.NoError(t, p.Shutdown(context.Background()))
	require.Len(t, sink.AllTraces(), 1)
	return sink.AllTraces()[0]
}

func oneSpan(fill func(rs ptrace.ResourceSpans, span ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	span.SetName("execute_tool charge_payment")
	fill(rs, span)
	return td
}

func firstSpan(td ptrace.Traces) ptrace.Span {
	return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
}

func str(t *testing.T, m pcommon.Map, k string) string {
	t.Helper()
	v, ok := m.Get(k)
	require.True(t, ok, "attribute %q missing", k)
	return v.AsString()
}

func redactionPaths(t *testing.T, span ptrace.Span) []string {
	t.Helper()
	return markedPaths(span.Attributes())
}

func redactionCount(span ptrace.Span) int64 { return markedCount(span.Attributes()) }

// markedPaths returns the audit.redaction.paths in m, nil when there are none.
func markedPaths(m pcommon.Map) []string {
	v, ok := m.Get(attrkey.RedactionPaths)
	if !ok {
		return nil
	}
	var out []string
	for _, p := range v.Slice().All() {
		out = append(out, p.Str())
	}
	return out
}

// markedCount returns the audit.redaction.count in m, 0 when there is none.
func markedCount(m pcommon.Map) int64 {
	v, ok := m.Get(attrkey.RedactionCount)
	if !ok {
		return 0
	}
	return v.Int()
}

func TestToolCallSpan(t *testing.T) {
	args := `{"customer":{"email":"alice@example.com","patient_name":"Alice Smith"},` +
		`"payment":{"card_number":"4111 1111 1111 1111","amount":42.5,"currency":"EUR"},` +
		`"items":[{"sku":"A-1","note":"call 555-0100"},{"ssn":"123-45-6789"}],` +
		`"max_tokens":256}`
	td := oneSpan(func(rs ptrace.ResourceSpans, span ptrace.Span) {
		a := span.Attributes()
		a.PutStr(attrkey.GenAIOperationName, "execute_tool")
		a.PutStr(attrkey.GenAIToolName, "charge_payment")
		a.PutStr(attrkey.GenAIToolCallArgs, args)
		a.PutStr(attrkey.GenAIToolCallResult, `{"status":"ok","auth":"Bearer abcdefghijklmnopqrstuvwxyz"}`)
		a.PutInt("gen_ai.usage.input_tokens", 1234)
		a.PutStr(attrkey.UserID, "u-17")
	})
	out := firstSpan(runTraces(t, keyedConfig(), td))
	attrs := out.Attributes()

	var got map[string]any
	gotArgs := str(t, attrs, attrkey.GenAIToolCallArgs)
	require.NoError(t, json.Unmarshal([]byte(gotArgs), &got), gotArgs)
	assert.Equal(t, pseudonym(t, "alice@example.com"), got["customer"].(map[string]any)["email"])
	assert.Equal(t, pseudonym(t, "Alice Smith"), got["customer"].(map[string]any)["patient_name"])
	assert.Equal(t, "***REDACTED***", got["payment"].(map[string]any)["card_number"])
	assert.Equal(t, 42.5, got["payment"].(map[string]any)["amount"])
	assert.Equal(t, "EUR", got["payment"].(map[string]any)["currency"])
	assert.Equal(t, "call 555-0100", got["items"].([]any)[0].(map[string]any)["note"])
	assert.Equal(t, pseudonym(t, "123-45-6789"), got["items"].([]any)[1].(map[string]any)["ssn"])
	assert.Equal(t, 256.0, got["max_tokens"])
	// Key order is kept.
	assert.Less(t, strings.Index(gotArgs, `"customer"`), strings.Index(gotArgs, `"payment"`))
	assert.Less(t, strings.Index(gotArgs, `"items"`), strings.Index(gotArgs, `"max_tokens"`))

	assert.Equal(t, `{"status":"ok","auth":"Bearer ***REDACTED***"}`, str(t, attrs, attrkey.GenAIToolCallResult))
	assert.Equal(t, "1234", str(t, attrs, "gen_ai.usage.input_tokens"))
	assert.Equal(t, "u-17", str(t, attrs, attrkey.UserID))
	assert.Equal(t, "charge_payment", str(t, attrs, attrkey.GenAIToolName))

	assert.Equal(t, int64(5), redactionCount(out))
	assert.Equal(t, []string{
		"gen_ai.tool.call.arguments.customer.email",
		"gen_ai.tool.call.arguments.customer.patient_name",
		"gen_ai.tool.call.arguments.payment.card_number",
		"gen_ai.tool.call.arguments.items[1].ssn",
		"gen_ai.tool.call.result.auth",
	}, redactionPaths(t, out))
	// Paths, never values.
	for _, p := range redactionPaths(t, out) {
		for _, secret := range []string{"alice", "Alice", "4111", "123-45", "abcdefghij"} {
			assert.NotContains(t, p, secret)
		}
	}
}

func TestWhereItLooks(t *testing.T) {
	td := oneSpan(func(rs ptrace.ResourceSpans, span ptrace.Span) {
		rs.Resource().Attributes().PutStr("deployment.db_password", "resource-secret")
		rs.ScopeSpans().At(0).Scope().Attributes().PutStr("scope.note", "mail ops@example.com")
		span.SetName("lookup alice@example.com")
		span.Status().SetMessage("card 4111111111111111 declined")
		a := span.Attributes()
		args := a.PutEmptyMap(attrkey.GenAIToolCallArgs) // a map-valued payload
		args.PutStr("api_key", "sk-live-123")
		nested := args.PutEmptyMap("nested")
		nested.PutStr("note", "AKIAIOSFODNN7EXAMPLE")
		sl := a.PutEmptySlice("http.request.header.cookie")
		sl.AppendEmpty().SetStr("session=abc")
		sl.AppendEmpty().SetStr("theme=dark")
		a.PutEmptySlice("tags").AppendEmpty().SetStr("ssn 123-45-6789")
		a.PutInt("card", 4111111111111111)
		a.PutInt("count", 7)
		a.PutBool("password", true)
		ev := span.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.message", `tool failed with args {"token":"t-1","q":"x"}`)
		ev.Attributes().PutStr("exception.type", "ValueError")
		span.Events().AppendEmpty().SetName("login password=s3cret for bob@example.com")
		a.PutDouble("pan", 5500000000000004) // a card held as a double
		a.PutDouble("ratio", 0.25)
		link := span.Links().AppendEmpty()
		link.Attributes().PutStr("refresh_token", "r-1")
	})
	res := runTraces(t, createDefaultConfig().(*Config), td)
	rs := res.ResourceSpans().At(0)
	span := firstSpan(res)
	a := span.Attributes()

	assert.Equal(t, "***REDACTED***", str(t, rs.Resource().Attributes(), "deployment.db_password"))
	assert.Equal(t, "mail ***REDACTED***", str(t, rs.ScopeSpans().At(0).Scope().Attributes(), "scope.note"))
	assert.Equal(t, "lookup ***REDACTED***", span.Name())
	assert.Equal(t, "card ***REDACTED*** declined", span.Status().Message())
	args, _ := a.Get(attrkey.GenAIToolCallArgs)
	assert.Equal(t, map[string]any{"api_key": "***REDACTED***", "nested": map[string]any{"note": "***REDACTED***"}}, args.Map().AsRaw())
	cookies, _ := a.Get("http.request.header.cookie")
	assert.Equal(t, []any{"***REDACTED***", "***REDACTED***"}, cookies.Slice().AsRaw())
	tags, _ := a.Get("tags")
	assert.Equal(t, []any{"ssn ***REDACTED***"}, tags.Slice().AsRaw())
	assert.Equal(t, "***REDACTED***", str(t, a, "card"))
	count, _ := a.Get("count")
	assert.Equal(t, int64(7), count.Int())
	pw, _ := a.Get("password")
	assert.Equal(t, pcommon.ValueTypeBool, pw.Type())
	ev := span.Events().At(0).Attributes()
	assert.Equal(t, `tool failed with args {"token":"***REDACTED***","q":"x"}`, str(t, ev, "exception.message"))
	assert.Equal(t, "ValueError", str(t, ev, "exception.type"))
	assert.Equal(t, "***REDACTED***", str(t, span.Links().At(0).Attributes(), "refresh_token"))
	assert.Equal(t, "exception", span.Events().At(0).Name())
	assert.Equal(t, "login password=***REDACTED*** for ***REDACTED***", span.Events().At(1).Name())
	assert.Equal(t, "***REDACTED***", str(t, a, "pan"))
	ratio, _ := a.Get("ratio")
	assert.Equal(t, 0.25, ratio.Double())

	assert.ElementsMatch(t, []string{
		"resource:deployment.db_password",
		"scope:scope.note",
		"span:name",
		"span:status.message",
		"gen_ai.tool.call.arguments.api_key",
		"gen_ai.tool.call.arguments.nested.note",
		"http.request.header.cookie[0]",
		"http.request.header.cookie[1]",
		"tags[0]",
		"card",
		"event[0]:exception.message.token",
		"event[1].name",
		"pan",
		"link[0]:refresh_token",
	}, redactionPaths(t, span))
	assert.Equal(t, int64(15), redactionCount(span))
}

func TestUnchangedSpanGetsNoMarkers(t *testing.T) {
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		span.Attributes().PutStr(attrkey.GenAIToolCallArgs, `{"city":"Paris","days":3,"max_tokens":10}`)
		span.Attributes().PutStr("gen_ai.request.model", "gpt-4o")
		span.Attributes().PutStr(attrkey.ClientAddress, "10.1.2.3")
	})
	want := ptrace.NewTraces()
	td.CopyTo(want)
	got := runTraces(t, keyedConfig(), td)
	assert.Equal(t, want, got)
}

// A second collector in the path changes nothing more and keeps the markers.
func TestIdempotent(t *testing.T) {
	make1 := func() ptrace.Traces {
		return oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
			span.Attributes().PutStr(attrkey.GenAIToolCallArgs, `{"email":"a@b.io","password":"x","note":"4111111111111111"}`)
			span.Attributes().PutStr("user.email", "a@b.io")
		})
	}
	once := runTraces(t, keyedConfig(), make1())
	again := ptrace.NewTraces()
	once.CopyTo(again)
	twice := runTraces(t, keyedConfig(), again)
	assert.Equal(t, once, twice)
	assert.Equal(t, int64(4), redactionCount(firstSpan(twice)))
}

func TestMarkersAccumulate(t *testing.T) {
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		span.Attributes().PutInt(attrkey.RedactionCount, 2)
		p := span.Attributes().PutEmptySlice(attrkey.RedactionPaths)
		p.AppendEmpty().SetStr("upstream.secret")
		p.AppendEmpty().SetStr("token")
		span.Attributes().PutStr("token", "t")
	})
	span := firstSpan(runTraces(t, createDefaultConfig().(*Config), td))
	assert.Equal(t, int64(3), redactionCount(span))
	assert.Equal(t, []string{"upstream.secret", "token"}, redactionPaths(t, span))
}

// A count that no pass could have left cannot lower this pass's count.
func TestMarkersSpoofed(t *testing.T) {
	for _, prior := range []func(m pcommon.Map){
		func(m pcommon.Map) { m.PutInt(attrkey.RedactionCount, -1) },
		func(m pcommon.Map) { m.PutInt(attrkey.RedactionCount, math.MinInt64) },
		func(m pcommon.Map) { m.PutStr(attrkey.RedactionCount, "-5") },
		func(m pcommon.Map) { m.PutDouble(attrkey.RedactionCount, -2) },
	} {
		td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
			prior(span.Attributes())
			span.Attributes().PutStr("token", "t")
			span.Attributes().PutStr("password", "p")
		})
		span := firstSpan(runTraces(t, createDefaultConfig().(*Config), td))
		assert.Equal(t, int64(2), redactionCount(span))
	}
}

func TestResourceRedactionMarksEverySpan(t *testing.T) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("api_key", "k")
	spans := rs.ScopeSpans().AppendEmpty().Spans()
	spans.AppendEmpty().Attributes().PutStr("password", "p")
	spans.AppendEmpty().Attributes().PutStr("city", "Paris")
	out := runTraces(t, createDefaultConfig().(*Config), td).ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	assert.Equal(t, []string{"resource:api_key", "password"}, redactionPaths(t, out.At(0)))
	assert.Equal(t, []string{"resource:api_key"}, redactionPaths(t, out.At(1)))
	assert.Equal(t, int64(1), redactionCount(out.At(1)))
}

func TestCustomConfig(t *testing.T) {
	cfg, err := loadConfig(t, "custom")
	require.NoError(t, err)
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		a := span.Attributes()
		a.PutStr("tool.payload", `{"x_internal_pin":"1234","token_type":"bearer","member_number":"M-1","who":"EMP-123456 / bob@example.com","auth":"Bearer abcdefghijkl"}`)
		a.PutStr(attrkey.GenAIToolCallArgs, "not json: 4111111111111111")
	})
	span := firstSpan(runTraces(t, cfg, td))
	var p map[string]string
	require.NoError(t, json.Unmarshal([]byte(str(t, span.Attributes(), "tool.payload")), &p))
	r, err := redact.New(redact.WithHMACKey([]byte(cfg.HMACKey)))
	require.NoError(t, err)
	assert.Equal(t, "[hidden]", p["x_internal_pin"])
	assert.Equal(t, "bearer", p["token_type"])
	assert.Equal(t, r.Pseudonym("M-1"), p["member_number"])
	assert.Equal(t, r.Pseudonym("EMP-123456")+" / "+r.Pseudonym("bob@example.com"), p["who"])
	assert.Equal(t, "Bearer abcdefghijkl", p["auth"]) // bearer detector off
	// strict: an unparseable payload is masked whole.
	assert.Equal(t, "[hidden]", str(t, span.Attributes(), attrkey.GenAIToolCallArgs))
}

func TestBadInput(t *testing.T) {
	big := strings.Repeat("a", 10<<20)
	deepJSON := strings.Repeat(`{"a":`, 10000) + `"4111111111111111"` + strings.Repeat("}", 10000)
	deepArr := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		a := span.Attributes()
		a.PutStr("big", big)
		a.PutStr(attrkey.GenAIToolCallArgs, deepJSON)
		a.PutStr("deep_arr", deepArr)
		a.PutStr("utf8", "\xff\xfe bob@example.com \xc3")
		a.PutStr(attrkey.GenAIToolCallResult, "{\"note\":\"\xff 4111111111111111\",\"password\":\"\xfe\"}")
		a.PutStr(attrkey.OpenInferenceInput, `{"password":"hunter2","q":"trunc`)
		// A deeply nested map-valued attribute.
		m := a.PutEmptyMap("deep_map")
		for i := 0; i < 1000; i++ {
			m = m.PutEmptyMap("m")
		}
		m.PutStr("token", "deep-token")
	})
	out := runTraces(t, createDefaultConfig().(*Config), td)
	span := firstSpan(out)
	a := span.Attributes()
	assert.Equal(t, "***REDACTED***", str(t, a, "big"))
	assert.Equal(t, `"***REDACTED***"`, str(t, a, attrkey.GenAIToolCallArgs))
	assert.Equal(t, `"***REDACTED***"`, str(t, a, "deep_arr"))
	assert.Equal(t, "\xff\xfe ***REDACTED*** \xc3", str(t, a, "utf8"))
	res := str(t, a, attrkey.GenAIToolCallResult)
	assert.True(t, json.Valid([]byte(res)), res)
	assert.NotContains(t, res, "4111")
	assert.Equal(t, `{"password":"***REDACTED***","q":"trunc`, str(t, a, attrkey.OpenInferenceInput))
	// The output still encodes, and nothing planted survives in it.
	pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(out)
	require.NoError(t, err)
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(out)
	require.NoError(t, err)
	for _, enc := range [][]byte{pb, js} {
		for _, secret := range []string{"4111111111111111", "bob@example.com", "hunter2", "deep-token"} {
			assert.NotContains(t, string(enc), secret)
		}
	}
	dm, _ := a.Get("deep_map")
	assert.NotContains(t, dm.AsString(), "deep-token")
}

func TestLogs(t *testing.T) {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	lrs.AppendEmpty().Body().SetStr(`{"event":"tool_call","args":{"api_key":"k-1","q":"hi"}}`)
	lrs.AppendEmpty().Body().SetStr("user bob@example.com logged in with card 4111-1111-1111-1111")
	m := lrs.AppendEmpty().Body().SetEmptyMap()
	m.PutStr("password", "p")
	m.PutStr("msg", "ok")
	lr := lrs.AppendEmpty()
	lr.Body().SetStr("nothing to see")
	lr.Attributes().PutStr("session_token", "s")
	lrs.AppendEmpty().SetEventName("login bob@example.com password=s3cret")

	sink := new(consumertest.LogsSink)
	p, err := NewFactory().CreateLogs(context.Background(), processortest.NewNopSettings(typ), keyedConfig(), sink)
	require.NoError(t, err)
	require.NoError(t, p.ConsumeLogs(context.Background(), ld))
	require.NoError(t, p.Shutdown(context.Background()))
	out := sink.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords()

	assert.Equal(t, `{"event":"tool_call","args":{"api_key":"***REDACTED***","q":"hi"}}`, out.At(0).Body().Str())
	assert.Equal(t, "user "+pseudonym(t, "bob@example.com")+" logged in with card ***REDACTED***", out.At(1).Body().Str())
	assert.Equal(t, map[string]any{"password": "***REDACTED***", "msg": "ok"}, out.At(2).Body().Map().AsRaw())
	assert.Equal(t, "nothing to see", out.At(3).Body().Str())
	assert.Equal(t, "***REDACTED***", str(t, out.At(3).Attributes(), "session_token"))
	paths := func(i int) any {
		v, _ := out.At(i).Attributes().Get(attrkey.RedactionPaths)
		return v.Slice().AsRaw()
	}
	assert.Equal(t, []any{"body.args.api_key"}, paths(0))
	assert.Equal(t, []any{"body"}, paths(1))
	assert.Equal(t, []any{"body.password"}, paths(2))
	assert.Equal(t, []any{"session_token"}, paths(3))
	assert.Equal(t, "login "+pseudonym(t, "bob@example.com")+" password=***REDACTED***", out.At(4).EventName())
	assert.Equal(t, []any{"event_name"}, paths(4))
}

// Under a masked key, map keys that do not read as field names are masked:
// a map of tokens is keyed by the tokens.
func TestSecretMapKeysUnderMaskedKey(t *testing.T) {
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		m := span.Attributes().PutEmptyMap("api_keys")
		m.PutStr("ghp_s3cretToken01", "repo")
		m.PutStr("ghp_s3cretToken02", "admin")
		m.PutStr("owner", "ops")
	})
	out := runTraces(t, createDefaultConfig().(*Config), td)
	v, _ := firstSpan(out).Attributes().Get("api_keys")
	assert.Equal(t, map[string]any{"***REDACTED***": "***REDACTED***", "***REDACTED***#2": "***REDACTED***", "owner": "***REDACTED***"}, v.Map().AsRaw())
	js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(out)
	require.NoError(t, err)
	assert.NotContains(t, string(js), "s3cret")
}

// Detected values in map keys are redacted and the key renamed.
func TestMapKeyRenamed(t *testing.T) {
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		m := span.Attributes().PutEmptyMap("acl")
		m.PutStr("alice@example.com", "admin")
		m.PutStr("bob@example.com", "viewer")
		m.PutStr("team", "ops")
	})
	span := firstSpan(runTraces(t, createDefaultConfig().(*Config), td))
	acl, _ := span.Attributes().Get("acl")
	assert.Equal(t, map[string]any{"***REDACTED***": "admin", "***REDACTED***#2": "viewer", "team": "ops"}, acl.Map().AsRaw())
	assert.Equal(t, []string{"acl.***REDACTED***", "acl.***REDACTED***#2"}, redactionPaths(t, span))
	assert.Equal(t, int64(2), redactionCount(span))
}

func TestConcurrentBatches(t *testing.T) {
	sink := new(consumertest.TracesSink)
	p, err := NewFactory().CreateTraces(context.Background(), processortest.NewNopSettings(typ), keyedConfig(), sink)
	require.NoError(t, err)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func() {
			var err error
			for i := 0; i < 50 && err == nil; i++ {
				err = p.ConsumeTraces(context.Background(), oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
					span.Attributes().PutStr(attrkey.GenAIToolCallArgs, `{"email":"a@b.io","token":"x","n":[1,2,{"ssn":"123-45-6789"}]}`)
				}))
			}
			done <- err
		}()
	}
	for g := 0; g < 4; g++ {
		require.NoError(t, <-done)
	}
	require.NoError(t, p.Shutdown(context.Background()))
	want := `{"email":"` + pseudonym(t, "a@b.io") + `","token":"***REDACTED***","n":[1,2,{"ssn":"` + pseudonym(t, "123-45-6789") + `"}]}`
	for _, td := range sink.AllTraces() {
		assert.Equal(t, want, str(t, firstSpan(td).Attributes(), attrkey.GenAIToolCallArgs))
	}
	assert.Equal(t, 200, sink.SpanCount())
}

// audit.redaction.paths keeps at most redact.MaxPaths distinct paths, earlier
// passes' first; audit.redaction.count stays exact.
func TestPathsCapped(t *testing.T) {
	secrets := func(a pcommon.Map, n int) []string {
		var keys []string
		for i := 0; i < n; i++ {
			k := fmt.Sprintf("k%03d_password", i)
			a.PutStr(k, "p")
			keys = append(keys, k)
		}
		return keys
	}
	t.Run("one pass", func(t *testing.T) {
		var keys []string
		td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) { keys = secrets(span.Attributes(), 300) })
		span := firstSpan(runTraces(t, createDefaultConfig().(*Config), td))
		assert.Equal(t, int64(300), redactionCount(span))
		assert.Equal(t, keys[:redact.MaxPaths], redactionPaths(t, span))
	})
	t.Run("after an earlier pass", func(t *testing.T) {
		var prior, keys []string
		td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
			a := span.Attributes()
			a.PutInt(attrkey.RedactionCount, 10)
			sl := a.PutEmptySlice(attrkey.RedactionPaths)
			for i := 0; i < 200; i++ {
				prior = append(prior, fmt.Sprintf("upstream%d", i))
				sl.AppendEmpty().SetStr(prior[i])
			}
			sl.AppendEmpty().SetStr(prior[0]) // a duplicate is kept once
			keys = secrets(a, 100)
		})
		span := firstSpan(runTraces(t, createDefaultConfig().(*Config), td))
		assert.Equal(t, int64(110), redactionCount(span))
		assert.Equal(t, append(prior, keys[:redact.MaxPaths-200]...), redactionPaths(t, span))
	})
}

// A bytes value under a matched key is masked; elsewhere it is left alone.
func TestBytesAttributes(t *testing.T) {
	td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
		a := span.Attributes()
		a.PutEmptyBytes("api_key").FromRaw([]byte("k-123"))
		a.PutEmptyBytes("session_token") // empty: nothing to hide
		a.PutEmptyBytes("blob").FromRaw([]byte("card 4111111111111111"))
		a.PutEmptyBytes("note").FromRaw([]byte("login password=s3cret\n"))
		a.PutEmptyBytes("image").FromRaw([]byte("\x89PNG\r\n\x1a\n4111111111111111\x00"))
		a.PutEmptyBytes("plain").FromRaw([]byte("nothing here"))
	})
	span := firstSpan(runTraces(t, createDefaultConfig().(*Config), td))
	a := span.Attributes()
	key, _ := a.Get("api_key")
	assert.Equal(t, pcommon.ValueTypeStr, key.Type())
	assert.Equal(t, "***REDACTED***", key.Str())
	empty, _ := a.Get("session_token")
	assert.Equal(t, pcommon.ValueTypeBytes, empty.Type())
	assert.Equal(t, 0, empty.Bytes().Len())
	// Text sent as bytes is scanned, and a redacted one becomes a string;
	// binary data and untouched text stay bytes.
	blob, _ := a.Get("blob")
	assert.Equal(t, "card ***REDACTED***", blob.Str())
	note, _ := a.Get("note")
	assert.Equal(t, "login password=***REDACTED***\n", note.Str())
	image, _ := a.Get("image")
	assert.Equal(t, []byte("\x89PNG\r\n\x1a\n4111111111111111\x00"), image.Bytes().AsRaw())
	plain, _ := a.Get("plain")
	assert.Equal(t, []byte("nothing here"), plain.Bytes().AsRaw())
	assert.Equal(t, []string{"api_key", "blob", "note"}, redactionPaths(t, span))
	assert.Equal(t, int64(3), redactionCount(span))
}

// TestIdempotentMasks runs free-text shapes through the processor twice,
// with masks of several forms: the second pass must change nothing and add
// nothing to the count (the URL password's mask was counted again, and a
// mask with spaces or brackets grew on every pass).
func TestIdempotentMasks(t *testing.T) {
	inputs := []string{
		"postgres://u:S3cret@db/x",
		"curl -u alice:S3cret https://x",
		"password=S3cret next",
		"run --password S3cret now",
		"token: {unclosed S3cret",
		"mail bob@example.com",
		"Cookie: a=1; sid=S3cret",
		`{"dsn":"redis://:S3cret@cache/0","api_keys":{"k1":"v"}}`,
		// Cut off by a length limit, in text and as a JSON payload.
		`{"password":"S3cret`,
		`{"env":[{"name":"DB_PASSWORD","value":"S3cret`,
		`error: {"env":[{"name":"DB_PASSWORD","value":"S3cret`,
	}
	for _, mask := range []string{"***REDACTED***", "[REDACTED]", "{redacted}", "REDACTED BY POLICY"} {
		cfg := createDefaultConfig().(*Config)
		cfg.Mask = mask
		for _, key := range []string{"note", attrkey.GenAIToolCallArgs} {
			for _, in := range inputs {
				td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) { span.Attributes().PutStr(key, in) })
				once := runTraces(t, cfg, td)
				again := ptrace.NewTraces()
				once.CopyTo(again)
				twice := runTraces(t, cfg, again)
				a, b := str(t, firstSpan(once).Attributes(), key), str(t, firstSpan(twice).Attributes(), key)
				assert.NotContains(t, a, "S3cret", "mask %q, %s %q", mask, key, in)
				assert.Equal(t, a, b, "mask %q, %s %q: a second pass changed the value", mask, key, in)
				assert.Equal(t, redactionCount(firstSpan(once)), redactionCount(firstSpan(twice)), "mask %q, %s %q: a second pass counted again", mask, key, in)
			}
		}
	}
}

// TestIdempotentPseudonymisedUsers checks that a user a first pass
// pseudonymised after -u or -U, whose pseudonym holds a colon, is not read
// by a second pass as user:password.
func TestIdempotentPseudonymisedUsers(t *testing.T) {
	for _, in := range []string{
		"az login -u bob@x.com -p S3cret",
		"curl -u alice@example.com https://x",
		"curl -u bob@x.com:S3cret https://x",
		"smbclient -U alice@example.com%S3cret //s/x",
		"net ads join -U user@CORP.COM%S3cret",
		"mysql -u bob@x.com -pS3cret db",
		"sqlcmd -S db -U bob@x.com -P S3cret",
		"mongosh -u bob@x.com -p S3cret",
	} {
		td := oneSpan(func(_ ptrace.ResourceSpans, span ptrace.Span) {
			span.Attributes().PutStr(attrkey.GenAIToolCallResult, in)
		})
		once := runTraces(t, keyedConfig(), td)
		again := ptrace.NewTraces()
		once.CopyTo(again)
		twice := runTraces(t, keyedConfig(), again)
		a := str(t, firstSpan(once).Attributes(), attrkey.GenAIToolCallResult)
		b := str(t, firstSpan(twice).Attributes(), attrkey.GenAIToolCallResult)
		assert.NotContains(t, a, "S3cret", in)
		assert.Contains(t, a, "hmac-sha256:", in)
		assert.Equal(t, a, b, "%q: a second pass changed the value", in)
		assert.Equal(t, redactionCount(firstSpan(once)), redactionCount(firstSpan(twice)), "%q: a second pass counted again", in)
	}
}
