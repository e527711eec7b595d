package instrumentation

import (
	"go.opentelemetry.io/otel/attribute"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Trigger says what set a tool call off (audit.trigger).
type Trigger string

// The triggers of the span contract.
const (
	// TriggerUserRequest: the user asked for it in this turn.
	TriggerUserRequest Trigger = attrkey.TriggerUserRequest
	// TriggerProactive: the model decided on it without being asked.
	TriggerProactive Trigger = attrkey.TriggerProactive
	// TriggerRetry: a repeat of a failed call.
	TriggerRetry Trigger = attrkey.TriggerRetry
	// TriggerFollowUp: a consequence of an earlier call in the same task.
	TriggerFollowUp Trigger = attrkey.TriggerFollowUp
	// TriggerSystem: a rule or schedule of the system, not a person.
	TriggerSystem Trigger = attrkey.TriggerSystem
)

// CallOption sets a fact about one tool call.
type CallOption interface {
	applyCall(*callConfig)
}

// The options are values rather than closures: a constant argument then
// costs no allocation per call.
type (
	triggerOption    Trigger
	purposeOption    string
	subjectOption    struct{ typ, id string }
	breakGlassOption string
	toolCallIDOption string
	toolTypeOption   string
	attrsOption      []attribute.KeyValue
)

func (o triggerOption) applyCall(c *callConfig) { c.trigger = Trigger(o) }
func (o purposeOption) applyCall(c *callConfig) { c.purpose = string(o) }
func (o subjectOption) applyCall(c *callConfig) { c.subjectType, c.subjectID = o.typ, o.id }
func (o breakGlassOption) applyCall(c *callConfig) {
	c.breakGlass = true
	c.breakGlassReason = string(o)
}
func (o toolCallIDOption) applyCall(c *callConfig) { c.toolCallID = string(o) }
func (o toolTypeOption) applyCall(c *callConfig)   { c.toolType = string(o) }
func (o attrsOption) applyCall(c *callConfig)      { c.attrs = append(c.attrs, o...) }

// apply applies opts in order, skipping nil ones. Each option is applied
// through its concrete type rather than through the interface: a call
// through an interface makes its receiver escape, so the options of every
// call would be allocated on the heap, and so would c.
func (c *callConfig) apply(opts []CallOption) {
	for _, o := range opts {
		switch o := o.(type) {
		case triggerOption:
			o.applyCall(c)
		case purposeOption:
			o.applyCall(c)
		case subjectOption:
			o.applyCall(c)
		case breakGlassOption:
			o.applyCall(c)
		case toolCallIDOption:
			o.applyCall(c)
		case toolTypeOption:
			o.applyCall(c)
		case attrsOption:
			o.applyCall(c)
		}
	}
}

// callConfig holds the per-call facts; zero values are unknown.
type callConfig struct {
	trigger          Trigger
	purpose          string
	subjectType      string
	subjectID        string
	breakGlass       bool
	breakGlassReason string
	toolCallID       string
	toolType         string
	attrs            []attribute.KeyValue
}

// WithTrigger records what set the call off (audit.trigger). The Trigger
// constants are the values of the span contract; another value is recorded
// as given.
func WithTrigger(t Trigger) CallOption { return triggerOption(t) }

// WithPurpose records why the data is accessed (audit.purpose), for example
// "treatment", "billing", "research" or "support".
func WithPurpose(purpose string) CallOption { return purposeOption(purpose) }

// WithSubject records whose data the call touches (audit.subject.type and
// audit.subject.id), for example "patient" and "P-1001".
//
// When the subject is only known once the handler has looked it up, the
// handler can set the same attributes on trace.SpanFromContext(ctx).
func WithSubject(typ, id string) CallOption { return subjectOption{typ, id} }

// WithBreakGlass records that the call overrides the normal access rules in
// an emergency (audit.break_glass = true), and why
// (audit.break_glass.reason). An empty reason is recorded as absent, which an
// auditor will treat as a finding.
func WithBreakGlass(reason string) CallOption { return breakGlassOption(reason) }

// WithToolCallID records the id the model gave the call
// (gen_ai.tool.call.id). Without it, a random id "call_" + 32 hex digits is
// generated.
func WithToolCallID(id string) CallOption { return toolCallIDOption(id) }

// WithToolType records the tool type (gen_ai.tool.type): "function"
// (the default), "extension" or "datastore". It overrides Tool.Type.
func WithToolType(typ string) CallOption { return toolTypeOption(typ) }

// WithAttributes adds attributes to the call's span, for example the MCP
// method or session. They are set after the standard attributes, so they
// can override them.
func WithAttributes(kvs ...attribute.KeyValue) CallOption {
	return attrsOption(kvs)
}
