package mcp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

var bodySeeds = []string{
	toolsCall(1, `{"name":"lookup","arguments":{"patient_id":"P-1"}}`),
	toolsCall("a", `{"name":5}`),
	toolsCall(nil, `{"name":"lookup"}`),
	`{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"lookup"}}`,
	`[` + toolsCall(1, `{"name":"lookup"}`) + `,` + toolsCall(2, `[]`) + `]`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","arguments":{"x":`,
	`{"jsonrpc":"2.0","id":{"x":1},"method":"tools/call","params":{}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
	`[]`, `null`, `"tools/call"`, ``, "\xff\xfe",
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"lookup","_meta":{"otelaudit/user.roles":[1,"a"],"otelaudit/turn":1e400}}}`,
}

func FuzzParseCalls(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		calls := parseCalls(body)
		for _, in := range calls {
			if in.id.IsValid() && idString(in.id) == "" && in.id.Raw() != "" {
				t.Errorf("id %v has no string form", in.id.Raw())
			}
			if !utf8.ValidString(idString(in.id)) {
				t.Errorf("id string %q is not valid UTF-8", idString(in.id))
			}
			p := looseParams(in.params)
			if raw, ok := p.args.(json.RawMessage); ok && len(raw) == 0 {
				t.Error("empty arguments kept")
			}
		}
		// One well-formed tools/call request is found as one.
		var env struct {
			ID     any    `json:"id"`
			Method string `json:"method"`
		}
		trimmed := bytes.TrimSpace(body)
		if len(trimmed) > 0 && trimmed[0] == '{' && json.Unmarshal(body, &env) == nil && env.Method == methodToolsCall && len(calls) != 1 {
			t.Errorf("%d calls found in a tools/call request", len(calls))
		}
	})
}

func FuzzReadMeta(f *testing.F) {
	f.Add(`{"otelaudit/user.id":"u","otelaudit/user.roles":["a","b"],"otelaudit/turn":3,"otelaudit/break_glass":"true"}`)
	f.Add(`{"user.id":12,"user.roles":"a,,b , c","audit.turn_number":"7","audit.break_glass":false}`)
	f.Add(`{"otelaudit/turn":-3.5,"otelaudit/user.roles":[null,{},[]]}`)
	f.Add(`{"otelaudit/user.id":"\ud800"}`)
	f.Fuzz(func(t *testing.T, text string) {
		var m map[string]any
		if json.Unmarshal([]byte(text), &m) != nil {
			return
		}
		var c callInfo
		readMeta(m, &c)
		for i := range fields {
			if fields[i].text == nil {
				continue
			}
			s := *fields[i].text(&c)
			if len(s) > fields[i].max || !utf8.ValidString(s) {
				t.Errorf("%s = %q: over %d bytes or not UTF-8", fields[i].meta, s, fields[i].max)
			}
		}
		if len(c.roles) > maxRoles || c.turn < 0 {
			t.Errorf("roles %d, turn %d", len(c.roles), c.turn)
		}
		for _, r := range c.roles {
			if r == "" || len(r) > maxRoleBytes || !utf8.ValidString(r) {
				t.Errorf("role %q", r)
			}
		}
	})
}

func FuzzResponses(f *testing.F) {
	f.Add([]byte("event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32602,\"message\":\"x\"}}\n\n"), true)
	f.Add([]byte("data: {\"jsonrpc\":\"2.0\",\n"+"data: \"id\":2,\"result\":{}}\r\n\r\n"), true)
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"m"}},{"jsonrpc":"2.0","id":2,"result":{}}]`), false)
	f.Add([]byte(`{"jsonrpc":"2.0","id":3,"error":{"code":-32602,"message":"bad"}}`), false)
	f.Add([]byte(`not json`), false)
	f.Fuzz(func(t *testing.T, body []byte, sse bool) {
		rec := &recorder{ResponseWriter: httptest.NewRecorder(), want: func() bool { return true }}
		if sse {
			rec.Header().Set("Content-Type", "text/event-stream")
		} else {
			rec.Header().Set("Content-Type", "application/json")
		}
		_, _ = rec.Write(body)
		got := rec.responses()
		for _, r := range got {
			if r == nil {
				t.Fatal("nil response")
			}
		}
		// A JSON body that is one response is found whole.
		if !sse && len(body) <= maxRecordedBytes {
			if msg, err := jsonrpc.DecodeMessage(bytes.TrimSpace(body)); err == nil {
				if want, ok := msg.(*jsonrpc.Response); ok && (len(got) != 1 || got[0].ID != want.ID) {
					t.Errorf("body %q: responses %+v, want the one response", body, got)
				}
			}
		}
		if s := rec.text(400); !utf8.ValidString(s) || len(s) > maxErrorBytes {
			t.Errorf("text %q", s)
		}
	})
}

// FuzzHandler sends each body through Handler to the SDK's stateless
// streamable handler with the middleware: whatever the body, nothing
// panics and every span recorded is a recognisable tools/call span.
func FuzzHandler(f *testing.F) {
	for _, s := range bodySeeds {
		f.Add(s)
	}
	sp := newSpans(f)
	sa := sp.auditor(f)
	server := newTestServer(sa, nil)
	h := sa.Handler(sdkmcp.NewStreamableHTTPHandler(func(*http.Request) *sdkmcp.Server { return server },
		&sdkmcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true}))
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		h.ServeHTTP(httptest.NewRecorder(), req)
		for _, s := range sp.sr.Ended() {
			m := map[attribute.Key]attribute.Value{}
			for _, kv := range s.Attributes() {
				m[kv.Key] = kv.Value
			}
			if m[attrkey.MCPMethodName].AsString() != methodToolsCall || m[attrkey.GenAIOperationName].AsString() != "execute_tool" {
				t.Fatalf("span %q lacks the tool-call attributes", s.Name())
			}
			if !strings.HasPrefix(s.Name(), "tools/call") {
				t.Fatalf("span name %q", s.Name())
			}
		}
		sp.sr.Reset()
	})
}
