package instrumentation

import (
	"context"
	"reflect"
	"testing"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

func TestWithAttributionMerges(t *testing.T) {
	ctx := WithAttribution(context.Background(), Attribution{UserID: "u1", UserRoles: []string{"admin"}, SessionID: "s1"})
	ctx = WithAttribution(ctx, Attribution{ConversationID: "c1", TurnNumber: 2, Model: "m"})
	want := Attribution{UserID: "u1", UserRoles: []string{"admin"}, SessionID: "s1", ConversationID: "c1", TurnNumber: 2, Model: "m"}
	if got := AttributionFromContext(ctx); !reflect.DeepEqual(got, want) {
		t.Errorf("merged = %+v, want %+v", got, want)
	}
	// Zero fields keep; an empty non-nil slice clears the roles.
	ctx2 := WithAttribution(ctx, Attribution{UserRoles: []string{}, TurnNumber: 0})
	if got := AttributionFromContext(ctx2); got.UserID != "u1" || len(got.UserRoles) != 0 || got.TurnNumber != 2 {
		t.Errorf("after clearing roles = %+v", got)
	}
	// The parent context is unchanged.
	if got := AttributionFromContext(ctx); !reflect.DeepEqual(got, want) {
		t.Errorf("parent changed to %+v", got)
	}
}

func TestAttributionHelpers(t *testing.T) {
	ctx := context.Background()
	ctx = WithUser(ctx, "u1", "nurse", "oncall")
	ctx = WithConversation(ctx, "c1")
	ctx = WithTurn(ctx, 4)
	ctx = WithModel(ctx, "claude-test")
	ctx = WithAgent(ctx, "triage", "agent-7")
	ctx = WithSession(ctx, "s9", "198.51.100.4", "app/1.0")
	want := Attribution{
		UserID: "u1", UserRoles: []string{"nurse", "oncall"}, ConversationID: "c1", TurnNumber: 4, Model: "claude-test",
		AgentName: "triage", AgentID: "agent-7", SessionID: "s9", ClientAddress: "198.51.100.4", UserAgent: "app/1.0",
	}
	if got := AttributionFromContext(ctx); !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// A new user replaces the roles; a new conversation resets the turn.
	ctx = WithUser(ctx, "u2")
	ctx = WithConversation(ctx, "c2")
	got := AttributionFromContext(ctx)
	if got.UserID != "u2" || len(got.UserRoles) != 0 || got.ConversationID != "c2" || got.TurnNumber != 0 {
		t.Errorf("after switching = %+v", got)
	}
}

func TestAttributionIsImmutable(t *testing.T) {
	roles := []string{"admin"}
	a := Attribution{UserID: "u", UserRoles: roles}
	ctx := WithAttribution(context.Background(), a)
	roles[0] = "changed"
	a.UserID = "changed"
	got := AttributionFromContext(ctx)
	if got.UserID != "u" || got.UserRoles[0] != "admin" {
		t.Errorf("context changed with its input: %+v", got)
	}
	got.UserRoles[0] = "changed again"
	if AttributionFromContext(ctx).UserRoles[0] != "admin" {
		t.Error("AttributionFromContext returned shared roles")
	}
	r2 := []string{"x"}
	ctx = WithUser(context.Background(), "u", r2...)
	r2[0] = "y"
	if AttributionFromContext(ctx).UserRoles[0] != "x" {
		t.Error("WithUser kept the caller's slice")
	}
}

func TestAttributionEdgeCases(t *testing.T) {
	//lint:ignore SA1012 a nil context must not crash
	if got := AttributionFromContext(nil); !reflect.DeepEqual(got, Attribution{}) {
		t.Errorf("nil context = %+v", got)
	}
	//lint:ignore SA1012 a nil context must not crash
	ctx := WithTurn(nil, 1)
	if AttributionFromContext(ctx).TurnNumber != 1 {
		t.Error("WithTurn on a nil context")
	}
	r := newRecorder(t)
	for _, turn := range []int{0, -3} {
		_, _ = r.Execute(WithTurn(context.Background(), turn), "t", nil, noop)
	}
	for _, s := range r.sr.Ended() {
		absent(t, s, attrkey.TurnNumber)
	}
}

func TestAttributionAttributes(t *testing.T) {
	at := newAttribution(Attribution{UserID: "u", UserRoles: []string{"a", "b\xff"}, TurnNumber: 7})
	want := []attribute.KeyValue{
		attribute.String(attrkey.UserID, "u"),
		attribute.StringSlice(attrkey.UserRoles, []string{"a", "b\uFFFD"}),
		attribute.Int(attrkey.TurnNumber, 7),
	}
	if !reflect.DeepEqual(at.kvs, want) {
		t.Errorf("attributes = %v, want %v", at.kvs, want)
	}
}
