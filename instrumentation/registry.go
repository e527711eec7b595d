package instrumentation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/otelaudit/otelaudit/instrumentation/internal/payload"
)

// Handler runs a tool with its arguments as JSON text, as a model sends
// them. args has been checked to be one valid JSON value in valid UTF-8, or
// is nil when the call has no arguments.
type Handler func(ctx context.Context, args json.RawMessage) (any, error)

// Typed returns a Handler that decodes the arguments into an A with
// encoding/json (no arguments give the zero A) and calls fn. Arguments that
// do not decode into an A fail the call with an *ArgumentError without
// calling fn. Typed(nil) returns nil.
func Typed[A, R any](fn func(context.Context, A) (R, error)) Handler {
	if fn == nil {
		return nil
	}
	return func(ctx context.Context, raw json.RawMessage) (any, error) {
		var args A
		if len(raw) > 0 {
			if err := json.Unmarshal(raw, &args); err != nil {
				return nil, &ArgumentError{Err: err}
			}
		}
		res, err := fn(ctx, args)
		return res, err
	}
}

// Registry maps tool names to handlers and executes calls by name, each
// recorded by its Auditor. It is safe for concurrent use; tools may be
// registered while calls execute.
type Registry struct {
	a     *Auditor
	mu    sync.RWMutex
	tools map[string]*registered
}

type registered struct {
	tool Tool
	pol  *toolPolicy
	h    Handler
}

// NewRegistry returns an empty Registry whose calls a records. The
// Registry of a nil *Auditor runs handlers without recording them.
func (a *Auditor) NewRegistry() *Registry {
	return &Registry{a: a, tools: make(map[string]*registered)}
}

// Register adds the tool t, run by h. It returns an error for an empty or
// already registered name, a nil handler, or invalid capture settings or
// result keys.
func (r *Registry) Register(t Tool, h Handler) error {
	if h == nil {
		return fmt.Errorf("instrumentation: register tool %q: nil handler", t.Name)
	}
	t.ResultKeys = slices.Clone(t.ResultKeys)
	reg := &registered{tool: t, h: h}
	if r.a != nil {
		p, err := r.a.compile(t)
		if err != nil {
			return fmt.Errorf("instrumentation: register: %w", err)
		}
		reg.pol = p
	} else if t.Name == "" {
		return errors.New("instrumentation: register: tool name: must not be empty")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.tools[t.Name]; dup {
		return fmt.Errorf("instrumentation: register tool %q: already registered", t.Name)
	}
	r.tools[t.Name] = reg
	return nil
}

// Tools returns the registered tools sorted by name.
func (r *Registry) Tools() []Tool {
	r.mu.RLock()
	tools := make([]Tool, 0, len(r.tools))
	for _, reg := range r.tools {
		t := reg.tool
		t.ResultKeys = slices.Clone(t.ResultKeys)
		tools = append(tools, t)
	}
	r.mu.RUnlock()
	slices.SortFunc(tools, func(a, b Tool) int { return strings.Compare(a.Name, b.Name) })
	return tools
}

// Execute runs the tool called name with args, JSON text as the model sent
// it (empty for no arguments), and records the call as Auditor.Execute
// does. A name that is not registered fails with an *UnknownToolError;
// args that are not one valid JSON value in valid UTF-8 fail with an
// *ArgumentError without running the handler. Both failures are recorded.
func (r *Registry) Execute(ctx context.Context, name string, args json.RawMessage, opts ...CallOption) (any, error) {
	r.mu.RLock()
	reg := r.tools[name]
	r.mu.RUnlock()
	if len(bytes.TrimSpace(args)) == 0 {
		args = nil
	}
	if reg == nil {
		// An empty name is never registered; do fails it with ErrNoToolName.
		return r.a.do(ctx, nil, name, args, fail(&UnknownToolError{Name: name}), opts)
	}
	if args != nil {
		if err := payload.Validate(args); err != nil {
			return r.a.do(ctx, reg.pol, name, args, fail(&ArgumentError{Tool: name, Err: err}), opts)
		}
	}
	return r.a.do(ctx, reg.pol, name, args, func(ctx context.Context) (any, error) {
		res, err := reg.h(ctx, args)
		if ae, ok := errors.AsType[*ArgumentError](err); ok && ae.Tool == "" {
			ae.Tool = name
		}
		return res, err
	}, opts)
}

func fail(err error) func(context.Context) (any, error) {
	return func(context.Context) (any, error) { return nil, err }
}
