package redact

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// strayAt returns the length of the byte that is not UTF-8, or of the
// U+FFFD that replaced one, at s[i], and 0 for anything else. The scanners
// take such a character as part of the token around it: a stray byte
// inside a credential (or its replacement, once an SDK or a JSON encoder
// has sanitised the string) must not end it early and leave its rest
// unmasked.
func strayAt(s string, i int) int {
	if s[i] < utf8.RuneSelf {
		return 0
	}
	if r, n := utf8.DecodeRuneInString(s[i:]); r == utf8.RuneError {
		return n
	}
	return 0
}

// tokenRun returns the end of the run of bytes that in accepts, and of
// stray characters (strayAt), that starts at s[i].
func tokenRun(s string, i int, in func(byte) bool) int {
	for i < len(s) {
		if in(s[i]) {
			i++
		} else if n := strayAt(s, i); n > 0 {
			i += n
		} else {
			break
		}
	}
	return i
}

// isAddressRune reports whether r, not ASCII, belongs in an internationalised
// e-mail address (RFC 6531): a letter, digit or combining mark. Punctuation
// such as an em dash or an ideographic full stop ends the address; a byte
// that is not UTF-8, or U+FFFD, does not (see strayAt).
func isAddressRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isWordByte reports whether c continues a word, so that a match next to it
// is part of a longer token (an identifier, a hex string) and not a value of
// its own.
func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }

// scanCards finds payment card numbers: 13 to 19 digits, optionally grouped
// by single spaces or dashes, starting with an issuer digit 2-6 (a 2 only
// as Mastercard's 2221-2720), passing the Luhn check, and not part of a
// longer word or number. Long digit runs such as nanosecond timestamps
// (which start with 1) and hex identifiers are left alone by those rules,
// and so are runs of years ("2023 2024 2025 2026") and of short numbers
// ("5 4 3 5 …"): in a grouped card, every group but the last has four
// digits or more. A run of several grouped numbers is searched for the
// longest valid card at each group.
func scanCards(s string, out []span) []span {
	n := len(s)
	for i := 0; i < n; {
		if !isDigit(s[i]) {
			i++
			continue
		}
		runEnd := endOfDigitRun(s, i)
		leadOK := i == 0 || !isWordByte(s[i-1])
		trailOK := runEnd == n || !isWordByte(s[runEnd])
		for g := i; g < runEnd; {
			best := -1
			if (g != i || leadOK) && s[g] >= '2' && s[g] <= '6' && issuerOK(s, g, runEnd) {
				var d [19]byte
				cnt := 0
				short := false                // a group before this one has fewer than 4 digits
				for j := g; j < runEnd; j++ { // j ends on a separator
					if short {
						break
					}
					gs := j
					for j < runEnd && isDigit(s[j]) && cnt < len(d) {
						d[cnt] = s[j] - '0'
						cnt++
						j++
					}
					short = j-gs < 4
					if j < runEnd && isDigit(s[j]) {
						break // more than 19 digits
					}
					if cnt >= 13 && (j < runEnd || trailOK) && luhnSum(d[:cnt])%10 == 0 {
						best = j
					}
				}
			}
			if best >= 0 {
				out = append(out, span{start: g, end: best})
				g = best
			} else {
				for g < runEnd && isDigit(s[g]) {
					g++
				}
			}
			g++ // the separator
		}
		i = runEnd
	}
	return out
}

// issuerOK reports whether the card number starting at s[g] has a real
// issuer prefix where a first digit alone is not enough: a 2 is
// Mastercard's 2221-2720 range only, which no year of this century is in.
func issuerOK(s string, g, end int) bool {
	if s[g] != '2' {
		return true
	}
	var p int
	for j, k := g, 0; k < 4; j++ {
		if j >= end {
			return false
		}
		if isDigit(s[j]) {
			p = p*10 + int(s[j]-'0')
			k++
		}
	}
	return p >= 2221 && p <= 2720
}

// endOfDigitRun returns the end of the run of digit groups joined by single
// spaces or dashes that starts at i.
func endOfDigitRun(s string, i int) int {
	for i < len(s) {
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i+1 < len(s) && (s[i] == ' ' || s[i] == '-') && isDigit(s[i+1]) {
			i++
			continue
		}
		return i
	}
	return i
}

func luhnSum(d []byte) int {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		v := int(d[i])
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum
}

// scanSSNs finds US social security numbers written ddd-dd-dddd with a valid
// area (not 000, 666 or 9xx), group (not 00) and serial (not 0000). Nine
// bare digits are too common to be called an SSN; a key named ssn catches
// those.
func scanSSNs(s string, out []span) []span {
	n := len(s)
	for i := 0; i+11 <= n; i++ {
		if !isDigit(s[i]) {
			continue
		}
		if i > 0 && (isWordByte(s[i-1]) || s[i-1] == '-') {
			// Inside a longer token: skip to its end.
			for i < n && (isWordByte(s[i]) || s[i] == '-') {
				i++
			}
			continue
		}
		if isDigit(s[i+1]) && isDigit(s[i+2]) && s[i+3] == '-' &&
			isDigit(s[i+4]) && isDigit(s[i+5]) && s[i+6] == '-' &&
			isDigit(s[i+7]) && isDigit(s[i+8]) && isDigit(s[i+9]) && isDigit(s[i+10]) &&
			(i+11 == n || !(isWordByte(s[i+11]) || s[i+11] == '-')) {
			area := s[i : i+3]
			if area != "000" && area != "666" && s[i] != '9' &&
				s[i+4:i+6] != "00" && s[i+7:i+11] != "0000" {
				out = append(out, span{start: i, end: i + 11})
				i += 10
				continue
			}
		}
		for i < n && (isWordByte(s[i]) || s[i] == '-') {
			i++
		}
	}
	return out
}

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

func isDomainByte(c byte) bool { return isAlnum(c) || c == '-' || c == '.' }

// scanEmails finds e-mail addresses: local@domain.tld, where the domain has
// at least two labels and a top-level label of two or more letters. Letters
// beyond ASCII count (josé@example.com, an IDN domain), and so do bytes that
// are not UTF-8 and U+FFFD. The password of a URL's user information
// (postgres://user:pw@db.example.com) is not an address: url_password
// finds it, and the host stays readable.
func scanEmails(s string, out []span) []span {
	from := 0 // no match may start before this
	for {
		k := strings.IndexByte(s[from:], '@')
		if k < 0 {
			return out
		}
		at := from + k
		l := at
		for l > from {
			if c := s[l-1]; c < utf8.RuneSelf {
				if !isEmailLocal(c) {
					break
				}
				l--
				continue
			}
			r, n := utf8.DecodeLastRuneInString(s[from:l])
			if r == utf8.RuneError || isAddressRune(r) {
				l -= n
				continue
			}
			break
		}
		for l < at && s[l] == '.' {
			l++
		}
		r := at + 1
		for r < len(s) {
			if c := s[r]; c < utf8.RuneSelf {
				if !isDomainByte(c) {
					break
				}
				r++
				continue
			}
			ru, n := utf8.DecodeRuneInString(s[r:])
			if ru == utf8.RuneError || isAddressRune(ru) {
				r += n
				continue
			}
			break
		}
		for r > at+1 && (s[r-1] == '.' || s[r-1] == '-') {
			r--
		}
		if l < at && validDomain(s[at+1:r]) && !endsURLPassword(s, at) {
			out = append(out, span{start: l, end: r})
			from = r
		} else {
			from = at + 1
		}
	}
}

// validDomain reports whether d has two labels or more and a top-level
// label of two letters or more (ASCII letters, or any bytes beyond ASCII,
// which the scan has limited to letters, marks and invalid bytes).
func validDomain(d string) bool {
	dot := strings.LastIndexByte(d, '.')
	if dot <= 0 || len(d)-dot-1 < 2 || strings.Contains(d, "..") || d[0] == '-' || d[0] == '.' {
		return false
	}
	for i := dot + 1; i < len(d); i++ {
		c := d[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= utf8.RuneSelf) {
			return false
		}
	}
	return true
}

// isUserinfoByte reports whether c may appear in a URL's user information
// as scanned here: anything but a delimiter of the URL or of the text
// around it. An '@' may (an unencoded one in a password); the last one
// ends the user information.
func isUserinfoByte(c byte) bool {
	switch c {
	case '/', '?', '#', ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '\\', '`':
		return false
	}
	return true
}

// scanURLPasswords finds the password in a URL's user information
// (scheme://user:password@host, as in a database connection string or a
// proxy URL). The user name and the host stay: the password alone is the
// secret.
func scanURLPasswords(s string, out []span) []span {
	if strings.IndexByte(s, '@') < 0 {
		return out
	}
	from := 0
	for {
		k := strings.Index(s[from:], "://")
		if k < 0 {
			return out
		}
		st := from + k + 3
		from = st
		colon, at := -1, -1
		i := st
		for ; i < len(s) && isUserinfoByte(s[i]); i++ {
			switch s[i] {
			case ':':
				if colon < 0 && at < 0 {
					colon = i
				}
			case '@':
				at = i
			}
		}
		if colon >= 0 && at > colon+1 {
			out = append(out, span{start: colon + 1, end: at})
			from = at + 1
		}
	}
}

// endsURLPassword reports whether the '@' at s[at] ends the user
// information of a URL that holds a password (scheme://user:pw@host).
func endsURLPassword(s string, at int) bool {
	q := at
	colon := false
	for q > 0 && isUserinfoByte(s[q-1]) {
		q--
		if s[q] == ':' {
			colon = true
		}
	}
	return colon && q >= 3 && s[q-3:q] == "://"
}

func isB64URL(c byte) bool { return isAlnum(c) || c == '-' || c == '_' }

// scanJWTs finds JSON Web Tokens: base64url segments joined by dots, the
// first starting with "eyJ" (a base64url JSON object), at least three
// segments (JWS), up to five (JWE); the last may be empty (unsigned).
func scanJWTs(s string, out []span) []span {
	from := 0
	for {
		k := strings.Index(s[from:], "eyJ")
		if k < 0 {
			return out
		}
		st := from + k
		if st > 0 && (isB64URL(s[st-1]) || s[st-1] == '.') {
			from = st + 3
			continue
		}
		i := st
		segs := 0
		segStart := i
		lens := [5]int{}
		for segs < 5 {
			i = tokenRun(s, i, isB64URL)
			lens[segs] = i - segStart
			segs++
			if segs < 5 && i+1 <= len(s)-1 && s[i] == '.' && (isB64URL(s[i+1]) || segs == 2) {
				i++
				segStart = i
				continue
			}
			if segs == 2 && i < len(s) && s[i] == '.' { // empty signature at the end
				i++
				lens[2] = 0
				segs = 3
			}
			break
		}
		if segs >= 3 && lens[0] >= 10 && lens[1] >= 2 && (i == len(s) || !(isB64URL(s[i]) || s[i] == '.')) {
			out = append(out, span{start: st, end: i})
			from = i
			continue
		}
		from = st + 3
	}
}

func isB64Token(c byte) bool {
	return isAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/'
}

// scanBearer finds the credential after "Bearer " (any case), as in an HTTP
// Authorization header: an RFC 6750 b64token of at least eight characters.
// The word Bearer itself is kept so that the masked value still says what it
// was.
func scanBearer(s string, out []span) []span {
	const word = "bearer"
	for i := 0; i+len(word) < len(s); i++ {
		if s[i]|0x20 != 'b' {
			continue
		}
		if i > 0 && isAlnum(s[i-1]) {
			continue
		}
		if !strings.EqualFold(s[i:i+len(word)], word) {
			continue
		}
		j := i + len(word)
		if j >= len(s) || (s[j] != ' ' && s[j] != '\t') {
			continue
		}
		for j < len(s) && (s[j] == ' ' || s[j] == '\t') {
			j++
		}
		t := j
		j = tokenRun(s, j, isB64Token)
		for j < len(s) && s[j] == '=' {
			j++
		}
		if j-t >= 8 {
			out = append(out, span{start: t, end: j})
			i = j - 1
		}
	}
	return out
}

// scanAWSKeys finds AWS access key ids: AKIA (long-term), ASIA (temporary),
// ABIA or ACCA followed by 16 upper-case letters or digits, as a word of its
// own.
func scanAWSKeys(s string, out []span) []span {
	from := 0
	for {
		k := strings.IndexByte(s[from:], 'A')
		if k < 0 {
			return out
		}
		i := from + k
		from = i + 1
		if i+20 > len(s) || (i > 0 && isAlnum(s[i-1])) {
			continue
		}
		switch s[i+1 : i+4] {
		case "KIA", "SIA", "BIA", "CCA":
		default:
			continue
		}
		ok := true
		for j := i + 4; j < i+20; j++ {
			c := s[j]
			if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
				ok = false
				break
			}
		}
		if ok && (i+20 == len(s) || !isAlnum(s[i+20])) {
			out = append(out, span{start: i, end: i + 20})
			from = i + 20
		}
	}
}

// scanPEMPrivateKeys finds PEM blocks whose label ends in "PRIVATE KEY"
// (PKCS#1, PKCS#8, EC, OpenSSH, encrypted) and OpenPGP's armoured "PGP
// PRIVATE KEY BLOCK" (formerly "PGP SECRET KEY BLOCK"), from the BEGIN line through the
// END line; a block cut off before its END line is detected to the end of the
// string.
func scanPEMPrivateKeys(s string, out []span) []span {
	const begin, end, dashes = "-----BEGIN ", "-----END ", "-----"
	from := 0
	for {
		k := strings.Index(s[from:], begin)
		if k < 0 {
			return out
		}
		st := from + k
		lblStart := st + len(begin)
		le := strings.Index(s[lblStart:min(len(s), lblStart+64)], dashes)
		if lbl := s[lblStart : lblStart+max(le, 0)]; le < 0 || !strings.HasSuffix(lbl, "PRIVATE KEY") && !strings.HasSuffix(lbl, "PRIVATE KEY BLOCK") && lbl != "PGP SECRET KEY BLOCK" {
			from = lblStart
			continue
		}
		e := strings.Index(s[lblStart+le+len(dashes):], end)
		if e < 0 {
			return append(out, span{start: st, end: len(s)})
		}
		e += lblStart + le + len(dashes)
		stop := len(s)
		if c := strings.Index(s[e+len(end):], dashes); c >= 0 {
			stop = e + len(end) + c + len(dashes)
		}
		out = append(out, span{start: st, end: stop})
		from = stop
	}
}
