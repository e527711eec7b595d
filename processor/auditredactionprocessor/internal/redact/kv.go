package redact

import "strings"

// Key-value pairs in free text.
//
// Exception messages, log lines, URLs and header dumps carry secrets as
// key=value or key: value ("password=hunter2", "?api_key=k&x=1",
// `args {"token":"t"}`, "Authorization: Basic dXNlcg=="). The key rules
// apply there too: a key the classifier marks sensitive or PII has its value
// masked or pseudonymised. Keys may be bare identifiers or quoted (also with
// the escaped quotes of JSON nested in a JSON string); values are quoted
// strings or runs up to white space or a delimiter, and after an HTTP auth
// scheme (Basic, Bearer, ...) the credential that follows is the value.

const maxTextKeyLen = 64

func isKeyByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// keyValues appends a span for the value of each sensitive or PII key in s.
func (sc *Scope) keyValues(s string, out []span) []span {
	from := 0
	for from < len(s) {
		k := strings.IndexAny(s[from:], "=:")
		if k < 0 {
			break
		}
		p := from + k
		from = p + 1
		key := textKeyBefore(s, p)
		if key == "" {
			continue
		}
		a := sc.keyAction(key)
		if a == ActionNone {
			continue
		}
		vs, ve := textValueAfter(s, p+1)
		if ve <= vs {
			continue
		}
		v := s[vs:ve]
		if v == "true" || v == "false" || v == "null" || sc.r.isRedacted(v) {
			continue
		}
		if a == ActionPseudonymize && sc.r.hmacKey == nil {
			a = ActionMask
		}
		// An address folds as under a PII key (Scope.replacement), whether
		// or not the email detector is on, so that it links either way.
		out = append(out, span{start: vs, end: ve, action: a, fold: a == ActionPseudonymize && isEmail(v)})
		from = ve
	}
	return out
}

// textKeyBefore returns the key that ends just before the separator at p, or
// "".
func textKeyBefore(s string, p int) string {
	j := p
	for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	if j == 0 {
		return ""
	}
	if q := s[j-1]; q == '"' || q == '\'' {
		end := j - 1
		if end > 0 && s[end-1] == '\\' { // \"key\" inside a JSON string
			end--
		}
		i := end
		for i > 0 && end-i < maxTextKeyLen && s[i-1] != q && s[i-1] != '\n' {
			i--
		}
		if i == 0 || s[i-1] != q {
			return ""
		}
		key := s[i:end]
		return strings.TrimSuffix(key, `\`)
	}
	i := j
	for i > 0 && j-i < maxTextKeyLen && isKeyByte(s[i-1]) {
		i--
	}
	if i > 0 && isKeyByte(s[i-1]) { // longer than any key
		return ""
	}
	return s[i:j]
}

// authSchemes are HTTP authentication schemes that precede a credential.
var authSchemes = []string{"basic", "bearer", "digest", "token", "negotiate", "ntlm", "apikey", "aws4-hmac-sha256"}

// textValueAfter returns the bounds of the value that starts after the
// separator at i-1.
func textValueAfter(s string, i int) (int, int) {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) {
		return i, i
	}
	switch c := s[i]; {
	case c == '"' || c == '\'':
		return quotedValue(s, i+1, string(c))
	case c == '\\' && i+1 < len(s) && s[i+1] == '"':
		return quotedValue(s, i+2, `\"`)
	case c == '{' || c == '[' || c == '/' && i+1 < len(s) && s[i+1] == '/':
		// Structure (left to the JSON rewriter) or a URL scheme.
		return i, i
	}
	e := tokenEnd(s, i)
	for _, sch := range authSchemes {
		if e-i == len(sch) && strings.EqualFold(s[i:e], sch) && e+1 < len(s) && s[e] == ' ' {
			if e2 := tokenEnd(s, e+1); e2 > e+1 {
				return e + 1, e2
			}
		}
	}
	return i, e
}

func tokenEnd(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r', ',', ';', '&', '"', '\'', '<', '>', ')', '}', ']', '\\':
			return i
		}
		i++
	}
	return i
}

// quotedValue returns the bounds of a value from i to the closing quote q
// (not preceded by a backslash), or to the end of the line if unclosed.
func quotedValue(s string, i int, q string) (int, int) {
	for j := i; j < len(s); j++ {
		switch {
		case s[j] == '\n':
			return i, j
		case q == `\"` && s[j] == '\\' && j+1 < len(s) && s[j+1] == '"':
			return i, j
		case q != `\"` && s[j] == '\\':
			j++ // skip the escaped byte
		case len(q) == 1 && s[j] == q[0]:
			return i, j
		}
	}
	return i, len(s)
}
