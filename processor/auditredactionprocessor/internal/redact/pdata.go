package redact

import (
	"math"
	"strconv"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attributes redacts the attributes m in place. prefix starts every path
// recorded under it ("" for span and log record attributes, "resource:",
// "event[0]:" and so on for the others).
func (sc *Scope) Attributes(prefix string, m pcommon.Map) {
	sc.path = append(sc.path[:0], prefix...)
	sc.mapMembers(m, ActionNone, 0, true)
	sc.path = sc.path[:0]
}

// Value redacts v in place, recording under label (for example "body").
func (sc *Scope) Value(label string, v pcommon.Value) {
	sc.path = append(sc.path[:0], label...)
	sc.value(v, ActionNone, 0, false)
	sc.path = sc.path[:0]
}

type rename struct{ from, to string }

// mapMembers redacts each member of m. top tells that m is an attribute map,
// whose keys name payload attributes.
func (sc *Scope) mapMembers(m pcommon.Map, mode Action, depth int, top bool) {
	var renames []rename
	var taken *nameSet // the map's keys, once one is renamed
	var pairActs [numPairSlots]Action
	pairsRead := false
	for k, v := range m.All() {
		name := k
		mk := len(sc.path)
		if d, ch := sc.memberName(k, mode); ch {
			if taken == nil {
				taken = &nameSet{names: make(map[string]struct{}, m.Len()), next: map[string]int{}}
				for k2 := range m.All() {
					taken.names[k2] = struct{}{}
				}
			}
			// Made unique here, so that the path recorded is the key's.
			d = taken.unique(d)
			name = d
			renames = append(renames, rename{k, d})
			sc.pushKey(name)
			sc.record(1)
			sc.pop(mk)
		}
		a := mode
		if a == ActionNone {
			a = sc.keyAction(k)
			// A value member of a named pair (pairs.go) gets the action
			// of its name member. The map is read for those once, at its
			// first member of a pair, before the detectors can change a
			// name member's string.
			if slot, isName, ok := normPairRole(sc.nk); ok {
				if !pairsRead {
					pairActs, pairsRead = sc.mapPairActions(m), true
				}
				if !isName {
					a = stronger(a, pairActs[slot])
				}
			}
		}
		sc.pushKey(name)
		sc.value(v, a, depth, top && sc.r.IsPayload(k))
		sc.pop(mk)
	}
	for _, rn := range renames {
		renameKey(m, rn.from, rn.to)
	}
}

// renameKey moves the value of from to the key to, which the caller has
// made unique among the map's keys (nameSet).
func renameKey(m pcommon.Map, from, to string) {
	v, ok := m.Get(from)
	if !ok {
		return
	}
	tmp := pcommon.NewValueEmpty()
	v.MoveTo(tmp)
	m.Remove(from)
	tmp.MoveTo(m.PutEmpty(to))
}

// value redacts v, found at nesting depth depth, under the key action mode.
func (sc *Scope) value(v pcommon.Value, mode Action, depth int, payload bool) {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		s := v.Str()
		if mode != ActionNone {
			if s == "" || sc.r.isRedacted(s) {
				return
			}
			sc.record(1)
			v.SetStr(sc.replacement(mode, s))
			return
		}
		out, changed, tooDeep := sc.text(s, depth, payload)
		if tooDeep {
			sc.record(1)
			v.SetStr(sc.r.maskJSON)
			return
		}
		if changed {
			v.SetStr(out)
		}
	case pcommon.ValueTypeInt:
		n := v.Int()
		if mode != ActionNone {
			sc.record(1)
			v.SetStr(sc.replacement(mode, strconv.FormatInt(n, 10)))
			return
		}
		if n >= 1e12 || n <= -1e12 { // long enough to be a card number
			if d, ch := sc.detect(strconv.FormatInt(n, 10)); ch {
				v.SetStr(d)
			}
		}
	case pcommon.ValueTypeDouble:
		d := v.Double()
		integral := d == math.Trunc(d) && math.Abs(d) < 1e21
		if mode != ActionNone {
			// An integer held as a double (a JSON number decoded into a
			// Go map) is written as the integer, so that it gets the
			// pseudonym it gets in an integer attribute.
			text := strconv.FormatFloat(d, 'g', -1, 64)
			if integral {
				text = strconv.FormatFloat(d, 'f', -1, 64)
			}
			sc.record(1)
			v.SetStr(sc.replacement(mode, text))
			return
		}
		if integral && (d >= 1e12 || d <= -1e12) { // a card number held as a double
			if out, ch := sc.detect(strconv.FormatFloat(d, 'f', -1, 64)); ch {
				v.SetStr(out)
			}
		}
	case pcommon.ValueTypeBytes:
		if v.Bytes().Len() == 0 {
			return
		}
		if mode != ActionNone {
			sc.record(1)
			v.SetStr(sc.replacement(mode, string(v.Bytes().AsRaw())))
			return
		}
		// Text sent as bytes (an SDK's []byte attribute) is scanned as a
		// string: the audit exporter stores bytes as base64, which hides
		// nothing. Binary data is left alone.
		b := v.Bytes().AsRaw()
		if !isText(b) {
			return
		}
		out, changed, tooDeep := sc.text(string(b), depth, payload)
		switch {
		case tooDeep:
			sc.record(1)
			v.SetStr(sc.r.maskJSON)
		case changed:
			v.SetStr(out)
		}
	case pcommon.ValueTypeMap:
		if depth+1 > sc.r.maxDepth {
			sc.record(1)
			v.SetStr(sc.r.mask)
			return
		}
		sc.mapMembers(v.Map(), mode, depth+1, false)
	case pcommon.ValueTypeSlice:
		if depth+1 > sc.r.maxDepth {
			sc.record(1)
			v.SetStr(sc.r.mask)
			return
		}
		sl := v.Slice()
		for i := 0; i < sl.Len(); i++ {
			mk := sc.pushIndex(i)
			sc.value(sl.At(i), mode, depth+1, false)
			sc.pop(mk)
		}
	case pcommon.ValueTypeBool, pcommon.ValueTypeEmpty:
		// A boolean or null carries no secret.
	}
}

// isText reports whether b reads as text: valid UTF-8 without control
// characters other than tab, line feed and carriage return.
func isText(b []byte) bool {
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	return true
}

// AttributesAt is Attributes for the i-th element of a list, such as the
// events or links of a span: paths start with "kind[i]:".
func (sc *Scope) AttributesAt(kind string, i int, m pcommon.Map) {
	sc.path = append(sc.path[:0], kind...)
	sc.path = append(sc.path, '[')
	sc.path = strconv.AppendInt(sc.path, int64(i), 10)
	sc.path = append(sc.path, ']', ':')
	sc.mapMembers(m, ActionNone, 0, true)
	sc.path = sc.path[:0]
}
