// Package instrumentation turns an AI agent's tool calls into OpenTelemetry
// spans that can serve as audit evidence.
//
// Each call becomes one span named "execute_tool {tool}", of kind INTERNAL,
// that carries the GenAI semantic-convention attributes of a tool call
// (gen_ai.operation.name, gen_ai.tool.name, gen_ai.tool.call.id,
// gen_ai.tool.type, gen_ai.tool.call.arguments, gen_ai.tool.call.result, ...)
// and the attribution an auditor needs: the user and their roles, the
// conversation and turn, the model and agent, the session, and the trigger,
// purpose, subject and break-glass reason of the call (audit.* attributes).
//
// # Attribution
//
// Who a call is made for travels in the context.Context, so that it is set
// once where it is known (an HTTP middleware knows the user, the agent loop
// knows the conversation and turn) and reaches every tool call below:
//
//	ctx = instrumentation.WithAttribution(ctx, instrumentation.Attribution{
//		UserID: "u-123", UserRoles: []string{"support"}, SessionID: "s-9",
//	})
//	ctx = instrumentation.WithConversation(ctx, "conv-1")
//	ctx = instrumentation.WithTurn(ctx, 3)
//
// # Calls
//
// An Auditor wraps the execution of a tool: Auditor.Execute runs a handler
// and records its span, Run does the same with typed arguments and result,
// and Auditor.Start with ToolCall.End records a call whose execution does not
// fit a callback. A Registry maps tool names to handlers that take JSON
// arguments, as they arrive from a model; an unknown tool or malformed
// arguments become a failed span and an error, never a crash.
//
// Per-call facts are CallOptions: WithTrigger, WithPurpose, WithSubject,
// WithBreakGlass, WithToolCallID, WithToolType and WithAttributes.
//
// # What is recorded
//
// Arguments are recorded as compact JSON with the values of sensitive keys
// (password, token, api_key, secret, authorization, credit_card, ssn, ...)
// replaced by a mask before they leave the process, recursively through
// nested objects and arrays. Results are summarised, never recorded in full
// by default: the summary says whether the call succeeded and copies a
// configurable set of identifier members (id, order_id, status, count, ...).
// Payloads are bounded in size and nesting depth; whatever is cut is marked
// with "_truncated": true. Capture of arguments and results can be switched
// off, or results recorded in full, for all tools or per tool, since the
// GenAI conventions treat them as opt-in content.
//
// An error returned by a handler sets the span status to Error, with
// error.type and the message; a panic is recorded the same way, with an
// exception event, and then continues.
//
// # Concurrency
//
// An Auditor and a Registry are safe for concurrent use. Attribution values
// in a context are immutable.
package instrumentation
