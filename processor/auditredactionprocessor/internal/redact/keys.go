package redact

import (
	"strings"
	"unicode/utf8"
)

// Key classification.
//
// A key is compared in normalised form: ASCII letters lowercased and the
// separators '-', '_', '.' and ' ' removed, so apiKey, API-KEY and api_key are
// one key. A key matches a word when its normalised form equals the word or
// ends with it: compound keys (db_password, stripe_api_key,
// http.request.header.authorization) match, while look-alikes such as
// max_tokens, token_count or password_policy do not, because they end with a
// different word (tokens, count, policy). Three refinements keep that rule
// principled rather than a list of exceptions:
//
//   - Plurals: a key ending in a word plus "s" matches too (access_tokens,
//     api_keys, cookies), except for words that also name a unit of
//     measure; "token" is one, since prompt_tokens and max_tokens count
//     tokens and hold no secret. Multi-word forms such as access_token keep
//     their plural.
//   - Carrier suffixes: a key ending in a word that only says how a value is
//     carried (value, str, string, text, raw, plain, data, b64, base64, hex,
//     encoded, header) is also tested without it, so password_value and
//     api_key_b64 match.
//   - Whole-key words: a few generic built-in words (address) match only the
//     whole key, so that client.address and server.address, which the
//     semantic conventions use for network peers, are left alone while a
//     tool argument named "address" is pseudonymised.
//
// When a key matches both a sensitive word and a PII word, the longer (more
// specific) word decides; on a tie the PII action wins, since a keyed
// pseudonym is as unreadable as a mask and keeps records linkable.

// keyClass is the outcome of classifying one key.
type keyClass uint8

const (
	classNone keyClass = iota
	classAllowed
	classSensitive
	classPII
)

// wordFlags qualify a word of the classifier trie.
type wordFlags uint8

const (
	flagSensitive wordFlags = 1 << iota
	flagPII
	flagWholeKey // matches only the whole normalised key
	flagNoPlural // "s" after the word does not form a plural of it
)

// defaultSensitiveKeys are the built-in sensitive words; Config.SensitiveKeys
// adds to them.
var defaultSensitiveKeys = []string{
	"password", "passwd", "passphrase", "secret", "client_secret",
	"token", "access_token", "refresh_token", "id_token", "auth_token", "session_token",
	"api_key", "apikey", "authorization", "proxy_authorization", "cookie", "set-cookie",
	"private_key", "secret_key", "access_key", "signing_key", "encryption_key",
	"credential", "credentials", "connection_string",
	"credit_card", "card_number", "cc_number", "cvv", "cvv2", "cvc", "security_code",
	"ssn", "social_security_number",
	// Environment variables and tool options that name a password their
	// own way (MySQL, redis-cli, Rails, keytool).
	"mysql_pwd", "rediscli_auth", "secret_key_base", "storepass", "keypass",
	"requirepass", "masterauth", "become_pass", "ssh_pass",
	// "Password" and "secret key" in other languages, as keys and in text
	// (パスワード：x). Words with letters beyond ASCII match the whole key or
	// a key's end from a letter beyond ASCII on (ユーザーパスワード).
	"passwort", "kennwort", "mot_de_passe", "contraseña", "contrasena", "senha",
	"wachtwoord", "lösenord", "salasana", "hasło", "haslo", "heslo", "jelszó",
	"şifre", "sifre", "пароль", "密码", "密碼", "口令", "密钥", "私钥", "令牌",
	"パスワード", "暗証番号", "秘密鍵", "비밀번호", "סיסמה", "รหัสผ่าน",
}

// defaultPIIKeys are the built-in PII words; Config.PIIKeys adds to them.
// A leading '=' marks a whole-key word.
var defaultPIIKeys = []string{
	"patient_name", "first_name", "last_name", "full_name", "given_name", "family_name",
	"middle_name", "maiden_name", "surname",
	"date_of_birth", "dob", "birth_date", "birthday",
	"=address", "street_address", "home_address", "mailing_address", "postal_address",
	"billing_address", "shipping_address",
	"email", "email_address", "phone", "phone_number", "mobile_number",
	"ssn", "passport_number", "drivers_license", "national_id", "medical_record_number",
}

// unitWords are words whose plural counts units rather than listing secrets.
var unitWords = []string{"token"}

// carrierWords name how a value is carried; see the package comment above.
var carrierWords = []string{
	"value", "val", "str", "string", "text", "raw", "plain", "plaintext",
	"data", "b64", "base64", "hex", "encoded", "header",
}

// trieAlphabet maps a normalised byte to an edge index; -1 means no word
// contains it, so classification stops there.
const trieWidth = 36

func edge(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= '0' && c <= '9':
		return 26 + int(c-'0')
	}
	return -1
}

type trieNode struct {
	next  [trieWidth]int32 // 0 = no child (node 0 is the root, never a child)
	flags wordFlags        // flags of the word ending here, 0 if none
}

// suffixTrie holds words reversed, so that walking a key from its end finds
// every word the key ends with in one pass.
type suffixTrie struct {
	nodes []trieNode
}

func newSuffixTrie() *suffixTrie {
	return &suffixTrie{nodes: make([]trieNode, 1, 256)}
}

// add inserts the normalised word w with flags. Words with bytes outside
// [a-z0-9] after normalisation are kept by matching them through the
// classifier's exact map instead.
func (t *suffixTrie) add(w string, f wordFlags) bool {
	n := 0
	for i := len(w) - 1; i >= 0; i-- {
		e := edge(w[i])
		if e < 0 {
			return false
		}
		nx := t.nodes[n].next[e]
		if nx == 0 {
			t.nodes = append(t.nodes, trieNode{})
			nx = int32(len(t.nodes) - 1)
			t.nodes[n].next[e] = nx
		}
		n = int(nx)
	}
	t.nodes[n].flags |= f
	return true
}

// suffixMatch is the longest word of each kind a key ends with.
type suffixMatch struct {
	sensitive, pii int // length of the longest matching word, 0 if none
}

// walk records in m the words that nk[:end] ends with. wholeLen is len(nk):
// whole-key words match only when they span it. plural tells that end
// excludes a trailing "s", so unit words do not match.
func (t *suffixTrie) walk(nk []byte, end int, plural bool, m *suffixMatch) {
	n := 0
	for i := end - 1; i >= 0; i-- {
		e := edge(nk[i])
		if e < 0 {
			return
		}
		nx := t.nodes[n].next[e]
		if nx == 0 {
			return
		}
		n = int(nx)
		f := t.nodes[n].flags
		if f == 0 {
			continue
		}
		if f&flagWholeKey != 0 && (i != 0 || end != len(nk)) {
			continue
		}
		if plural && f&flagNoPlural != 0 {
			continue
		}
		l := end - i
		if f&flagSensitive != 0 && l > m.sensitive {
			m.sensitive = l
		}
		if f&flagPII != 0 && l > m.pii {
			m.pii = l
		}
	}
}

// longestSuffix returns the length of the longest word of t that nk ends
// with, 0 if none.
func (t *suffixTrie) longestSuffix(nk []byte) int {
	n, best := 0, 0
	for i := len(nk) - 1; i >= 0; i-- {
		e := edge(nk[i])
		if e < 0 {
			return best
		}
		nx := t.nodes[n].next[e]
		if nx == 0 {
			return best
		}
		n = int(nx)
		if t.nodes[n].flags != 0 {
			best = len(nk) - i
		}
	}
	return best
}

// keyClassifier decides what happens to the value of a key. It is immutable
// after construction and safe for concurrent use.
type keyClassifier struct {
	words    *suffixTrie
	carriers *suffixTrie
	// exact holds normalised words that the trie cannot hold (bytes outside
	// [a-z0-9]), matched against the whole normalised key or, for words
	// beyond ASCII, its end from a letter beyond ASCII on (matchExact).
	exact map[string]wordFlags
	// exactASCII tells that exact holds a word of ASCII bytes only (a
	// custom word with bytes such as '+'), which an ASCII key can match:
	// without one, only keys with bytes beyond ASCII are looked up.
	exactASCII bool
	allowed    map[string]struct{}
}

func newKeyClassifier(sensitive, pii, allowed []string) *keyClassifier {
	c := &keyClassifier{
		words:    newSuffixTrie(),
		carriers: newSuffixTrie(),
		exact:    map[string]wordFlags{},
		allowed:  map[string]struct{}{},
	}
	units := map[string]bool{}
	for _, u := range unitWords {
		units[u] = true
	}
	add := func(w string, f wordFlags) {
		if len(w) > 0 && w[0] == '=' {
			f |= flagWholeKey
			w = w[1:]
		}
		nw := string(normalizeKey(nil, w))
		if nw == "" {
			return
		}
		if units[nw] {
			f |= flagNoPlural
		}
		if !c.words.add(nw, f) {
			c.exact[nw] |= f
			c.exactASCII = c.exactASCII || isASCII(nw)
		}
	}
	for _, w := range sensitive {
		add(w, flagSensitive)
	}
	for _, w := range pii {
		add(w, flagPII)
	}
	for _, w := range carrierWords {
		c.carriers.add(w, flagSensitive)
	}
	for _, w := range allowed {
		c.allowed[string(normalizeKey(nil, w))] = struct{}{}
	}
	return c
}

// normalizeKey appends the normalised form of key to dst.
func normalizeKey(dst []byte, key string) []byte {
	for i := 0; i < len(key); i++ {
		c := key[i]
		switch {
		case c >= 'A' && c <= 'Z':
			dst = append(dst, c+('a'-'A'))
		case c == '-' || c == '_' || c == '.' || c == ' ':
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// classify returns the class of key. buf is scratch space for the normalised
// key; the grown buffer is returned for reuse.
func (c *keyClassifier) classify(key string, buf []byte) (keyClass, []byte) {
	nk := normalizeKey(buf[:0], key)
	if len(nk) == 0 {
		return classNone, nk
	}
	if !isASCII(string(nk)) {
		// Пароль, CONTRASEÑA: letters beyond ASCII in any case.
		if l := strings.ToLower(string(nk)); l != string(nk) {
			nk = append(nk[:0], l...)
		}
	}
	if len(c.allowed) > 0 {
		if _, ok := c.allowed[string(nk)]; ok { // no allocation: map index by string(bytes)
			return classAllowed, nk
		}
	}
	var m suffixMatch
	c.match(nk, &m)
	if cl := c.carriers.longestSuffix(nk); cl > 0 && cl < len(nk) {
		c.match(nk[:len(nk)-cl], &m)
	}
	if len(c.exact) > 0 && (c.exactASCII || !isASCII(string(nk))) {
		c.matchExact(nk, &m)
	}
	switch {
	case m.pii > 0 && m.pii >= m.sensitive:
		return classPII, nk
	case m.sensitive > 0:
		return classSensitive, nk
	}
	return classNone, nk
}

func (c *keyClassifier) match(nk []byte, m *suffixMatch) {
	c.words.walk(nk, len(nk), false, m)
	if n := len(nk); n > 1 && nk[n-1] == 's' {
		c.words.walk(nk, n-1, true, m)
	}
}

// matchExact records in m the words of the exact map that nk is, or ends
// with from a letter beyond ASCII on: a word the trie cannot hold matches
// at a letter's boundary (ユーザーパスワード ends with パスワード).
func (c *keyClassifier) matchExact(nk []byte, m *suffixMatch) {
	for i := 0; i < len(nk); i++ {
		if i > 0 && (nk[i] < utf8.RuneSelf || !utf8.RuneStart(nk[i])) {
			continue
		}
		f, ok := c.exact[string(nk[i:])] // no allocation: map index by string(bytes)
		if !ok || i > 0 && f&flagWholeKey != 0 {
			continue
		}
		l := len(nk) - i
		if f&flagSensitive != 0 && l > m.sensitive {
			m.sensitive = l
		}
		if f&flagPII != 0 && l > m.pii {
			m.pii = l
		}
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
