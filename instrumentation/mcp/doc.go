// Package mcp records the tool calls of Model Context Protocol servers and
// clients built with the official Go SDK
// (github.com/modelcontextprotocol/go-sdk) as otelaudit spans, without
// wrapping each tool by hand.
//
// Import it under another name, since the SDK's package is also called mcp:
//
//	import auditmcp "github.com/otelaudit/otelaudit/instrumentation/mcp"
//
// # Server
//
// Every tools/call request becomes one span that follows both the
// otelaudit span contract of an execute_tool span and the OpenTelemetry
// semantic conventions for MCP: it is named "tools/call {tool}", of kind
// SERVER, and carries gen_ai.operation.name=execute_tool, gen_ai.tool.name,
// gen_ai.tool.call.id, the masked arguments (gen_ai.tool.call.arguments),
// a result summary (gen_ai.tool.call.result), the attribution (user.id,
// user.roles, gen_ai.conversation.id, audit.turn_number, audit.purpose,
// audit.subject.*, audit.break_glass, ...), mcp.method.name=tools/call,
// mcp.session.id, mcp.protocol.version, jsonrpc.request.id and, over HTTP,
// client.address and client.port.
//
//	auditor, err := auditmcp.New(auditmcp.WithTracerProvider(tp))
//	server := sdkmcp.NewServer(impl, nil)
//	server.AddReceivingMiddleware(auditor.ServerMiddleware())
//	handler := auditor.Handler(sdkmcp.NewStreamableHTTPHandler(
//		func(*http.Request) *sdkmcp.Server { return server }, nil))
//
// ServerMiddleware records the calls that reach the server's method
// handlers. Handler (for the streamable HTTP handler) and Transport (for
// any other server transport) add what only the transport knows, and
// record the tools/call requests that the SDK refuses before any
// middleware runs, so that a malformed request is audited as a failure
// rather than lost.
//
// A result with isError is a failure with error.type "tool_error"; a
// JSON-RPC error response (an unknown tool, invalid parameters) is a
// failure whose error.type and rpc.response.status_code are the error code.
//
// # Attribution
//
// The server reads who a call is made for from the request's _meta, under
// the "otelaudit/" keys listed in README.md (or the span attribute names,
// such as "user.id"), and, only with WithTrustedHeaders, from
// X-Otelaudit-* HTTP headers set by an authenticating gateway. A user id
// from the SDK's bearer-token verification wins over both.
//
// # Client
//
// ClientMiddleware, or Auditor.CallTool, records each tools/call request
// an agent sends as a span of kind CLIENT, with the attribution of its
// context (instrumentation.WithUser, WithConversation, ...), and writes the
// span's W3C trace context (traceparent, tracestate, baggage) and the
// attribution into the request's _meta, so that the server's span is the
// child of the client's in one trace and records the same user.
//
//	client := sdkmcp.NewClient(impl, nil)
//	client.AddSendingMiddleware(auditor.ClientMiddleware())
//	session, err := client.Connect(ctx, auditor.Transport(&sdkmcp.StreamableClientTransport{Endpoint: url}), nil)
//	ctx = instrumentation.WithUser(ctx, "n-204", "nurse")
//	res, err := auditor.CallTool(ctx, session, &sdkmcp.CallToolParams{Name: "access_patient_record", Arguments: args},
//		instrumentation.WithPurpose("treatment"), instrumentation.WithSubject("patient", "P-1001"))
//
// Masking of sensitive argument keys, capture of arguments and results,
// payload bounds and per-tool settings are those of the
// instrumentation.Auditor, configured with WithAuditorOptions.
//
// # Concurrency
//
// An Auditor is safe for concurrent use by any number of servers, clients
// and sessions.
package mcp
