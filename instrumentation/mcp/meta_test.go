package mcp

import (
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// decodeMeta decodes a _meta object as the SDK does: JSON numbers are
// float64.
func decodeMeta(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestReadMeta(t *testing.T) {
	long := strings.Repeat("é", 400) // 800 bytes
	tests := []struct {
		name string
		meta string
		want callInfo
	}{
		{name: "empty", meta: `{}`, want: callInfo{}},
		{
			name: "every prefixed key",
			meta: `{"otelaudit/user.id":"u-1","otelaudit/user.roles":["nurse","ward-3"],"otelaudit/conversation.id":"c-1",
				"otelaudit/turn":4,"otelaudit/model":"m-1","otelaudit/agent.name":"agent","otelaudit/agent.id":"a-1",
				"otelaudit/session.id":"s-1","otelaudit/trigger":"proactive","otelaudit/purpose":"treatment",
				"otelaudit/subject.type":"patient","otelaudit/subject.id":"P-1","otelaudit/break_glass":true,
				"otelaudit/break_glass.reason":"ER","otelaudit/tool_call.id":"call_1"}`,
			want: callInfo{userID: "u-1", roles: []string{"nurse", "ward-3"}, conversationID: "c-1", turn: 4, model: "m-1",
				agentName: "agent", agentID: "a-1", sessionID: "s-1", trigger: "proactive", purpose: "treatment",
				subjectType: "patient", subjectID: "P-1", breakGlass: true, breakGlassReason: "ER", toolCallID: "call_1"},
		},
		{
			name: "every attribute name",
			meta: `{"user.id":"u-2","user.roles":"admin, auditor","gen_ai.conversation.id":"c-2","audit.turn_number":"5",
				"gen_ai.request.model":"m-2","gen_ai.agent.name":"agent2","gen_ai.agent.id":"a-2","session.id":"s-2",
				"audit.trigger":"retry","audit.purpose":"billing","audit.subject.type":"order","audit.subject.id":"O-2",
				"audit.break_glass":"true","audit.break_glass.reason":"outage","gen_ai.tool.call.id":"call_2"}`,
			want: callInfo{userID: "u-2", roles: []string{"admin", "auditor"}, conversationID: "c-2", turn: 5, model: "m-2",
				agentName: "agent2", agentID: "a-2", sessionID: "s-2", trigger: "retry", purpose: "billing",
				subjectType: "order", subjectID: "O-2", breakGlass: true, breakGlassReason: "outage", toolCallID: "call_2"},
		},
		{
			name: "prefixed key wins",
			meta: `{"user.id":"plain","otelaudit/user.id":"prefixed","audit.purpose":"research"}`,
			want: callInfo{userID: "prefixed", purpose: "research"},
		},
		{
			name: "null prefixed value falls back",
			meta: `{"otelaudit/user.id":null,"user.id":"plain"}`,
			want: callInfo{userID: "plain"},
		},
		{
			name: "numeric user id",
			meta: `{"otelaudit/user.id":12345,"otelaudit/subject.id":1.5}`,
			want: callInfo{userID: "12345", subjectID: "1.5"},
		},
		{
			name: "values of the wrong type are ignored",
			meta: `{"otelaudit/user.id":{"id":"x"},"otelaudit/user.roles":7,"otelaudit/turn":"three","otelaudit/break_glass":"maybe","otelaudit/purpose":true}`,
			want: callInfo{},
		},
		{
			name: "turn must be a positive whole number",
			meta: `{"otelaudit/turn":2.5,"audit.turn_number":-1}`,
			want: callInfo{},
		},
		{
			name: "huge turn",
			meta: `{"otelaudit/turn":1e300}`,
			want: callInfo{},
		},
		{
			name: "roles keep strings only, trimmed",
			meta: `{"otelaudit/user.roles":[" nurse ",3,"",null,"er"]}`,
			want: callInfo{roles: []string{"nurse", "er"}},
		},
		{
			name: "empty strings are unknown",
			meta: `{"otelaudit/user.id":"  ","otelaudit/purpose":""}`,
			want: callInfo{},
		},
		{
			name: "long values are cut on a character boundary",
			meta: `{"otelaudit/user.id":"` + long + `","otelaudit/break_glass.reason":"` + long + long + `"}`,
			want: callInfo{userID: strings.Repeat("é", 128), breakGlassReason: strings.Repeat("é", 512)},
		},
		{
			name: "break glass false",
			meta: `{"otelaudit/break_glass":false,"otelaudit/break_glass.reason":"x"}`,
			want: callInfo{breakGlassReason: "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got callInfo
			readMeta(decodeMeta(t, tt.meta), &got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("readMeta =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestReadMetaBounds(t *testing.T) {
	roles := make([]any, 1000)
	for i := range roles {
		roles[i] = strings.Repeat("r", 500)
	}
	var got callInfo
	readMeta(map[string]any{MetaUserRoles: roles, MetaUserID: "bad\xffutf8"}, &got)
	if len(got.roles) != maxRoles {
		t.Errorf("%d roles kept, want %d", len(got.roles), maxRoles)
	}
	for _, r := range got.roles {
		if len(r) > maxRoleBytes {
			t.Fatalf("role of %d bytes kept", len(r))
		}
	}
	if got.userID != "bad\uFFFDutf8" {
		t.Errorf("user id %q, want invalid UTF-8 replaced", got.userID)
	}
}

func TestReadHeaders(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		start  callInfo
		want   callInfo
	}{
		{name: "none", header: http.Header{}, start: callInfo{userID: "meta"}, want: callInfo{userID: "meta"}},
		{
			name: "all",
			header: http.Header{
				HeaderUserID: {"u"}, HeaderUserRoles: {"a, b", "c"}, HeaderConversationID: {"c"}, HeaderTurn: {"7"},
				HeaderModel: {"m"}, HeaderAgentName: {"an"}, HeaderAgentID: {"ai"}, HeaderSessionID: {"s"},
				HeaderTrigger: {"system"}, HeaderPurpose: {"p"}, HeaderSubjectType: {"st"}, HeaderSubjectID: {"si"},
				HeaderBreakGlass: {"1"}, HeaderBreakGlassReason: {"r"},
			},
			want: callInfo{userID: "u", roles: []string{"a", "b", "c"}, conversationID: "c", turn: 7, model: "m",
				agentName: "an", agentID: "ai", sessionID: "s", trigger: "system", purpose: "p", subjectType: "st",
				subjectID: "si", breakGlass: true, breakGlassReason: "r"},
		},
		{
			name:   "headers win over _meta",
			header: http.Header{HeaderUserID: {"gateway-user"}, HeaderBreakGlass: {"false"}},
			start:  callInfo{userID: "meta-user", purpose: "billing", breakGlass: true},
			want:   callInfo{userID: "gateway-user", purpose: "billing"},
		},
		{
			name:   "blank and invalid values leave _meta",
			header: http.Header{HeaderUserID: {"  "}, HeaderTurn: {"x"}, HeaderBreakGlass: {"perhaps"}},
			start:  callInfo{userID: "meta-user", turn: 2, breakGlass: true},
			want:   callInfo{userID: "meta-user", turn: 2, breakGlass: true},
		},
		{
			name:   "no tool call id from a gateway",
			header: http.Header{"X-Otelaudit-Tool-Call-Id": {"forged"}},
			start:  callInfo{toolCallID: "call_1"},
			want:   callInfo{toolCallID: "call_1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.start
			readHeaders(tt.header, &got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("readHeaders =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestMetaRoundTrip(t *testing.T) {
	// What a client writes, a server reads back, across JSON.
	at := instrumentation.Attribution{UserID: "u", UserRoles: []string{"r1", "r2"}, ConversationID: "c", TurnNumber: 9,
		Model: "m", AgentName: "an", AgentID: "ai", SessionID: "s", ClientAddress: "10.0.0.1", UserAgent: "ua"}
	f := instrumentation.CallFacts{Trigger: instrumentation.TriggerFollowUp, Purpose: "p", SubjectType: "st", SubjectID: "si",
		BreakGlass: true, BreakGlassReason: "r", ToolCallID: "call_9"}
	in := infoFrom(at, f)
	m := map[string]any{}
	writeMeta(m, &in)
	for k := range m {
		if !strings.HasPrefix(k, MetaPrefix) {
			t.Errorf("key %q written without the prefix", k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back callInfo
	readMeta(decodeMeta(t, string(b)), &back)
	if !reflect.DeepEqual(back, in) {
		t.Errorf("round trip =\n %+v\nwant\n %+v", back, in)
	}
	// The addresses describe the agent's user, not the MCP connection.
	if strings.Contains(string(b), "10.0.0.1") || strings.Contains(string(b), `"ua"`) {
		t.Errorf("client address or user agent sent: %s", b)
	}
	gotAt, gotF := back.attribution(), back.facts()
	at.ClientAddress, at.UserAgent = "", ""
	if !reflect.DeepEqual(gotAt, at) || !reflect.DeepEqual(gotF, f) {
		t.Errorf("attribution %+v facts %+v, want %+v %+v", gotAt, gotF, at, f)
	}
}

func TestReadmeDocumentsMapping(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	for _, f := range fields {
		row := "| `" + f.meta + "` | `" + f.attr + "` |"
		if !strings.Contains(text, row) {
			t.Errorf("README.md has no row starting %s", row)
		}
		if f.header != "" && !strings.Contains(text, "`"+f.header+"`") {
			t.Errorf("README.md does not name header %s", f.header)
		}
	}
}
