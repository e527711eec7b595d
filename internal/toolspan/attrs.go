package toolspan

import (
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Keys read by the mapping that the shared span contract (attrkey) does not
// name, because only the mapping needs them.
const (
	keyOIToolID        = "tool.id"                 // OpenInference (some instrumentations)
	keyOIFunctionName  = "tool_call.function.name" // OpenInference
	keyOIModelName     = "llm.model_name"          // OpenInference
	keyVercelOperation = "ai.operationId"          // Vercel AI SDK: "ai.toolCall"
	keyVercelModel     = "ai.model.id"             // Vercel AI SDK
	keyEnduserID       = "enduser.id"              // deprecated semconv, still emitted
	keyExceptionMsg    = "exception.message"       // exception event
	keyExceptionType   = "exception.type"          // exception event
	prefixTraceloopAP  = "traceloop.association.properties."
	prefixVercelMeta   = "ai.telemetry.metadata."
	vercelToolCallSpan = "ai.toolCall"
	eventException     = "exception"
)

// slot numbers one attribute the mapping reads; attrs holds at most one value
// per slot, so that the span's attributes are scanned exactly once.
type slot uint8

const (
	sOperationName slot = iota
	sToolName
	sToolCallID
	sToolType
	sToolCallArgs
	sToolCallResult
	sConversationID
	sRequestModel
	sResponseModel
	sAgentName
	sAgentID
	sUserID
	sUserRoles
	sSessionID
	sClientAddress
	sUserAgent
	sErrorType
	sTurnNumber
	sTrigger
	sPurpose
	sSubjectType
	sSubjectID
	sBreakGlass
	sBreakGlassReason
	sRedactionCount
	sRedactionPaths
	sOISpanKind
	sOIToolName
	sOIInput
	sOIOutput
	sOIToolCallID
	sOIToolID
	sOIFunctionName
	sOIFunctionArgs
	sOIModel
	sTLSpanKind
	sTLEntityName
	sTLEntityInput
	sTLEntityOutput
	sVercelName
	sVercelID
	sVercelArgs
	sVercelInput
	sVercelResult
	sVercelOutput
	sVercelOperation
	sVercelModel
	sMCPMethod
	sMCPSessionID
	sJSONRPCRequestID
	sEnduserID
	sMetaUserID
	sMetaSessionID
	sMetaConversationID
	numSlots
)

// attrs is the result of one pass over a span's attributes.
type attrs struct {
	set uint64
	v   [numSlots]pcommon.Value
}

func (a *attrs) has(s slot) bool { return a.set&(1<<s) != 0 }

func (a *attrs) put(s slot, v pcommon.Value) {
	if a.has(s) {
		return // the first occurrence wins, as with pcommon.Map.Get
	}
	a.set |= 1 << s
	a.v[s] = v
}

// get returns the value in slot s; ok is false when the span lacks it.
func (a *attrs) get(s slot) (pcommon.Value, bool) {
	if !a.has(s) {
		return pcommon.Value{}, false
	}
	return a.v[s], true
}

// str returns slot s as a valid UTF-8 string, "" when absent. Values of other
// types are rendered with AsString (an int user.id becomes "42").
func (a *attrs) str(s slot) string {
	v, ok := a.get(s)
	if !ok {
		return ""
	}
	return valueString(v)
}

// first returns the first non-empty string among the slots.
func (a *attrs) first(slots ...slot) string {
	for _, s := range slots {
		if v := a.str(s); v != "" {
			return v
		}
	}
	return ""
}

// scan reads every attribute of m that the mapping knows into a.
func (a *attrs) scan(m pcommon.Map) {
	for k, v := range m.All() {
		if s, ok := slotOf(k); ok {
			a.put(s, v)
			continue
		}
		a.scanPrefixed(k, v)
	}
}

// slotOf maps an attribute key to its slot.
func slotOf(k string) (slot, bool) {
	switch k {
	case attrkey.GenAIOperationName:
		return sOperationName, true
	case attrkey.GenAIToolName:
		return sToolName, true
	case attrkey.GenAIToolCallID:
		return sToolCallID, true
	case attrkey.GenAIToolType:
		return sToolType, true
	case attrkey.GenAIToolCallArgs:
		return sToolCallArgs, true
	case attrkey.GenAIToolCallResult:
		return sToolCallResult, true
	case attrkey.GenAIConversationID:
		return sConversationID, true
	case attrkey.GenAIRequestModel:
		return sRequestModel, true
	case attrkey.GenAIResponseModel:
		return sResponseModel, true
	case attrkey.GenAIAgentName:
		return sAgentName, true
	case attrkey.GenAIAgentID:
		return sAgentID, true
	case attrkey.UserID:
		return sUserID, true
	case attrkey.UserRoles:
		return sUserRoles, true
	case attrkey.SessionID:
		return sSessionID, true
	case attrkey.ClientAddress:
		return sClientAddress, true
	case attrkey.UserAgentOriginal:
		return sUserAgent, true
	case attrkey.ErrorType:
		return sErrorType, true
	case attrkey.TurnNumber:
		return sTurnNumber, true
	case attrkey.Trigger:
		return sTrigger, true
	case attrkey.Purpose:
		return sPurpose, true
	case attrkey.SubjectType:
		return sSubjectType, true
	case attrkey.SubjectID:
		return sSubjectID, true
	case attrkey.BreakGlass:
		return sBreakGlass, true
	case attrkey.BreakGlassReason:
		return sBreakGlassReason, true
	case attrkey.RedactionCount:
		return sRedactionCount, true
	case attrkey.RedactionPaths:
		return sRedactionPaths, true
	case attrkey.OpenInferenceSpanKind:
		return sOISpanKind, true
	case attrkey.OpenInferenceToolName:
		return sOIToolName, true
	case attrkey.OpenInferenceInput:
		return sOIInput, true
	case attrkey.OpenInferenceOutput:
		return sOIOutput, true
	case attrkey.OpenInferenceToolCallID:
		return sOIToolCallID, true
	case keyOIToolID:
		return sOIToolID, true
	case keyOIFunctionName:
		return sOIFunctionName, true
	case attrkey.OpenInferenceToolCallArgs:
		return sOIFunctionArgs, true
	case keyOIModelName:
		return sOIModel, true
	case attrkey.TraceloopSpanKind:
		return sTLSpanKind, true
	case attrkey.TraceloopEntityName:
		return sTLEntityName, true
	case attrkey.TraceloopEntityInput:
		return sTLEntityInput, true
	case attrkey.TraceloopEntityOut:
		return sTLEntityOutput, true
	case attrkey.VercelToolCallName:
		return sVercelName, true
	case attrkey.VercelToolCallID:
		return sVercelID, true
	case attrkey.VercelToolCallArgs:
		return sVercelArgs, true
	case attrkey.VercelToolCallInput:
		return sVercelInput, true
	case attrkey.VercelToolCallResult:
		return sVercelResult, true
	case attrkey.VercelToolCallOutput:
		return sVercelOutput, true
	case keyVercelOperation:
		return sVercelOperation, true
	case keyVercelModel:
		return sVercelModel, true
	case attrkey.MCPMethodName:
		return sMCPMethod, true
	case attrkey.MCPSessionID:
		return sMCPSessionID, true
	case attrkey.JSONRPCRequestID:
		return sJSONRPCRequestID, true
	case keyEnduserID:
		return sEnduserID, true
	}
	return 0, false
}

// scanPrefixed picks user, session and conversation ids out of the free-form
// metadata that Traceloop (association properties) and the Vercel AI SDK
// (telemetry metadata) attach; both spell keys as the application chose, so
// the common snake_case and camelCase forms are accepted.
func (a *attrs) scanPrefixed(k string, v pcommon.Value) {
	var rest string
	switch {
	case strings.HasPrefix(k, prefixTraceloopAP):
		rest = k[len(prefixTraceloopAP):]
	case strings.HasPrefix(k, prefixVercelMeta):
		rest = k[len(prefixVercelMeta):]
	default:
		return
	}
	switch rest {
	case "user_id", "userId", "userID":
		a.put(sMetaUserID, v)
	case "session_id", "sessionId", "sessionID":
		a.put(sMetaSessionID, v)
	case "conversation_id", "conversationId", "conversationID", "chat_id", "chatId", "thread_id", "threadId":
		a.put(sMetaConversationID, v)
	}
}
