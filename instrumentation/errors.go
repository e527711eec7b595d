package instrumentation

import (
	"errors"
	"fmt"

	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// Errors about a call that could not be made. Their error.type is
// "invalid_call".
var (
	// ErrNoToolName is returned for a call without a tool name.
	ErrNoToolName = errors.New("instrumentation: empty tool name")
	// ErrNilHandler is returned for a call without a handler.
	ErrNilHandler = errors.New("instrumentation: nil handler")
)

// UnknownToolError is returned by Registry.Execute for a tool that is not
// registered. Its error.type is "unknown_tool".
type UnknownToolError struct {
	Name string
}

func (e *UnknownToolError) Error() string {
	return fmt.Sprintf("instrumentation: unknown tool %q", e.Name)
}

// ErrorType returns "unknown_tool", the error.type of the span.
func (*UnknownToolError) ErrorType() string { return "unknown_tool" }

// ArgumentError is returned for arguments that are not valid JSON (or not
// valid UTF-8), or that do not decode into a Typed handler's argument type.
// Its error.type is "invalid_arguments".
type ArgumentError struct {
	// Tool is the name of the tool called.
	Tool string
	// Err says what is wrong.
	Err error
}

func (e *ArgumentError) Error() string {
	if e.Tool == "" {
		return fmt.Sprintf("instrumentation: invalid arguments: %v", e.Err)
	}
	return fmt.Sprintf("instrumentation: tool %q: invalid arguments: %v", e.Tool, e.Err)
}

func (e *ArgumentError) Unwrap() error { return e.Err }

// ErrorType returns "invalid_arguments", the error.type of the span.
func (*ArgumentError) ErrorType() string { return "invalid_arguments" }

// errorType returns the error.type of err: the value of its ErrorType
// method if it or an error it wraps has one, else its Go type. A method that
// panics (a nil pointer in an error interface, say) yields the Go type.
func errorType(err error) (typ string) {
	defer func() {
		if recover() != nil {
			typ = typeName(err)
		}
	}()
	switch {
	case errors.Is(err, ErrNoToolName), errors.Is(err, ErrNilHandler):
		return "invalid_call"
	case errors.Is(err, errAborted):
		return "aborted"
	}
	return semconv.ErrorType(err).Value.AsString()
}

// errorMessage returns err.Error(), or a description of err when Error
// panics, as it does for many nil pointers held in an error interface.
func errorMessage(err error) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprintf("%s (Error method panicked: %v)", typeName(err), r)
		}
	}()
	return err.Error()
}
