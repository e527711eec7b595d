package auditlog

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gowebpki/jcs"
)

// appendStringRef is the byte-at-a-time JCS string encoder appendString
// replaced; it stays here as the reference the fast path must match byte
// for byte.
func appendStringRef(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if !needsEscape[c] {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\uFFFD"...)
				i++
				start = i
				continue
			}
			i += size
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// checkAppendString compares appendString on s with the reference and,
// for valid UTF-8, with the canonical form github.com/gowebpki/jcs gives
// the same string.
func checkAppendString(t *testing.T, s string) {
	t.Helper()
	prefix := []byte("x") // appending keeps what dst held
	got := appendString(append([]byte(nil), prefix...), s)
	want := appendStringRef(append([]byte(nil), prefix...), s)
	if string(got) != string(want) {
		t.Fatalf("appendString(%q) = %s, reference %s", s, got, want)
	}
	if !utf8.ValidString(s) {
		return
	}
	quoted, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	canon, err := jcs.Transform(quoted)
	if err != nil {
		t.Fatalf("jcs.Transform(%s): %v", quoted, err)
	}
	if string(got[1:]) != string(canon) {
		t.Fatalf("appendString(%q) = %s, jcs %s", s, got[1:], canon)
	}
}

func TestAppendStringMatchesReference(t *testing.T) {
	specials := []string{"\"", "\\", "\x00", "\x01", "\b", "\t", "\n", "\f", "\r", "\x1f", " ", "\x7f",
		"é", "€", "😀", "\u2028", "\u2029", "\xff", "\xc3", "\xe2\x82", "\xed\xa0\x80", "<>&", "\U0010FFFF"}
	cases := []string{"", "a", "gpt-4o", "general", "abcdefg", "abcdefgh", "abcdefghi",
		"0000000000000000000000000000000000000000000000000000000000000000",
		"2026-01-01T10:15:00.000000000Z", "github.com/otelaudit/otelaudit/instrumentation",
		strings.Repeat("plain text ", 40), strings.Repeat("\"", 20), strings.Repeat("\xff", 9)}
	// Every special character at every position of strings around the
	// eight-byte words, the overlapping last word and the half words the
	// fast path scans by.
	for n := range 26 {
		for _, sp := range specials {
			for at := 0; at <= n; at++ {
				base := strings.Repeat("a", n)
				cases = append(cases, base[:at]+sp+base[at:])
			}
		}
	}
	for _, s := range cases {
		checkAppendString(t, s)
	}
}

// FuzzAppendString cross-checks appendString against the reference
// encoder and github.com/gowebpki/jcs on arbitrary strings.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "abcdefgh\"", "tab\there", "\xff\xfe bad", "é€😀\u2028",
		"0123456789abcdef0123456789abcdef", "\x00\x1f\x7f", "long enough string with a quote \" near the end"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkAppendString(t, s) })
}

// TestCanonicalPayloadsOption appends the same records to a store with
// WithCanonicalPayloads and to one without: with canonical payloads the
// segments are byte for byte the same, and a payload that breaks the
// promise is copied as it is (and so fails verification) rather than
// repaired.
func TestCanonicalPayloadsOption(t *testing.T) {
	k := newTestKeys(t, "payloads")
	segment := func(t *testing.T, recs []*Record, opts ...Option) []byte {
		t.Helper()
		dir := t.TempDir()
		s := openTestStore(t, dir, k, opts...)
		appendOK(t, s, recs)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "general", SegmentName(0)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	recs := func() []*Record {
		rs := testRecords(0, 20, "general")
		rs[3].Arguments = nil
		rs[4].ResultSummary = json.RawMessage(`"text"`)
		rs[5].Arguments = json.RawMessage(`[1,{"a":"é"}]`)
		return rs
	}
	plain, trusted := segment(t, recs()), segment(t, recs(), WithCanonicalPayloads())
	if !bytes.Equal(plain, trusted) {
		t.Fatalf("canonical payloads written differently:\n%s\n%s", plain, trusted)
	}

	bad := recs()
	bad[0].Arguments = json.RawMessage(`{"b":1, "a":2}`)
	if got := segment(t, bad); !bytes.Contains(got, []byte(`"arguments":{"a":2,"b":1}`)) {
		t.Fatalf("without the option a non-canonical payload is not canonicalized:\n%s", got)
	}
	if got := segment(t, bad, WithCanonicalPayloads()); !bytes.Contains(got, []byte(`"arguments":{"b":1, "a":2}`)) {
		t.Fatalf("with the option a payload is not copied as it is:\n%s", got)
	}
}

// TestPlainPrefix checks plainPrefix against a byte loop over needsEscape
// with every byte value at every position of strings around the word
// boundaries it scans by, and in the overlapping last word.
func TestPlainPrefix(t *testing.T) {
	ref := func(s string) int {
		for i := 0; i < len(s); i++ {
			if needsEscape[s[i]] {
				return i
			}
		}
		return len(s)
	}
	for n := 0; n <= 25; n++ {
		base := []byte(strings.Repeat("p", n))
		if got := plainPrefix(string(base)); got != n {
			t.Fatalf("plainPrefix(%q) = %d, want %d", base, got, n)
		}
		for at := 0; at < n; at++ {
			for c := range 256 {
				b := append([]byte(nil), base...)
				b[at] = byte(c)
				if got, want := plainPrefix(string(b)), ref(string(b)); got != want {
					t.Fatalf("plainPrefix(%q) = %d, want %d", b, got, want)
				}
				// A second bad byte after the first does not move it.
				if at+1 < n {
					b[n-1] = '"'
					if got, want := plainPrefix(string(b)), ref(string(b)); got != want {
						t.Fatalf("plainPrefix(%q) = %d, want %d", b, got, want)
					}
				}
			}
		}
	}
}
