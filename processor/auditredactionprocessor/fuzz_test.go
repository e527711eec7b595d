package auditredactionprocessor

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Planted by the fuzz targets beside the fuzzed keys and values.
const (
	fuzzSecret = "Fz-planted-S3cret-0042"
	fuzzCard   = "4111 1111 1111 1111"
)

// fuzzSetup adds the (key, value) seeds to f and returns a processor with
// pseudonyms.
func fuzzSetup(f *testing.F, seeds [][2]string) *redactionProcessor {
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	p, err := newRedactionProcessor(keyedConfig())
	if err != nil {
		f.Fatal(err)
	}
	return p
}

// holdsPlanted reports whether the fuzzer's own input holds what the
// targets plant, which could then rightly survive.
func holdsPlanted(key, value string) bool {
	return strings.Contains(key+value, fuzzSecret) || strings.Contains(key+value, "4111")
}

// FuzzProcessTraces runs the whole processor on spans built from arbitrary
// keys and values, with secrets planted beside and around them: it never
// panics, a valid JSON payload stays valid JSON, and no planted secret
// survives in the protobuf or JSON encoding of the output.
func FuzzProcessTraces(f *testing.F) {
	seeds := [][2]string{
		{"note", "hello"},
		{attrkey.GenAIToolCallArgs, `{"q":"x","nested":"{\"a\":[1,2]}"}`},
		{"gen_ai.tool.call.result", `{"password":"`},
		{"x", "\xff\xfe{[\"\\u00"},
		{"email", "alice@example.com"},
		{"max_tokens", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]"},
		{"", ""},
		{"api_key", `{"a":{"b":{"c":"d"}}}`},
		{"name", "DB_PASSWORD"},
		{"Value", `{"value":"x","key":"token"}`},
	}
	p := fuzzSetup(f, seeds)
	f.Fuzz(func(t *testing.T, key, value string) {
		if holdsPlanted(key, value) {
			return
		}
		td := ptrace.NewTraces()
		span := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		span.SetName(value)
		a := span.Attributes()
		a.PutStr(key, value)
		a.PutStr("db_password", fuzzSecret)
		var inner json.RawMessage = []byte(value)
		if !json.Valid(inner) {
			inner, _ = json.Marshal(value)
		}
		keyJSON, _ := json.Marshal(key)
		// A named pair, value member first, the fuzzed member between.
		env := json.RawMessage(`[{"value":"` + fuzzSecret + `",` + string(keyJSON) + `:` + string(inner) + `,"name":"DB_PASSWORD"}]`)
		payload, _ := json.Marshal(map[string]any{key: inner, "apiKey": fuzzSecret, "memo": "card " + fuzzCard, "env": env})
		a.PutStr(attrkey.GenAIToolCallArgs, string(payload))
		m := a.PutEmptyMap("m")
		m.PutStr(key, value)
		m.PutStr("Set-Cookie", fuzzSecret)
		// The same as a slice of maps. The name member goes in last, so
		// that a fuzzed key cannot overwrite it.
		tag := a.PutEmptySlice("tags").AppendEmpty().SetEmptyMap()
		tag.PutStr("Value", fuzzSecret)
		tag.PutStr(key, value)
		tag.PutStr("Key", "api_token")
		ev := span.Events().AppendEmpty()
		ev.Attributes().PutStr("exception.message", value+" password="+fuzzSecret+" "+fuzzCard)

		out, err := p.processTraces(context.Background(), td)
		if err != nil {
			t.Fatal(err)
		}
		outArgs, _ := out.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get(attrkey.GenAIToolCallArgs)
		if !json.Valid([]byte(outArgs.Str())) {
			t.Fatalf("payload no longer JSON: %q", outArgs.Str())
		}
		pb, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(out)
		if err != nil {
			t.Fatal(err)
		}
		js, err := (&ptrace.JSONMarshaler{}).MarshalTraces(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, enc := range [][]byte{pb, js} {
			if strings.Contains(string(enc), fuzzSecret) || strings.Contains(string(enc), fuzzCard) {
				t.Fatalf("planted secret survived for key %q value %q", key, value)
			}
		}
	})
}

// FuzzProcessMetrics is FuzzProcessTraces for metrics: arbitrary keys and
// values in a data point's and an exemplar's attributes, with secrets
// planted beside them, never panic, and no planted secret survives in the
// protobuf or JSON encoding of the output.
func FuzzProcessMetrics(f *testing.F) {
	p := fuzzSetup(f, [][2]string{
		{"route", "/orders"},
		{"email", "alice@example.com"},
		{"x", "\xff\xfe{[\"\\u00"},
		{"auth", "Bearer abc.def.ghi"},
		{"", ""},
	})
	f.Fuzz(func(t *testing.T, key, value string) {
		if holdsPlanted(key, value) {
			return
		}
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr(key, value)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(value)
		dp := m.SetEmptyHistogram().DataPoints().AppendEmpty()
		a := dp.Attributes()
		a.PutStr(key, value)
		a.PutStr("client_secret", fuzzSecret)
		a.PutStr("memo", value+" card "+fuzzCard)
		ex := dp.Exemplars().AppendEmpty().FilteredAttributes()
		ex.PutStr(key, value)
		ex.PutStr("note", "password="+fuzzSecret)

		out, err := p.processMetrics(context.Background(), md)
		if err != nil {
			t.Fatal(err)
		}
		pb, err := (&pmetric.ProtoMarshaler{}).MarshalMetrics(out)
		if err != nil {
			t.Fatal(err)
		}
		js, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, enc := range [][]byte{pb, js} {
			if strings.Contains(string(enc), fuzzSecret) || strings.Contains(string(enc), fuzzCard) {
				t.Fatalf("planted secret survived for key %q value %q", key, value)
			}
		}
	})
}
