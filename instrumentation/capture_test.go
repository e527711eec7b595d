package instrumentation

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

func noop(context.Context) (any, error) { return nil, nil }

// argsOf records one call with args and returns its arguments attribute.
func argsOf(t *testing.T, args any, opts ...Option) string {
	t.Helper()
	r := newRecorder(t, opts...)
	if _, err := r.Execute(context.Background(), "t", args, noop); err != nil {
		t.Fatal(err)
	}
	return str(t, r.only(t), attrkey.GenAIToolCallArgs)
}

func TestMasking(t *testing.T) {
	const m = `"***REDACTED***"`
	tests := []struct {
		name string
		args any
		want string
	}{
		{"lowercase", map[string]any{"password": "p"}, `{"password":` + m + `}`},
		{"capitalised", map[string]any{"Password": "p"}, `{"Password":` + m + `}`},
		{"upper", map[string]any{"API_KEY": "k"}, `{"API_KEY":` + m + `}`},
		{"camel", map[string]any{"apiKey": "k"}, `{"apiKey":` + m + `}`},
		{"acronym", map[string]any{"APIKey": "k"}, `{"APIKey":` + m + `}`},
		{"kebab header", map[string]any{"X-Api-Key": "k"}, `{"X-Api-Key":` + m + `}`},
		{"dotted", map[string]any{"user.password": "p"}, `{"user.password":` + m + `}`},
		{"authorization", map[string]any{"Authorization": "Bearer t"}, `{"Authorization":` + m + `}`},
		{"compound", map[string]any{"db_password": "p", "clientSecret": "s", "refresh_token": "r"},
			`{"clientSecret":` + m + `,"db_password":` + m + `,"refresh_token":` + m + `}`},
		{"joined compound", map[string]any{"dbpassword": "p", "accesstoken": "t"}, `{"accesstoken":` + m + `,"dbpassword":` + m + `}`},
		{"pii-like secrets", map[string]any{"credit_card": "4111", "cardNumber": "4111", "cvv": "123", "ssn": "078-05-1120"},
			`{"cardNumber":` + m + `,"credit_card":` + m + `,"cvv":` + m + `,"ssn":` + m + `}`},
		{"whole object value", map[string]any{"credentials": map[string]any{"user": "u", "pass": "p"}}, `{"credentials":` + m + `}`},
		{"whole array value", map[string]any{"secrets": []any{"a", "b"}}, `{"secrets":` + m + `}`},
		{"nested objects", map[string]any{"db": map[string]any{"conn": map[string]any{"password": "p", "host": "h"}}},
			`{"db":{"conn":{"host":"h","password":` + m + `}}}`},
		{"arrays of objects", map[string]any{"accounts": []any{map[string]any{"id": 1, "token": "a"}, map[string]any{"id": 2, "token": "b"}}},
			`{"accounts":[{"id":1,"token":` + m + `},{"id":2,"token":` + m + `}]}`},
		{"arrays in arrays", []any{[]any{map[string]any{"pin": "1234"}}}, `[[{"pin":` + m + `}]]`},
		{"look-alikes kept", map[string]any{"max_tokens": 512, "token_count": 10, "tokenizer": "bpe", "author": "a", "passport_country": "FR"},
			`{"author":"a","max_tokens":512,"passport_country":"FR","token_count":10,"tokenizer":"bpe"}`},
		{"numbers and bools masked", map[string]any{"pin": 1234, "otp": true}, `{"otp":` + m + `,"pin":` + m + `}`},
		{"struct fields", struct {
			User     string `json:"user"`
			Password string `json:"password"`
		}{"ann", "hunter2"}, `{"user":"ann","password":` + m + `}`},
		{"raw JSON", json.RawMessage(`{"user":"ann","password":"hunter2"}`), `{"user":"ann","password":` + m + `}`},
		{"JSON in a string", `{"query":"x","api_key":"sk-1"}`, `{"query":"x","api_key":` + m + `}`},
		{"escaped key in raw JSON", json.RawMessage(`{"pass\u0077ord":"hunter2"}`), `{"password":` + m + `}`},
		{"plain string kept", "not json {", `"not json {"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := argsOf(t, tt.args)
			if got != tt.want {
				t.Errorf("arguments = %s\nwant        %s", got, tt.want)
			}
			for _, secret := range []string{"hunter2", "sk-1", "4111", "078-05-1120", "Bearer"} {
				if strings.Contains(got, secret) {
					t.Errorf("secret %q leaked: %s", secret, got)
				}
			}
		})
	}
}

func TestMaskingOptions(t *testing.T) {
	args := map[string]any{"password": "p", "mrn": "M-1", "patient_mrn": "M-2", "note": "n"}
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"defaults", nil, `{"mrn":"M-1","note":"n","password":"***REDACTED***","patient_mrn":"M-2"}`},
		{"added key", []Option{WithSensitiveKeys("mrn")}, `{"mrn":"***REDACTED***","note":"n","password":"***REDACTED***","patient_mrn":"***REDACTED***"}`},
		{"only custom keys", []Option{WithoutDefaultSensitiveKeys(), WithSensitiveKeys("MRN")}, `{"mrn":"***REDACTED***","note":"n","password":"p","patient_mrn":"***REDACTED***"}`},
		{"no keys at all", []Option{WithoutDefaultSensitiveKeys()}, `{"mrn":"M-1","note":"n","password":"p","patient_mrn":"M-2"}`},
		{"custom mask", []Option{WithMask("[hidden]")}, `{"mrn":"M-1","note":"n","password":"[hidden]","patient_mrn":"M-2"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := argsOf(t, args, tt.opts...); got != tt.want {
				t.Errorf("arguments = %s\nwant        %s", got, tt.want)
			}
		})
	}
}

func TestDefaultSensitiveKeysAreFresh(t *testing.T) {
	k := DefaultSensitiveKeys()
	k[0] = "changed"
	if DefaultSensitiveKeys()[0] == "changed" {
		t.Error("DefaultSensitiveKeys returned shared state")
	}
	r := DefaultResultKeys()
	r[0] = "changed"
	if DefaultResultKeys()[0] == "changed" {
		t.Error("DefaultResultKeys returned shared state")
	}
}

func TestCaptureSwitches(t *testing.T) {
	args := map[string]any{"order_id": "O-1", "reason": "damaged", "api_key": "k"}
	result := map[string]any{"refund_id": "R-1", "status": "issued", "ledger": []any{"a", "b"}, "secret": "s"}
	tools := WithTools(
		Tool{Name: "quiet", Arguments: CaptureOff, Result: CaptureOff},
		Tool{Name: "loud", Result: CaptureFull},
		Tool{Name: "ids_only", Arguments: CaptureSummary, ResultKeys: []string{"ledger", "refund_id"}},
		Tool{Name: "inherit"},
	)
	const (
		fullArgs    = `{"api_key":"***REDACTED***","order_id":"O-1","reason":"damaged"}`
		summaryRes  = `{"success":true,"refund_id":"R-1","status":"issued"}`
		fullRes     = `{"ledger":["a","b"],"refund_id":"R-1","secret":"***REDACTED***","status":"issued"}`
		summaryArgs = `{"order_id":"O-1"}`
	)
	tests := []struct {
		name     string
		opts     []Option
		tool     string
		wantArgs string // "" for absent
		wantRes  string
	}{
		{"defaults", nil, "any", fullArgs, summaryRes},
		{"global arguments off", []Option{WithArgumentCapture(CaptureOff)}, "any", "", summaryRes},
		{"global results off", []Option{WithResultCapture(CaptureOff)}, "any", fullArgs, ""},
		{"global results full", []Option{WithResultCapture(CaptureFull)}, "any", fullArgs, fullRes},
		{"global arguments summary", []Option{WithArgumentCapture(CaptureSummary)}, "any", summaryArgs, summaryRes},
		{"tool off", []Option{tools}, "quiet", "", ""},
		{"tool full result", []Option{tools}, "loud", fullArgs, fullRes},
		{"tool keys", []Option{tools}, "ids_only", `{}`, `{"success":true,"refund_id":"R-1"}`},
		{"tool inherits global off", []Option{tools, WithArgumentCapture(CaptureOff), WithResultCapture(CaptureOff)}, "inherit", "", ""},
		{"tool overrides global off", []Option{tools, WithResultCapture(CaptureOff)}, "loud", fullArgs, fullRes},
		{"no result keys", []Option{WithResultKeys()}, "any", fullArgs, `{"success":true}`},
		{"custom result keys", []Option{WithResultKeys(append(DefaultResultKeys(), "secret", "ledger")...)}, "any", fullArgs,
			`{"success":true,"refund_id":"R-1","secret":"***REDACTED***","status":"issued"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder(t, tt.opts...)
			if _, err := r.Execute(context.Background(), tt.tool, args, func(context.Context) (any, error) { return result, nil }); err != nil {
				t.Fatal(err)
			}
			s := r.only(t)
			check := func(key, want string) {
				if want == "" {
					absent(t, s, key)
				} else if got := str(t, s, key); got != want {
					t.Errorf("%s = %s\nwant %s", key, got, want)
				}
			}
			check(attrkey.GenAIToolCallArgs, tt.wantArgs)
			check(attrkey.GenAIToolCallResult, tt.wantRes)
		})
	}
}

func TestCaptureOffStillRecordsErrors(t *testing.T) {
	r := newRecorder(t, WithResultCapture(CaptureOff))
	_, _ = r.Execute(context.Background(), "t", nil, func(context.Context) (any, error) { return nil, &quotaError{} })
	s := r.only(t)
	absent(t, s, attrkey.GenAIToolCallResult)
	if str(t, s, attrkey.ErrorType) != "quota_exceeded" {
		t.Error("error.type missing with results off")
	}
}

func TestTruncation(t *testing.T) {
	long := strings.Repeat("lorem ipsum ", 200) // 2400 bytes
	deep := map[string]any{"l1": map[string]any{"l2": map[string]any{"l3": map[string]any{"l4": "x"}}}}
	tests := []struct {
		name  string
		opts  []Option
		args  any
		check func(t *testing.T, got map[string]any)
	}{
		{"long string", []Option{WithMaxPayloadBytes(512)}, map[string]any{"a": "first", "text": long, "z": "last"},
			func(t *testing.T, got map[string]any) {
				if got["a"] != "first" || got["_truncated"] != true || got["z"] != nil {
					t.Errorf("got %v", got)
				}
				if s, _ := got["text"].(string); !strings.HasPrefix(long, s) || len(s) < 300 {
					t.Errorf("text kept %d bytes", len(s))
				}
			}},
		{"many members", []Option{WithMaxPayloadBytes(256)}, func() map[string]any {
			m := map[string]any{}
			for i := range 200 {
				m[strings.Repeat("k", 1+i%7)+string(rune('a'+i%26))+string(rune('a'+i/26))] = i
			}
			return m
		}(), func(t *testing.T, got map[string]any) {
			if got["_truncated"] != true || len(got) < 10 || len(got) > 60 {
				t.Errorf("%d members, _truncated %v", len(got), got["_truncated"])
			}
		}},
		{"depth", []Option{WithMaxDepth(3)}, deep, func(t *testing.T, got map[string]any) {
			want := `{"_truncated":true,"l1":{"l2":{"l3":"[max depth]"}}}`
			if s := canonical(t, got); s != want {
				t.Errorf("got %s, want %s", s, want)
			}
		}},
		{"raw JSON too", []Option{WithMaxPayloadBytes(256), WithMaxDepth(2)}, json.RawMessage(`{"a":{"b":{"c":1}},"t":"` + long + `"}`),
			func(t *testing.T, got map[string]any) {
				if got["_truncated"] != true || canonical(t, got["a"]) != `{"b":"[max depth]"}` {
					t.Errorf("got %v", got)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := argsOf(t, tt.args, tt.opts...)
			limit := DefaultMaxPayloadBytes
			for _, o := range tt.opts {
				c := newConfig([]Option{o})
				limit = min(limit, c.maxBytes)
			}
			if len(raw) > limit {
				t.Errorf("arguments of %d bytes, over the limit %d", len(raw), limit)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(raw), &got); err != nil {
				t.Fatalf("arguments %q: %v", raw, err)
			}
			tt.check(t, got)
		})
	}
}

// canonical re-encodes decoded JSON with sorted keys.
func canonical(t *testing.T, v any) string {
	t.Helper()
	return string(mustJSON(t, v))
}

func TestLargeResults(t *testing.T) {
	rows := make([]any, 500)
	for i := range rows {
		rows[i] = map[string]any{"id": i, "name": "customer name", "email": "x@example.com"}
	}
	result := map[string]any{"query_id": "Q-1", "row_count": 500, "rows": rows}
	size := len(mustJSON(t, result))

	r := newRecorder(t, WithMaxPayloadBytes(4096))
	_, _ = r.Execute(context.Background(), "search", nil, func(context.Context) (any, error) { return result, nil })
	got := jsonAttr(t, r.only(t), attrkey.GenAIToolCallResult)
	if got["success"] != true || got["query_id"] != "Q-1" || got["row_count"] != 500.0 || got["_truncated"] != true || got["_result_size"] != float64(size) {
		t.Errorf("summary = %v (size %d)", got, size)
	}
	if _, ok := got["rows"]; ok {
		t.Error("the summary carries the payload")
	}

	r = newRecorder(t, WithMaxPayloadBytes(4096), WithResultCapture(CaptureFull))
	_, _ = r.Execute(context.Background(), "search", nil, func(context.Context) (any, error) { return result, nil })
	got = jsonAttr(t, r.only(t), attrkey.GenAIToolCallResult)
	if got["success"] != true || got["_truncated"] != true || got["_result_size"] != float64(size) || got["rows"] != nil {
		t.Errorf("full capture of an over-size result = %v", got)
	}

	// Small results carry no size.
	r = newRecorder(t)
	_, _ = r.Execute(context.Background(), "s", nil, func(context.Context) (any, error) { return []any{1, 2, 3}, nil })
	if got := str(t, r.only(t), attrkey.GenAIToolCallResult); got != `{"success":true,"_items":3}` {
		t.Errorf("small array result = %s", got)
	}

	// A JSON string result is summarised as JSON.
	r = newRecorder(t)
	_, _ = r.Execute(context.Background(), "s", nil, func(context.Context) (any, error) { return `{"order_id":"O-7","body":"..."}`, nil })
	if got := str(t, r.only(t), attrkey.GenAIToolCallResult); got != `{"success":true,"order_id":"O-7"}` {
		t.Errorf("JSON string result = %s", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
