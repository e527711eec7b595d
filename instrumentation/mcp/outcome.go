package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// Error types of failures that carry no JSON-RPC code.
const (
	// ErrorTypeTool is the error.type of a result with isError set, as the
	// MCP semantic conventions prescribe.
	ErrorTypeTool = "tool_error"
	// ErrorTypeConnectionClosed is the error.type of a call whose
	// connection closed before the response came.
	ErrorTypeConnectionClosed = "connection_closed"
	// ErrorTypeCanceled and ErrorTypeTimeout are the error.type of a call
	// whose context was canceled or timed out.
	ErrorTypeCanceled = "canceled"
	ErrorTypeTimeout  = "timeout"
)

// maxErrorBytes bounds the error text taken from a result's content.
const maxErrorBytes = 1024

// toolError is a result with isError: the tool ran and failed.
type toolError struct{ msg string }

func (e *toolError) Error() string   { return e.msg }
func (*toolError) ErrorType() string { return ErrorTypeTool }

// rpcError is a JSON-RPC error response. The conventions make its code the
// error.type, and its message the status description.
type rpcError struct {
	code int64
	msg  string
	err  error
}

func (e *rpcError) Error() string     { return e.msg }
func (e *rpcError) ErrorType() string { return strconv.FormatInt(e.code, 10) }
func (e *rpcError) Unwrap() error     { return e.err }

// httpError is a request refused at the HTTP level, before JSON-RPC: its
// status code is the error.type, as in the HTTP conventions.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string     { return e.msg }
func (e *httpError) ErrorType() string { return strconv.Itoa(e.status) }

// kindError gives a failure without a code a low-cardinality error.type.
type kindError struct {
	typ string
	err error
}

func (e *kindError) Error() string     { return e.err.Error() }
func (e *kindError) ErrorType() string { return e.typ }
func (e *kindError) Unwrap() error     { return e.err }

// callError returns the attributes that go with a failed request,
// rpc.response.status_code for a JSON-RPC error, and the error to record.
// The message is the outer error's, as the SDK sends it.
func callError(err error) ([]attribute.KeyValue, error) {
	var wire *jsonrpc.Error
	switch {
	case errors.As(err, &wire) && wire != nil:
		code := strconv.FormatInt(wire.Code, 10)
		return []attribute.KeyValue{semconv.RPCResponseStatusCode(code)},
			&rpcError{code: wire.Code, msg: err.Error(), err: err}
	case errors.Is(err, sdkmcp.ErrConnectionClosed):
		return nil, &kindError{typ: ErrorTypeConnectionClosed, err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return nil, &kindError{typ: ErrorTypeTimeout, err: err}
	case errors.Is(err, context.Canceled):
		return nil, &kindError{typ: ErrorTypeCanceled, err: err}
	}
	return nil, err
}

// resultPayload returns what of a tool result is recorded (as a summary by
// default): the structured content, else the one text content (recorded
// as JSON when it holds a JSON object or array), else the content list.
func resultPayload(res *sdkmcp.CallToolResult) any {
	if res == nil {
		return nil
	}
	if res.StructuredContent != nil {
		return res.StructuredContent
	}
	switch len(res.Content) {
	case 0:
		return nil
	case 1:
		if t, ok := res.Content[0].(*sdkmcp.TextContent); ok {
			return t.Text
		}
	}
	b, err := json.Marshal(res.Content)
	if err != nil {
		return nil
	}
	return json.RawMessage(b)
}

// toolErrorOf returns the error of a result with isError: the text of its
// content, which is what the model is told.
func toolErrorOf(res *sdkmcp.CallToolResult) error {
	var b strings.Builder
	for _, c := range res.Content {
		t, ok := c.(*sdkmcp.TextContent)
		if !ok || t.Text == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(t.Text)
		if b.Len() >= maxErrorBytes {
			break
		}
	}
	msg := bound(b.String(), maxErrorBytes)
	if msg == "" {
		msg = "tool returned an error result"
	}
	return &toolError{msg: msg}
}

// idString is jsonrpc.request.id: the id as its JSON number or string.
func idString(id jsonrpc.ID) string {
	switch v := id.Raw().(type) {
	case string:
		return bound(v, maxIDBytes)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}
