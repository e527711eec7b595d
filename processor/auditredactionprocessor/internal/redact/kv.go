package redact

import (
	"strings"
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
	from := 0
	for from < len(s) {
		k := strings.IndexAny(s[from:], "=:%")
		if k < 0 {
			break
		}
		p := from + k
		from = p + 1
		sep := 1
		if s[p] == '%' {
			// %3D, an '=' encoded in a URL's query value
			// (?next=%2Fcb%3Ftoken%3Dabc%26x%3D1).
			if p+2 >= len(s) || s[p+1] != '3' || s[p+2]|0x20 != 'd' {
				continue
			}
			sep = 3
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
		if sep == 3 {
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
		return typographicKeyBefore(s, j)
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
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) {
		return i, i
	}
	switch c := s[i]; {
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
// It also returns where the last -p flag it passed starts, or -1, for
// programPasswords.
func (sc *Scope) flagValues(s string, out []span) ([]span, int) {
	lastP := -1
	for from := 0; ; {
		k := strings.IndexByte(s[from:], '-')
		if k < 0 {
			return out, lastP
		}
		i := from + k
		from = i + 1
		if i+1 < len(s) && s[i+1] == 'p' && i > 0 {
			if c := s[i-1]; c == ' ' || c == '\t' || c == '"' || c == '\'' {
				lastP = i
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
	user, pw, ok := strings.Cut(s[i:en], ":")
	if !ok || pw == "" || isDigits(user) && isDigits(pw) {
		return 0, 0, false
	}
	st := i + len(user) + 1
	return st, en, true
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

// Programs that take a password glued to a short flag: the MySQL and
// MariaDB clients read -pSECRET as the password (a bare -p prompts for it,
// and "-p db" names a database), and sshpass reads -pSECRET and -p SECRET.
// Other programs use -p for a port (ssh -p 22, docker -p 8080:80), so the
// rule applies to these programs' arguments only.
const (
	progNone = iota
	progMySQL
	progSSHPass
)

// passwordProgram returns which of the programs above word names, as a
// bare name or a path ("/usr/bin/mysqldump", "mysql.exe").
func passwordProgram(word string) int {
	for i := len(word) - 1; i >= 0; i-- {
		if word[i] == '/' || word[i] == '\\' {
			word = word[i+1:]
			break
		}
	}
	word = strings.TrimSuffix(word, ".exe")
	switch word {
	case "mysql", "mysqladmin", "mysqlbinlog", "mysqlcheck", "mysqldump", "mysqlimport",
		"mysqlpump", "mysqlshow", "mysqlslap", "mysqlsh", "mysql_upgrade", "mysql_secure_installation",
		"mariadb", "mariadb-admin", "mariadb-binlog", "mariadb-check", "mariadb-dump", "mariadb-import",
		"mariadb-show", "mariadb-slap", "mariadb-upgrade", "mariadb-backup", "mariabackup",
		"mariadb-secure-installation":
		return progMySQL
	case "sshpass":
		return progSSHPass
	}
	return progNone
}

// programNames are what programPasswords searches for: each program above
// has one as a prefix.
var programNames = [...]string{"mysql", "maria", "sshpass"}

// programPasswords appends a span for each password given to one of the
// programs above in s, as a command line ("mysql -uroot -pS3cret db") or a
// list written out as text (Python's "Command '['mysql', '-pS3cret']'
// returned …"). The arguments are read to the end of the command: a line
// break, a shell operator, or the end of the list. Every match has a -p
// flag after the program's name, so only s[:last] is searched, last being
// where the last -p flag starts (from flagValues; -1 for none).
func (sc *Scope) programPasswords(s string, last int, out []span) []span {
	if last < 0 {
		return out
	}
	for _, name := range programNames {
		for from := 0; from < last; {
			k := strings.Index(s[from:last], name)
			if k < 0 {
				break
			}
			i := from + k
			from = i + len(name)
			if i > 0 && (isKeyByte(s[i-1]) && s[i-1] != '.') {
				continue // inside a word
			}
			ws := i
			for ws > 0 && i-ws < 256 && !isArgEnd(s[ws-1]) && s[ws-1] != ',' && s[ws-1] != '[' {
				ws-- // a path before the name
			}
			e := i
			for e < len(s) && (isKeyByte(s[e]) && s[e] != '.') {
				e++
			}
			if strings.HasPrefix(s[e:], ".exe") {
				e += 4
			}
			prog := passwordProgram(s[i:e])
			if prog == progNone || !commandWord(s, ws, i) {
				continue
			}
			q := ""
			switch {
			case ws >= 2 && s[ws-2:ws] == `\"`:
				q = `\"`
			case ws >= 1 && (s[ws-1] == '"' || s[ws-1] == '\''):
				q = s[ws-1 : ws]
			}
			if q != "" && strings.HasPrefix(s[e:], q) {
				e += len(q) // an element of a list: '['mysql', '-pS3cret']'
			} else if e < len(s) && !isArgSep(s[e]) {
				continue
			}
			out, from = sc.programArgs(s, e, prog, out)
		}
	}
	return out
}

// commandWord reports whether the word at s[ws:], whose program name
// starts at s[i], can be the command rather than an argument of another
// one: not the value of a flag (find . -name mysql -perm 644), and when
// it is a path, in a command's place or after a program that runs the
// next word (sudo /usr/bin/mysql), not a directory handed to another
// command (find /var/lib/mysql -perm 644, whose -perm is no password).
func commandWord(s string, ws, i int) bool {
	p := ws
	for p > 0 && (s[p-1] == ' ' || s[p-1] == '\t') {
		p--
	}
	if p == 0 || p < ws && isArgEnd(s[p-1]) || p == ws {
		return true // the start of a command, or of a list's element
	}
	pw := p
	for pw > 0 && ws-pw < 64 && !isArgEnd(s[pw-1]) && s[pw-1] != ',' {
		pw--
	}
	prev := s[pw:p]
	if prev != "--" && strings.HasPrefix(prev, "-") {
		return false
	}
	if i == ws {
		return true // a bare name after another word: docker exec db mysql
	}
	switch prev {
	case "sudo", "doas", "exec", "env", "nohup", "time", "command", "xargs", "nice", "ionice", "strace":
		return true
	}
	return false
}

// isArgSep reports whether c separates a command's arguments, in a shell
// command line or in a list written out as text.
func isArgSep(c byte) bool { return c == ' ' || c == '\t' || c == ',' }

// isArgEnd reports whether c ends a command or an unquoted argument.
func isArgEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ';', '|', '&', '<', '>', '(', ')', '`', '"', '\'', ']':
		return true
	}
	return false
}

// programArgs appends spans for the password among the arguments of the
// program prog that start at s[i], and returns where the command ends.
func (sc *Scope) programArgs(s string, i, prog int, out []span) ([]span, int) {
	next := false // sshpass -p: the next argument is the password
	for j := i; j < len(s); {
		start := j
		for j < len(s) && isArgSep(s[j]) {
			j++
		}
		if j >= len(s) {
			return out, j
		}
		q := ""
		switch {
		case s[j] == '\\' && j+1 < len(s) && s[j+1] == '"':
			q = `\"`
		case s[j] == '"' || s[j] == '\'':
			q = s[j : j+1]
		case s[j] == '\\' && j+1 < len(s) && (s[j+1] == 'n' || s[j+1] == 'r'):
			return out, j // a line break escaped in JSON text
		case isArgEnd(s[j]):
			return out, j
		}
		as := j + len(q)
		var ae int
		if q != "" {
			_, ae = quotedValue(s, as, q)
		} else {
			ae = as
			for ae < len(s) && !isArgEnd(s[ae]) && !(s[ae] == '\\' && ae+1 < len(s) && (s[ae+1] == '"' || s[ae+1] == 'n')) {
				ae++
			}
		}
		arg := s[as:ae]
		st, en := -1, -1
		switch {
		case next:
			st, en = as, ae
			next = false
		case len(arg) > 2 && arg[0] == '-' && arg[1] == 'p':
			st, en = as+2, ae
		case arg == "-p" && q == "" && ae < len(s) && (s[ae] == '"' || s[ae] == '\''):
			st, en = quotedValue(s, ae+1, s[ae:ae+1]) // -p'S3c ret'
			ae = min(en+1, len(s))
		case arg == "-p" && prog == progSSHPass:
			next = true
		case prog == progSSHPass && arg != "" && arg[0] != '-':
			return out, ae // the command sshpass runs: its -p is its own
		}
		if en > st && !sc.r.isRedacted(s[st:en]) && !strings.HasPrefix(s[st:], sc.r.mask) {
			out = append(out, span{start: st, end: en, action: ActionMask})
		}
		j = ae + len(q)
		if q != "" && ae >= len(s) {
			j = len(s)
		}
		if j <= start {
			j = start + 1
		}
	}
	return out, len(s)
}

// maxProgramPath is the longest argv element read as a program's name.
const maxProgramPath = 256

// isAttachedPassword reports whether the argument v of a program that
// takes -pSECRET is one.
func isAttachedPassword(v string) bool { return len(v) > 2 && v[0] == '-' && v[1] == 'p' }

// argvFlag returns the action the element v of an argv array that runs
// prog gives the element after it, and the program the array runs from
// there on: an element names it (the first, or the one after sudo or
// "docker exec db"), and sshpass's own options end at the command it runs
// (whose -p is a port).
func (sc *Scope) argvFlag(v string, prog int) (Action, int) {
	switch {
	case prog == progNone:
		return sc.flagAction(v), passwordProgram(v)
	case prog == progSSHPass && v == "-p":
		return ActionMask, prog
	case prog == progSSHPass && !strings.HasPrefix(v, "-"):
		return ActionNone, progNone
	}
	return sc.flagAction(v), prog
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
