package redact

import (
	"crypto/sha256"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Key-value pairs in free text.
//
// Exception messages, log lines, URLs and header dumps carry secrets as
// key=value or key: value ("password=hunter2", "?api_key=k&x=1",
// `args {"token":"t"}`, "Authorization: Basic dXNlcg=="). The key rules
// apply there too: a key the classifier marks sensitive or PII has its value
// masked or pseudonymised. Keys may be bare identifiers or quoted (also with
// the escaped quotes of JSON nested in a JSON string); values are quoted
// strings or runs up to white space or a delimiter, and after an HTTP auth
// scheme (Basic, Bearer, ...) the credential that follows is the value. A
// header whose value is a list (Cookie, Authorization) runs to the end of
// its line, and a structure that is not JSON runs to its closing bracket.
// Command-line flags ("--password x") are keys too (flagValues).

const maxTextKeyLen = 64

func isKeyByte(c byte) bool { return isAlnum(c) || c == '_' || c == '-' || c == '.' }

// keyValues appends a span for the value of each sensitive or PII key in s.
func (sc *Scope) keyValues(s string, out []span) []span {
	if strings.IndexByte(s, 0xef) >= 0 && (strings.Contains(s, "\uff1a") || strings.Contains(s, "\uff1d")) {
		return sc.keyValuesFrom(s, out, &wideSeparators{at: [2]int{-1, -1}})
	}
	return sc.keyValuesFrom(s, out, nil)
}

// keyValuesFrom is keyValues; wide, when not nil, finds the full-width
// separators among the ASCII ones.
func (sc *Scope) keyValuesFrom(s string, out []span, wide *wideSeparators) []span {
	from := 0
	ascii := -1 // where the next ASCII separator is, once the wide ones come first
	for from < len(s) {
		var k int
		if wide == nil {
			k = strings.IndexAny(s[from:], "=:%")
		} else {
			// Found once and kept while wide separators come before it:
			// text with many of those and few ASCII ones must not be
			// searched to its end for each.
			if ascii < from {
				ascii = len(s)
				if j := strings.IndexAny(s[from:], "=:%"); j >= 0 {
					ascii = from + j
				}
			}
			k = -1
			if ascii < len(s) {
				k = ascii - from
			}
			k = wide.before(s, from, k)
		}
		if k < 0 {
			break
		}
		p := from + k
		from = p + 1
		sep := 1
		encoded := false
		switch s[p] {
		case '%':
			// %3D, an '=' encoded in a URL's query value
			// (?next=%2Fcb%3Ftoken%3Dabc%26x%3D1).
			if p+2 >= len(s) || s[p+1] != '3' || s[p+2]|0x20 != 'd' {
				continue
			}
			sep, encoded = 3, true
		case '=':
			if p+1 < len(s) && s[p+1] == '>' {
				// Ruby, PHP and Perl: :password => "x", 'token' => 'x',
				// password => S3cret. A bare key can also be a JavaScript
				// arrow function's parameter (token => token.trim()).
				sep = 2
				for sep < 64 && p+sep < len(s) && isJSONSpace(s[p+sep]) {
					sep++
				}
				if !quotedOrSymbolBefore(s, p) && isArrowBody(s, p+sep, textKeyBefore(s, p)) {
					continue
				}
			}
		case 0xef:
			sep = 3 // a full-width colon or equals sign: パスワード：x
			from = p + 3
		}
		key := textKeyBefore(s, p)
		a := ActionNone
		if key != "" {
			a = sc.keyAction(key)
		}
		if a == ActionNone && s[p] != ':' && (p > 0 && s[p-1] == ']' || key != "" && p > len(key) && s[p-len(key)-1] == '%') {
			if dk := encodedKeyBefore(s, p); dk != "" {
				key, a = dk, sc.keyAction(dk)
			}
		}
		if key == "" {
			continue
		}
		if a == ActionNone && s[p] == '=' && strings.EqualFold(key, "userid") {
			// Oracle's userid=scott/S3cret@orcl (exp, imp, sqlldr
			// parameter files), also without the command before it.
			if vs, ve := textValueAfter(s, p+1, key); ve > vs {
				if st, en := oracleLogon(s[vs:ve]); en > st && !sc.r.isRedacted(s[vs+st:vs+en]) {
					out = append(out, span{start: vs + st, end: vs + en, action: ActionMask})
					from = ve
				}
			}
			continue
		}
		if a == ActionNone && isPwdKey(key) && s[p] == '=' {
			// ODBC and ADO.NET connection strings name the password Pwd
			// (Server=db;Uid=sa;Pwd=x;), the shell the working directory
			// (PWD=/home/bob): outside a connection string, a path is no
			// password.
			if vs, ve := textValueAfter(s, p+1, key); ve > vs && (inConnectionString(s, p-len(key), ve) || !isShellValue(s[vs:])) && !sc.r.isRedacted(s[vs:ve]) {
				out = append(out, span{start: vs, end: ve, action: ActionMask})
				from = ve
			}
			continue
		}
		if a == ActionNone {
			// --user=alice:pw (curl, wget): the flag's password.
			if flag := strings.TrimPrefix(key, "-"); flag != key && s[p] == '=' {
				long := strings.HasPrefix(flag, "-")
				if isUserFlag(strings.TrimPrefix(flag, "-"), long) {
					if st, en, ok := userPassword(s, p+1); ok && !sc.r.isRedacted(s[st:en]) {
						out = append(out, span{start: st, end: en, action: ActionMask})
						from = en
					}
				}
			}
			continue
		}
		vs, ve := textValueAfter(s, p+sep, key)
		if encoded {
			ve = encodedAmpersand(s, vs, ve)
		}
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

// wideSeparators finds the full-width colons and equals signs (U+FF1A,
// U+FF1D) that Chinese, Japanese and Korean text separates keys from values
// with, for keyValues.
type wideSeparators struct {
	at [2]int // where the next of each starts (len(s): none left; -1: not searched yet)
}

// before returns the offset from from of the next separator in s: k, the
// next ASCII one's (or -1), or a full-width one's that comes first. Each
// kind is searched for again only once from has passed the one found, so
// that text with many of one kind and none of the other is read once.
func (w *wideSeparators) before(s string, from, k int) int {
	best := len(s)
	for i, sep := range [...]string{"\uff1a", "\uff1d"} {
		if w.at[i] < from {
			w.at[i] = len(s)
			if j := strings.Index(s[from:], sep); j >= 0 {
				w.at[i] = from + j
			}
		}
		best = min(best, w.at[i])
	}
	if best < len(s) && (k < 0 || best-from < k) {
		return best - from
	}
	return k
}

// quotedOrSymbolBefore reports whether the key before the separator at p
// is quoted ('token' =>) or a Ruby symbol (:token =>).
func quotedOrSymbolBefore(s string, p int) bool {
	j := p
	for j > 0 && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	if j > 0 && (s[j-1] == '"' || s[j-1] == '\'') {
		return true
	}
	for j > 0 && p-j <= maxTextKeyLen && isKeyByte(s[j-1]) {
		j--
	}
	return j > 0 && s[j-1] == ':'
}

// isArrowBody reports whether what starts at s[i], after "param =>", reads
// as a JavaScript arrow function's body rather than a Perl pair's value: a
// block or an expression in brackets, the parameter itself (token =>
// token.trim()), a call or a member (bcrypt.hash(…), setPassword(p)), or
// a Perl variable ($pw), which holds no secret either way. A string, a
// word followed by a comma or the end, and q{…} are values.
func isArrowBody(s string, i int, param string) bool {
	if i >= len(s) {
		return true
	}
	switch s[i] {
	case '"', '\'':
		return false
	case '{', '(', '[', '$', '@', '%', '!':
		return true
	}
	e := i
	for e < len(s) && (isAlnum(s[e]) || s[e] == '_') {
		e++
	}
	if e == i {
		return true
	}
	switch w := s[i:e]; {
	case w == param:
		return true
	case (w == "q" || w == "qq") && e < len(s) && s[e] == '{':
		return false
	case w == "await" || w == "new" || w == "typeof" || w == "void" || w == "async":
		return true
	}
	return e < len(s) && (s[e] == '.' || s[e] == '(' || s[e] == '[' || s[e] == '?')
}

// isPwdKey reports whether key is "pwd" in any case.
func isPwdKey(key string) bool {
	return len(key) == 3 && key[0]|0x20 == 'p' && key[1]|0x20 == 'w' && key[2]|0x20 == 'd'
}

// isShellValue reports whether v starts as the shell's working directory
// does: a path (absolute, from the home directory, relative, on a Windows
// drive) or an expansion ($PWD, `pwd`).
func isShellValue(v string) bool {
	if v == "" {
		return false
	}
	switch v[0] {
	case '/', '~', '.', '$', '`':
		return true
	}
	return len(v) >= 3 && isAlpha(v[0]) && v[1] == ':' && (v[2] == '\\' || v[2] == '/')
}

// inConnectionString reports whether the pair from k (its key) to ve (the
// end of its value) sits in a connection string: a ';' right before the
// key (Server=db;Uid=sa;Pwd=/x;), or right after the value and the next
// pair (Pwd=/x;Server=db), where a shell's ';' ends a command (echo
// PWD=$PWD; ls).
func inConnectionString(s string, k, ve int) bool {
	return k > 0 && s[k-1] == ';' || ve+1 < len(s) && s[ve] == ';' && isKeyByte(s[ve+1])
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
	if s[j-1] >= utf8.RuneSelf {
		if key := typographicKeyBefore(s, j); key != "" {
			return key
		}
		return letterKeyBefore(s, j)
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
	if i > 0 && s[i-1] >= utf8.RuneSelf {
		return letterKeyBefore(s, j) // contraseña=
	}
	return s[i:j]
}

// encodedKeyBefore returns the key that ends at the separator at p when it
// is percent-encoded or bracketed, as form bodies and query strings write
// nested and escaped names (pass%77ord=, user%5Bpassword%5D=,
// user[password]=, %3Ftoken%3D), decoded for matching: the name in its
// last non-empty brackets, or "".
func encodedKeyBefore(s string, p int) string {
	// Back over name bytes and escapes of name bytes, to a delimiter,
	// encoded or not (&, %26, ?, %3F).
	i := p
	for i > 0 && p-i < 3*maxTextKeyLen {
		if i >= 3 && s[i-3] == '%' && isHex(s[i-2]) && isHex(s[i-1]) {
			if !isNameByte(unhex(s[i-2])<<4 | unhex(s[i-1])) {
				break
			}
			i -= 3
		} else if isNameByte(s[i-1]) {
			i--
		} else {
			break
		}
	}
	var buf [3 * maxTextKeyLen]byte
	d := buf[:0]
	for j := i; j < p; j++ {
		if c := s[j]; c == '%' && j+2 < p && isHex(s[j+1]) && isHex(s[j+2]) {
			d = append(d, unhex(s[j+1])<<4|unhex(s[j+2]))
			j += 2
		} else {
			d = append(d, c)
		}
	}
	for len(d) >= 2 && d[len(d)-2] == '[' && d[len(d)-1] == ']' {
		d = d[:len(d)-2] // ids[]=
	}
	if n := len(d); n > 0 && d[n-1] == ']' {
		k := n - 1
		for k > 0 && d[k-1] != '[' {
			k--
		}
		d = d[k : n-1]
	}
	if len(d) == 0 || len(d) > maxTextKeyLen {
		return ""
	}
	return string(d)
}

// isNameByte reports whether c belongs in a form field's name as
// encodedKeyBefore reads it.
func isNameByte(c byte) bool { return isKeyByte(c) || c == '[' || c == ']' }

func isHex(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

func unhex(c byte) byte {
	if isDigit(c) {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}

// encodedAmpersand returns where the value s[vs:ve] after a %3D ends: at an
// encoded '&' (%26), the next pair of the encoded query.
func encodedAmpersand(s string, vs, ve int) int {
	for j := vs; j+2 < ve; j++ {
		if s[j] == '%' && s[j+1] == '2' && s[j+2] == '6' {
			return j
		}
	}
	return ve
}

// authSchemes are HTTP authentication schemes that precede a credential.
var authSchemes = []string{"basic", "bearer", "digest", "token", "negotiate", "ntlm", "apikey", "aws4-hmac-sha256"}

// isLineValued reports whether key names an HTTP header whose value is a
// list (a Cookie header holds many cookies; Digest and AWS Signature
// credentials are parameter lists after their scheme): its value runs to
// the end of the line, not to the first delimiter.
func isLineValued(key string) bool {
	switch {
	case strings.EqualFold(key, "cookie"), strings.EqualFold(key, "set-cookie"),
		strings.EqualFold(key, "authorization"), strings.EqualFold(key, "proxy-authorization"):
		return true
	}
	return false
}

// textValueAfter returns the bounds of the value of key that starts after
// the separator at i-1.
func textValueAfter(s string, i int, key string) (int, int) {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || strings.HasPrefix(s[i:], "\u3000")) {
		if s[i] >= utf8.RuneSelf {
			i += 2 // the ideographic space's other bytes
		}
		i++
	}
	if i >= len(s) {
		return i, i
	}
	if i > 0 && s[i-1] == ':' || i > 1 && s[i-1] == ' ' && s[i-2] == ':' {
		// YAML: the node's properties, a tag (token: !!str x, password:
		// !vault |, !<tag:yaml.org,2002:str>) and an anchor (&a), go
		// before the value, which may start on the next line.
		for k := 0; k < 2 && i < len(s) && (s[i] == '!' || s[i] == '&'); k++ {
			if isReferenceTag(s[i:]) {
				return i, i // !Ref DbPassword: a reference to a secret, not one
			}
			j := tokenEnd(s, i+1)
			if s[i] == '!' && i+1 < len(s) && s[i+1] == '<' {
				if g := strings.IndexByte(s[i:min(len(s), i+256)], '>'); g > 0 {
					j = i + g + 1
				}
			}
			for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
				j++
			}
			i = j
		}
		if i < len(s) && (s[i] == '\n' || s[i] == '\r' || s[i] == '#') {
			if st, en, ok := blockLines(s, i, i); ok && !isYAMLCollection(s[st:en]) {
				return st, en // password:⏎  a scalar on the lines below, indented deeper
			}
			// A mapping or a list under the key (an OpenAPI schema, a
			// workflow's secrets:): its own keys are read as keys.
			return i, i
		}
		if i >= len(s) {
			return i, i
		}
	}
	if n := stringPrefix(s[i:]); n > 0 {
		i += n // r"…", b'…', f"""…""": Python's string prefixes
	}
	switch c := s[i]; {
	case (c == '"' || c == '\'') && strings.HasPrefix(s[i+1:], string([]byte{c, c})):
		// A triple-quoted string (Python, TOML): to its closing quotes,
		// over lines.
		q := s[i : i+3]
		if k := strings.Index(s[i+3:], q); k >= 0 {
			return i + 3, i + 3 + k
		}
		return i + 3, len(s)
	case c == '"' || c == '\'':
		return quotedValue(s, i+1, string(c))
	case c >= utf8.RuneSelf:
		if n, closers := openingQuote(s[i:]); n > 0 {
			return typographicValue(s, i+n, closers)
		}
	case c == '\\' && i+1 < len(s) && s[i+1] == '"':
		return quotedValue(s, i+2, `\"`)
	case c == '|' || c == '>':
		if st, en, ok := blockScalar(s, i); ok {
			return st, en
		}
	case c == '/' && i+1 < len(s) && s[i+1] == '/':
		// A URL scheme ("https://..."): url_password sees its password.
		return i, i
	case c == '{' || c == '[':
		// A structure that is not JSON (JSON embedded in text is rewritten
		// as JSON before this runs): a Python dict, a truncated object.
		return i, bracketEnd(s, i)
	}
	c := afterScheme(s, i)
	if isLineValued(key) {
		return c, lineEnd(s, c)
	}
	if c > i {
		if e := tokenEnd(s, c); e > c {
			return c, e
		}
	}
	return i, tokenEnd(s, i)
}

// blockScalar returns the bounds of the content of the YAML block scalar
// whose indicator ('|' or '>', with chomping and indentation indicators
// and a comment) is at s[i]: the lines after it that are indented deeper
// than the key, and the blank lines among them. Its lines are one value:
// a multi-line password, a certificate or private key, a token folded to
// fit. ok is false when s[i] starts no block scalar or its block is empty.
func blockScalar(s string, i int) (st, en int, ok bool) {
	j := i + 1
	for j < len(s) && (s[j] == '-' || s[j] == '+' || isDigit(s[j])) {
		j++
	}
	return blockLines(s, i, j)
}

// blockLines returns the bounds of the lines after s[j:] (blanks, a
// comment, the line break) that are indented deeper than the key on the
// line of s[i]: a block scalar's content, or a plain value that starts on
// the next line. ok is false when anything else follows s[j] on its line
// or no line is deeper.
func blockLines(s string, i, j int) (st, en int, ok bool) {
	for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
		j++
	}
	if j < len(s) && s[j] == '#' {
		for j < len(s) && s[j] != '\n' {
			j++
		}
	}
	if j < len(s) && s[j] == '\r' {
		j++
	}
	if j >= len(s) || s[j] != '\n' {
		return 0, 0, false
	}
	// The key's column: its line's indentation and any "- " list markers.
	// Only the indicator's line is read back, one line per block at most.
	ls := strings.LastIndexByte(s[:i], '\n') + 1
	col := ls
	for col < i && (s[col] == ' ' || s[col] == '-' && col+1 < i && s[col+1] == ' ') {
		col++
	}
	keyCol := col - ls
	st, en = -1, -1
	for l := j + 1; l < len(s); {
		le := len(s)
		if k := strings.IndexByte(s[l:], '\n'); k >= 0 {
			le = l + k
		}
		k := l
		for k < le && s[k] == ' ' {
			k++
		}
		e := le
		for e > k && (s[e-1] == '\r' || s[e-1] == ' ' || s[e-1] == '\t') {
			e--
		}
		if e > k { // not blank
			if k-l <= keyCol {
				break
			}
			if st < 0 {
				st = k
			}
			en = e
		}
		l = le + 1
	}
	return st, en, st >= 0
}

// afterScheme returns where the credential starts when s[i:] starts with
// an HTTP auth scheme and a space ("Basic dXNl…"), else i.
func afterScheme(s string, i int) int {
	for _, sch := range authSchemes {
		if e := i + len(sch); e < len(s) && s[e] == ' ' && strings.EqualFold(s[i:e], sch) {
			return e + 1
		}
	}
	return i
}

// lineEnd returns the end of the line that holds s[i]: a line break, an
// escaped one (\n in JSON text), or the quote that ends the string the line
// is quoted in. A quoted parameter value (Digest's response="...") is
// skipped whole.
func lineEnd(s string, i int) int {
	for j := i; j < len(s); j++ {
		switch s[j] {
		case '\n', '\r':
			return j
		case '"':
			if j == i || s[j-1] != '=' {
				return j
			}
			_, e := quotedValue(s, j+1, `"`)
			j = e
		case '\\':
			if j+1 < len(s) && (s[j+1] == 'n' || s[j+1] == 'r') {
				return j
			}
			if j+1 < len(s) && s[j+1] == '"' {
				if j == i || s[j-1] != '=' {
					return j
				}
				_, e := quotedValue(s, j+2, `\"`)
				j = e + 1
			}
		}
	}
	return len(s)
}

// bracketEnd returns the end of the bracketed structure that starts at
// s[i] ('{' or '['): brackets of any kind are counted, quoted strings (in
// single or double quotes, with backslash escapes) are skipped. A structure
// that is never closed runs to the end of s: what follows a matched key is
// masked rather than guessed at.
func bracketEnd(s string, i int) int {
	depth := 0
	for j := i; j < len(s); j++ {
		switch c := s[j]; c {
		case '{', '[', '(':
			depth++
		case '}', ']', ')':
			depth--
			if depth == 0 {
				return j + 1
			}
		case '\\':
			j++
		case '"', '\'':
			for j++; j < len(s) && s[j] != c; j++ {
				if s[j] == '\\' {
					j++
				}
			}
		}
	}
	return len(s)
}

// flagValues appends a span for the value of each command-line flag in s
// that a key rule covers ("--password hunter2", "-token t"), and for the
// password of a user:password flag value ("curl -u admin:hunter2",
// "--user admin:hunter2"). "--password=hunter2" is a key=value pair already.
// A flag starts the string, or follows white space or a quote (quotedFlag).
// It also returns where the last flag it passed that may give a program
// its password (programFlagStart) starts, or -1, for programPasswords.
func (sc *Scope) flagValues(s string, out []span) ([]span, int) {
	lastFlag := -1
	for from := 0; ; {
		k := strings.IndexByte(s[from:], '-')
		if k < 0 {
			return out, lastFlag
		}
		i := from + k
		from = i + 1
		if i > 0 && i+1 < len(s) && programFlagStart(s[i+1:]) {
			if c := s[i-1]; c == ' ' || c == '\t' || c == '"' || c == '\'' {
				lastFlag = i
			}
		}
		if i > 0 {
			switch s[i-1] {
			case ' ', '\t':
			case '\'', '"':
				out, from = sc.quotedFlag(s, i, out, from)
				continue
			default:
				continue // inside a word, a date, a UUID
			}
		}
		ks := i + 1
		long := ks < len(s) && s[ks] == '-'
		if long {
			ks++
		}
		j := ks
		for j < len(s) && j-ks <= maxTextKeyLen && (isAlnum(s[j]) || s[j] == '-' || s[j] == '_') {
			j++
		}
		if !long && j-ks > 1 && s[ks] == 'u' && j < len(s) && s[j] == ':' {
			// -ualice:pw, the user flag glued to its value.
			if st, en, ok := userPassword(s, ks+1); ok {
				out = append(out, span{start: st, end: en, action: ActionMask})
				from = en
			}
			continue
		}
		if j == ks || isDigit(s[ks]) || s[ks] == '-' || j >= len(s) || s[j] != ' ' && s[j] != '\t' {
			continue
		}
		from = j
		vs := j
		for vs < len(s) && (s[vs] == ' ' || s[vs] == '\t') {
			vs++
		}
		if vs >= len(s) || s[vs] == '-' {
			continue
		}
		key := s[ks:j]
		a := sc.keyAction(key)
		var st, en int
		switch {
		case a != ActionNone:
			st, en = textValueAfter(s, vs, key)
		case isUserFlag(key, long):
			var ok bool
			if st, en, ok = userPassword(s, vs); !ok {
				continue
			}
			a = ActionMask
		case (key == "passin" || key == "passout" || key == "pass") && strings.HasPrefix(s[vs:], "pass:"):
			// openssl's -passin pass:SECRET, also where the command before
			// it is not in the text.
			st, en, a = vs+5, tokenEnd(s, vs+5), ActionMask
		default:
			continue
		}
		if en <= st || sc.r.isRedacted(s[st:en]) {
			continue
		}
		if a == ActionPseudonymize && sc.r.hmacKey == nil {
			a = ActionMask
		}
		out = append(out, span{start: st, end: en, action: a})
		from = en
	}
}

func tokenEnd(s string, i int) int {
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\n', '\r', ',', ';', '&', '"', '\'', '<', '>', ')', '}', ']', '\\':
			return i
		case 0xe3, 0xef:
			if isWidePunct(s[i:]) {
				return i
			}
		}
		i++
	}
	return i
}

// isWidePunct reports whether s starts with a comma, full stop or
// semicolon of Chinese, Japanese or Korean text (、。，；), or an
// ideographic space, which end a value there as ASCII ones do.
func isWidePunct(s string) bool {
	for _, p := range [...]string{"\u3001", "\u3002", "\uff0c", "\uff1b", "\u3000"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
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

// isUserFlag reports whether a command-line flag takes user:password, as
// curl's and wget's do: -u, --user, -U and --proxy-user, and a group of
// short flags ending in u (curl -su).
func isUserFlag(key string, long bool) bool {
	if key == "" {
		return false
	}
	if long {
		return key == "user" || key == "proxy-user"
	}
	if key == "U" {
		return true
	}
	for i := 0; i < len(key); i++ {
		if !(key[i] >= 'a' && key[i] <= 'z') {
			return false
		}
	}
	return len(key) <= 4 && key[len(key)-1] == 'u'
}

// userPassword returns the bounds of the password in the user:password
// token at s[i]. A token of digits on both sides (docker -u 1000:1000, a
// uid and a gid) holds no password.
func userPassword(s string, i int) (int, int, bool) {
	en := tokenEnd(s, i)
	// A user a first pass pseudonymised (curl -u hmac-sha256:…) holds the
	// colon of its prefix: the password, if any, follows the pseudonym.
	u := pseudonymAt(s[i:en])
	user, pw, ok := strings.Cut(s[i+u:en], ":")
	if !ok || pw == "" || u == 0 && isDigits(user) && isDigits(pw) {
		return 0, 0, false
	}
	st := i + u + len(user) + 1
	return st, en, true
}

// pseudonymAt returns the length of the pseudonym s starts with, or 0.
func pseudonymAt(s string) int {
	n := len(PseudonymPrefix) + 2*sha256.Size
	if len(s) < n || s[:len(PseudonymPrefix)] != PseudonymPrefix {
		return 0
	}
	for i := len(PseudonymPrefix); i < n; i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return 0
		}
	}
	return n
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// quotedFlag appends a span for the value after the quoted command-line
// flag at s[i] when a key rule covers it, in a list written out as text:
// Python's "Command '['mysql', '--password', 'pw']' returned non-zero exit
// status 1", or a JSON array that did not parse. It returns where the scan
// goes on.
func (sc *Scope) quotedFlag(s string, i int, out []span, from int) ([]span, int) {
	q := s[i-1]
	e := strings.IndexByte(s[i:], q)
	if e < 0 || e > 2+maxTextKeyLen {
		return out, from
	}
	a := sc.flagAction(s[i : i+e])
	if a == ActionNone {
		return out, from
	}
	j := i + e + 1
	for j < len(s) && (s[j] == ' ' || s[j] == ',' || s[j] == '\t') {
		j++
	}
	if j >= len(s) || s[j] != q {
		return out, from
	}
	st, en := quotedValue(s, j+1, string(q))
	v := s[st:en]
	switch {
	case en <= st || sc.r.isRedacted(v) || strings.HasPrefix(v, sc.r.mask):
		return out, from
	case a == flagUser:
		if !isUserPassword(v) {
			return out, from
		}
		a = ActionMask
	case a == ActionPseudonymize && sc.r.hmacKey == nil:
		a = ActionMask
	}
	return append(out, span{start: st, end: en, action: a}), en
}

// Typographic quotes. Text written by people, and by models that learned
// from it, quotes values with “…”, ‘…’, „…“, «…» and the like as often as
// with ASCII quotes: such a value is one value, spaces and all.

// quotePairs are the typographic quotes an opening one is closed by. “ is
// also German's closing quote („…“), and some texts close ‘ and “ with
// their opening quote.
var quotePairs = []struct {
	open    string
	closers []string
}{
	{"“", []string{"”", "“"}},
	{"„", []string{"“", "”"}},
	{"‘", []string{"’", "‘"}},
	{"‚", []string{"‘", "’"}},
	{"«", []string{"»"}},
	{"‹", []string{"›"}},
	{"»", []string{"«"}},
	{"”", []string{"”"}},
	{"「", []string{"」"}},
	{"『", []string{"』"}},
}

// openingQuote returns the length of the typographic quote that s starts
// with and what closes it, or 0.
func openingQuote(s string) (int, []string) {
	for _, p := range quotePairs {
		if strings.HasPrefix(s, p.open) {
			return len(p.open), p.closers
		}
	}
	return 0, nil
}

// typographicValue returns the bounds of a value from i to the first of
// closers, or to the end of the line if it is not closed there.
func typographicValue(s string, i int, closers []string) (int, int) {
	for j := i; j < len(s); j++ {
		switch c := s[j]; {
		case c == '\n':
			return i, j
		case c >= utf8.RuneSelf:
			for _, cl := range closers {
				if strings.HasPrefix(s[j:], cl) {
					return i, j
				}
			}
		}
	}
	return i, len(s)
}

// typographicKeyBefore returns the key in typographic quotes that ends at
// s[j] (“password”: …), or "".
func typographicKeyBefore(s string, j int) string {
	for _, p := range quotePairs {
		for _, cl := range p.closers {
			if !strings.HasSuffix(s[:j], cl) {
				continue
			}
			end := j - len(cl)
			from := max(0, end-maxTextKeyLen-len(p.open))
			k := strings.LastIndex(s[from:end], p.open)
			if k < 0 {
				continue
			}
			key := s[from+k+len(p.open) : end]
			if key != "" && strings.IndexByte(key, '\n') < 0 {
				return key
			}
		}
	}
	return ""
}

// letterKeyBefore returns the word of letters beyond ASCII (and key bytes)
// that ends at s[j] (パスワード：x, Contraseña=x), or "".
func letterKeyBefore(s string, j int) string {
	i := j
	for i > 0 && j-i < maxTextKeyLen {
		if s[i-1] < utf8.RuneSelf {
			if !isKeyByte(s[i-1]) {
				break
			}
			i--
			continue
		}
		r, n := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
			break
		}
		i -= n
	}
	if i == j || i > 0 && j-i >= maxTextKeyLen {
		return ""
	}
	return s[i:j]
}

// stringPrefix returns the length of the Python string prefix (r, b, f,
// u, rb, br, fr, rf in any case) that s starts with right before a quote,
// or 0.
func stringPrefix(s string) int {
	for n := 1; n <= 2 && n < len(s); n++ {
		switch s[n-1] | 0x20 {
		case 'r', 'b', 'f', 'u':
		default:
			return 0
		}
		if s[n] == '"' || s[n] == '\'' {
			return n
		}
	}
	return 0
}

// isYAMLCollection reports whether the indented lines v start a mapping
// or a list rather than a scalar: "key: …", "- …", a flow collection, a
// merge key.
func isYAMLCollection(v string) bool {
	line := v
	if k := strings.IndexByte(v, '\n'); k >= 0 {
		line = v[:k]
	}
	line = strings.TrimRight(line, "\r")
	if line == "-" || strings.HasPrefix(line, "- ") || strings.HasPrefix(line, "[") || strings.HasPrefix(line, "{") {
		return true
	}
	_, _, ok := yamlKey(line, 0)
	return ok || strings.HasPrefix(line, "<<:")
}

// isReferenceTag reports whether s starts with one of CloudFormation's
// short-form functions, whose value names or computes another value
// (password: !Ref DbPasswordParam, !Sub '{{resolve:secretsmanager:…}}').
func isReferenceTag(s string) bool {
	for _, t := range [...]string{"!Ref", "!GetAtt", "!Sub", "!ImportValue", "!FindInMap", "!Join",
		"!Select", "!Split", "!If", "!GetAZs", "!Cidr", "!Condition"} {
		if strings.HasPrefix(s, t) && (len(s) == len(t) || s[len(t)] == ' ' || s[len(t)] == '\n' || s[len(t)] == '\r') {
			return true
		}
	}
	return false
}
