package agentkit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/otelaudit/otelaudit/examples/internal/agentkit"
	"github.com/otelaudit/otelaudit/instrumentation"
)

// refusal is a tool failure with its own error.type.
type refusal struct{}

func (refusal) Error() string     { return "refused" }
func (refusal) ErrorType() string { return "refused" }

// testTools registers "ok", which succeeds, and "no", which fails.
func testTools(r *instrumentation.Registry) error {
	ok := instrumentation.Typed(func(context.Context, struct{}) (map[string]any, error) { return map[string]any{"done": true}, nil })
	no := instrumentation.Typed(func(context.Context, struct{}) (map[string]any, error) { return nil, refusal{} })
	return errors.Join(r.Register(instrumentation.Tool{Name: "ok"}, ok), r.Register(instrumentation.Tool{Name: "no"}, no))
}

func testScript() []agentkit.Conversation {
	ask := instrumentation.WithTrigger(instrumentation.TriggerUserRequest)
	return []agentkit.Conversation{
		{
			Who: instrumentation.Attribution{UserID: "u1", UserRoles: []string{"a", "b"}, ConversationID: "c1", Model: "m1", AgentName: "agent", AgentID: "agent-1"},
			Turns: []agentkit.Turn{
				{Ask: "first", Calls: []agentkit.Call{
					{ID: "call_1", Tool: "ok", Args: `{}`, Opts: agentkit.Opts(ask)},
					{ID: "call_2", Tool: "no", Args: `{}`, OnError: []agentkit.Call{
						{ID: "call_3", Tool: "ok", Args: `{}`},
					}},
				}},
				{Calls: []agentkit.Call{
					{ID: "call_4", Tool: "ok", Args: `{}`, OnError: []agentkit.Call{{ID: "never", Tool: "ok"}}},
				}},
			},
		},
		{
			Who: instrumentation.Attribution{ConversationID: "c2", AgentName: "agent"},
			Turns: []agentkit.Turn{
				{Ask: "second", Calls: []agentkit.Call{{ID: "call_5", Tool: "no", Args: `{}`}}},
			},
		},
	}
}

func recordPlay(t *testing.T, ctx context.Context, exec func(*instrumentation.Registry) agentkit.Executor) (agentkit.Tally, string, []sdktrace.ReadOnlySpan, error) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	auditor, err := instrumentation.New(instrumentation.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	reg := auditor.NewRegistry()
	if err := testTools(reg); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tl, err := agentkit.Play(ctx, &out, tp.Tracer("test"), exec(reg), testScript())
	return tl, out.String(), rec.Ended(), err
}

func attrs(s sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.String()
	}
	return m
}

func TestPlay(t *testing.T) {
	tl, out, spans, err := recordPlay(t, context.Background(), agentkit.RegistryExecutor)
	if err != nil {
		t.Fatal(err)
	}
	if want := (agentkit.Tally{Conversations: 2, Calls: 5, Failed: 2}); tl != want {
		t.Errorf("tally %+v, want %+v", tl, want)
	}
	wantOut := `conversation c1: u1 (a,b), model m1
  turn 1: "first"
    ✓ ok
    ✗ no: refused
    ✓ ok
    ✓ ok
conversation c2:  (), model 
  turn 1: "second"
    ✗ no: refused
`
	if out != wantOut {
		t.Errorf("output:\n%s\nwant:\n%s", out, wantOut)
	}

	turns := map[[8]byte]map[string]string{}
	var calls []string
	for _, s := range spans {
		if strings.HasPrefix(s.Name(), "invoke_agent ") {
			turns[s.SpanContext().SpanID()] = attrs(s)
		}
	}
	for _, s := range spans {
		if !strings.HasPrefix(s.Name(), "execute_tool ") {
			continue
		}
		a := attrs(s)
		turn, ok := turns[s.Parent().SpanID()]
		if !ok {
			t.Errorf("%s %s is not inside an invoke_agent span", s.Name(), a["gen_ai.tool.call.id"])
			continue
		}
		if a["audit.turn_number"] != turn["audit.turn_number"] || a["gen_ai.conversation.id"] != turn["gen_ai.conversation.id"] {
			t.Errorf("%s: turn %s of %s inside turn %s of %s", a["gen_ai.tool.call.id"], a["audit.turn_number"], a["gen_ai.conversation.id"],
				turn["audit.turn_number"], turn["gen_ai.conversation.id"])
		}
		failed := s.Status().Code == codes.Error
		calls = append(calls, fmt.Sprintf("%s:%s:%v", a["gen_ai.tool.call.id"], a["gen_ai.tool.name"], failed))
	}
	if got, want := strings.Join(calls, " "), "call_1:ok:false call_2:no:true call_3:ok:false call_4:ok:false call_5:no:true"; got != want {
		t.Errorf("calls %s, want %s", got, want)
	}

	var got []string
	for _, a := range turns {
		got = append(got, fmt.Sprintf("%s/%s op=%s agent=%s id=%s user=%s", a["gen_ai.conversation.id"], a["audit.turn_number"],
			a["gen_ai.operation.name"], a["gen_ai.agent.name"], a["gen_ai.agent.id"], a["user.id"]))
	}
	for _, want := range []string{
		"c1/1 op=invoke_agent agent=agent id=agent-1 user=u1",
		"c1/2 op=invoke_agent agent=agent id=agent-1 user=u1",
		// Unknown agent id and user: no attribute.
		"c2/1 op=invoke_agent agent=agent id= user=",
	} {
		if !strings.Contains(strings.Join(got, "\n"), want) {
			t.Errorf("turn spans lack %q:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if len(turns) != 3 {
		t.Errorf("%d turn spans, want 3", len(turns))
	}
}

func TestPlayStopsOnFatal(t *testing.T) {
	lost := errors.New("connection lost")
	exec := func(r *instrumentation.Registry) agentkit.Executor {
		run := agentkit.RegistryExecutor(r)
		return func(ctx context.Context, c agentkit.Call) error {
			if c.ID == "call_3" {
				return fmt.Errorf("turn %d: %w", instrumentation.AttributionFromContext(ctx).TurnNumber, agentkit.Fatal(lost))
			}
			return run(ctx, c)
		}
	}
	tl, out, spans, err := recordPlay(t, context.Background(), exec)
	if !errors.Is(err, lost) || err.Error() != "turn 1: connection lost" {
		t.Errorf("error %v, want turn 1: connection lost", err)
	}
	if want := (agentkit.Tally{Conversations: 1, Calls: 2, Failed: 1}); tl != want {
		t.Errorf("tally %+v, want %+v", tl, want)
	}
	if strings.Contains(out, "call_4") || strings.Count(out, "✓") != 1 {
		t.Errorf("output goes on after the fatal error:\n%s", out)
	}
	// The turn span ended although the script stopped inside it.
	turns := 0
	for _, s := range spans {
		if strings.HasPrefix(s.Name(), "invoke_agent ") {
			turns++
		}
	}
	if turns != 1 {
		t.Errorf("%d turn spans ended, want 1", turns)
	}
}

func TestPlayStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	tl, _, spans, err := recordPlay(t, ctx, agentkit.RegistryExecutor)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if tl.Calls != 0 || len(spans) != 1 {
		t.Errorf("%d calls and %d spans after cancellation, want 0 and the turn's", tl.Calls, len(spans))
	}
}

func TestFatalNil(t *testing.T) {
	if err := agentkit.Fatal(nil); err != nil {
		t.Errorf("Fatal(nil) = %v", err)
	}
}

// Calls of a script share option slices: Options must not write the id of
// one call into another's.
func TestOptionsDoNotAlias(t *testing.T) {
	shared := make([]instrumentation.CallOption, 1, 8)
	shared[0] = instrumentation.WithPurpose("p")
	a, b := agentkit.Call{ID: "a", Opts: shared}, agentkit.Call{ID: "b", Opts: shared}
	oa, ob := a.Options(), b.Options()
	if len(oa) != 2 || oa[1] != instrumentation.WithToolCallID("a") || ob[1] != instrumentation.WithToolCallID("b") || oa[0] != shared[0] {
		t.Errorf("options %v and %v", oa, ob)
	}
	if len(shared) != 1 {
		t.Errorf("the shared options grew to %d", len(shared))
	}
}
