package redact

import (
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The JSON rewriter walks a JSON text once, token by token, and copies it to
// the output only from the first change on: an untouched payload costs one
// scan and no allocation. Key order, white space and untouched escapes are
// kept as they were. Replaced strings are re-encoded, with invalid UTF-8
// written as U+FFFD, so the output of valid JSON is valid JSON.
//
// Malformed input is handled leniently: everything before the first
// offending token is rewritten as usual, and the rest is masked when it sits
// under a masked key (a truncated {"password": "hun) or else scanned by the
// value detectors.

type parseStatus uint8

const (
	parseOK parseStatus = iota
	parseSyntax
	parseTooDeep
)

type jsonRewriter struct {
	sc    *Scope
	s     string
	i     int
	depth int

	out   []byte // nil until the first change
	last  int    // s[last:] is not yet copied to out
	dirty bool

	status  parseStatus
	errPos  int
	errMode Action

	// argv is the program the next array's elements are the arguments
	// of, set for an object's "args" member after its "command" member
	// named one ({"command":"redis-cli","args":["-a","…"]}); array takes
	// it and clears it.
	argv progState

	names int // sc.names[names:] are the member names of the open objects
	far   int // the furthest position read, for a failed parse's cost
}

// rewriteJSON redacts the JSON text s found at nesting depth depth. On a
// syntax error it returns the lenient rewrite described above.
func (sc *Scope) rewriteJSON(s string, depth int) (string, bool, parseStatus) {
	w := jsonRewriter{sc: sc, s: s, depth: depth, names: len(sc.names)}
	pending := len(sc.pending)
	defer func() {
		sc.names = sc.names[:w.names]
		sc.pending = sc.pending[:pending]
	}()
	mk := len(sc.path)
	if w.value(ActionNone) {
		w.skipSpace()
		if w.i < len(s) {
			w.fail(w.i, ActionNone, parseSyntax)
		}
	}
	if w.status == parseTooDeep {
		sc.pop(mk)
		w.release()
		return "", false, parseTooDeep
	}
	if w.status == parseSyntax {
		w.ensureOut()
		masked := w.cutOff()
		sc.pop(mk)
		if !masked {
			// The rest may still hold JSON: a second NDJSON document, or
			// an object after a prefix that is not JSON (a byte order
			// mark, a code fence).
			tail := s[w.errPos:]
			if !w.dirty {
				// Nothing before the error needed redacting as JSON: the
				// text is read whole, as text, so that the rules for text
				// see a Python dict's first member and the key before a
				// separator JSON does not have ({'name': …}, {"k"=>…}).
				w.out, tail = w.out[:0], s
			} else if back, n := quotedKeyBefore(s, w.errPos), len(w.out); back < w.errPos && n >= w.errPos-back && string(w.out[n-(w.errPos-back):]) == s[back:w.errPos] {
				// {"password"=>"x"} (Ruby's Hash#inspect), ["token" =>
				// "x"] (PHP): the key rule needs the key before the
				// separator the parse stopped at.
				w.out = w.out[:len(w.out)-(w.errPos-back)]
				tail = s[back:]
			}
			if d, ch, _ := sc.freeText(tail, depth); ch {
				tail = d
				w.dirty = true
			}
			w.out = append(w.out, tail...)
		}
		if !w.dirty {
			w.release()
			return s, false, parseSyntax
		}
		res := string(w.out)
		w.release()
		return res, true, parseSyntax
	}
	sc.pop(mk)
	if !w.dirty {
		w.release() // a named pair's value redone alike (pairs.go)
		return s, false, parseOK
	}
	w.out = append(w.out, s[w.last:]...)
	res := string(w.out)
	w.release()
	return res, true, parseOK
}

// rewriteJSONValue redacts the JSON value at the start of s, under the key
// action mode, and returns its rewrite and its length in s; s may go on
// after it. ok is false when no JSON value starts s (or it nests deeper
// than the limit); the caller then rolls back what was recorded, and n is
// how far into s the try read.
//
// A value cut off or spoiled part way (an SDK's length limit) whose parsed
// part already held something to redact is taken leniently, as rewriteJSON
// takes a whole string: its parsed part is returned redacted, n is where
// parsing stopped, and the rest of s is masked when it sits under a matched
// key. JSON escapes (\u0041KIA…, postgres:\/\/u:pw@…) hide values from the
// text rules, so such a prefix must not fall back to them.
func (sc *Scope) rewriteJSONValue(s string, depth int, mode Action) (res string, changed bool, n int, ok bool) {
	w := jsonRewriter{sc: sc, s: s, depth: depth, names: len(sc.names)}
	mk := len(sc.path)
	pending := len(sc.pending)
	ok = w.value(mode)
	sc.pending = sc.pending[:pending]
	// A value cut off by the end of the text under a matched key or named
	// pair (its name before it: {"name":"DB_PASSWORD","value":"hun) has
	// nothing redacted yet, and the text rules, which know no pairs, would
	// leave it. A structure spoiled by a bad token is theirs (a Python
	// dict after a key is masked to its closing bracket).
	if !ok && w.status == parseSyntax && (w.dirty || w.errMode != ActionNone && w.far >= len(s) && !allSpace(s[w.errPos:])) {
		w.ensureOut()
		n = w.errPos
		if w.cutOff() {
			n = len(s)
		}
		sc.pop(mk)
		sc.names = sc.names[:w.names]
		res = string(w.out)
		w.release()
		return res, true, n, true
	}
	sc.pop(mk)
	sc.names = sc.names[:w.names]
	if !ok {
		w.release()
		return "", false, w.far + 1, false
	}
	if !w.dirty {
		w.release() // a named pair's value redone alike (pairs.go)
		return s[:w.i], false, w.i, true
	}
	w.out = append(w.out, s[w.last:w.i]...)
	res = string(w.out)
	w.release()
	return res, true, w.i, true
}

// cutOff writes what parsed before a syntax error and, when the rest of
// the input sits under a matched key (a string cut off by a length limit:
// {"password":"hun), the mask in its place, recorded at the path where
// parsing stopped; it reports whether it did. A string cut off keeps its
// opening quote, as the key=value rule keeps it. w.out must be in use.
func (w *jsonRewriter) cutOff() (masked bool) {
	w.out = append(w.out, w.s[w.last:w.errPos]...)
	w.last = w.errPos
	tail := w.s[w.errPos:]
	if w.errMode == ActionNone || allSpace(tail) {
		return false
	}
	body := tail
	if tail[0] == '"' {
		body = tail[1:]
		w.out = append(w.out, '"')
	}
	if w.sc.r.isRedacted(strings.TrimRight(body, " \t\r\n")) {
		// A first pass's mask, cut off as the value was: kept, and not
		// counted again.
		w.out = append(w.out, body...)
		w.last = len(w.s)
		return true
	}
	w.out = append(w.out, w.sc.r.mask...)
	w.sc.record(1)
	w.last = len(w.s)
	w.dirty = true
	return true
}

// quotedKeyBefore returns where the quoted string that ends before the
// '=' at s[i] starts ("key" => v, "key" = v), or i.
func quotedKeyBefore(s string, i int) int {
	if i >= len(s) || s[i] != '=' {
		return i
	}
	j := i
	for j > 0 && isJSONSpace(s[j-1]) {
		j--
	}
	if j == 0 || s[j-1] != '"' {
		return i
	}
	for k := j - 2; k >= 0 && j-k <= maxTextKeyLen+2; k-- {
		if s[k] == '"' && (k == 0 || s[k-1] != '\\') {
			return k
		}
	}
	return i
}

func allSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isJSONSpace(s[i]) {
			return false
		}
	}
	return true
}

func (w *jsonRewriter) release() {
	if w.out != nil {
		w.sc.putBuf(w.out)
		w.out = nil
	}
}

func (w *jsonRewriter) ensureOut() {
	if w.out == nil {
		w.out = w.sc.getBuf()
	}
}

func (w *jsonRewriter) fail(pos int, mode Action, st parseStatus) {
	w.far = max(w.far, pos, w.i)
	if w.status == parseOK {
		w.status, w.errPos, w.errMode = st, pos, mode
	}
}

// splice replaces s[start:end] in the output with the bytes add appends.
func (w *jsonRewriter) splice(start, end int) {
	w.ensureOut()
	w.out = append(w.out, w.s[w.last:start]...)
	w.last = end
	w.dirty = true
}

func (w *jsonRewriter) skipSpace() {
	for w.i < len(w.s) && isJSONSpace(w.s[w.i]) {
		w.i++
	}
}

func (w *jsonRewriter) value(mode Action) bool {
	w.skipSpace()
	if w.i >= len(w.s) {
		w.fail(w.i, mode, parseSyntax)
		return false
	}
	switch c := w.s[w.i]; {
	case c == '{':
		return w.object(mode)
	case c == '[':
		return w.array(mode)
	case c == '"':
		return w.stringValue(mode)
	case c == 't':
		return w.literal("true", mode)
	case c == 'f':
		return w.literal("false", mode)
	case c == 'n':
		return w.literal("null", mode)
	case c == '-' || isDigit(c):
		return w.number(mode)
	}
	w.fail(w.i, mode, parseSyntax)
	return false
}

func (w *jsonRewriter) enter(mode Action) bool {
	w.depth++
	if w.depth > w.sc.r.maxDepth {
		w.fail(w.i, mode, parseTooDeep)
		return false
	}
	w.i++
	w.skipSpace()
	return true
}

func (w *jsonRewriter) object(mode Action) bool {
	if !w.enter(mode) {
		return false
	}
	if w.i < len(w.s) && w.s[w.i] == '}' {
		w.i++
		w.depth--
		return true
	}
	names := len(w.sc.names) // this object's member names, as written out
	renamed := false
	var taken *nameSet // this object's names, once one is renamed
	// Under a key action every leaf is redacted already, so named pairs
	// (pairs.go) matter only without one.
	op := objectPairs{base: len(w.sc.pending)}
	cmd := progNone // the program a "command" member named
	for {
		w.skipSpace()
		kStart := w.i
		if w.i >= len(w.s) || w.s[w.i] != '"' {
			w.fail(kStart, mode, parseSyntax)
			return false
		}
		raw, esc, ok := w.scanString()
		if !ok {
			w.fail(kStart, mode, parseSyntax)
			return false
		}
		key := raw
		if esc {
			key = decodeJSONString(raw)
		}
		// A member name can carry data too (an object keyed by e-mail
		// address); the detectors see it, and the path shows it redacted.
		name := key
		m := len(w.sc.path)
		d, ch := w.sc.memberName(key, mode)
		if ch {
			name = d
			renamed = true
		}
		if renamed {
			// Two names redacted alike (two addresses masked) must not
			// make one member shadow the other for a JSON parser: the
			// later one gets a "#n" suffix, as a map attribute's key does.
			if taken == nil {
				taken = newNameSet(w.sc.names[names:])
			}
			if u := taken.unique(name); u != name {
				name, ch = u, true
			}
		}
		if ch {
			w.splice(kStart, w.i)
			w.out = appendJSONString(w.out, name)
			if name != key {
				mk := w.sc.pushKey(name)
				w.sc.record(1)
				w.sc.pop(mk)
			}
		}
		w.sc.names = append(w.sc.names, name)
		child := mode
		var slot pairSlot
		var isName, paired bool
		if child == ActionNone {
			child = w.sc.keyAction(key)
			if slot, isName, paired = normPairRole(w.sc.nk); paired && !isName {
				child = stronger(child, op.acts[slot])
			}
		}
		w.skipSpace()
		if w.i >= len(w.s) || w.s[w.i] != ':' {
			w.fail(w.i, mode, parseSyntax)
			return false
		}
		w.i++
		argv := false
		if child == ActionNone {
			// A command and its arguments in members of their own, as MCP
			// server configurations and tool calls write them.
			switch string(w.sc.nk) {
			case "command", "cmd", "program", "executable", "exe", "binary", "file":
				if w.skipSpace(); w.i < len(w.s) && w.s[w.i] == '"' {
					cmd = passwordProgram(w.peekString())
				}
			case "args", "argv", "arguments":
				argv = cmd != progNone
			}
		}
		nameAct := ActionNone
		var pv pendingValue
		if paired {
			w.skipSpace()
			if isName {
				if w.i < len(w.s) && w.s[w.i] == '"' {
					nameAct = w.sc.pairNameAction(w.peekString())
				}
			} else {
				pv = pendingValue{slot: slot, applied: child, name: len(w.sc.names) - 1, start: w.i, oStart: w.outPos(w.i), count: w.sc.count, p0: len(w.sc.paths)}
			}
		}
		w.sc.pushKey(name)
		if argv {
			w.argv = progState{prog: cmd}
		}
		if !w.value(child) {
			return false
		}
		w.argv = progState{}
		w.sc.pop(m)
		if paired {
			if isName {
				if strength(nameAct) > strength(op.acts[slot]) {
					op.acts[slot] = nameAct
					w.strengthen(&op, slot, nameAct)
				}
			} else if strength(child) < strength(ActionMask) {
				// A name member after it may still pair with it.
				pv.end, pv.oEnd = w.i, w.outPos(w.i)
				pv.count, pv.p1 = w.sc.count-pv.count, len(w.sc.paths)
				w.sc.pending = append(w.sc.pending, pv)
			}
		}
		w.skipSpace()
		if w.i >= len(w.s) {
			w.fail(w.i, mode, parseSyntax)
			return false
		}
		switch w.s[w.i] {
		case ',':
			w.i++
			continue
		case '}':
			w.i++
			w.depth--
			w.sc.names = w.sc.names[:names]
			w.sc.pending = w.sc.pending[:op.base]
			return true
		}
		w.fail(w.i, mode, parseSyntax)
		return false
	}
}

func (w *jsonRewriter) array(mode Action) bool {
	if !w.enter(mode) {
		return false
	}
	if w.i < len(w.s) && w.s[w.i] == ']' {
		w.i++
		w.depth--
		return true
	}
	flag := ActionNone // the action a flag element gave the element after it
	ps := w.argv       // the program an argv array runs, when it takes a password its own way
	w.argv = progState{}
	for idx := 0; ; idx++ {
		m := w.sc.pushIndex(idx)
		w.skipSpace()
		// A command line as an argv array (["mysqldump", "--password",
		// "…"]) holds a flag and its value in elements of their own.
		start := w.i
		isStr := mode == ActionNone && w.i < len(w.s) && w.s[w.i] == '"'
		elem := mode
		stepped := false
		nextFlag, nextPS := ActionNone, ps
		if isStr && (flag != ActionNone || ps.prog != progNone) {
			v := w.peekString()
			if flag != ActionNone && !strings.HasPrefix(v, "-") && !(flag == flagUser && !isUserPassword(v)) {
				elem = flag
				if elem == flagUser {
					elem = ActionMask
				}
			}
			if ps.prog != progNone {
				var pw bool
				nextFlag, pw, nextPS = w.sc.argvStep(v, ps)
				stepped = true
				if pw {
					elem = ActionMask
				}
			}
		}
		if !w.value(elem) {
			return false
		}
		// A program is named by a short element, a flag starts with '-'.
		if raw := w.s[start:w.i]; !stepped && isStr && (len(raw) <= maxProgramPath || len(raw) > 3 && raw[1] == '-') {
			v := raw[1 : len(raw)-1]
			if strings.IndexByte(v, '\\') >= 0 {
				v = decodeJSONString(v)
			}
			nextFlag, _, nextPS = w.sc.argvStep(v, ps)
		}
		flag, ps = nextFlag, nextPS
		w.sc.pop(m)
		w.skipSpace()
		if w.i >= len(w.s) {
			w.fail(w.i, mode, parseSyntax)
			return false
		}
		switch w.s[w.i] {
		case ',':
			w.i++
			continue
		case ']':
			w.i++
			w.depth--
			return true
		}
		w.fail(w.i, mode, parseSyntax)
		return false
	}
}

func (w *jsonRewriter) literal(lit string, mode Action) bool {
	if len(w.s)-w.i >= len(lit) && w.s[w.i:w.i+len(lit)] == lit {
		w.i += len(lit)
		return true
	}
	w.fail(w.i, mode, parseSyntax)
	return false
}

// number scans a JSON number. Under a key action it becomes a string; else
// the detectors see its text (a card number sent as a number).
func (w *jsonRewriter) number(mode Action) bool {
	start := w.i
	s := w.s
	i := w.i
	if s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		w.fail(start, mode, parseSyntax)
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i >= len(s) || !isDigit(s[i]) {
			w.fail(start, mode, parseSyntax)
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i >= len(s) || !isDigit(s[i]) {
			w.fail(start, mode, parseSyntax)
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	w.i = i
	text := s[start:i]
	if digits, ok := integralDigits(text); ok {
		text = digits
	}
	if mode != ActionNone {
		w.sc.record(1)
		w.splice(start, i)
		w.out = appendJSONString(w.out, w.sc.replacement(mode, text))
		return true
	}
	if len(text) >= 13 {
		if d, ch := w.sc.detect(text); ch {
			w.splice(start, i)
			w.out = appendJSONString(w.out, d)
		}
	}
	return true
}

// nameSet is the member names of one object or map, for giving redacted
// names that collide a "#n" suffix in constant time each: thousands of
// members masked alike ({"api_keys":{"k0":…,"k1":…}}) took cubic time
// when each new name searched the names before it for each n.
type nameSet struct {
	names map[string]struct{}
	next  map[string]int // the next n to try for a base name
}

func newNameSet(names []string) *nameSet {
	ns := &nameSet{names: make(map[string]struct{}, len(names)+8), next: map[string]int{}}
	for _, n := range names {
		ns.names[n] = struct{}{}
	}
	return ns
}

// unique returns name, or name with the first "#n" suffix (n = 2, 3, …)
// not yet in the set, and adds what it returns.
func (ns *nameSet) unique(name string) string {
	u := name
	if _, dup := ns.names[u]; dup {
		n := max(ns.next[name], 2)
		for {
			u = name + "#" + strconv.Itoa(n)
			n++
			if _, dup := ns.names[u]; !dup {
				break
			}
		}
		ns.next[name] = n
	}
	ns.names[u] = struct{}{}
	return u
}

// maxIntegralDigits bounds the integers integralDigits writes out: more
// digits than any card number or identifier, fewer than an exponent could
// ask for.
const maxIntegralDigits = 24

// integralDigits returns the plain decimal text of a JSON number that is an
// integer written with a fraction or an exponent (4111111111111111e0,
// 1.23456789e8, 4111111111111111.0), so that the detectors scan it and a
// pseudonym is computed on it as on the same integer written plainly (or
// held in an integer attribute). ok is false for a plain integer, a number
// that is not an integer, or one of more than maxIntegralDigits digits.
// text has been checked as a JSON number.
func integralDigits(text string) (string, bool) {
	if !strings.ContainsAny(text, ".eE") {
		return "", false
	}
	neg := text[0] == '-'
	if neg {
		text = text[1:]
	}
	mant, exp := text, 0
	if e := strings.IndexAny(text, "eE"); e >= 0 {
		mant = text[:e]
		x, err := strconv.Atoi(strings.TrimPrefix(text[e+1:], "+"))
		if err != nil || x > maxIntegralDigits || x < -maxIntegralDigits-len(mant) {
			return "", false
		}
		exp = x
	}
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= len(frac)
	if exp < 0 {
		cut := len(digits) + exp
		if cut < 0 {
			cut = 0
		}
		if strings.Trim(digits[cut:], "0") != "" {
			return "", false // a fraction remains
		}
		digits = digits[:cut]
		exp = 0
	}
	if digits == "" {
		return "0", true
	}
	if len(digits)+exp > maxIntegralDigits {
		return "", false
	}
	out := make([]byte, 0, 1+len(digits)+exp)
	if neg {
		out = append(out, '-')
	}
	out = append(out, digits...)
	for ; exp > 0; exp-- {
		out = append(out, '0')
	}
	return string(out), true
}

func (w *jsonRewriter) stringValue(mode Action) bool {
	start := w.i
	raw, esc, ok := w.scanString()
	if !ok {
		w.fail(start, mode, parseSyntax)
		return false
	}
	end := w.i
	v := raw
	if esc {
		v = decodeJSONString(raw)
	}
	if mode != ActionNone {
		if v == "" || w.sc.r.isRedacted(v) {
			return true
		}
		w.sc.record(1)
		w.splice(start, end)
		w.out = appendJSONString(w.out, w.sc.replacement(mode, v))
		return true
	}
	out, changed, tooDeep := w.sc.text(v, w.depth, false)
	if tooDeep {
		w.fail(start, mode, parseTooDeep)
		return false
	}
	if changed {
		w.splice(start, end)
		w.out = appendJSONString(w.out, out)
	}
	return true
}

// peekString returns the decoded content of the string token at w.i
// without moving past it ("" when it is malformed).
func (w *jsonRewriter) peekString() string {
	i, far := w.i, w.far
	raw, esc, ok := w.scanString()
	w.i, w.far = i, far
	switch {
	case !ok:
		return ""
	case esc:
		return decodeJSONString(raw)
	}
	return raw
}

// flagUser is the action flagAction gives a flag that takes user:password:
// the next element is masked when it holds one.
const flagUser Action = 255

// flagAction returns the action a command-line flag v ("--password",
// "-u") gives the argument after it, or ActionNone when v is no flag the
// key rules cover.
func (sc *Scope) flagAction(v string) Action {
	if len(v) < 2 || v[0] != '-' {
		return ActionNone
	}
	key, long := v[1:], false
	if key[0] == '-' {
		key, long = key[1:], true
	}
	if key == "" || len(key) > maxTextKeyLen || !(key[0] >= 'a' && key[0] <= 'z' || key[0] >= 'A' && key[0] <= 'Z') {
		return ActionNone
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; !(isAlnum(c) || c == '-' || c == '_') {
			return ActionNone
		}
	}
	if isUserFlag(key, long) {
		return flagUser
	}
	return sc.keyAction(key)
}

// isUserPassword reports whether v is a user:password token.
func isUserPassword(v string) bool {
	_, _, ok := userPassword(v, 0)
	return ok
}

// scanString scans the string token at w.i (an opening quote) and returns
// its raw content and whether it holds escapes; w.i ends after the closing
// quote.
func (w *jsonRewriter) scanString() (raw string, esc, ok bool) {
	s := w.s
	i := w.i + 1
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			raw = s[w.i+1 : i]
			w.i = i + 1
			return raw, esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(s) {
				w.far = max(w.far, i)
				return "", false, false
			}
			switch s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(s) || !isHex4(s[i+2:i+6]) {
					w.far = max(w.far, i)
					return "", false, false
				}
				i += 6
			default:
				w.far = max(w.far, i)
				return "", false, false
			}
		case c < 0x20:
			w.far = max(w.far, i)
			return "", false, false
		default:
			i++
		}
	}
	w.far = max(w.far, i)
	return "", false, false
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hexVal(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	}
	return rune(c-'A') + 10
}

func hex4(s string) rune {
	return hexVal(s[0])<<12 | hexVal(s[1])<<8 | hexVal(s[2])<<4 | hexVal(s[3])
}

// decodeJSONString decodes the content of a string token already checked by
// scanString. Lone surrogates become U+FFFD, as in encoding/json.
func decodeJSONString(raw string) string {
	b := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		switch raw[i+1] {
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r := hex4(raw[i+2 : i+6])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(raw[i+2:i+6])); r2 != utf8.RuneError {
						b = utf8.AppendRune(b, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b = utf8.AppendRune(b, r)
			continue
		default: // '"', '\\', '/'
			b = append(b, raw[i+1])
		}
		i += 2
	}
	return string(b)
}

// appendJSONString appends s as a JSON string token. Invalid UTF-8 becomes
// U+FFFD so the token is always valid.
func appendJSONString(dst []byte, s string) []byte {
	const hexdigits = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\ufffd`...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexdigits[c>>4], hexdigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
