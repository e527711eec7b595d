package agentkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Conversation is one scripted exchange between a user and the agent.
type Conversation struct {
	// Who is the attribution of every call of the conversation: user,
	// roles, conversation, model, agent and session.
	Who instrumentation.Attribution
	// Turns are played in order; turn i+1 is audit.turn_number i+1.
	Turns []Turn

	_ struct{}
}

// Turn is what the user asks and the tool calls the scripted model answers
// with, in order.
type Turn struct {
	// Ask is what the user says, for the progress lines; "" prints none.
	Ask   string
	Calls []Call

	_ struct{}
}

// Call is a tool call as a model emits it: an id, a tool name and JSON
// arguments. When it fails, the model makes the calls of OnError next (it
// reacts to the tool's error, as a real model would).
type Call struct {
	ID   string
	Tool string
	// Args is the arguments' JSON text, as the model wrote it.
	Args    string
	Opts    []instrumentation.CallOption
	OnError []Call

	_ struct{}
}

// Options returns the call's options followed by its tool call id. It does
// not modify c.Opts, which scripts share between calls.
func (c Call) Options() []instrumentation.CallOption {
	return append(c.Opts[:len(c.Opts):len(c.Opts)], instrumentation.WithToolCallID(c.ID))
}

// Opts collects call options, for Call literals.
func Opts(o ...instrumentation.CallOption) []instrumentation.CallOption { return o }

// Tally counts what a script did.
type Tally struct {
	Conversations int
	// Calls counts every call made, the failed ones included.
	Calls  int
	Failed int
}

// Executor makes one call of a script within ctx, which carries the call's
// attribution and turn. A returned error is the call's failure, which the
// script goes on from (with Call.OnError); an error wrapped by Fatal stops
// the script instead.
type Executor func(ctx context.Context, c Call) error

// RegistryExecutor returns the Executor that runs each call through r, in
// this process. The tool's result is dropped: the span records its summary.
func RegistryExecutor(r *instrumentation.Registry) Executor {
	return func(ctx context.Context, c Call) error {
		_, err := r.Execute(ctx, c.Tool, []byte(c.Args), c.Options()...)
		return err
	}
}

// fatalError is an Executor's error that stops the script.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// Fatal marks err as one that stops the script, such as a call that could
// not be made at all. The result reads as err and unwraps to it. Fatal(nil)
// is nil.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return &fatalError{err: err}
}

// Play plays convs: each turn is an invoke_agent span started with tracer,
// and exec makes the turn's calls inside it. It writes what happens to w
// (io.Discard for nothing): a line per conversation and turn, and per call
// "✓ tool" or "✗ tool: error". A failed call is part of the script, not an
// error; Play stops early only when ctx is done or exec returns a Fatal
// error, and returns the tally so far with that error.
func Play(ctx context.Context, w io.Writer, tracer trace.Tracer, exec Executor, convs []Conversation) (Tally, error) {
	var t Tally
	for _, conv := range convs {
		t.Conversations++
		who := conv.Who
		fmt.Fprintf(w, "conversation %s: %s (%s), model %s\n", who.ConversationID, who.UserID, strings.Join(who.UserRoles, ","), who.Model)
		cctx := instrumentation.WithAttribution(ctx, who)
		for i, tu := range conv.Turns {
			tctx, span := tracer.Start(instrumentation.WithTurn(cctx, i+1), "invoke_agent "+who.AgentName,
				trace.WithAttributes(turnAttributes(who, i+1)...))
			if tu.Ask != "" {
				fmt.Fprintf(w, "  turn %d: %q\n", i+1, tu.Ask)
			}
			err := playCalls(tctx, w, exec, tu.Calls, &t)
			span.End()
			if err != nil {
				return t, err
			}
		}
	}
	return t, nil
}

// turnAttributes are the attributes of the invoke_agent span of turn n.
func turnAttributes(who instrumentation.Attribution, n int) []attribute.KeyValue {
	kvs := []attribute.KeyValue{
		semconv.GenAIOperationNameInvokeAgent,
		semconv.GenAIAgentName(who.AgentName),
		semconv.GenAIConversationID(who.ConversationID),
		attribute.Int(attrkey.TurnNumber, n),
	}
	if who.AgentID != "" {
		kvs = append(kvs, semconv.GenAIAgentID(who.AgentID))
	}
	if who.UserID != "" {
		kvs = append(kvs, attribute.String(attrkey.UserID, who.UserID))
	}
	return kvs
}

func playCalls(ctx context.Context, w io.Writer, exec Executor, calls []Call, t *Tally) error {
	for _, c := range calls {
		if err := ctx.Err(); err != nil {
			return err
		}
		err := exec(ctx, c)
		if fe := (*fatalError)(nil); errors.As(err, &fe) {
			return err
		}
		t.Calls++
		if err == nil {
			fmt.Fprintf(w, "    ✓ %s\n", c.Tool)
			continue
		}
		t.Failed++
		fmt.Fprintf(w, "    ✗ %s: %v\n", c.Tool, err)
		if err := playCalls(ctx, w, exec, c.OnError, t); err != nil {
			return err
		}
	}
	return nil
}
