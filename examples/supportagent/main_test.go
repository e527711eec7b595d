package main

import (
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"

	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelaudit/otelaudit/examples/internal/agenttest"
)

const (
	wantCalls  = 15
	wantFailed = 2
	wantTurns  = 6
)

// played plays the script, checking its totals and that every tool span is
// attributed and inside a turn.
func played(t *testing.T) (tools []sdktrace.ReadOnlySpan, out string) {
	t.Helper()
	return agenttest.CheckScript(t, agent(), agenttest.Script{Conversations: 4, Calls: wantCalls, Failed: wantFailed, Turns: wantTurns,
		Keys: []string{"gen_ai.tool.call.id", "gen_ai.tool.call.arguments", "audit.turn_number", "audit.trigger", "audit.purpose", "gen_ai.request.model", "gen_ai.agent.name", "session.id"}})
}

func TestScript(t *testing.T) {
	tools, out := played(t)
	users, convs, byTool := map[string]bool{}, map[string]bool{}, map[string]int{}
	var failed []string
	for _, s := range tools {
		a := agenttest.Attrs(s)
		tool, _ := a["gen_ai.tool.name"].(string)
		byTool[tool]++
		users[a["user.id"].(string)] = true
		convs[a["gen_ai.conversation.id"].(string)] = true
		if s.Status().Code == otelcodes.Error {
			failed = append(failed, tool+":"+a["error.type"].(string))
		}
	}
	for _, tool := range []string{"get_customer", "get_order", "update_order_status", "initiate_return", "issue_refund"} {
		if byTool[tool] == 0 {
			t.Errorf("no %s call", tool)
		}
	}
	if len(users) != 3 || len(convs) != 4 {
		t.Errorf("users %v, conversations %v", users, convs)
	}
	if want := []string{"update_order_status:order_shipped", "issue_refund:invalid_amount"}; strings.Join(failed, " ") != strings.Join(want, " ") {
		t.Errorf("failed calls %v, want %v", failed, want)
	}
	if !strings.Contains(out, "✗ update_order_status: order O-5002 has shipped") {
		t.Errorf("output does not show the refused update:\n%s", out)
	}
}

// The agent library masks sensitive keys, but the secrets the model copies
// into free text reach the span: only the collector can remove them.
func TestRefundArgumentsCarrySecretsBeforeRedaction(t *testing.T) {
	tools, out := played(t)
	refunds := 0
	for _, s := range tools {
		a := agenttest.Attrs(s)
		if a["gen_ai.tool.name"] != "issue_refund" {
			continue
		}
		refunds++
		raw := a["gen_ai.tool.call.arguments"].(string)
		var args struct {
			Note        string `json:"note"`
			CallbackURL string `json:"callback_url"`
		}
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			t.Fatalf("arguments %s: %v", raw, err)
		}
		if !strings.Contains(args.Note, plantedCard) && !strings.Contains(args.Note, plantedCard2) {
			t.Errorf("refund note %q carries no card number", args.Note)
		}
		if !strings.Contains(args.CallbackURL, "api_key="+plantedAPIKey) {
			t.Errorf("callback_url %q carries no api_key", args.CallbackURL)
		}
		if a["audit.subject.type"] != "customer" || a["audit.purpose"] != "support" {
			t.Errorf("refund without customer subject or purpose: %v", a)
		}
	}
	if refunds != 3 {
		t.Errorf("%d issue_refund calls, want 3", refunds)
	}
	for _, secret := range []string{plantedCard, plantedCard2, plantedAPIKey} {
		if strings.Contains(out, secret) {
			t.Errorf("the agent printed %q", secret)
		}
	}
}

func TestRunExportsOrFails(t *testing.T) {
	agenttest.CheckExport(t, func(ctx context.Context, w io.Writer) error { return agent().Run(ctx, w) },
		wantCalls+wantTurns, "supportagent: 15 tool calls (2 failed) in 4 conversations exported to OTLP/")
}
