package redact

import (
	"strconv"
	"strings"
)

// Scope carries the working state of one goroutine's redaction: the path
// being walked, what was redacted so far, and reusable buffers. It is not
// safe for concurrent use. Take one with Redactor.Scope and give it back with
// Release.
type Scope struct {
	r     *Redactor
	path  []byte
	count int
	paths []string

	spans   []span
	names   []string       // member names of the JSON objects being rewritten
	pending []pendingValue // value members of those objects a later name may pair with
	nk      []byte         // normalised key
	scratch []byte         // pseudonym input
	free    [][]byte       // output buffers, one per JSON nesting level in use
}

// Scope returns a Scope with nothing recorded.
func (r *Redactor) Scope() *Scope {
	sc := r.scopes.Get().(*Scope)
	sc.Reset()
	return sc
}

// Release returns sc to its Redactor; sc must not be used afterwards.
func (sc *Scope) Release() {
	if cap(sc.spans) > 1024 {
		sc.spans = nil
	}
	sc.r.scopes.Put(sc)
}

// Reset forgets what was recorded.
func (sc *Scope) Reset() {
	sc.count = 0
	sc.paths = sc.paths[:0]
	sc.path = sc.path[:0]
}

// Seed resets sc and starts it from a count and paths recorded earlier, such
// as those of a resource that a span belongs to.
func (sc *Scope) Seed(count int, paths []string) {
	sc.Reset()
	sc.count = count
	sc.paths = append(sc.paths, paths...)
}

// Count returns how many values were redacted since the last Reset.
func (sc *Scope) Count() int { return sc.count }

// Paths returns the distinct paths redacted since the last Reset, at most
// MaxPaths, in the order first seen. The slice is valid until the next call
// that records or resets.
func (sc *Scope) Paths() []string { return sc.paths }

// record notes n redactions at the current path.
func (sc *Scope) record(n int) {
	sc.count += n
	if len(sc.paths) >= MaxPaths {
		return
	}
	for i := len(sc.paths) - 1; i >= 0; i-- {
		if sc.paths[i] == string(sc.path) {
			return
		}
	}
	sc.paths = append(sc.paths, string(sc.path))
}

type mark struct{ path, count, paths int }

func (sc *Scope) mark() mark { return mark{len(sc.path), sc.count, len(sc.paths)} }

// rollback forgets what was recorded since m and returns to its path.
func (sc *Scope) rollback(m mark) {
	sc.path = sc.path[:m.path]
	sc.count = m.count
	sc.paths = sc.paths[:m.paths]
}

func (sc *Scope) pushKey(k string) int {
	m := len(sc.path)
	if m > 0 && sc.path[m-1] != ':' {
		sc.path = append(sc.path, '.')
	}
	sc.path = append(sc.path, k...)
	return m
}

func (sc *Scope) pushIndex(i int) int {
	m := len(sc.path)
	sc.path = append(sc.path, '[')
	sc.path = strconv.AppendInt(sc.path, int64(i), 10)
	sc.path = append(sc.path, ']')
	return m
}

func (sc *Scope) pop(m int) { sc.path = sc.path[:m] }

func (sc *Scope) getBuf() []byte {
	if n := len(sc.free); n > 0 {
		b := sc.free[n-1]
		sc.free = sc.free[:n-1]
		return b[:0]
	}
	return make([]byte, 0, 256)
}

func (sc *Scope) putBuf(b []byte) {
	if cap(b) <= 1<<20 {
		sc.free = append(sc.free, b)
	}
}

// replacement returns what a value becomes under a key action.
//
// An e-mail address gets the case-folded pseudonym the email detector gives
// it, so that one address links whether it sits under a PII key or in text.
func (sc *Scope) replacement(a Action, v string) string {
	if a == ActionPseudonymize && sc.r.hmacKey != nil {
		return string(sc.r.appendPseudonym(nil, sc.scratch, v, isEmail(v)))
	}
	return sc.r.mask
}

// isEmail reports whether v is one e-mail address and nothing else.
func isEmail(v string) bool {
	if len(v) < 6 || strings.IndexByte(v, '@') < 0 {
		return false
	}
	var buf [2]span
	sp := scanEmails(v, buf[:0])
	return len(sp) == 1 && sp[0].start == 0 && sp[0].end == len(v)
}

// keyAction classifies key with the scope's scratch buffer, and leaves the
// normalised key in sc.nk until the next call.
func (sc *Scope) keyAction(key string) Action {
	a, nk := sc.r.keyAction(key, sc.nk)
	sc.nk = nk
	return a
}

// detect runs the value detectors over s and returns s with every detected
// part replaced, recording the redactions at the current path.
func (sc *Scope) detect(s string) (string, bool) {
	out, n := sc.scan(s)
	if n == 0 {
		return s, false
	}
	sc.record(n)
	return out, true
}

// detectName is detect for a map key or JSON member name; the caller records
// the redaction under the redacted name.
func (sc *Scope) detectName(s string) (string, bool) {
	out, n := sc.scan(s)
	return out, n > 0
}

// memberName is detectName for the name of a map or JSON object member
// under the key action mode. Under a masked key, a name that does not read
// as a field name is masked too: a map of API keys or tokens is keyed by
// the secrets themselves ({"api_keys":{"sk-live-4f9…":"prod"}}), while
// {"credentials":{"user":…,"password":…}} keeps its field names.
func (sc *Scope) memberName(name string, mode Action) (string, bool) {
	if mode == ActionMask && !isFieldName(name) && !sc.r.isRedactedName(name) {
		return sc.r.mask, true
	}
	return sc.detectName(name)
}

// maxFieldName is the longest member name isFieldName accepts.
const maxFieldName = 20

// isFieldName reports whether name reads as a field name rather than as
// data: 1 to maxFieldName ASCII letters, '_', '-', '.' or spaces. Secrets
// used as names (keys, tokens, passwords) are longer or hold digits; a
// random 20-character token has no digit about 2 times in 100.
func isFieldName(name string) bool {
	if name == "" || len(name) > maxFieldName {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '-' || c == '.' || c == ' ') {
			return false
		}
	}
	return true
}

// scan returns s with every part the detectors find replaced, and the number
// of parts replaced.
func (sc *Scope) scan(s string) (string, int) {
	if len(s) == 0 || sc.r.isRedacted(s) {
		return s, 0
	}
	sp := sc.spans[:0]
	for i := range sc.r.detectors {
		d := &sc.r.detectors[i]
		n := len(sp)
		sp = d.find(s, sp)
		if d.lowerForHMAC {
			for j := n; j < len(sp); j++ {
				sp[j].fold = true
			}
		}
	}
	sp = sc.keyValues(s, sp)
	if hasPairWord(s) {
		sp = sc.yamlPairs(s, sp)
		sp = sc.flowPairs(s, sp)
	}
	sp, lastP := sc.flagValues(s, sp)
	sp = sc.xmlValues(s, sp)
	sp = sc.programPasswords(s, lastP, sp)
	sp = sc.multipartValues(s, sp)
	// What an earlier pass redacted stays as it is, and is not counted
	// again: a span that is a pseudonym, or starts with the mask (a mask
	// with spaces or brackets in it, "[REDACTED]", reads as a shorter
	// token to the key rules).
	w := 0
	for _, x := range sp {
		if strings.HasPrefix(s[x.start:], sc.r.mask) || sc.r.isRedacted(s[x.start:x.end]) {
			continue
		}
		sp[w] = x
		w++
	}
	sp = sp[:w]
	sc.spans = sp
	if len(sp) == 0 {
		return s, 0
	}
	sp = mergeSpans(sp)
	out := sc.getBuf()
	defer func() { sc.putBuf(out) }()
	last := 0
	for _, m := range sp {
		out = append(out, s[last:m.start]...)
		if m.action == ActionPseudonymize && sc.r.hmacKey != nil {
			out = sc.r.appendPseudonym(out, sc.scratch, s[m.start:m.end], m.fold)
		} else {
			out = append(out, sc.r.mask...)
		}
		last = m.end
	}
	out = append(out, s[last:]...)
	return string(out), len(sp)
}

// looksLikeJSON reports whether s starts, after white space, with '{' or '['
// and ends, before white space, with the matching bracket.
func looksLikeJSON(s string) bool {
	i, j := 0, len(s)-1
	for i <= j && isJSONSpace(s[i]) {
		i++
	}
	for j >= i && isJSONSpace(s[j]) {
		j--
	}
	if i >= j {
		return false
	}
	return s[i] == '{' && s[j] == '}' || s[i] == '[' && s[j] == ']'
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// text redacts a string that no key rule covers: JSON (when payload is set or
// s looks like JSON) is rewritten, anything else goes through the detectors.
// depth is the nesting depth of s. tooDeep reports that s nests deeper than
// the limit; the outermost caller masks its whole value with the JSON string
// token of the mask, so that what was JSON stays JSON.
func (sc *Scope) text(s string, depth int, payload bool) (out string, changed, tooDeep bool) {
	jsonish := payload || looksLikeJSON(s)
	if len(s) > sc.r.maxValueBytes {
		sc.record(1)
		if jsonish {
			return sc.r.maskJSON, true, false
		}
		return sc.r.mask, true, false
	}
	if jsonish {
		m := sc.mark()
		res, ch, st := sc.rewriteJSON(s, depth)
		switch st {
		case parseOK:
			return res, ch, false
		case parseTooDeep:
			sc.rollback(m)
			return "", false, true
		}
		if payload && sc.r.strict {
			sc.rollback(m)
			sc.record(1)
			return sc.r.mask, true, false
		}
		return res, ch, false
	}
	return sc.freeText(s, depth)
}

// freeText redacts text that is not JSON as a whole. JSON objects and
// arrays inside it (a tool's result quoted in an exception message, a
// markdown code fence, an SSE "data:" line, one NDJSON document after
// another) are rewritten as JSON, under the action of a text key right
// before them ("credentials: {...}"); the text around them goes through the
// value detectors and the key rules.
//
// Every '{' and '[' is tried as the start of a JSON value. A try that fails
// stops at the first bad token or max_depth levels below its start; text
// made to make tries fail late (a megabyte of "[1,") could still cost
// max_depth times its length, so the bytes that failed tries read are
// counted, and past freeTextBudget times the length of s (plus 4 KiB) the
// rest of s, from the next bracket on, is masked.
func (sc *Scope) freeText(s string, depth int) (string, bool, bool) {
	// Two byte searches beat one search for either byte.
	if strings.IndexByte(s, '{') < 0 && strings.IndexByte(s, '[') < 0 {
		o, ch := sc.detect(s)
		return o, ch, false
	}
	var out []byte
	last := 0 // s[last:] is not yet written to out
	changed := false
	// text writes the text before end, through the detectors and key rules,
	// and then add.
	text := func(end int, add string, addChanged bool) {
		if out == nil {
			out = sc.getBuf()
		}
		if end > last {
			seg, ch := sc.detect(s[last:end])
			out = append(out, seg...)
			changed = changed || ch
		}
		out = append(out, add...)
		changed = changed || addChanged
	}
	budget := freeTextBudget*len(s) + 4096
	for i := 0; i < len(s); {
		k := strings.IndexAny(s[i:], "{[")
		if k < 0 {
			break
		}
		p := i + k
		i = p + 1
		if isSubscript(s, p) {
			continue
		}
		if budget <= 0 {
			// Text made to exhaust the tries (dozens of brackets that
			// never close before real JSON) is not inspected further: the
			// rest is masked, as a value over max_value_bytes is, rather
			// than left to rules that JSON escapes get past.
			text(p, sc.r.mask, true)
			sc.record(1)
			last = len(s)
			break
		}
		m := sc.mark()
		res, ch, n, ok := sc.rewriteJSONValue(s[p:], depth, sc.keyActionBefore(s, p))
		if !ok {
			sc.rollback(m)
			budget -= n
			continue
		}
		text(p, res, ch)
		last = p + n
		i = last
	}
	if out == nil {
		o, ch := sc.detect(s)
		return o, ch, false
	}
	text(len(s), "", false)
	if !changed {
		sc.putBuf(out)
		return s, false, false
	}
	res := string(out)
	sc.putBuf(out)
	return res, true, false
}

// isSubscript reports whether the '[' at s[p] opens a subscript of a form
// field's name (ids[]=1, items[0]=5, user[0][password]=…) rather than
// JSON: the key rules read the whole name.
func isSubscript(s string, p int) bool {
	if s[p] != '[' || p == 0 || !isKeyByte(s[p-1]) && s[p-1] != ']' {
		return false
	}
	e := strings.IndexByte(s[p+1:min(len(s), p+1+maxTextKeyLen)], ']')
	if e < 0 {
		return false
	}
	a := p + 1 + e + 1
	return a < len(s) && (s[a] == '=' || s[a] == '[')
}

// freeTextBudget is how many times its length failed tries at embedded
// JSON may read in a free-text string (see Scope.freeText).
const freeTextBudget = 4

// keyActionBefore returns the action of a text key that ends right before
// s[p], as in "password: {...}" or "token=[...]", or of the element whose
// opening tag does ("<password>{...}"), or ActionNone.
func (sc *Scope) keyActionBefore(s string, p int) Action {
	j := p
	for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	if j > 0 && s[j-1] == '>' {
		return sc.tagActionBefore(s, j)
	}
	if j == 0 || s[j-1] != ':' && s[j-1] != '=' {
		return ActionNone
	}
	key := textKeyBefore(s, j-1)
	if key == "" {
		return ActionNone
	}
	return sc.keyAction(key)
}

// StringAt is String for a field of the i-th element of a list, such as
// the name of a span's event: the path is "kind[i].field".
func (sc *Scope) StringAt(kind string, i int, field, s string) (string, bool) {
	if s == "" {
		return s, false
	}
	m := sc.mark()
	sc.path = append(sc.path[:m.path], kind...)
	sc.path = append(sc.path, '[')
	sc.path = strconv.AppendInt(sc.path, int64(i), 10)
	sc.path = append(sc.path, ']', '.')
	sc.path = append(sc.path, field...)
	out, changed := sc.stringHere(s)
	sc.pop(m.path)
	return out, changed
}

// String redacts a free-text string, such as a span name or a status
// message, recording any redaction under label.
func (sc *Scope) String(label, s string) (string, bool) {
	m := sc.mark()
	sc.path = append(sc.path[:m.path], label...)
	out, changed := sc.stringHere(s)
	sc.pop(m.path)
	return out, changed
}

// stringHere redacts the free-text string s at the current path.
func (sc *Scope) stringHere(s string) (string, bool) {
	out, changed, tooDeep := sc.text(s, 0, false)
	if tooDeep {
		sc.record(1)
		out, changed = sc.r.maskJSON, true
	}
	return out, changed
}
