package redact

import "strings"

// Programs that take a password as an argument of their own, in a form
// the key rules cannot see: a short flag whose meaning is the program's
// ("-p" is a password to mysql and docker login, a port to ssh and docker
// run), a password glued to its flag ("-pSECRET"), or one inside an
// argument ("user%SECRET", "user/SECRET@db", "pass:SECRET"). The rule
// applies to these programs' arguments only, read from the program's
// name to the end of its command.
const (
	progNone       uint8 = iota
	progMySQL            // -pSECRET (a bare -p prompts; "-p db" names a database)
	progSSHPass          // -pSECRET, -p SECRET; its options end at the command it runs
	progRedis            // redis-cli -a SECRET, --pass SECRET
	progLogin            // docker, podman, helm, az, cf … login -p SECRET
	progSQLCmd           // sqlcmd, bcp, osql: -P SECRET, -PSECRET
	progLDAP             // ldapsearch and the other OpenLDAP clients: -w SECRET
	progLDAPPasswd       // ldappasswd: -w, and -a OLD and -s NEW
	progMongo            // mongo, mongosh, mongodump …: -p SECRET
	progOpenSSL          // -k SECRET, -K KEY, -pass/-passin/-passout pass:SECRET
	progSMB              // smbclient, rpcclient, net …: -U user%SECRET
	progHtpasswd         // htpasswd -b FILE USER SECRET, -nb USER SECRET
	progOracle           // sqlplus, sqlldr, exp, expdp, imp, impdp, rman, SQL*Plus's connect: user/SECRET@db
)

// passwordProgram returns which of the programs above word names, as a
// bare name or a path ("/usr/bin/mysqldump", "mysql.exe").
func passwordProgram(word string) uint8 {
	for i := len(word) - 1; i >= 0; i-- {
		if word[i] == '/' || word[i] == '\\' {
			word = word[i+1:]
			break
		}
	}
	if isUpper(word) {
		word = strings.ToLower(word) // SQLCMD.EXE: Windows names in any case
	}
	return passwordPrograms[strings.TrimSuffix(word, ".exe")]
}

// isUpper reports whether word has upper-case ASCII letters and no lower-case
// ones: a name written in capitals, not a word in prose ("MySQL is down").
func isUpper(word string) bool {
	up := false
	for i := 0; i < len(word); i++ {
		switch c := word[i]; {
		case c >= 'a' && c <= 'z':
			return false
		case c >= 'A' && c <= 'Z':
			up = true
		}
	}
	return up
}

// passwordPrograms names each program above.
var passwordPrograms = func() map[string]uint8 {
	m := map[string]uint8{}
	for prog, names := range map[uint8][]string{
		progMySQL: {"mysql", "mysqladmin", "mysqlbinlog", "mysqlcheck", "mysqldump", "mysqlimport",
			"mysqlpump", "mysqlshow", "mysqlslap", "mysqlsh", "mysql_upgrade", "mysql_secure_installation",
			"mariadb", "mariadb-admin", "mariadb-binlog", "mariadb-check", "mariadb-dump", "mariadb-import",
			"mariadb-show", "mariadb-slap", "mariadb-upgrade", "mariadb-backup", "mariabackup",
			"mariadb-secure-installation"},
		progSSHPass: {"sshpass"},
		progRedis:   {"redis-cli", "valkey-cli", "keydb-cli"},
		progLogin:   {"docker", "podman", "nerdctl", "buildah", "skopeo", "helm", "oras", "crane", "finch", "az", "cf"},
		progSQLCmd:  {"sqlcmd", "bcp", "osql"},
		progLDAP: {"ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldapwhoami", "ldapcompare",
			"ldapmodrdn", "ldapexop"},
		progLDAPPasswd: {"ldappasswd"},
		progMongo: {"mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport",
			"mongostat", "mongotop", "mongofiles"},
		progOpenSSL:  {"openssl"},
		progSMB:      {"smbclient", "rpcclient", "smbcacls", "smbget", "smbtree", "smbcquotas", "net"},
		progHtpasswd: {"htpasswd"},
		progOracle:   {"sqlplus", "sqlplus64", "sqlcl", "sqlldr", "expdp", "impdp", "exp", "imp", "rman", "connect", "conn"},
	} {
		for _, n := range names {
			m[n] = prog
		}
	}
	return m
}()

// progStart marks the bytes a program name above starts with, so that
// the search for names looks closely only at words that can be one.
var progStart = func() (t [256]bool) {
	for name := range passwordPrograms {
		t[name[0]] = true
		t[name[0]-'a'+'A'] = true // SQLCMD
	}
	return t
}()

// What the next argument of a program's command line is (progState.next).
const (
	nextNone       uint8 = iota
	nextSecret           // a password
	nextUnlessFlag       // a password, unless it is a flag (mongo -p prompts then)
	nextUserPct          // user%password
	nextPassPrefix       // openssl's pass:password (env:, file:, fd: and stdin name no secret)
	nextSkip             // a flag's value that is no password
)

// progState reads a program's command line one argument at a time.
type progState struct {
	prog  uint8
	next  uint8
	login bool  // progLogin: the login subcommand has been read
	batch bool  // progHtpasswd: -b, the password is an argument
	bare  bool  // progHtpasswd: -n, no password file argument
	pos   uint8 // progHtpasswd: arguments read that are no flags
}

// step reads arg, the next argument of ps's command line. It returns the
// state after arg, the bounds of the password in arg (none unless
// en > st), and whether arg is not the program's but the start of the
// command it runs (sshpass ssh -p 22 …, docker exec db mysql …).
func (ps progState) step(arg string) (progState, int, int, bool) {
	n := len(arg)
	if next := ps.next; next != nextNone {
		ps.next = nextNone
		switch next {
		case nextSecret:
			return ps, 0, n, false
		case nextUnlessFlag:
			if !strings.HasPrefix(arg, "-") {
				return ps, 0, n, false
			}
		case nextUserPct:
			return ps, afterByte(arg, '%'), n, false
		case nextPassPrefix:
			if strings.HasPrefix(arg, "pass:") {
				return ps, 5, n, false
			}
			return ps, 0, 0, false
		case nextSkip:
			return ps, 0, 0, false
		}
	}
	short := n > 1 && arg[0] == '-' && arg[1] != '-'
	glued := func(c byte) bool { return short && arg[1] == c && n > 2 }
	switch ps.prog {
	case progMySQL:
		if glued('p') {
			return ps, 2, n, false
		}
	case progSSHPass:
		switch {
		case arg == "-p":
			ps.next = nextSecret
		case glued('p'):
			return ps, 2, n, false
		case arg != "" && arg[0] != '-':
			return ps, 0, 0, true
		}
	case progRedis:
		if arg == "-a" || arg == "--pass" {
			ps.next = nextSecret
		}
	case progLogin:
		switch {
		case arg == "login":
			ps.login = true
		case !ps.login && !short && passwordProgram(arg) != progNone:
			return ps, 0, 0, true // docker exec db mysql -pS3cret
		case !ps.login:
		case arg == "-p":
			ps.next = nextSecret
		case glued('p'):
			return ps, 2, n, false
		}
	case progSQLCmd:
		switch {
		case arg == "-P":
			ps.next = nextSecret
		case glued('P'):
			return ps, 2, n, false
		}
	case progLDAP, progLDAPPasswd:
		pw := arg == "-w" || ps.prog == progLDAPPasswd && (arg == "-a" || arg == "-s") ||
			short && arg[n-1] == 'w' && isLetters(arg[1:]) // a cluster: -xw
		switch {
		case pw:
			ps.next = nextSecret
		case glued('w'), ps.prog == progLDAPPasswd && (glued('a') || glued('s')):
			return ps, 2, n, false
		}
	case progMongo:
		switch {
		case arg == "-p":
			ps.next = nextUnlessFlag
		case glued('p') && arg[2] == '=':
			return ps, 3, n, false
		case glued('p'):
			return ps, 2, n, false
		}
	case progOpenSSL:
		switch arg {
		case "-k", "-K":
			ps.next = nextSecret
		case "-pass", "-passin", "-passout":
			ps.next = nextPassPrefix
		default:
			for _, f := range [...]string{"-pass=pass:", "-passin=pass:", "-passout=pass:"} {
				if strings.HasPrefix(arg, f) {
					return ps, len(f), n, false
				}
			}
		}
	case progSMB:
		switch {
		case arg == "-U" || arg == "--user":
			ps.next = nextUserPct
		case glued('U'):
			return ps, afterByte(arg, '%'), n, false
		case strings.HasPrefix(arg, "--user="):
			return ps, afterByte(arg, '%'), n, false
		}
	case progHtpasswd:
		if arg == "--" {
			return ps, 0, 0, false // the end of the options
		}
		if short {
			for i := 1; i < n; i++ {
				switch arg[i] {
				case 'b':
					ps.batch = true
				case 'n':
					ps.bare = true
				case 'C', 'r': // bcrypt cost, SHA rounds
					ps.next = nextSkip
				}
			}
			return ps, 0, 0, false
		}
		pos := ps.pos
		if ps.pos < 3 {
			ps.pos++
		}
		if ps.batch && (ps.bare && pos == 1 || !ps.bare && pos == 2) {
			return ps, 0, n, false
		}
	case progOracle:
		if st, en := oracleLogon(arg); en > st {
			return ps, st, en, false
		}
	}
	return ps, 0, 0, false
}

// afterByte returns where the part of arg after its first c starts, or
// len(arg) when arg holds no c.
func afterByte(arg string, c byte) int {
	if k := strings.IndexByte(arg, c); k >= 0 {
		return k + 1
	}
	return len(arg)
}

// oracleLogon returns the bounds of the password in an Oracle tool's
// logon argument: user/password, user/password@db, and the same after
// userid= (sqlldr, expdp). "/ as sysdba", "/nolog" and "@script.sql"
// hold none.
func oracleLogon(arg string) (int, int) {
	i := 0
	if k := strings.IndexByte(arg, '='); k >= 0 {
		if !strings.EqualFold(arg[:k], "userid") {
			return 0, 0 // parfile=conf/exp.par, control=ctl/a.ctl
		}
		i = k + 1
	}
	if i >= len(arg) || !isAlnum(arg[i]) && arg[i] != '_' {
		return 0, 0
	}
	u := i
	for u < len(arg) && (isKeyByte(arg[u]) || arg[u] == '$' || arg[u] == '#' || arg[u] == '@') {
		u++ // alice@example.com/pw@db: a user may be an address
	}
	if u >= len(arg) || arg[u] != '/' {
		return 0, 0
	}
	st := u + 1
	en := st
	for en < len(arg) && arg[en] != '@' && arg[en] != '/' {
		en++
	}
	if en < len(arg) && arg[en] == '/' {
		return 0, 0 // a path: dir/sub/file
	}
	return st, en
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlpha(s[i]) {
			return false
		}
	}
	return s != ""
}

// oracleHint reports whether s may name one of the Oracle tools, which
// take their password with no flag before it, and hold a logon.
func oracleHint(s string) bool {
	return strings.IndexByte(s, '/') >= 0 &&
		(strings.Contains(s, "sql") || strings.Contains(s, "pdp") || strings.Contains(s, "rman") ||
			strings.Contains(s, "onn") || strings.Contains(s, "ONN") || strings.Contains(s, "SQL") ||
			strings.Contains(s, "exp ") || strings.Contains(s, "imp "))
}

// programFlagStart reports whether a flag whose text after its first '-'
// is f may be one that step reads: -p, -a, -P, -w, -s, -k, -K, -U, a
// cluster with b (htpasswd -cb) or ending in w (ldapsearch -xw), --pass,
// --user. Most flags are none of these, and a lone '-' in prose is no
// flag.
func programFlagStart(f string) bool {
	switch f[0] {
	case 'p', 'a', 'P', 'w', 's', 'k', 'K', 'U', 'b':
		return true
	case '-':
		return strings.HasPrefix(f, "-pass") || strings.HasPrefix(f, "-user")
	}
	for i := 1; i < len(f) && i < 8 && isAlpha(f[i]); i++ {
		if f[i] == 'b' || f[i] == 'w' && (i+1 == len(f) || !isAlpha(f[i+1])) {
			return isAlpha(f[0]) // htpasswd -cb, ldapsearch -ZZxw
		}
	}
	return false
}

// programPasswords appends a span for each password given to one of the
// programs above in s, as a command line ("mysql -uroot -pS3cret db") or a
// list written out as text (Python's "Command '['mysql', '-pS3cret']'
// returned …"). The arguments are read to the end of the command: a line
// break, a shell operator, or the end of the list. Every match but the
// Oracle tools' has a flag after the program's name, so only s[:last] is
// searched, last being where the last flag starts (from flagValues; -1
// for none).
func (sc *Scope) programPasswords(s string, last int, out []span) []span {
	if oracleHint(s) {
		last = len(s)
	}
	for i := 0; i < last; i++ {
		if !progStart[s[i]] || i > 0 && isKeyByte(s[i-1]) && s[i-1] != '.' {
			continue
		}
		e := i
		for e < len(s) && (isKeyByte(s[e]) && s[e] != '.') {
			e++
		}
		if strings.HasPrefix(s[e:], ".exe") || strings.HasPrefix(s[e:], ".EXE") {
			e += 4
		}
		prog := passwordProgram(s[i:e])
		if prog == progNone {
			i = e
			continue
		}
		ws := i
		for ws > 0 && i-ws < maxProgramPath && !isArgEnd(s[ws-1]) && s[ws-1] != ',' && s[ws-1] != '[' {
			ws-- // a path before the name
		}
		if !commandWord(s, ws, i) {
			i = e
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
			i = e
			continue
		}
		var end int
		out, end = sc.programArgs(s, e, progState{prog: prog}, out)
		i = max(end, e) - 1
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
	switch {
	case prev == "-" || prev == "*":
		return true // a list item: "- docker login -p x" in a CI script
	case prev != "--" && strings.HasPrefix(prev, "-"):
		return wrapperBefore(s, pw) // sudo -E docker login; else a flag's value
	case i == ws:
		return true // a bare name after another word: docker exec db mysql
	}
	return prev == "--" || isWrapper(prev) // kubectl exec pod -- /usr/bin/mysql
}

// isWrapper reports whether word is a program that runs the command after
// its own options.
func isWrapper(word string) bool {
	switch word {
	case "sudo", "doas", "exec", "env", "nohup", "time", "command", "xargs", "nice", "ionice",
		"strace", "timeout", "watch", "runuser":
		return true
	}
	return false
}

// wrapperBefore reports whether one of the few words of the command that
// end at s[p] is a wrapper (isWrapper): sudo -u root -E docker, watch -n1
// redis-cli.
func wrapperBefore(s string, p int) bool {
	for n := 0; n < 6 && p > 0; n++ {
		for p > 0 && (s[p-1] == ' ' || s[p-1] == '\t') {
			p--
		}
		e := p
		for p > 0 && e-p < 64 && !isArgEnd(s[p-1]) {
			p--
		}
		if p == e {
			return false
		}
		if isWrapper(s[p:e]) {
			return true
		}
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

// programArgs appends spans for the passwords among the arguments that
// start at s[i] of the program ps reads, and returns where the command
// ends.
func (sc *Scope) programArgs(s string, i int, ps progState, out []span) ([]span, int) {
	for j := i; j < len(s); {
		start := j
		for j < len(s) {
			if isArgSep(s[j]) {
				j++
			} else if c := lineContinuation(s[j:]); c > 0 {
				j += c // docker login \⏎ -p x
			} else {
				break
			}
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
		unclosed := false // a quote the line or the text ends inside ends the command
		if q != "" {
			_, ae = quotedValue(s, as, q)
			unclosed = !strings.HasPrefix(s[ae:], q)
		} else {
			ae = as
			for ae < len(s) && !isArgEnd(s[ae]) && !(s[ae] == '\\' && ae+1 < len(s) && (s[ae+1] == '"' || s[ae+1] == 'n')) {
				ae++
			}
		}
		arg := s[as:ae]
		st, en := -1, -1
		if ps.prog == progMySQL && arg == "-p" && q == "" && ae < len(s) && (s[ae] == '"' || s[ae] == '\'') {
			q1 := s[ae : ae+1]
			st, en = quotedValue(s, ae+1, q1) // -p'S3c ret'
			unclosed = !strings.HasPrefix(s[en:], q1)
			ae = min(en+1, len(s))
			if unclosed {
				ae = en
			}
		} else {
			var a, b int
			var end bool
			ps, a, b, end = ps.step(arg)
			switch sub := passwordProgram(arg); {
			case end && sub != progNone:
				ps = progState{prog: sub} // docker exec db /opt/mssql-tools/bin/sqlcmd -P x
			case end:
				return out, start
			}
			st, en = as+a, as+b
		}
		if en > st && !sc.r.isRedacted(s[st:en]) && !strings.HasPrefix(s[st:], sc.r.mask) {
			out = append(out, span{start: st, end: en, action: ActionMask})
		}
		if unclosed {
			return out, ae
		}
		j = ae + len(q)
		if j <= start {
			j = start + 1
		}
	}
	return out, len(s)
}

// lineContinuation returns the length of the shell line continuation s
// starts with (a backslash before a line break), or 0.
func lineContinuation(s string) int {
	switch {
	case strings.HasPrefix(s, "\\\n"):
		return 2
	case strings.HasPrefix(s, "\\\r\n"):
		return 3
	}
	return 0
}

// maxProgramPath is the longest argv element read as a program's name.
const maxProgramPath = 256

// argvStep returns the action the element v of an argv array gives the
// element after it, whether v itself holds a password, and the state the
// array is read in from there on: an element names the program (the
// first, or the one after sudo or "docker exec db"), whose arguments
// follow.
func (sc *Scope) argvStep(v string, ps progState) (Action, bool, progState) {
	if ps.prog == progNone {
		return sc.flagAction(v), false, progState{prog: passwordProgram(v)}
	}
	next, st, en, end := ps.step(v)
	if end {
		return sc.flagAction(v), false, progState{prog: passwordProgram(v)}
	}
	if next.next != nextNone {
		return ActionNone, en > st, next
	}
	return sc.flagAction(v), en > st, next
}
