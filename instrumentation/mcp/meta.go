package mcp

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// MetaPrefix starts the _meta keys this package writes and reads. MCP
// reserves _meta keys with a prefix for the party that owns the prefix;
// "otelaudit/" is a valid prefix of one label.
const MetaPrefix = "otelaudit/"

// The _meta keys of attribution and per-call facts. Each is also read under
// the name of its span attribute (for example "user.id" or "audit.purpose")
// when the prefixed key is absent, so that a client that knows only the
// span contract can attribute its calls.
const (
	MetaUserID           = MetaPrefix + "user.id"
	MetaUserRoles        = MetaPrefix + "user.roles"
	MetaConversationID   = MetaPrefix + "conversation.id"
	MetaTurn             = MetaPrefix + "turn"
	MetaModel            = MetaPrefix + "model"
	MetaAgentName        = MetaPrefix + "agent.name"
	MetaAgentID          = MetaPrefix + "agent.id"
	MetaSessionID        = MetaPrefix + "session.id"
	MetaTrigger          = MetaPrefix + "trigger"
	MetaPurpose          = MetaPrefix + "purpose"
	MetaSubjectType      = MetaPrefix + "subject.type"
	MetaSubjectID        = MetaPrefix + "subject.id"
	MetaBreakGlass       = MetaPrefix + "break_glass"
	MetaBreakGlassReason = MetaPrefix + "break_glass.reason"
	MetaToolCallID       = MetaPrefix + "tool_call.id"
)

// The HTTP headers of attribution, read only with WithTrustedHeaders.
const (
	HeaderUserID           = "X-Otelaudit-User-Id"
	HeaderUserRoles        = "X-Otelaudit-User-Roles"
	HeaderConversationID   = "X-Otelaudit-Conversation-Id"
	HeaderTurn             = "X-Otelaudit-Turn"
	HeaderModel            = "X-Otelaudit-Model"
	HeaderAgentName        = "X-Otelaudit-Agent-Name"
	HeaderAgentID          = "X-Otelaudit-Agent-Id"
	HeaderSessionID        = "X-Otelaudit-Session-Id"
	HeaderTrigger          = "X-Otelaudit-Trigger"
	HeaderPurpose          = "X-Otelaudit-Purpose"
	HeaderSubjectType      = "X-Otelaudit-Subject-Type"
	HeaderSubjectID        = "X-Otelaudit-Subject-Id"
	HeaderBreakGlass       = "X-Otelaudit-Break-Glass"
	HeaderBreakGlassReason = "X-Otelaudit-Break-Glass-Reason"
)

// Bounds on what a request may claim: the values come from the peer.
const (
	maxIDBytes   = 256
	maxTextBytes = 1024
	maxRoles     = 32
	maxRoleBytes = 128
)

// callInfo is what a request says about its call: attribution and facts.
type callInfo struct {
	userID, conversationID, model, agentName, agentID, sessionID string
	roles                                                        []string
	turn                                                         int
	trigger, purpose, subjectType, subjectID                     string
	breakGlass                                                   bool
	breakGlassReason, toolCallID                                 string
}

type fieldKind uint8

const (
	kindText fieldKind = iota
	kindRoles
	kindTurn
	kindBool
)

// field maps one fact between _meta, the span contract and HTTP headers.
type field struct {
	meta, attr, header string
	kind               fieldKind
	max                int
	text               func(*callInfo) *string // kindText
}

// fields is the mapping documented in README.md; a test keeps the two
// together.
var fields = []field{
	{meta: MetaUserID, attr: attrkey.UserID, header: HeaderUserID, max: maxIDBytes, text: func(c *callInfo) *string { return &c.userID }},
	{meta: MetaUserRoles, attr: attrkey.UserRoles, header: HeaderUserRoles, kind: kindRoles},
	{meta: MetaConversationID, attr: attrkey.GenAIConversationID, header: HeaderConversationID, max: maxIDBytes, text: func(c *callInfo) *string { return &c.conversationID }},
	{meta: MetaTurn, attr: attrkey.TurnNumber, header: HeaderTurn, kind: kindTurn},
	{meta: MetaModel, attr: attrkey.GenAIRequestModel, header: HeaderModel, max: maxIDBytes, text: func(c *callInfo) *string { return &c.model }},
	{meta: MetaAgentName, attr: attrkey.GenAIAgentName, header: HeaderAgentName, max: maxIDBytes, text: func(c *callInfo) *string { return &c.agentName }},
	{meta: MetaAgentID, attr: attrkey.GenAIAgentID, header: HeaderAgentID, max: maxIDBytes, text: func(c *callInfo) *string { return &c.agentID }},
	{meta: MetaSessionID, attr: attrkey.SessionID, header: HeaderSessionID, max: maxIDBytes, text: func(c *callInfo) *string { return &c.sessionID }},
	{meta: MetaTrigger, attr: attrkey.Trigger, header: HeaderTrigger, max: maxIDBytes, text: func(c *callInfo) *string { return &c.trigger }},
	{meta: MetaPurpose, attr: attrkey.Purpose, header: HeaderPurpose, max: maxIDBytes, text: func(c *callInfo) *string { return &c.purpose }},
	{meta: MetaSubjectType, attr: attrkey.SubjectType, header: HeaderSubjectType, max: maxIDBytes, text: func(c *callInfo) *string { return &c.subjectType }},
	{meta: MetaSubjectID, attr: attrkey.SubjectID, header: HeaderSubjectID, max: maxIDBytes, text: func(c *callInfo) *string { return &c.subjectID }},
	{meta: MetaBreakGlass, attr: attrkey.BreakGlass, header: HeaderBreakGlass, kind: kindBool},
	{meta: MetaBreakGlassReason, attr: attrkey.BreakGlassReason, header: HeaderBreakGlassReason, max: maxTextBytes, text: func(c *callInfo) *string { return &c.breakGlassReason }},
	// The tool call id is per call: a gateway has no business setting it.
	{meta: MetaToolCallID, attr: attrkey.GenAIToolCallID, max: maxIDBytes, text: func(c *callInfo) *string { return &c.toolCallID }},
}

// readMeta sets the facts m states. A prefixed key wins over the attribute
// name; values of an unexpected type are ignored.
func readMeta(m map[string]any, c *callInfo) {
	if len(m) == 0 {
		return
	}
	for i := range fields {
		f := &fields[i]
		v, ok := m[f.meta]
		if !ok || v == nil {
			if v, ok = m[f.attr]; !ok || v == nil {
				continue
			}
		}
		switch f.kind {
		case kindText:
			if s, ok := metaText(v); ok && s != "" {
				*f.text(c) = bound(s, f.max)
			}
		case kindRoles:
			if roles, ok := metaRoles(v); ok {
				c.roles = roles
			}
		case kindTurn:
			if n, ok := metaInt(v); ok && n > 0 {
				c.turn = n
			}
		case kindBool:
			if b, ok := metaBool(v); ok {
				c.breakGlass = b
			}
		}
	}
}

// readHeaders sets the facts that the X-Otelaudit-* headers of h state,
// over those already in c.
func readHeaders(h http.Header, c *callInfo) {
	if len(h) == 0 {
		return
	}
	for i := range fields {
		f := &fields[i]
		if f.header == "" {
			continue
		}
		vals := h.Values(f.header)
		if len(vals) == 0 {
			continue
		}
		switch f.kind {
		case kindText:
			if s := strings.TrimSpace(vals[0]); s != "" {
				*f.text(c) = bound(s, f.max)
			}
		case kindRoles:
			c.roles = splitRoles(strings.Join(vals, ","))
		case kindTurn:
			if n, err := strconv.Atoi(strings.TrimSpace(vals[0])); err == nil && n > 0 {
				c.turn = n
			}
		case kindBool:
			if b, err := strconv.ParseBool(strings.TrimSpace(vals[0])); err == nil {
				c.breakGlass = b
			}
		}
	}
}

// writeMeta writes c's known facts into m under the prefixed keys.
func writeMeta(m map[string]any, c *callInfo) {
	for i := range fields {
		f := &fields[i]
		switch f.kind {
		case kindText:
			if s := *f.text(c); s != "" {
				m[f.meta] = s
			}
		case kindRoles:
			if len(c.roles) > 0 {
				m[f.meta] = append([]string(nil), c.roles...)
			}
		case kindTurn:
			if c.turn > 0 {
				m[f.meta] = c.turn
			}
		case kindBool:
			if c.breakGlass {
				m[f.meta] = true
			}
		}
	}
}

// infoFrom returns the facts of a client's call: the attribution of its
// context and its call options.
func infoFrom(a instrumentation.Attribution, f instrumentation.CallFacts) callInfo {
	return callInfo{
		userID:           a.UserID,
		roles:            a.UserRoles,
		conversationID:   a.ConversationID,
		turn:             a.TurnNumber,
		model:            a.Model,
		agentName:        a.AgentName,
		agentID:          a.AgentID,
		sessionID:        a.SessionID,
		trigger:          string(f.Trigger),
		purpose:          f.Purpose,
		subjectType:      f.SubjectType,
		subjectID:        f.SubjectID,
		breakGlass:       f.BreakGlass,
		breakGlassReason: f.BreakGlassReason,
		toolCallID:       f.ToolCallID,
	}
}

func (c *callInfo) attribution() instrumentation.Attribution {
	return instrumentation.Attribution{
		UserID:         c.userID,
		UserRoles:      c.roles,
		ConversationID: c.conversationID,
		TurnNumber:     c.turn,
		Model:          c.model,
		AgentName:      c.agentName,
		AgentID:        c.agentID,
		SessionID:      c.sessionID,
	}
}

func (c *callInfo) facts() instrumentation.CallFacts {
	return instrumentation.CallFacts{
		Trigger:          instrumentation.Trigger(c.trigger),
		Purpose:          c.purpose,
		SubjectType:      c.subjectType,
		SubjectID:        c.subjectID,
		BreakGlass:       c.breakGlass,
		BreakGlassReason: c.breakGlassReason,
		ToolCallID:       c.toolCallID,
	}
}

// metaText returns a string, or the decimal form of a number (user ids are
// sometimes numeric).
func metaText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return x.String(), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

// metaRoles accepts a JSON array of strings or one comma-separated string.
func metaRoles(v any) ([]string, bool) {
	switch x := v.(type) {
	case string:
		return splitRoles(x), true
	case []string:
		roles := make([]string, 0, min(len(x), maxRoles))
		for _, r := range x {
			if len(roles) == maxRoles {
				break
			}
			if r = strings.TrimSpace(r); r != "" {
				roles = append(roles, bound(r, maxRoleBytes))
			}
		}
		return roles, true
	case []any:
		roles := make([]string, 0, min(len(x), maxRoles))
		for _, e := range x {
			if len(roles) == maxRoles {
				break
			}
			if r, ok := e.(string); ok {
				if r = strings.TrimSpace(r); r != "" {
					roles = append(roles, bound(r, maxRoleBytes))
				}
			}
		}
		return roles, true
	}
	return nil, false
}

func splitRoles(s string) []string {
	var roles []string
	for r := range strings.SplitSeq(s, ",") {
		if len(roles) == maxRoles {
			break
		}
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, bound(r, maxRoleBytes))
		}
	}
	return roles
}

// metaInt accepts a JSON number that is a whole number, or its decimal
// string.
func metaInt(v any) (int, bool) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || x < 0 || x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case int:
		return x, true
	case int64:
		if x < 0 || x > math.MaxInt32 {
			return 0, false
		}
		return int(x), true
	case json.Number:
		n, err := strconv.Atoi(x.String())
		return n, err == nil
	case string:
		n, err := strconv.Atoi(strings.TrimSpace(x))
		return n, err == nil
	}
	return 0, false
}

func metaBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		return b, err == nil
	}
	return false, false
}

// bound returns s as valid UTF-8 of at most n bytes, cut on a character
// boundary.
func bound(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// metaCarrier lets a propagator read and write a request's _meta. Only
// string values are read: traceparent, tracestate and baggage are strings.
type metaCarrier map[string]any

func (c metaCarrier) Get(key string) string {
	s, _ := c[key].(string)
	return s
}

func (c metaCarrier) Set(key, value string) { c[key] = value }

func (c metaCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}
