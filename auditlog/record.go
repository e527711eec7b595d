package auditlog

import (
	"encoding/json"
	"strings"
)

// FormatVersion is the value of Record.V written by this package.
const FormatVersion = 1

// TimeFormat is the layout of Record.Timestamp and Retention.RetainUntil:
// RFC 3339 in UTC with exactly nine fractional digits, so that timestamps
// sort as strings.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// ZeroHash is the prev_hash of the first record of a chain.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// MaxRecordBytes is the longest record line, its newline included, that
// readers take: 16 MiB. Verify and ReadSegmentFile buffer at most one line
// at a time, so a segment holding a longer line (bytes appended by hand,
// a crash's zero-filled tail) costs them this much memory, not the line's
// length: they report it without reading it whole. The exporter's span
// mapping bounds each of the two payloads a record carries to
// max_payload_bytes (64 KiB by default, at most 4 MiB), every other string
// field to 16 KiB and each list to 64 KiB, so its records stay below 12
// MiB whatever a span holds. Append itself does not check: a record built
// by other code must respect the bound.
const MaxRecordBytes = 16 << 20

// Initiator types of Attribution.InitiatorType: who caused a tool call.
const (
	InitiatorUser   = "user"
	InitiatorModel  = "model"
	InitiatorSystem = "system"
)

// Record is one audit record: one tool call, one line of a segment file.
//
// Every member is always written (unknown strings as "", unknown objects as
// null) so that the schema is stable for readers in other languages. The
// canonical form of a record is its RFC 8785 (JCS) serialisation; Hash is the
// lowercase hex SHA-256 of the canonical form without the "hash" member, and
// PrevHash links it to the record before it in the same chain.
type Record struct {
	// V is the format version, FormatVersion.
	V int `json:"v"`
	// ChainID names the chain the record belongs to; it equals the origin
	// line of the chain's checkpoints.
	ChainID string `json:"chain_id"`
	// Seq is the record's 0-based position in its chain, gap-free.
	Seq uint64 `json:"seq"`
	// Timestamp is the span start time, formatted with TimeFormat.
	Timestamp string `json:"timestamp"`

	TraceID      string `json:"trace_id"`
	SpanID       string `json:"span_id"`
	ParentSpanID string `json:"parent_span_id"`

	// DurationMS is span end minus start, in milliseconds.
	DurationMS float64 `json:"duration_ms"`
	// Operation is gen_ai.operation.name, "execute_tool" for every
	// recognised tool span whatever its ecosystem.
	Operation  string `json:"operation"`
	ToolName   string `json:"tool_name"`
	ToolCallID string `json:"tool_call_id"`
	ToolType   string `json:"tool_type"`

	// Arguments holds the (already redacted) tool arguments as canonical
	// JSON: an object or array when the span carried JSON or a map, a JSON
	// string when it carried text that is not JSON, null when absent. A
	// payload over the exporter's limit is replaced by a Truncated object.
	Arguments json.RawMessage `json:"arguments"`
	// ResultSummary holds the (already redacted) result summary, encoded
	// like Arguments.
	ResultSummary json.RawMessage `json:"result_summary"`

	ConversationID string `json:"conversation_id"`
	// TurnNumber is audit.turn_number, nil when the span has none.
	TurnNumber *int64 `json:"turn_number"`
	// Model is gen_ai.request.model, else gen_ai.response.model.
	Model     string   `json:"model"`
	Agent     Agent    `json:"agent"`
	UserID    string   `json:"user_id"`
	UserRoles []string `json:"user_roles"`
	Session   Session  `json:"session"`

	// Trigger is audit.trigger: user_request, proactive, retry, follow_up
	// or system ("" when unknown).
	Trigger string  `json:"trigger"`
	Purpose string  `json:"purpose"`
	Subject Subject `json:"subject"`

	BreakGlass       bool   `json:"break_glass"`
	BreakGlassReason string `json:"break_glass_reason"`

	// Success is false when the span status is Error or error.type is set.
	Success bool `json:"success"`
	// Error describes a failure; nil on success.
	Error *Error `json:"error"`

	// Redaction reports what the redaction processor removed: a count and
	// attribute paths, never values.
	Redaction Redaction `json:"redaction"`

	Attribution Attribution `json:"attribution"`
	Retention   Retention   `json:"retention"`
	Source      Source      `json:"source"`

	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
}

// Agent identifies the AI agent that made the call (gen_ai.agent.*).
type Agent struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

// Session carries session.id, client.address and user_agent.original.
type Session struct {
	ID            string `json:"id"`
	ClientAddress string `json:"client_address"`
	UserAgent     string `json:"user_agent"`
}

// Subject names whose data the call touched (audit.subject.*), for example
// type "patient" and id "P-1001".
type Subject struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// Same reports whether s and o name the same subject: the same id,
// exactly, and the same type in any letter case. Agents spell a type as
// they please ("patient", "Patient"), and retention, legal holds and every
// query must put both spellings together; ids are the systems' own keys
// and stay exact ("P-7" and "p-7" may be different people).
func (s Subject) Same(o Subject) bool { return s.ID == o.ID && strings.EqualFold(s.Type, o.Type) }

// Error describes a failed call: error.type and the span status message.
type Error struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// Redaction mirrors audit.redaction.count and audit.redaction.paths.
type Redaction struct {
	Count int64    `json:"count"`
	Paths []string `json:"paths"`
}

// Attribution answers "who did it": the initiator (a user id, a model, or
// the agent/service acting on a rule), the kind of initiator, and the
// initiator's role, together with the model, tool and trigger involved.
//
// For trigger user_request or follow_up with a known user, the initiator is
// that user and InitiatorRole their roles joined by ","; for proactive it is
// the model ("ai_agent"); for retry and system it is the agent or service
// ("system"). Without a trigger, a known user is the initiator.
type Attribution struct {
	Initiator     string `json:"initiator"`
	InitiatorType string `json:"initiator_type"`
	InitiatorRole string `json:"initiator_role"`
	Model         string `json:"model"`
	Tool          string `json:"tool"`
	Trigger       string `json:"trigger"`
}

// Retention is the record's retention tag from the configured policy.
type Retention struct {
	Class string `json:"class"`
	Days  int    `json:"days"`
	// RetainUntil is when the record may be pruned, formatted with
	// TimeFormat: Timestamp plus Days (Policy.Retention), or, as the audit
	// exporter writes it, the later of Timestamp and the time of writing
	// plus Days.
	RetainUntil string `json:"retain_until"`
}

// Source says where the record came from: the span convention it was mapped
// from ("genai", "openinference", "traceloop", "vercel_ai", "mcp"), the
// resource's service.name, the instrumentation scope, and the authenticated
// collector client that sent the span, when the receiver authenticated one.
type Source struct {
	Convention string `json:"convention"`
	Service    string `json:"service"`
	Scope      string `json:"scope"`
	Client     string `json:"client"`
}
