package redact

import "strings"

// Multipart form fields. An HTTP request body of type multipart/form-data
// (a login form posted with curl -F, a HAR entry's postData.text, a
// request dump) holds each field as a part whose header names it:
//
//	--boundary
//	Content-Disposition: form-data; name="password"
//
//	hunter2
//	--boundary
//
// The key rules see name="password" as a key whose value is "password".
// Here the part's body gets the action the key rules give its name.

// multipartValues appends a span for the body of each part of a
// multipart form in s whose field name a key rule covers.
func (sc *Scope) multipartValues(s string, out []span) []span {
	const disp = "form-data;"
	for from := 0; ; {
		k := strings.Index(s[from:], disp)
		if k < 0 {
			return out
		}
		i := from + k + len(disp)
		from = i
		le := strings.IndexByte(s[i:], '\n')
		if le < 0 {
			return out
		}
		header := s[i : i+le]
		name, ok := formFieldName(header)
		if !ok {
			continue
		}
		a := sc.keyAction(name)
		if a == ActionNone {
			if inner := lastSubscript(name); inner != "" {
				a = sc.keyAction(inner) // user[password], as Rails names fields
			}
		}
		if a == ActionNone {
			continue
		}
		// The body starts after the part's blank line (more header lines,
		// such as Content-Type, may come first) and ends before the line
		// break of the next boundary line.
		bs := i + le + 1
		for {
			e := strings.IndexByte(s[bs:], '\n')
			if e < 0 {
				return out
			}
			line := strings.TrimRight(s[bs:bs+e], "\r")
			bs += e + 1
			if line == "" {
				break
			}
		}
		be := len(s)
		if b := strings.Index(s[bs:], "\n--"); b >= 0 {
			be = bs + b
			if be > bs && s[be-1] == '\r' {
				be--
			}
		}
		from = be
		if be <= bs || sc.r.isRedacted(s[bs:be]) {
			continue
		}
		if a == ActionPseudonymize && sc.r.hmacKey == nil {
			a = ActionMask
		}
		out = append(out, span{start: bs, end: be, action: a})
	}
}

// formFieldName returns the name parameter of a Content-Disposition
// header's parameters (name="x" or name=x), or ok false.
func formFieldName(params string) (string, bool) {
	for p := range strings.SplitSeq(params, ";") {
		p = strings.TrimSpace(p)
		v, ok := strings.CutPrefix(p, "name=")
		if !ok {
			continue
		}
		v = strings.TrimRight(v, "\r")
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') {
			if e := strings.IndexByte(v[1:], v[0]); e >= 0 {
				return v[1 : 1+e], true
			}
			return "", false
		}
		return v, v != ""
	}
	return "", false
}

// lastSubscript returns the text in the last non-empty brackets of a form
// field's name (user[password] → password), or "".
func lastSubscript(name string) string {
	for e := len(name); ; {
		c := strings.LastIndexByte(name[:e], ']')
		if c < 0 {
			return ""
		}
		o := strings.LastIndexByte(name[:c], '[')
		if o < 0 {
			return ""
		}
		if c > o+1 {
			return name[o+1 : c]
		}
		e = o
	}
}
