package redact

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
)

// Action says what becomes of a value or a detected part of it.
type Action uint8

const (
	// ActionNone leaves the value alone (a disabled detector).
	ActionNone Action = iota
	// ActionMask replaces the value with the mask string.
	ActionMask
	// ActionPseudonymize replaces the value with a keyed pseudonym
	// "hmac-sha256:<hex>". Without an HMAC key it degrades to ActionMask.
	ActionPseudonymize
)

// String returns the configuration spelling of a.
func (a Action) String() string {
	switch a {
	case ActionNone:
		return "off"
	case ActionMask:
		return "mask"
	case ActionPseudonymize:
		return "pseudonymize"
	}
	return fmt.Sprintf("Action(%d)", uint8(a))
}

// ParseAction parses a configuration spelling: "mask", "pseudonymize" (or
// "pseudonymise"), "off" (or "none").
func ParseAction(s string) (Action, error) {
	switch s {
	case "mask":
		return ActionMask, nil
	case "pseudonymize", "pseudonymise":
		return ActionPseudonymize, nil
	case "off", "none":
		return ActionNone, nil
	}
	return ActionNone, fmt.Errorf("unknown action %q (want mask, pseudonymize or off)", s)
}

// span is a detected part [start, end) of a string.
type span struct {
	start, end int
	action     Action
	fold       bool // fold ASCII case before pseudonymising
}

// scanFunc appends the spans of s it detects to out.
type scanFunc func(s string, out []span) []span

// Built-in detector names.
const (
	DetectorCreditCard = "credit_card"
	DetectorSSN        = "ssn"
	DetectorEmail      = "email"
	DetectorJWT        = "jwt"
	DetectorBearer     = "bearer"
	DetectorAWSKey     = "aws_access_key"
	DetectorPrivateKey = "private_key"
	DetectorURLPass    = "url_password"
)

// builtins maps each built-in detector name to its scanner. The scanners are
// hand-written single passes rather than regular expressions: they run on
// every string the processor sees, so they are its hot path.
var builtins = map[string]scanFunc{
	DetectorCreditCard: scanCards,
	DetectorSSN:        scanSSNs,
	DetectorEmail:      scanEmails,
	DetectorJWT:        scanJWTs,
	DetectorBearer:     scanBearer,
	DetectorAWSKey:     scanAWSKeys,
	DetectorPrivateKey: scanPEMPrivateKeys,
	DetectorURLPass:    scanURLPasswords,
}

// BuiltinDetectors returns the names of the built-in detectors, sorted.
func BuiltinDetectors() []string { return slices.Sorted(maps.Keys(builtins)) }

// IsBuiltinDetector reports whether name is a built-in detector.
func IsBuiltinDetector(name string) bool {
	_, ok := builtins[name]
	return ok
}

// detector is one enabled detector.
type detector struct {
	name   string
	action Action
	scan   scanFunc       // built-in
	re     *regexp.Regexp // custom
	// lowerForHMAC folds ASCII case before pseudonymising, so that one
	// e-mail address gives one pseudonym whatever its spelling.
	lowerForHMAC bool
}

func (d *detector) find(s string, out []span) []span {
	n := len(out)
	if d.scan != nil {
		out = d.scan(s, out)
	} else {
		for _, loc := range d.re.FindAllStringIndex(s, -1) {
			if loc[1] > loc[0] {
				out = append(out, span{start: loc[0], end: loc[1]})
			}
		}
	}
	for i := n; i < len(out); i++ {
		out[i].action = d.action
	}
	return out
}

// mergeSpans sorts spans by start and merges overlapping ones; a merged span
// takes the stronger action (mask beats pseudonymize, because a pseudonym of
// a partial match could still reveal part of the value), and folds case when
// any part did, whatever order the sort left equal spans in.
func mergeSpans(sp []span) []span {
	if len(sp) < 2 {
		return sp
	}
	slices.SortFunc(sp, func(a, b span) int { return a.start - b.start })
	w := 0
	for _, s := range sp[1:] {
		last := &sp[w]
		if s.start < last.end {
			if s.end > last.end {
				last.end = s.end
			}
			if s.action == ActionMask || last.action != s.action {
				last.action = ActionMask
			}
			last.fold = last.fold || s.fold
			continue
		}
		w++
		sp[w] = s
	}
	return sp[:w+1]
}
