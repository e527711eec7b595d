package redact

import "go.opentelemetry.io/collector/pdata/pcommon"

// Named pairs.
//
// The key rules match a secret by the name of its member. Many formats
// carry the key as data instead, in an object that pairs a name member
// with a value member: Kubernetes env vars ({"name":"DB_PASSWORD",
// "value":…}), HAR and HTTP header lists ({"name":"Authorization",
// "value":…}), AWS tags ({"Key":"api_token","Value":…}), CloudFormation
// parameters ({"ParameterKey":"DbPassword","ParameterValue":…}), and
// OTLP JSON's own attributes ({"key":"db.password","value":{…}}). In such
// an object the value member gets the action the key rules give the name
// member's string, as if the value sat under a member of that name.
//
// Member names are compared after key normalisation (case, '-', '_', '.'
// and spaces ignored):
//
//	name member              value member
//	name, key                value
//	parameterkey             parametervalue
//
// Member order does not matter. A pdata map is random access, so its name
// members are read before its value members are redacted. The JSON
// rewriter is streaming: a value member that comes before its name member
// is redacted as usual, and where it was written is remembered
// (pendingValue); when a later name member gives it a stronger action, its
// input is redacted again under that action and put in place of what was
// written, and what the first pass recorded is forgotten.

// pairSlot identifies the value member a name member pairs with.
type pairSlot uint8

const (
	slotValue      pairSlot = iota // "value", named by "name" or "key"
	slotParamValue                 // "parametervalue", named by "parameterkey"
	numPairSlots
)

// maxPairMember is the longest member name pairRole normalises: the
// longest pairing word, parametervalue, with room for separators.
const maxPairMember = 24

// maxPairName is the longest name member value that is classified. Env
// var, header, tag and parameter names are far shorter; a longer string is
// text, not a key.
const maxPairName = 256

// pairRole reports whether the member name key takes part in a named pair,
// which value member it names or is, and whether it is the name member.
func pairRole(key string) (slot pairSlot, isName, ok bool) {
	if len(key) < 3 || len(key) > maxPairMember {
		return 0, false, false
	}
	var buf [maxPairMember]byte
	return normPairRole(normalizeKey(buf[:0], key))
}

// normPairRole is pairRole for a normalised member name. The key rules
// have just normalised every member name they classified (Scope.keyAction
// leaves it in sc.nk), so the rewriters ask this, at the cost of one
// switch on its length.
func normPairRole(nk []byte) (slot pairSlot, isName, ok bool) {
	switch string(nk) {
	case "name", "key":
		return slotValue, true, true
	case "value":
		return slotValue, false, true
	case "parameterkey":
		return slotParamValue, true, true
	case "parametervalue":
		return slotParamValue, false, true
	}
	return 0, false, false
}

// pairNameAction returns the action the key rules give the value member
// named by the string v.
func (sc *Scope) pairNameAction(v string) Action {
	if v == "" || len(v) > maxPairName {
		return ActionNone
	}
	return sc.keyAction(v)
}

// strength orders actions: a mask hides more than a pseudonym, which hides
// more than nothing. When two name members name one value member
// differently, the stronger action wins.
func strength(a Action) int {
	switch a {
	case ActionMask:
		return 2
	case ActionPseudonymize:
		return 1
	}
	return 0
}

func stronger(a, b Action) Action {
	if strength(b) > strength(a) {
		return b
	}
	return a
}

// mapPairActions returns the action the name members of m give each value
// member slot.
func (sc *Scope) mapPairActions(m pcommon.Map) [numPairSlots]Action {
	var acts [numPairSlots]Action
	for k, v := range m.All() {
		if slot, isName, ok := pairRole(k); ok && isName && v.Type() == pcommon.ValueTypeStr {
			acts[slot] = stronger(acts[slot], sc.pairNameAction(v.Str()))
		}
	}
	return acts
}

// pendingValue is a value member of a JSON object being rewritten, kept
// until the object ends in case a name member after it pairs with it.
type pendingValue struct {
	slot    pairSlot
	applied Action // the action it was redacted under
	name    int    // its member name as written out, sc.names[name], for its path

	start, end   int // its input, w.s[start:end]
	oStart, oEnd int // its output, once w.out holds everything before it
	count        int // what redacting it added to sc.count
	p0, p1       int // the paths it added, sc.paths[p0:p1]
}

// objectPairs is the named-pair state of one JSON object.
type objectPairs struct {
	acts [numPairSlots]Action // what the name members so far give each slot
	base int                  // sc.pending[base:] are this object's value members
}

// outPos returns where w.s[i] is, or will be, in w.out: everything before
// w.last has been written and the rest will be copied as it is unless it
// changes.
func (w *jsonRewriter) outPos(i int) int { return len(w.out) + i - w.last }

// strengthen gives the value members of slot written so far in the object
// the action a, when it is stronger than what they got. Each is redacted
// again from its input under a, and the object's output from the first of
// them on is rebuilt once, so many value members cost one copy of the
// output, not one each.
func (w *jsonRewriter) strengthen(op *objectPairs, slot pairSlot, a Action) {
	sc := w.sc
	// redo adds no pending values (a key action turns named pairs off),
	// so pend stays valid.
	pend := sc.pending[op.base:]
	first := -1
	for i := range pend {
		if pend[i].slot == slot && strength(pend[i].applied) < strength(a) {
			first = i
			break
		}
	}
	if first < 0 {
		return
	}
	// Bring w.out up to date so that every pending output position is in
	// it. That alone changes nothing: w.dirty is set only when a value
	// redone changes (one already masked, a boolean or "" does not).
	w.ensureOut()
	w.out = append(w.out, w.s[w.last:w.i]...)
	w.last = w.i

	from := pend[first].oStart
	tail := sc.getBuf()
	pos := from // w.out[pos:] is not yet in tail
	for i := first; i < len(pend); i++ {
		pv := &pend[i]
		shift := from + len(tail) - pos // where w.out[pos] lands, less pos
		if pv.slot != slot || strength(pv.applied) >= strength(a) {
			pv.oStart += shift
			pv.oEnd += shift
			continue
		}
		tail = append(tail, w.out[pos:pv.oStart]...)
		pos = pv.oEnd
		// Forget what the first pass recorded: the value is redacted again.
		sc.count -= pv.count
		if n := pv.p1 - pv.p0; n > 0 {
			sc.paths = append(sc.paths[:pv.p0], sc.paths[pv.p1:]...)
			// The paths of value members redone before (earlier in the
			// object or not) may lie after the ones removed.
			for j := range pend {
				if j != i && pend[j].p0 >= pv.p1 {
					pend[j].p0 -= n
					pend[j].p1 -= n
				}
			}
		}
		pv.oStart = from + len(tail)
		c0, n0 := sc.count, len(sc.paths)
		var changed bool
		tail, changed = w.redo(tail, pv, a)
		w.dirty = w.dirty || changed
		pv.oEnd = from + len(tail)
		pv.applied, pv.count, pv.p0, pv.p1 = a, sc.count-c0, n0, len(sc.paths)
	}
	tail = append(tail, w.out[pos:]...)
	w.out = append(w.out[:from], tail...)
	sc.putBuf(tail)
}

// redo appends to dst the input of pv redacted under a, recording at pv's
// path, and reports whether that differs from the input.
func (w *jsonRewriter) redo(dst []byte, pv *pendingValue, a Action) ([]byte, bool) {
	sc := w.sc
	mk := sc.pushKey(sc.names[pv.name])
	defer sc.pop(mk)
	sub := jsonRewriter{sc: sc, s: w.s[:pv.end], i: pv.start, last: pv.start, depth: w.depth, names: len(sc.names)}
	ok := sub.value(a)
	sc.names = sc.names[:sub.names]
	if !ok || sub.i != pv.end {
		// It parsed before and a key action parses no deeper, so this
		// does not happen; should it, the value is masked whole.
		sub.release()
		sc.record(1)
		return appendJSONString(dst, sc.r.mask), true
	}
	if sub.out != nil {
		dst = append(dst, sub.out...)
	}
	dst = append(dst, w.s[sub.last:pv.end]...)
	sub.release()
	return dst, sub.dirty
}
