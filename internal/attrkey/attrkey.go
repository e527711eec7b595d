// Package attrkey names the span attributes of the otelaudit span contract
// (SPEC §2) in one place, so that the instrumentation that writes them, the
// processor that redacts them, and the exporter and query code that read them
// cannot drift apart.
//
// GenAI keys follow go.opentelemetry.io/otel/semconv/v1.41.0; the audit.* keys
// cover what the GenAI conventions lack. The keys of other ecosystems
// (OpenInference, OpenLLMetry/Traceloop, the Vercel AI SDK and MCP) are listed
// so that their tool spans map onto the same audit record.
package attrkey

// GenAI semantic conventions (semconv v1.41.0).
const (
	GenAIOperationName   = "gen_ai.operation.name"
	GenAIToolName        = "gen_ai.tool.name"
	GenAIToolCallID      = "gen_ai.tool.call.id"
	GenAIToolType        = "gen_ai.tool.type"
	GenAIToolDescription = "gen_ai.tool.description"
	GenAIToolCallArgs    = "gen_ai.tool.call.arguments"
	GenAIToolCallResult  = "gen_ai.tool.call.result"
	GenAIConversationID  = "gen_ai.conversation.id"
	GenAIRequestModel    = "gen_ai.request.model"
	GenAIResponseModel   = "gen_ai.response.model"
	GenAIAgentName       = "gen_ai.agent.name"
	GenAIAgentID         = "gen_ai.agent.id"
	GenAIProviderName    = "gen_ai.provider.name"

	// OperationExecuteTool is the gen_ai.operation.name value of a tool call.
	OperationExecuteTool = "execute_tool"
)

// General semantic conventions used for attribution.
const (
	UserID            = "user.id"
	UserRoles         = "user.roles"
	SessionID         = "session.id"
	ClientAddress     = "client.address"
	UserAgentOriginal = "user_agent.original"
	ErrorType         = "error.type"
	ServiceName       = "service.name"
)

// otelaudit's own attributes, for what the GenAI conventions lack.
const (
	TurnNumber       = "audit.turn_number"
	Trigger          = "audit.trigger"
	Purpose          = "audit.purpose"
	SubjectType      = "audit.subject.type"
	SubjectID        = "audit.subject.id"
	BreakGlass       = "audit.break_glass"
	BreakGlassReason = "audit.break_glass.reason"
	RedactionCount   = "audit.redaction.count"
	RedactionPaths   = "audit.redaction.paths"
)

// Values of audit.trigger.
const (
	TriggerUserRequest = "user_request"
	TriggerProactive   = "proactive"
	TriggerRetry       = "retry"
	TriggerFollowUp    = "follow_up"
	TriggerSystem      = "system"
)

// OpenInference (Arize) tool spans.
const (
	OpenInferenceSpanKind = "openinference.span.kind" // "TOOL"
	OpenInferenceToolName = "tool.name"
	OpenInferenceInput    = "input.value"
	OpenInferenceOutput   = "output.value"
	// OpenInferenceToolCallArgs carries a tool call's arguments on LLM spans
	// and, in newer instrumentations, on tool spans.
	OpenInferenceToolCallArgs = "tool_call.function.arguments"
	OpenInferenceToolCallID   = "tool_call.id"
)

// OpenLLMetry / Traceloop tool spans.
const (
	TraceloopSpanKind    = "traceloop.span.kind" // "tool"
	TraceloopEntityName  = "traceloop.entity.name"
	TraceloopEntityInput = "traceloop.entity.input"
	TraceloopEntityOut   = "traceloop.entity.output"
)

// Vercel AI SDK tool spans (span name "ai.toolCall").
const (
	VercelToolCallName   = "ai.toolCall.name"
	VercelToolCallID     = "ai.toolCall.id"
	VercelToolCallArgs   = "ai.toolCall.args"
	VercelToolCallResult = "ai.toolCall.result"
	// AI SDK 5 renamed args/result to input/output.
	VercelToolCallInput  = "ai.toolCall.input"
	VercelToolCallOutput = "ai.toolCall.output"
)

// Model Context Protocol spans.
const (
	MCPMethodName      = "mcp.method.name" // "tools/call"
	MCPSessionID       = "mcp.session.id"
	JSONRPCRequestID   = "jsonrpc.request.id"
	MCPMethodToolsCall = "tools/call"
)

// PayloadAttributes returns the string attributes that carry JSON-encoded tool
// arguments or results across the ecosystems above, in a new slice the caller
// may keep. The redaction processor parses these by default; the exporter
// reads arguments and results from them.
func PayloadAttributes() []string {
	return []string{
		GenAIToolCallArgs,
		GenAIToolCallResult,
		OpenInferenceInput,
		OpenInferenceOutput,
		OpenInferenceToolCallArgs,
		TraceloopEntityInput,
		TraceloopEntityOut,
		VercelToolCallArgs,
		VercelToolCallResult,
		VercelToolCallInput,
		VercelToolCallOutput,
	}
}
