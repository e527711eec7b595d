package payload

import (
	"fmt"
	"strings"
)

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

const (
	clsSep = iota
	clsLower
	clsUpper
	clsDigit
)

// classes is the class of every byte, looked up rather than computed since
// matching visits each byte of a key at least once. It is never written
// after its initialisation.
var classes = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= 'a' && c <= 'z', c >= 0x80:
			t[c] = clsLower
		case c >= 'A' && c <= 'Z':
			t[c] = clsUpper
		case c >= '0' && c <= '9':
			t[c] = clsDigit
		default:
			t[c] = clsSep
		}
	}
	return t
}()

func class(c byte) uint8 { return classes[c] }

// folded maps a separator to 0 and any other byte to itself, lowercased;
// never written after its initialisation.
var folded = func() (t [256]byte) {
	for c := range 256 {
		if classes[c] != clsSep {
			t[c] = lower(byte(c))
		}
	}
	return t
}()

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// wordStart reports whether a word starts at key[i], which is a letter or
// digit: after a separator, at a lower-to-upper or letter/digit step, or at
// the last capital of an acronym ("APIKey").
func wordStart(key string, i int) bool {
	if i == 0 {
		return true
	}
	prev, cur := class(key[i-1]), class(key[i])
	switch {
	case prev == clsSep:
		return true
	case cur == clsUpper:
		return prev != clsUpper || i+1 < len(key) && class(key[i+1]) == clsLower
	case cur == clsDigit:
		return prev != clsDigit
	default: // lower
		return prev == clsDigit
	}
}

// Match reports whether key matches one of m's terms. A nil Matcher
// matches nothing. It compares the key with the terms from its end
// backwards, ignoring separators and case, so that it neither allocates nor
// copies the key.
func (m *Matcher) Match(key string) bool {
	if m == nil || m.size == 0 {
		return false
	}
	// Ignore trailing digits and separators: "password2", "api_key_".
	end := len(key) - 1
	for end >= 0 && (class(key[end]) == clsSep || class(key[end]) == clsDigit) {
		end--
	}
	if end < 0 {
		return false
	}
	last := lower(key[end])
	if last >= 128 {
		return false
	}
	for _, t := range m.byLast[last] {
		i, j := end, len(t.norm)-1
		for j >= 0 && i >= 0 {
			f := folded[key[i]]
			if f == 0 {
				i--
				continue
			}
			if f != t.norm[j] {
				break
			}
			i--
			j--
		}
		if j >= 0 {
			continue
		}
		start := i + 1 // the term's first character
		switch {
		case t.exact:
			for i >= 0 && class(key[i]) == clsSep {
				i--
			}
			if i < 0 {
				return true
			}
		case t.inWord || wordStart(key, start):
			return true
		}
	}
	return false
}
