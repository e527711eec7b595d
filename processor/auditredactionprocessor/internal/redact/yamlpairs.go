package redact

import "strings"

// Named pairs in YAML.
//
// A tool's result often holds YAML that pairs a name with a value, as JSON
// does (see pairs.go): `kubectl get -o yaml` prints a container's env as
//
//	env:
//	- name: DB_PASSWORD
//	  value: hunter2
//
// The key=value rule sees "value: hunter2", whose key is no secret's. Here
// the block mappings of YAML text are read a line at a time, and in each
// the value member gets the action the key rules give the name member's
// scalar, in either order, as in JSON. A value written as a block (value: |
// and deeper lines) is redacted whole. Flow mappings ({name: x, value: y})
// are read by flowPairs.

// yamlPairs appends a span for the value member of each named pair in the
// YAML block mappings of s.
// The caller checks hasPairWord(s) first.
func (sc *Scope) yamlPairs(s string, out []span) []span {
	var st yamlStack
	for ls := 0; ls < len(s); {
		le := strings.IndexByte(s[ls:], '\n')
		if le < 0 {
			le = len(s)
		} else {
			le += ls
		}
		line := strings.TrimRight(s[ls:le], "\r")
		out = sc.yamlLine(s, ls, line, &st, out)
		ls = le + 1
	}
	return st.popTo(-1, out)
}

// hasPairWord reports whether s may hold a pair's name member: "name:" or
// "key:" in any case (ParameterKey among them), the word maybe quoted. It
// looks only before each colon, which strings.IndexByte finds fast: most
// strings the processor scans hold no pair, and it scans every one.
func hasPairWord(s string) bool {
	for from := 0; ; {
		k := strings.IndexByte(s[from:], ':')
		if k < 0 {
			return false
		}
		j := from + k
		from = j + 1
		for n := 0; n < 4 && j > 0 && s[j-1] == ' '; n++ {
			j-- // { 'name' : … }
		}
		if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
			j--
		}
		if j >= 3 && s[j-3]|0x20 == 'k' && s[j-2]|0x20 == 'e' && s[j-1]|0x20 == 'y' ||
			j >= 4 && s[j-4]|0x20 == 'n' && s[j-3]|0x20 == 'a' && s[j-2]|0x20 == 'm' && s[j-1]|0x20 == 'e' {
			return true
		}
	}
}

// yamlMapping is a block mapping being read: its key column, the action
// its name members give each value slot, and where its value members are.
type yamlMapping struct {
	col int
	act [numPairSlots]Action
	val [numPairSlots]struct{ start, end int }
}

// yamlStack holds the open mappings, deepest last: a mapping stays open
// while deeper lines (its members' content) are read, so that a name
// member after a nested value still pairs.
type yamlStack struct {
	open []yamlMapping
	// block is the slot of the deepest mapping whose value member goes on
	// in deeper lines (value: |, or nothing after the colon), or -1.
	block int
}

// popTo closes every mapping deeper than col (all for -1), appending a
// span for each value member a name member of its mapping named.
func (st *yamlStack) popTo(col int, out []span) []span {
	for len(st.open) > 0 && st.open[len(st.open)-1].col > col {
		m := &st.open[len(st.open)-1]
		for k := range m.act {
			if m.act[k] != ActionNone && m.val[k].end > m.val[k].start {
				out = append(out, span{start: m.val[k].start, end: m.val[k].end, action: m.act[k]})
			}
		}
		st.open = st.open[:len(st.open)-1]
	}
	return out
}

// yamlLine reads one line (line is s[ls:ls+len(line)], without its line
// break), appending the spans of the mappings it closes.
func (sc *Scope) yamlLine(s string, ls int, line string, st *yamlStack, out []span) []span {
	i := 0
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if i == len(line) || line[i] == '#' {
		return out // blank lines and comments end nothing
	}
	ind := i
	if n := len(st.open); n > 0 && ind > st.open[n-1].col && st.block >= 0 {
		// The content of a value member written as a block.
		v := &st.open[n-1].val[st.block]
		if v.start < 0 {
			v.start = ls + ind
		}
		v.end = ls + len(line)
		return out
	}
	st.block = -1
	item := false
	if line[i] == '-' && (i+1 == len(line) || line[i+1] == ' ') {
		item = true
		i++
		for i < len(line) && line[i] == ' ' {
			i++
		}
	}
	key, vs, ok := yamlKey(line, i)
	if !ok {
		return st.popTo(ind-1, out) // text at this column ends its mappings
	}
	// A list item starts a new mapping at its key's column, ending one
	// there; a key deeper than the open mappings starts one too.
	if item {
		out = st.popTo(i-1, out)
	} else {
		out = st.popTo(i, out)
	}
	if n := len(st.open); n == 0 || st.open[n-1].col != i {
		if len(st.open) >= maxYAMLDepth {
			return out
		}
		st.open = append(st.open, yamlMapping{col: i})
	}
	m := &st.open[len(st.open)-1]
	slot, isName, isPair := pairRole(key)
	if !isPair {
		return out
	}
	v, s0, e0 := yamlScalar(line, vs)
	if isName {
		m.act[slot] = stronger(m.act[slot], sc.pairNameAction(v))
		return out
	}
	if v == "" || v[0] == '|' || v[0] == '>' {
		m.val[slot].start, m.val[slot].end = -1, -1
		st.block = int(slot)
		return out
	}
	m.val[slot].start, m.val[slot].end = ls+s0, ls+e0
	return out
}

// maxYAMLDepth bounds the open mappings: text indented a space more on
// every line must not grow the stack without end.
const maxYAMLDepth = 256

// yamlKey reads the mapping key at line[i:], bare or quoted, and returns
// it and where its value starts (after ": "); ok is false when line[i:]
// is not "key:" followed by a space or the end of the line.
func yamlKey(line string, i int) (key string, vs int, ok bool) {
	j := i
	if j < len(line) && (line[j] == '"' || line[j] == '\'') {
		e := strings.IndexByte(line[j+1:], line[j])
		if e < 0 {
			return "", 0, false
		}
		key, j = line[j+1:j+1+e], j+e+2
	} else {
		for j < len(line) && isKeyByte(line[j]) {
			j++
		}
		key = line[i:j]
	}
	if key == "" || j >= len(line) || line[j] != ':' || j+1 < len(line) && line[j+1] != ' ' && line[j+1] != '\t' {
		return "", 0, false
	}
	return key, j + 1, true
}

// yamlScalar returns the scalar after a key (from line[i]), unquoted, and
// its bounds in line; a trailing comment is not part of it.
func yamlScalar(line string, i int) (v string, start, end int) {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	if i < len(line) && (line[i] == '"' || line[i] == '\'') {
		if e := strings.IndexByte(line[i+1:], line[i]); e >= 0 {
			return line[i+1 : i+1+e], i + 1, i + 1 + e
		}
		return line[i+1:], i + 1, len(line) // a quote never closed
	}
	e := len(line)
	if c := strings.Index(line[i:], " #"); c >= 0 {
		e = i + c
	}
	for e > i && (line[e-1] == ' ' || line[e-1] == '\t') {
		e--
	}
	return line[i:e], i, e
}
