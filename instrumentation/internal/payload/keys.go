package payload

import (
	"fmt"
	"strings"
)

// keyTail bounds the work spent on one key: every term is matched against the
// end of a key, so only its last keyTail bytes are looked at. A longer key
// costs no more than this.
const keyTail = 256

// inWordMin is the shortest sensitive term that also matches at the end of a
// longer word ("dbpassword", "accesstoken"). Shorter terms (ssn, pin, pwd,
// auth) match only as whole words, so that "spin" or "oauth" are left alone.
const inWordMin = 5

type term struct {
	norm   string // lowercase letters and digits only
	exact  bool   // must equal the whole normalised key
	inWord bool   // may also match inside the key's last word
}

// Matcher classifies object keys. A key is normalised before matching: ASCII
// letters are lowercased, separators (anything that is not a letter or digit)
// are dropped, word boundaries are remembered (at separators, lower-to-upper
// camelCase steps, the end of an acronym as in "APIKey", and letter/digit
// steps), and trailing digits are ignored.
//
// A Matcher is immutable and safe for concurrent use.
type Matcher struct {
	// byLast indexes terms by their last byte, so a key is compared only
	// with the few terms that could be its suffix.
	byLast [128][]term
	size   int
}

// Len reports the number of terms of m.
func (m *Matcher) Len() int {
	if m == nil {
		return 0
	}
	return m.size
}

// NewSensitiveMatcher returns a Matcher for sensitive keys: a key matches a
// term when the key, normalised, ends with the normalised term at a word
// boundary ("db_password", "x-api-key", "accessToken"), or, for terms of
// five or more characters, at the end of its last word ("dbpassword").
// Look-alikes that do not end in a term, such as "max_tokens" or
// "token_count", do not match.
func NewSensitiveMatcher(terms []string) (*Matcher, error) {
	m := &Matcher{}
	for _, t := range terms {
		n, err := normaliseTerm(t)
		if err != nil {
			return nil, err
		}
		m.add(term{norm: n, inWord: len(n) >= inWordMin})
	}
	return m, nil
}

// NewKeyMatcher returns a Matcher for identifier keys. A pattern matches a key
// whose normalised form equals the normalised pattern ("order_id" matches
// "orderId" and "Order-ID"). A pattern that starts with "*" matches every key
// that ends with the rest at a word boundary: "*_id" matches "id",
// "order_id" and "customerId" but not "paid".
func NewKeyMatcher(patterns []string) (*Matcher, error) {
	m := &Matcher{}
	for _, p := range patterns {
		suffix := strings.HasPrefix(p, "*")
		n, err := normaliseTerm(strings.TrimPrefix(p, "*"))
		if err != nil {
			return nil, err
		}
		m.add(term{norm: n, exact: !suffix})
	}
	return m, nil
}

func (m *Matcher) add(t term) {
	last := t.norm[len(t.norm)-1]
	for _, have := range m.byLast[last] {
		if have == t {
			return
		}
	}
	m.byLast[last] = append(m.byLast[last], t)
	m.size++
}

// normaliseTerm lowercases t and drops its separators. A term must contain a
// letter and must not end in a digit (keys are matched with their trailing
// digits removed, so such a term could never match).
func normaliseTerm(t string) (string, error) {
	var b strings.Builder
	letter := false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'A' && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
			letter = true
		case c >= 'a' && c <= 'z':
			b.WriteByte(c)
			letter = true
		case c >= '0' && c <= '9':
			b.WriteByte(c)
		case c >= 0x80:
			return "", fmt.Errorf("key %q: only ASCII letters, digits and separators are supported", t)
		}
	}
	n := b.String()
	if !letter {
		return "", fmt.Errorf("key %q: must contain a letter", t)
	}
	if l := n[len(n)-1]; l >= '0' && l <= '9' {
		return "", fmt.Errorf("key %q: must not end in a digit", t)
	}
	return n, nil
}

// Match reports whether key matches one of m's terms. It does not allocate.
// A nil Matcher matches nothing.
func (m *Matcher) Match(key string) bool { return match(m, key) }

// MatchBytes is Match for a key held in a byte slice.
func (m *Matcher) MatchBytes(key []byte) bool { return match(m, key) }

type normKey struct {
	b      [keyTail]byte
	n      int
	bounds [keyTail / 64]uint64 // bit i set: a word starts at b[i]
}

func (k *normKey) boundary(i int) bool { return k.bounds[i>>6]&(1<<(uint(i)&63)) != 0 }

const (
	clsSep = iota
	clsLower
	clsUpper
	clsDigit
)

func class(c byte) int {
	switch {
	case c >= 'a' && c <= 'z', c >= 0x80:
		return clsLower
	case c >= 'A' && c <= 'Z':
		return clsUpper
	case c >= '0' && c <= '9':
		return clsDigit
	}
	return clsSep
}

func match[T string | []byte](m *Matcher, key T) bool {
	if m == nil || m.size == 0 || len(key) == 0 {
		return false
	}
	var k normKey
	start := 0
	if len(key) > keyTail {
		start = len(key) - keyTail
	}
	prev := clsSep
	for i := start; i < len(key); i++ {
		c := key[i]
		cl := class(c)
		if cl == clsSep {
			prev = clsSep
			continue
		}
		word := prev == clsSep ||
			(cl == clsUpper && (prev == clsLower || prev == clsDigit)) ||
			(cl == clsDigit && prev != clsDigit) ||
			(cl == clsLower && prev == clsDigit) ||
			// The last capital of an acronym starts the next word: "APIKey".
			(cl == clsUpper && prev == clsUpper && i+1 < len(key) && class(key[i+1]) == clsLower)
		if cl == clsUpper {
			c += 'a' - 'A'
		}
		if word {
			k.bounds[k.n>>6] |= 1 << (uint(k.n) & 63)
		}
		k.b[k.n] = c
		k.n++
		prev = cl
	}
	// Ignore trailing digits: "password2" is a password.
	for k.n > 0 && k.b[k.n-1] >= '0' && k.b[k.n-1] <= '9' {
		k.n--
	}
	if k.n == 0 || k.b[k.n-1] >= 128 {
		return false
	}
	norm := k.b[:k.n]
	for _, t := range m.byLast[norm[len(norm)-1]] {
		if len(t.norm) > len(norm) {
			continue
		}
		at := len(norm) - len(t.norm)
		if string(norm[at:]) != t.norm {
			continue
		}
		switch {
		case t.exact:
			if at == 0 && start == 0 {
				return true
			}
		case at == 0 || k.boundary(at) || t.inWord:
			return true
		}
	}
	return false
}
