package instrumentation

import (
	"fmt"
	"maps"
	"strings"

	"github.com/otelaudit/otelaudit/instrumentation/internal/payload"
)

// maxNameBytes bounds a recorded tool name: a name comes from the model,
// which may produce anything.
const maxNameBytes = 256

// Tool describes a tool and how its calls are recorded. Zero-valued fields
// inherit the Auditor's settings.
type Tool struct {
	// Name is the tool's name (gen_ai.tool.name). Required.
	Name string
	// Type is gen_ai.tool.type: "function" (the default), "extension" or
	// "datastore".
	Type string
	// Description is recorded as gen_ai.tool.description when not empty.
	Description string
	// Arguments sets how this tool's arguments are recorded.
	Arguments Capture
	// Result sets how this tool's results are recorded.
	Result Capture
	// ResultKeys, when not nil, replaces the Auditor's identifier patterns
	// for this tool's summaries (see WithResultKeys).
	ResultKeys []string

	_ struct{}
}

// toolPolicy is a Tool resolved against the Auditor's settings.
type toolPolicy struct {
	name     string // as recorded: valid UTF-8, at most maxNameBytes
	spanName string
	typ      string
	desc     string
	args     Capture
	result   Capture
	keys     *payload.Matcher
}

func spanName(name string) string {
	if name == "" {
		return "execute_tool"
	}
	return "execute_tool " + name
}

// policy returns the policy of the tool called name, and the name and span
// name to record.
func (a *Auditor) policy(name string) (p *toolPolicy, recorded, span string) {
	if p, ok := a.tools[name]; ok {
		return p, p.name, p.spanName
	}
	recorded = cut(name, maxNameBytes)
	m := a.spanNames.Load()
	if m != nil {
		if span, ok := (*m)[recorded]; ok {
			return a.def, recorded, span
		}
	}
	span = spanName(recorded)
	if m == nil || len(*m) < maxSpanNames {
		a.addSpanName(recorded, span)
	}
	return a.def, recorded, span
}

// addSpanName caches the span name of an undeclared tool, unless the cache
// is full. Each addition copies the map: there are at most maxSpanNames.
func (a *Auditor) addSpanName(name, span string) {
	a.spanNamesMu.Lock()
	defer a.spanNamesMu.Unlock()
	var old map[string]string
	if m := a.spanNames.Load(); m != nil {
		old = *m
	}
	if _, ok := old[name]; ok || len(old) >= maxSpanNames {
		return
	}
	m := make(map[string]string, len(old)+1)
	maps.Copy(m, old)
	// A copy, so that the cache does not hold on to the memory that name
	// may be a part of.
	m[strings.Clone(name)] = span
	a.spanNames.Store(&m)
}

func (a *Auditor) compile(t Tool) (*toolPolicy, error) {
	if t.Name == "" {
		return nil, fmt.Errorf("tool name: must not be empty")
	}
	if !t.Arguments.valid() {
		return nil, fmt.Errorf("tool %q: arguments capture %d: unknown value", t.Name, t.Arguments)
	}
	if !t.Result.valid() {
		return nil, fmt.Errorf("tool %q: result capture %d: unknown value", t.Name, t.Result)
	}
	p := *a.def
	p.name = cut(t.Name, maxNameBytes)
	p.spanName = spanName(p.name)
	if t.Type != "" {
		p.typ = validUTF8(t.Type)
	}
	p.desc = validUTF8(t.Description)
	if t.Arguments != CaptureDefault {
		p.args = t.Arguments
	}
	if t.Result != CaptureDefault {
		p.result = t.Result
	}
	if t.ResultKeys != nil {
		keys, err := payload.NewKeyMatcher(t.ResultKeys)
		if err != nil {
			return nil, fmt.Errorf("tool %q: result keys: %w", t.Name, err)
		}
		p.keys = keys
	}
	return &p, nil
}
