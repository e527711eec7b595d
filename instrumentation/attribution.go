package instrumentation

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Attribution says for whom, where and by what a tool call is made. It
// travels in a context.Context: see WithAttribution. Empty fields are
// unknown and not recorded.
type Attribution struct {
	// UserID is the end user the agent acts for (user.id).
	UserID string
	// UserRoles are the user's roles (user.roles).
	UserRoles []string
	// ConversationID identifies the conversation (gen_ai.conversation.id).
	ConversationID string
	// TurnNumber is the turn of the conversation, counted from 1
	// (audit.turn_number). Zero or less means unknown.
	TurnNumber int
	// Model is the model that requested the call (gen_ai.request.model).
	Model string
	// AgentName and AgentID identify the agent (gen_ai.agent.name,
	// gen_ai.agent.id).
	AgentName string
	AgentID   string
	// SessionID identifies the user's session (session.id).
	SessionID string
	// ClientAddress is the address of the user's client (client.address).
	ClientAddress string
	// UserAgent is the user's client software (user_agent.original).
	UserAgent string

	_ struct{}
}

type attributionKey struct{}

// attribution is the immutable value stored in a context: the Attribution
// and its span attributes, computed once rather than at every call.
type attribution struct {
	a   Attribution
	kvs []attribute.KeyValue
}

func newAttribution(a Attribution) *attribution {
	at := &attribution{a: a}
	add := func(key, v string) {
		if v != "" {
			at.kvs = append(at.kvs, attribute.String(key, validUTF8(v)))
		}
	}
	add(attrkey.UserID, a.UserID)
	if len(a.UserRoles) > 0 {
		roles := make([]string, len(a.UserRoles))
		for i, r := range a.UserRoles {
			roles[i] = validUTF8(r)
		}
		at.kvs = append(at.kvs, attribute.StringSlice(attrkey.UserRoles, roles))
	}
	add(attrkey.GenAIConversationID, a.ConversationID)
	if a.TurnNumber > 0 {
		at.kvs = append(at.kvs, attribute.Int(attrkey.TurnNumber, a.TurnNumber))
	}
	add(attrkey.GenAIRequestModel, a.Model)
	add(attrkey.GenAIAgentName, a.AgentName)
	add(attrkey.GenAIAgentID, a.AgentID)
	add(attrkey.SessionID, a.SessionID)
	add(attrkey.ClientAddress, a.ClientAddress)
	add(attrkey.UserAgentOriginal, a.UserAgent)
	return at
}

func attributionFrom(ctx context.Context) *attribution {
	at, _ := ctx.Value(attributionKey{}).(*attribution)
	return at
}

// AttributionFromContext returns the attribution carried by ctx, or the zero
// Attribution. The result is a copy: changing it does not change ctx.
func AttributionFromContext(ctx context.Context) Attribution {
	if ctx == nil {
		return Attribution{}
	}
	at := attributionFrom(ctx)
	if at == nil {
		return Attribution{}
	}
	a := at.a
	a.UserRoles = slices.Clone(a.UserRoles)
	return a
}

func update(ctx context.Context, f func(*Attribution)) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	a := AttributionFromContext(ctx)
	f(&a)
	return context.WithValue(ctx, attributionKey{}, newAttribution(a))
}

// WithAttribution returns a copy of ctx whose attribution is the one of ctx
// with the non-zero fields of a laid over it: a middleware can set the user
// and session and the agent loop the conversation and turn. UserRoles
// replaces the roles when it is not nil (an empty, non-nil slice clears
// them). a is copied; later changes to it do not affect ctx.
func WithAttribution(ctx context.Context, a Attribution) context.Context {
	return update(ctx, func(dst *Attribution) {
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&dst.UserID, a.UserID)
		if a.UserRoles != nil {
			dst.UserRoles = slices.Clone(a.UserRoles)
		}
		set(&dst.ConversationID, a.ConversationID)
		if a.TurnNumber > 0 {
			dst.TurnNumber = a.TurnNumber
		}
		set(&dst.Model, a.Model)
		set(&dst.AgentName, a.AgentName)
		set(&dst.AgentID, a.AgentID)
		set(&dst.SessionID, a.SessionID)
		set(&dst.ClientAddress, a.ClientAddress)
		set(&dst.UserAgent, a.UserAgent)
	})
}

// WithUser returns a copy of ctx attributed to the user id with the given
// roles, replacing any user and roles set before.
func WithUser(ctx context.Context, id string, roles ...string) context.Context {
	return update(ctx, func(a *Attribution) {
		a.UserID = id
		a.UserRoles = slices.Clone(roles)
	})
}

// WithConversation returns a copy of ctx in the conversation id. The turn
// number is reset to unknown: a new conversation starts its own turns.
func WithConversation(ctx context.Context, id string) context.Context {
	return update(ctx, func(a *Attribution) {
		a.ConversationID = id
		a.TurnNumber = 0
	})
}

// WithTurn returns a copy of ctx at turn n of its conversation, counted from
// 1; zero or less means unknown.
func WithTurn(ctx context.Context, n int) context.Context {
	return update(ctx, func(a *Attribution) { a.TurnNumber = n })
}

// WithModel returns a copy of ctx whose calls are requested by model.
func WithModel(ctx context.Context, model string) context.Context {
	return update(ctx, func(a *Attribution) { a.Model = model })
}

// WithAgent returns a copy of ctx whose calls are made by the agent with the
// given name and id (either may be empty).
func WithAgent(ctx context.Context, name, id string) context.Context {
	return update(ctx, func(a *Attribution) {
		a.AgentName = name
		a.AgentID = id
	})
}

// WithSession returns a copy of ctx in the user's session id, reached from
// clientAddress with userAgent (either may be empty).
func WithSession(ctx context.Context, id, clientAddress, userAgent string) context.Context {
	return update(ctx, func(a *Attribution) {
		a.SessionID = id
		a.ClientAddress = clientAddress
		a.UserAgent = userAgent
	})
}

// validUTF8 returns s with invalid UTF-8 replaced by U+FFFD: exporters such
// as OTLP reject a whole batch over one invalid string.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// cut returns s, valid UTF-8, cut to at most n bytes on a character
// boundary.
func cut(s string, n int) string {
	s = validUTF8(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
