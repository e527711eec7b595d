package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/otelaudit/otelaudit/examples/internal/agenttest"
)

const (
	wantCalls  = 21
	wantFailed = 1
	wantTurns  = 11
)

// played plays the script, checking its totals and that every tool span is
// attributed and inside a turn.
func played(t *testing.T) (tools []sdktrace.ReadOnlySpan, out string) {
	t.Helper()
	return agenttest.CheckScript(t, agent(), agenttest.Script{Conversations: 6, Calls: wantCalls, Failed: wantFailed, Turns: wantTurns,
		Keys: []string{"gen_ai.tool.call.id", "gen_ai.tool.call.arguments", "gen_ai.conversation.id", "audit.turn_number", "audit.trigger", "user.roles", "gen_ai.request.model", "session.id"}})
}

func TestScript(t *testing.T) {
	tools, out := played(t)
	users, purposes, byTool := map[string]bool{}, map[string]bool{}, map[string]int{}
	var failed []string
	for _, s := range tools {
		a := agenttest.Attrs(s)
		tool, _ := a["gen_ai.tool.name"].(string)
		byTool[tool]++
		users[a["user.id"].(string)] = true
		purposes[a["audit.purpose"].(string)] = true
		if s.Status().Code == otelcodes.Error {
			failed = append(failed, a["user.id"].(string)+":"+tool+":"+a["error.type"].(string))
		}
	}
	if len(byTool) != 3 || byTool["search_patients"] != 3 || byTool["update_treatment"] != 2 {
		t.Errorf("calls per tool %v", byTool)
	}
	if len(users) != 6 || len(purposes) != 3 {
		t.Errorf("users %v, purposes %v", users, purposes)
	}
	if want := "n.okafor:update_treatment:permission_denied"; strings.Join(failed, " ") != want {
		t.Errorf("failed calls %v, want %v", failed, want)
	}
	if !strings.Contains(out, `✗ update_treatment: role "nurse" may not change a treatment plan`) {
		t.Errorf("output does not show the refused update:\n%s", out)
	}
}

// subjects maps each tool call id to the patient the call touched.
func subjects(tools []sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, s := range tools {
		a := agenttest.Attrs(s)
		if a["audit.subject.type"] == "patient" {
			m[a["gen_ai.tool.call.id"].(string)] = a["audit.subject.id"].(string)
		}
	}
	return m
}

func TestBurstIsTwelveAccessesWithinAnHour(t *testing.T) {
	tools, _ := played(t)
	var first, last time.Time
	n := 0
	users := map[string]bool{}
	for _, s := range tools {
		a := agenttest.Attrs(s)
		if a["audit.subject.id"] != burstPatient {
			continue
		}
		n++
		users[a["user.id"].(string)] = true
		if a["gen_ai.tool.name"] != "access_patient_record" || s.Status().Code == otelcodes.Error {
			t.Errorf("burst call %s %v", s.Name(), s.Status())
		}
		if first.IsZero() || s.StartTime().Before(first) {
			first = s.StartTime()
		}
		if s.StartTime().After(last) {
			last = s.StartTime()
		}
	}
	if n != burstSize || len(users) != 1 {
		t.Errorf("%d accesses to %s by %v, want %d by one user", n, burstPatient, users, burstSize)
	}
	if d := last.Sub(first); d >= time.Hour {
		t.Errorf("the burst spans %v, want less than an hour", d)
	}
}

func TestBreakGlass(t *testing.T) {
	tools, _ := played(t)
	var got []string
	for _, s := range tools {
		a := agenttest.Attrs(s)
		if a["audit.break_glass"] == true {
			got = append(got, fmt.Sprintf("%v %v %v %q", a["user.id"], a["gen_ai.tool.name"], a["audit.subject.id"], a["audit.break_glass.reason"]))
		} else if _, ok := a["audit.break_glass.reason"]; ok {
			t.Errorf("%s has a break-glass reason without break-glass", s.Name())
		}
	}
	want := fmt.Sprintf("dr.santos access_patient_record %s %q", breakGlassPatient, breakGlassReason)
	if len(got) != 1 || got[0] != want {
		t.Errorf("break-glass calls %q, want [%s]", got, want)
	}
}

// A search that finds one patient names that patient as the subject once
// it knows; a search over many names none.
func TestSearchSetsSubjectWhenKnown(t *testing.T) {
	tools, _ := played(t)
	got := subjects(tools)
	for id, want := range map[string]string{"call_m1_1": "P-1001", "call_m3_1": "P-1003", "call_m4_1": ""} {
		if got[id] != want {
			t.Errorf("%s: subject %q, want %q", id, got[id], want)
		}
	}
}

// The arguments carry patient names, dates of birth and an SSN as the
// model wrote them: removing them is the collector's job.
func TestArgumentsCarryPIIBeforeRedaction(t *testing.T) {
	tools, _ := played(t)
	var all strings.Builder
	for _, s := range tools {
		all.WriteString(agenttest.Attrs(s)["gen_ai.tool.call.arguments"].(string))
	}
	for _, pii := range []string{`"Maria"`, `"Garcia"`, "Samuel Okoro", "Li Wei", "Eleanor Vance",
		"1961-03-14", "1948-11-02", "1975-01-30", "328-41-9076"} {
		if !strings.Contains(all.String(), pii) {
			t.Errorf("no argument carries %s", pii)
		}
	}
	for _, s := range tools {
		if raw := agenttest.Attrs(s)["gen_ai.tool.call.arguments"].(string); !json.Valid([]byte(raw)) {
			t.Errorf("%s: arguments %s are not JSON", s.Name(), raw)
		}
	}
}

func TestRunExportsOrFails(t *testing.T) {
	agenttest.CheckExport(t, func(ctx context.Context, w io.Writer) error { return agent().Run(ctx, w) },
		wantCalls+wantTurns, "medicalrecords: 21 tool calls (1 failed) in 6 conversations exported to OTLP/")
}
