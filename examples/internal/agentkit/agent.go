package agentkit

import (
	"context"
	"errors"
	"fmt"
	"io"

	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
)

// Agent is a scripted agent whose tools run in its own process, each call
// audited by an instrumentation.Registry. Its methods may be called
// concurrently: every call registers fresh tools.
type Agent struct {
	// Name prefixes the summary line that Run prints, which scripts/demo.sh
	// and the end-to-end tests read.
	Name string
	// Service is the service.name, unless OTEL_SERVICE_NAME or
	// OTEL_RESOURCE_ATTRIBUTES say otherwise.
	Service string
	// Scope names the tracer of the invoke_agent spans.
	Scope string
	// Tools registers the agent's tools, with fresh back-end state.
	Tools func(*instrumentation.Registry) error
	// Script returns the conversations to play.
	Script func() []Conversation

	_ struct{}
}

// Play plays the script with the spans recorded by tp, writing progress
// lines to w (see the Play function).
func (a Agent) Play(ctx context.Context, w io.Writer, tp trace.TracerProvider) (Tally, error) {
	auditor, err := instrumentation.New(instrumentation.WithTracerProvider(tp))
	if err != nil {
		return Tally{}, err
	}
	tools := auditor.NewRegistry()
	if err := a.Tools(tools); err != nil {
		return Tally{}, err
	}
	return Play(ctx, w, tp.Tracer(a.Scope), RegistryExecutor(tools), a.Script())
}

// Run plays the script with the spans exported as New and opts say, and
// flushes them. It writes the progress lines to w, then the summary
//
//	NAME: N tool calls (F failed) in C conversations exported to DESTINATION
//
// It fails, without the summary, if any span could not be exported.
func (a Agent) Run(ctx context.Context, w io.Writer, opts ...Option) error {
	tp, err := New(ctx, a.Service, opts...)
	if err != nil {
		return err
	}
	t, err := a.Play(ctx, w, tp)
	if err := errors.Join(err, tp.Shutdown(ctx)); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: %d tool calls (%d failed) in %d conversations exported to %s\n",
		a.Name, t.Calls, t.Failed, t.Conversations, tp.Destination)
	return nil
}
