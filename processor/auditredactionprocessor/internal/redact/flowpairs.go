package redact

import "strings"

// Named pairs in flow mappings.
//
// Python prints a dict with single quotes ({'name': 'DB_PASSWORD',
// 'value': 'hunter2'}; boto3's tags: [{'Key': 'api_token', 'Value': …}]),
// YAML writes flow mappings with bare scalars ({name: DB_PASSWORD, value:
// hunter2}). Neither is JSON, so the JSON rewriter's pair rule
// does not see them. Here each flat mapping in text, from '{' to '}', is
// read member by member, and its value member gets the action the key
// rules give its name member's scalar (see pairs.go), in either order. A
// member that holds a mapping or a list ends the reading: the pairs before
// it count, and the search goes on inside it. A value cut off inside its
// quotes runs to the end of the text.

// flowPairs appends a span for the value member of each named pair in the
// flat flow mappings of s.
func (sc *Scope) flowPairs(s string, out []span) []span {
	for from := 0; from < len(s); {
		k := strings.IndexByte(s[from:], '{')
		if k < 0 {
			break
		}
		var next int
		out, next = sc.flowMapping(s, from+k, out)
		from = max(next, from+k+1)
	}
	return out
}

// flowMapping reads the flow mapping that opens at s[open] and appends a
// span for each value member its name members name. It returns where the
// search for the next mapping goes on: after the mapping, or where reading
// it stopped.
func (sc *Scope) flowMapping(s string, open int, out []span) ([]span, int) {
	var m flowMembers
	i := open + 1
	for {
		i = skipFlowSpace(s, i)
		if i >= len(s) {
			return m.spans(sc, s, out), i
		}
		if s[i] == '}' {
			return m.spans(sc, s, out), i + 1
		}
		// The member's key.
		ks, ke, ni, ok := flowScalar(s, i, true)
		if !ok {
			return m.spans(sc, s, out), ni
		}
		i = skipFlowSpace(s, ni)
		if i >= len(s) || s[i] != ':' {
			return m.spans(sc, s, out), i
		}
		i++
		i = skipFlowSpace(s, i)
		if i < len(s) && (s[i] == '{' || s[i] == '[') {
			// A nested structure: the members after it are not read, the
			// pairs before it count.
			return m.spans(sc, s, out), i
		}
		slot, isName, isPair := pairRole(s[ks:ke])
		vs, ve, ni, ok := flowScalar(s, i, false)
		if !ok {
			if isPair && !isName && ni == len(s) && i < len(s) && (s[i] == '\'' || s[i] == '"') {
				// Cut off inside the value's quotes: the value runs to the
				// end, as a cut-off JSON pair's does.
				m.val[slot].start, m.val[slot].end = i+1, len(s)
			}
			return m.spans(sc, s, out), ni
		}
		if isPair {
			if isName {
				m.act[slot] = stronger(m.act[slot], sc.pairNameAction(s[vs:ve]))
			} else {
				m.val[slot].start, m.val[slot].end = vs, ve
			}
		}
		i = skipFlowSpace(s, ni)
		if i < len(s) && s[i] == ',' {
			i++
			continue
		}
		if i >= len(s) || s[i] != '}' {
			return m.spans(sc, s, out), i
		}
	}
}

// flowMembers is what a flow mapping's members have said so far: the action
// its name members give each value slot, and where its value members are.
type flowMembers struct {
	act [numPairSlots]Action
	val [numPairSlots]struct{ start, end int }
}

// spans appends a span for each value member a name member names.
func (m *flowMembers) spans(sc *Scope, s string, out []span) []span {
	for slot, a := range m.act {
		v := m.val[slot]
		if a == ActionNone || v.end <= v.start || sc.r.isRedacted(s[v.start:v.end]) {
			continue
		}
		if a == ActionPseudonymize && sc.r.hmacKey == nil {
			a = ActionMask
		}
		out = append(out, span{start: v.start, end: v.end, action: a})
	}
	return out
}

func skipFlowSpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

// flowScalar reads the scalar at s[i] of a flow mapping, quoted with ' or
// " on one line (a backslash escapes the next byte; Python writes a line
// break in a string as \n) or bare (to ',', '}' or, for a key, ':'), and
// returns its bounds without quotes and where reading goes on. ok is false
// when s[i] starts no scalar or its quote does not close on its line.
func flowScalar(s string, i int, key bool) (st, en, next int, ok bool) {
	if i >= len(s) {
		return 0, 0, i, false
	}
	if q := s[i]; q == '\'' || q == '"' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				if j+1 < len(s) && s[j+1] != '\n' {
					j++
				}
			case '\n':
				return 0, 0, j, false
			case q:
				return i + 1, j, j + 1, true
			}
		}
		return 0, 0, len(s), false
	}
	j := i
	for j < len(s) {
		c := s[j]
		if c == ',' || c == '}' || c == '{' || c == '[' || c == '\n' ||
			key && c == ':' {
			break
		}
		j++
	}
	e := j
	for e > i && (s[e-1] == ' ' || s[e-1] == '\t' || s[e-1] == '\r') {
		e--
	}
	if e == i {
		return 0, 0, j, false
	}
	return i, e, j, true
}
