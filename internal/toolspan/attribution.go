package toolspan

import (
	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Roles written to Attribution.InitiatorRole when the initiator is not a
// person.
const (
	roleAIAgent = "ai_agent"
	roleSystem  = "system"
)

// attribution applies the rule documented on auditlog.Attribution to the
// fields Map has already filled:
//
//   - user_request and follow_up: the user (type user, role = their roles
//     joined by ","); an unidentified user leaves Initiator empty but still
//     says a user initiated the call;
//   - proactive: the model (type model, role ai_agent), else the agent when
//     the span names no model;
//   - retry and system: the agent, else the service (type system, role
//     system);
//   - no trigger, or one outside the five values: a known user, else nobody.
//
// The joined roles take memory from mem (nil: the heap).
func attribution(mem *arena, r *auditlog.Record) auditlog.Attribution {
	at := auditlog.Attribution{Model: r.Model, Tool: r.ToolName, Trigger: r.Trigger}
	switch r.Trigger {
	case attrkey.TriggerUserRequest, attrkey.TriggerFollowUp:
		at.Initiator = r.UserID
		at.InitiatorType = auditlog.InitiatorUser
		at.InitiatorRole = mem.join(r.UserRoles, ",")
	case attrkey.TriggerProactive:
		at.Initiator = firstNonEmpty(r.Model, r.Agent.Name, r.Agent.ID)
		at.InitiatorType = auditlog.InitiatorModel
		at.InitiatorRole = roleAIAgent
	case attrkey.TriggerRetry, attrkey.TriggerSystem:
		at.Initiator = firstNonEmpty(r.Agent.Name, r.Agent.ID, r.Source.Service)
		at.InitiatorType = auditlog.InitiatorSystem
		at.InitiatorRole = roleSystem
	default:
		if r.UserID != "" {
			at.Initiator = r.UserID
			at.InitiatorType = auditlog.InitiatorUser
			at.InitiatorRole = mem.join(r.UserRoles, ",")
		}
	}
	return at
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// Attribution returns the attribution rule's answer for r's fields, for
// callers that change those fields after mapping: the query package fills
// an inner observation of a call with the user, trigger and agent its outer
// observations recorded, and the initiator must follow.
func Attribution(r *auditlog.Record) auditlog.Attribution { return attribution(nil, r) }
