package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

func TestResultPayload(t *testing.T) {
	structured := map[string]any{"id": "x"}
	tests := []struct {
		name string
		res  *sdkmcp.CallToolResult
		want any
	}{
		{name: "nil", res: nil, want: nil},
		{name: "empty", res: &sdkmcp.CallToolResult{}, want: nil},
		{name: "structured wins", res: &sdkmcp.CallToolResult{StructuredContent: structured,
			Content: []sdkmcp.Content{&sdkmcp.TextContent{Text: "ignored"}}}, want: structured},
		{name: "one text", res: &sdkmcp.CallToolResult{Content: []sdkmcp.Content{&sdkmcp.TextContent{Text: `{"a":1}`}}}, want: `{"a":1}`},
		{name: "several", res: &sdkmcp.CallToolResult{Content: []sdkmcp.Content{
			&sdkmcp.TextContent{Text: "a"}, &sdkmcp.TextContent{Text: "b"}}},
			want: json.RawMessage(`[{"type":"text","text":"a"},{"type":"text","text":"b"}]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resultPayload(tt.res)
			if raw, ok := got.(json.RawMessage); ok {
				if string(raw) != string(tt.want.(json.RawMessage)) {
					t.Errorf("payload %s, want %s", raw, tt.want)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("payload %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestToolErrorOf(t *testing.T) {
	tests := []struct {
		name    string
		content []sdkmcp.Content
		want    string
	}{
		{name: "text", content: []sdkmcp.Content{&sdkmcp.TextContent{Text: "no such patient"}}, want: "no such patient"},
		{name: "joined", content: []sdkmcp.Content{&sdkmcp.TextContent{Text: "a"}, &sdkmcp.ImageContent{MIMEType: "image/png"}, &sdkmcp.TextContent{Text: "b"}}, want: "a; b"},
		{name: "no text", content: []sdkmcp.Content{&sdkmcp.ImageContent{MIMEType: "image/png"}}, want: "tool returned an error result"},
		{name: "long", content: []sdkmcp.Content{&sdkmcp.TextContent{Text: strings.Repeat("x", 5000)}}, want: strings.Repeat("x", maxErrorBytes)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := toolErrorOf(&sdkmcp.CallToolResult{Content: tt.content, IsError: true})
			if err.Error() != tt.want {
				t.Errorf("message %q, want %q", err.Error(), tt.want)
			}
			if got := semconv.ErrorType(err).Value.AsString(); got != ErrorTypeTool {
				t.Errorf("error.type %q", got)
			}
		})
	}
}

func TestCallError(t *testing.T) {
	wire := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "unknown tool \"x\""}
	other := errors.New("boom")
	tests := []struct {
		name      string
		err       error
		errorType string
		message   string
		status    string
	}{
		{name: "wire error", err: wire, errorType: "-32602", message: `unknown tool "x"`, status: "-32602"},
		{name: "wrapped wire error", err: fmt.Errorf("calling %q: %w", "tools/call", wire), errorType: "-32602", message: `calling "tools/call": unknown tool "x"`, status: "-32602"},
		{name: "connection closed", err: fmt.Errorf("%w: calling", sdkmcp.ErrConnectionClosed), errorType: ErrorTypeConnectionClosed, message: "connection closed: calling"},
		{name: "canceled", err: context.Canceled, errorType: ErrorTypeCanceled, message: "context canceled"},
		{name: "timeout", err: context.DeadlineExceeded, errorType: ErrorTypeTimeout, message: "context deadline exceeded"},
		{name: "code zero", err: &jsonrpc.Error{Message: "plain"}, errorType: "0", message: "plain", status: "0"},
		{name: "other", err: other, errorType: "*errors.errorString", message: "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kvs, got := callError(tt.err)
			if got.Error() != tt.message {
				t.Errorf("message %q, want %q", got.Error(), tt.message)
			}
			if typ := semconv.ErrorType(got).Value.AsString(); typ != tt.errorType {
				t.Errorf("error.type %q, want %q", typ, tt.errorType)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("%v does not wrap %v", got, tt.err)
			}
			status := ""
			for _, kv := range kvs {
				if kv.Key == semconv.RPCResponseStatusCodeKey {
					status = kv.Value.AsString()
				}
			}
			if status != tt.status {
				t.Errorf("rpc.response.status_code %q, want %q", status, tt.status)
			}
		})
	}
}

func TestIDString(t *testing.T) {
	for _, tt := range []struct {
		raw  any
		want string
	}{{float64(7), "7"}, {"req-1", "req-1"}, {nil, ""}} {
		id, err := jsonrpc.MakeID(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := idString(id); got != tt.want {
			t.Errorf("idString(%v) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

func TestGuard(t *testing.T) {
	sp := newSpans(t)
	a := sp.auditor(t)
	// A panic is recorded and goes on.
	_, call := a.aud.Start(context.Background(), "boom", nil)
	func() {
		defer func() {
			if r := recover(); r != "kaput" {
				t.Errorf("recovered %v, want the panic to go on", r)
			}
		}()
		guard(call, func() { panic("kaput") })
	}()
	// runtime.Goexit ends the span as aborted.
	_, call = a.aud.Start(context.Background(), "exit", nil)
	done := make(chan struct{})
	go func() {
		defer close(done)
		guard(call, runtime.Goexit)
	}()
	<-done
	ended := sp.sr.Ended()
	if len(ended) != 2 {
		t.Fatalf("%d spans ended, want 2", len(ended))
	}
	if got := str(t, ended[0], "error.type"); got != "panic" {
		t.Errorf("panic: error.type %q", got)
	}
	if got := str(t, ended[1], "error.type"); got != "aborted" {
		t.Errorf("Goexit: error.type %q", got)
	}
}
