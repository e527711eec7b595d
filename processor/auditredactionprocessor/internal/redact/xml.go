package redact

import (
	"sort"
	"strings"
)

// XML and HTML elements in free text.
//
// A tool's result or an exception message may hold XML or HTML (a SOAP
// request, a config file, a form): the secret in
// <password>hunter2</password> is the text up to the closing tag, which
// neither the key=value nor the flag rules see. An element whose local name
// (after any namespace prefix) a key rule covers has its text redacted
// under that rule's action, and so has an element named by its data
// (<entry key="password">…</entry>, <param name="token" value="…"/>,
// <input type="password" value="…">), whose value attribute is redacted
// too. Inside a matched element every run of text, CDATA content, comment
// and value attribute is redacted and the tags are kept, so the result is
// still the same markup. An element that is never closed runs to the end of
// the line its text starts on (see unclosedEnd). A value element after a
// name element that names a secret is redacted too (xmlPair).
//
// A tag is read only up to the next '<' (XML allows none in a tag), so
// every byte is read by one tag at most and the scan stays linear.

// xmlTag is an opening, closing or empty-element tag read by readTag.
type xmlTag struct {
	name    string // qualified name, "wsse:Password"
	end     int    // index after the closing '>'
	closing bool   // </name>
	empty   bool   // <name/>
	attrs   string // the text between the name and the end of the tag
	attrsAt int    // index of attrs in s
}

// readTag reads the tag that starts at s[i] == '<'. Declarations,
// processing instructions, comments and text that is no tag ("a < b")
// give ok false.
func readTag(s string, i int) (t xmlTag, ok bool) {
	j := i + 1
	if j < len(s) && s[j] == '/' {
		t.closing = true
		j++
	}
	ns := j
	if j >= len(s) || !(isAlpha(s[j]) || s[j] == '_') {
		return t, false
	}
	for j < len(s) && (isKeyByte(s[j]) || s[j] == ':') {
		j++
	}
	t.name = s[ns:j]
	t.attrsAt = j
	for j < len(s) {
		switch c := s[j]; c {
		case '>':
			t.attrs = s[t.attrsAt:j]
			if !t.closing && j > t.attrsAt && s[j-1] == '/' {
				t.empty = true
				t.attrs = s[t.attrsAt : j-1]
			}
			t.end = j + 1
			return t, true
		case '<':
			return t, false
		case '"', '\'':
			j++
			for j < len(s) && s[j] != c && s[j] != '<' {
				j++
			}
			if j >= len(s) || s[j] == '<' {
				return t, false
			}
			j++
		default:
			j++
		}
	}
	return t, false
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// localName returns name without its namespace prefix.
func localName(name string) string {
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// xmlAttr is one attribute of a tag, its value's bounds in s.
type xmlAttr struct {
	name       string
	start, end int
}

// nextAttr reads the attribute at or after attrs[*k] (attrs sits at off in
// s), advancing *k past it. Attributes without a value are skipped.
func nextAttr(attrs string, off int, k *int) (xmlAttr, bool) {
	i := *k
	for i < len(attrs) {
		for i < len(attrs) && !isKeyByte(attrs[i]) && attrs[i] != ':' {
			i++
		}
		ns := i
		for i < len(attrs) && (isKeyByte(attrs[i]) || attrs[i] == ':') {
			i++
		}
		name := attrs[ns:i]
		for i < len(attrs) && (attrs[i] == ' ' || attrs[i] == '\t' || attrs[i] == '\n' || attrs[i] == '\r') {
			i++
		}
		if name == "" || i >= len(attrs) || attrs[i] != '=' {
			if i == ns {
				i++
			}
			continue
		}
		i++
		for i < len(attrs) && (attrs[i] == ' ' || attrs[i] == '\t' || attrs[i] == '\n' || attrs[i] == '\r') {
			i++
		}
		if i >= len(attrs) {
			continue
		}
		if attrs[i] != '"' && attrs[i] != '\'' {
			// Unquoted, as minified HTML writes them: to white space.
			vs := i
			for i < len(attrs) && !isJSONSpace(attrs[i]) {
				i++
			}
			*k = i
			return xmlAttr{name: name, start: off + vs, end: off + i}, true
		}
		e := strings.IndexByte(attrs[i+1:], attrs[i])
		if e < 0 {
			*k = len(attrs)
			return xmlAttr{}, false
		}
		a := xmlAttr{name: name, start: off + i + 1, end: off + i + 1 + e}
		*k = i + e + 2
		return a, true
	}
	*k = i
	return xmlAttr{}, false
}

// isNamingAttr reports whether an attribute names the element's data
// (<entry key="password">, <input type="password">), and isValueAttr
// whether it holds the data (<param value="…">, <meta content="…">).
func isNamingAttr(name string) bool {
	switch strings.ToLower(localName(name)) {
	case "name", "key", "id", "type", "property", "field":
		return true
	}
	return false
}

func isValueAttr(name string) bool {
	switch strings.ToLower(localName(name)) {
	case "value", "content":
		return true
	}
	return false
}

// isVoidElement reports whether an HTML element has no content and no
// closing tag (<input name="password" value="…">): only its attributes
// are redacted.
func isVoidElement(name string) bool {
	switch strings.ToLower(name) {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr":
		return true
	}
	return false
}

// tagAction returns the action of the element t: its local name's, or that
// of the data a naming attribute gives it.
func (sc *Scope) tagAction(s string, t xmlTag) Action {
	if a := sc.keyAction(localName(t.name)); a != ActionNone {
		return a
	}
	for k := 0; ; {
		at, ok := nextAttr(t.attrs, t.attrsAt, &k)
		if !ok {
			return ActionNone
		}
		if isNamingAttr(at.name) && at.end-at.start <= maxTextKeyLen {
			if a := sc.keyAction(s[at.start:at.end]); a != ActionNone {
				return a
			}
		}
	}
}

// xmlValues appends a span for the content of each element in s that a key
// rule covers, and for its value attribute.
func (sc *Scope) xmlValues(s string, out []span) []span {
	var closers closerIndex // built at the first matched element
	var pair xmlPair
	for from := 0; ; {
		k := strings.IndexByte(s[from:], '<')
		if k < 0 {
			return out
		}
		i := from + k
		from = i + 1
		if i+1 < len(s) && s[i+1] == '/' {
			pair.closed()
			continue // a closing tag
		}
		t, ok := readTag(s, i)
		if !ok {
			continue
		}
		from = t.end
		a := sc.tagAction(s, t)
		if a == ActionNone && !t.empty {
			slot, isName, ok := pairRole(localName(t.name))
			switch {
			case !ok:
				pair.opened()
				continue
			case isName:
				if closers == nil {
					closers = closingTags(s)
				}
				end, next := closers.after(t.end, t.name, len(s))
				pair = xmlPair{slot: slot, action: sc.pairNameAction(strings.TrimSpace(s[t.end:end]))}
				if end == len(s) || strings.IndexByte(s[t.end:end], '<') >= 0 {
					pair.action = ActionNone // cut off, or not text
				}
				from = next
				continue
			case pair.action == ActionNone || pair.slot != slot || pair.depth != 0:
				pair.opened()
				continue
			}
			a = pair.action // <value> after a <name> that names a secret
			pair = xmlPair{}
		}
		if a == ActionNone {
			continue
		}
		if a == ActionPseudonymize && sc.r.hmacKey == nil {
			a = ActionMask
		}
		out = sc.valueAttrs(s, t, a, out)
		if t.empty || isVoidElement(localName(t.name)) {
			continue
		}
		if closers == nil {
			closers = closingTags(s)
		}
		end, next := closers.after(t.end, t.name, len(s))
		if end == len(s) {
			end = unclosedEnd(s, i, t.end)
			next = end
		}
		out = sc.xmlContent(s, t.end, end, a, out)
		from = next
	}
}

// xmlPair is the name element of a named pair in XML (Hadoop's and
// Hive's <property><name>javax.jdo.option.ConnectionPassword</name>
// <value>…</value></property>) that a sibling value element after it
// pairs with: the value element gets the action the key rules give the
// name's text, as a JSON pair's value member does (see pairs.go). depth
// counts the elements opened since the name element and not closed: a
// value element pairs only at depth 0, and a closing tag below it (the
// parent's) ends the pair.
type xmlPair struct {
	slot   pairSlot
	action Action
	depth  int
}

func (p *xmlPair) opened() {
	if p.action != ActionNone {
		p.depth++
	}
}

func (p *xmlPair) closed() {
	if p.action == ActionNone {
		return
	}
	if p.depth--; p.depth < 0 {
		*p = xmlPair{}
	}
}

// closerIndex holds the closing tags of a string by name (ASCII lower
// case): each entry the start of "</name" and the index after its '>'.
type closerIndex map[string][]closer

type closer struct{ start, end int }

// closingTags indexes every closing tag of s in one pass. Looking for each
// matched element's closing tag in the rest of the string instead made a
// string of elements that are never closed ("<token>\n" repeated, or a
// usage text's "--password <password>" lines) quadratic: a megabyte took
// a minute. A closing tag's '>' is looked for only up to the next '<', so
// every byte is read once.
func closingTags(s string) closerIndex {
	idx := closerIndex{}
	for j := 0; ; {
		k := strings.Index(s[j:], "</")
		if k < 0 {
			return idx
		}
		c := j + k
		e := c + 2
		for e < len(s) && (isKeyByte(s[e]) || s[e] == ':') {
			e++
		}
		j = e
		if e == c+2 {
			continue
		}
		end := len(s)
		if g := strings.IndexAny(s[e:], "<>"); g >= 0 {
			if s[e+g] == '>' {
				end = e + g + 1
			} else {
				end = e + g
			}
		}
		name := asciiLower(s[c+2 : e])
		idx[name] = append(idx[name], closer{start: c, end: end})
	}
}

// after returns where the element named name whose content starts at i
// ends (the start of its closing tag) and the index after that tag; both
// are n, the string's length, when it is never closed. Names are compared
// in any case, as HTML's are.
func (x closerIndex) after(i int, name string, n int) (int, int) {
	cs := x[asciiLower(name)]
	k := sort.Search(len(cs), func(k int) bool { return cs[k].start >= i })
	if k == len(cs) {
		return n, n
	}
	return cs[k].start, cs[k].end
}

// asciiLower returns s with ASCII upper-case letters in lower case; tag
// names are read as key bytes, which are ASCII.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// unclosedEnd returns where the content of an element that is never closed,
// whose opening tag starts at lt and ends at i, is taken to end: the end of
// its line, or when the tag ends its line, the end of the next line if that
// is indented deeper than the tag's (pretty-printed XML). A document cut
// off by a length limit keeps its secret there; a placeholder in prose or
// usage text ("replace <token> with yours", "--password <password>" ending
// a line) is no element, and masking to the end of the string, or the
// usage text's next line, would take the rest of a fetched page with it.
func unclosedEnd(s string, lt, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i < len(s) && s[i] == '\r' {
		i++
	}
	if i < len(s) && s[i] == '\n' {
		ls := strings.LastIndexByte(s[:lt], '\n') + 1
		next := i + 1
		if indent(s[next:]) <= indent(s[ls:lt]) {
			return i
		}
		i = next
	}
	if k := strings.IndexByte(s[i:], '\n'); k >= 0 {
		return i + k
	}
	return len(s)
}

// indent is the number of spaces and tabs s starts with.
func indent(s string) int {
	n := 0
	for n < len(s) && (s[n] == ' ' || s[n] == '\t') {
		n++
	}
	return n
}

// valueAttrs appends a span for each value attribute of the matched tag t.
func (sc *Scope) valueAttrs(s string, t xmlTag, a Action, out []span) []span {
	for k := 0; ; {
		at, ok := nextAttr(t.attrs, t.attrsAt, &k)
		if !ok {
			return out
		}
		if isValueAttr(at.name) {
			out = sc.xmlText(s, at.start, at.end, a, out)
		}
	}
}

// xmlContent appends spans for the content s[i:end] of a matched element:
// every run of text, the content of CDATA sections and comments, and the
// value attributes of nested tags.
func (sc *Scope) xmlContent(s string, i, end int, a Action, out []span) []span {
	text := i // start of the current run of text
	for j := i; j < end; {
		k := strings.IndexByte(s[j:end], '<')
		if k < 0 {
			break
		}
		lt := j + k
		var open, close string
		switch {
		case strings.HasPrefix(s[lt:end], "<![CDATA["):
			open, close = "<![CDATA[", "]]>"
		case strings.HasPrefix(s[lt:end], "<!--"):
			open, close = "<!--", "-->"
		}
		if open != "" {
			out = sc.xmlText(s, text, lt, a, out)
			cs := lt + len(open)
			ce := end
			next := end
			if e := strings.Index(s[cs:end], close); e >= 0 {
				ce = cs + e
				next = ce + len(close)
			}
			out = sc.xmlText(s, cs, ce, a, out)
			j, text = next, next
			continue
		}
		t, ok := readTag(s[:end], lt)
		if !ok {
			j = lt + 1 // a '<' in text
			continue
		}
		out = sc.xmlText(s, text, lt, a, out)
		if !t.closing {
			out = sc.valueAttrs(s, t, a, out)
		}
		j, text = t.end, t.end
	}
	return sc.xmlText(s, text, end, a, out)
}

// xmlText appends a span for s[i:end] without its surrounding white space,
// unless that is empty or already redacted.
func (sc *Scope) xmlText(s string, i, end int, a Action, out []span) []span {
	for i < end && isJSONSpace(s[i]) {
		i++
	}
	for end > i && isJSONSpace(s[end-1]) {
		end--
	}
	if end <= i || sc.r.isRedacted(s[i:end]) {
		return out
	}
	return append(out, span{start: i, end: end, action: a, fold: a == ActionPseudonymize && isEmail(s[i:end])})
}

// tagActionBefore returns the action of the element whose opening tag ends
// right before s[j], or ActionNone. Only the last maxTagBefore bytes are
// looked at: JSON is tried at every bracket, and a look back without a
// bound would make text of brackets after a long tag quadratic.
func (sc *Scope) tagActionBefore(s string, j int) Action {
	const maxTagBefore = 256
	lt := strings.LastIndexByte(s[max(0, j-maxTagBefore):j], '<')
	if lt < 0 {
		return ActionNone
	}
	lt += max(0, j-maxTagBefore)
	t, ok := readTag(s[:j], lt)
	if !ok || t.closing || t.empty || t.end != j {
		return ActionNone
	}
	return sc.tagAction(s, t)
}
