package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// conversation is one scripted exchange between a clinician or staff member
// and the agent.
type conversation struct {
	who   instrumentation.Attribution
	turns []turn
}

// turn is what the user asks and the tool calls the scripted model answers
// with, in order.
type turn struct {
	ask   string
	calls []call
}

// call is a tool call as a model emits it: an id, a tool name and JSON
// arguments. When it fails, the model makes the calls of onError instead
// (it reacts to the tool's error, as a real model would).
type call struct {
	id      string
	tool    string
	args    string
	opts    []instrumentation.CallOption
	onError []call
}

// tally counts what the agent did.
type tally struct {
	conversations, calls, failed int
}

// play runs every conversation through the registry: each turn is an
// invoke_agent span whose tool calls are execute_tool spans. A failed tool
// call is part of the script, not an error; only a cancelled ctx stops it.
func play(ctx context.Context, w io.Writer, tools *instrumentation.Registry, tracer trace.Tracer, convs []conversation) (tally, error) {
	var t tally
	for _, conv := range convs {
		t.conversations++
		fmt.Fprintf(w, "conversation %s: %s (%s), model %s\n", conv.who.ConversationID, conv.who.UserID,
			strings.Join(conv.who.UserRoles, ","), conv.who.Model)
		cctx := instrumentation.WithAttribution(ctx, conv.who)
		for i, tu := range conv.turns {
			tctx := instrumentation.WithTurn(cctx, i+1)
			tctx, span := tracer.Start(tctx, "invoke_agent "+conv.who.AgentName, trace.WithAttributes(
				semconv.GenAIOperationNameInvokeAgent,
				semconv.GenAIAgentName(conv.who.AgentName),
				semconv.GenAIConversationID(conv.who.ConversationID),
				attribute.Int(attrkey.TurnNumber, i+1),
			))
			fmt.Fprintf(w, "  turn %d: %q\n", i+1, tu.ask)
			err := playCalls(tctx, w, tools, tu.calls, &t)
			span.End()
			if err != nil {
				return t, err
			}
		}
	}
	return t, nil
}

func playCalls(ctx context.Context, w io.Writer, tools *instrumentation.Registry, calls []call, t *tally) error {
	for _, c := range calls {
		if err := ctx.Err(); err != nil {
			return err
		}
		opts := append(c.opts[:len(c.opts):len(c.opts)], instrumentation.WithToolCallID(c.id))
		_, err := tools.Execute(ctx, c.tool, []byte(c.args), opts...)
		t.calls++
		if err == nil {
			fmt.Fprintf(w, "    ✓ %s\n", c.tool)
			continue
		}
		t.failed++
		fmt.Fprintf(w, "    ✗ %s: %v\n", c.tool, err)
		if err := playCalls(ctx, w, tools, c.onError, t); err != nil {
			return err
		}
	}
	return nil
}

func opts(o ...instrumentation.CallOption) []instrumentation.CallOption { return o }
