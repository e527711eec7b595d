package instrumentation

// CallFacts are the per-call facts that CallOptions set, as plain values.
// An instrumentation that carries a call across a process boundary reads
// them with FactsOf on the calling side, sends them along (MCP does so in a
// request's _meta), and turns them back into CallOptions with
// CallFacts.Options on the receiving side, so that both spans of the call
// record the same facts. Zero values are unknown.
type CallFacts struct {
	// Trigger is audit.trigger (WithTrigger).
	Trigger Trigger
	// Purpose is audit.purpose (WithPurpose).
	Purpose string
	// SubjectType and SubjectID are audit.subject.type and
	// audit.subject.id (WithSubject).
	SubjectType string
	SubjectID   string
	// BreakGlass and BreakGlassReason are audit.break_glass and
	// audit.break_glass.reason (WithBreakGlass).
	BreakGlass       bool
	BreakGlassReason string
	// ToolCallID is gen_ai.tool.call.id (WithToolCallID).
	ToolCallID string
	// ToolType is gen_ai.tool.type (WithToolType).
	ToolType string

	_ struct{}
}

// FactsOf returns the facts that opts set, applied in order as a call
// applies them, so that a later option wins. Attributes added with
// WithAttributes are not facts and are left out. Nil options are skipped.
func FactsOf(opts ...CallOption) CallFacts {
	var c callConfig
	c.apply(opts)
	return CallFacts{
		Trigger:          c.trigger,
		Purpose:          c.purpose,
		SubjectType:      c.subjectType,
		SubjectID:        c.subjectID,
		BreakGlass:       c.breakGlass,
		BreakGlassReason: c.breakGlassReason,
		ToolCallID:       c.toolCallID,
		ToolType:         c.toolType,
	}
}

// Options returns the CallOptions that set f's known facts, in a new slice.
// A break-glass reason without BreakGlass is not a break-glass call and is
// left out.
func (f CallFacts) Options() []CallOption {
	opts := make([]CallOption, 0, 7)
	if f.Trigger != "" {
		opts = append(opts, WithTrigger(f.Trigger))
	}
	if f.Purpose != "" {
		opts = append(opts, WithPurpose(f.Purpose))
	}
	if f.SubjectType != "" || f.SubjectID != "" {
		opts = append(opts, WithSubject(f.SubjectType, f.SubjectID))
	}
	if f.BreakGlass {
		opts = append(opts, WithBreakGlass(f.BreakGlassReason))
	}
	if f.ToolCallID != "" {
		opts = append(opts, WithToolCallID(f.ToolCallID))
	}
	if f.ToolType != "" {
		opts = append(opts, WithToolType(f.ToolType))
	}
	return opts
}
