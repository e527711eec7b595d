package auditlog

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"
)

// checkFlatObject compares the flat-object fast path on in with the
// general canonicalizer and with github.com/gowebpki/jcs: whenever the fast
// path answers, all three agree; it never answers for input the general
// path rejects; and it appends nothing when it declines.
func checkFlatObject(t *testing.T, in []byte) (handled bool) {
	t.Helper()
	prefix := []byte("prefix")
	got, ok := appendFlatObject(append([]byte(nil), prefix...), in)
	if !ok {
		if !bytes.Equal(got, prefix) {
			t.Fatalf("declined %q but appended %q", in, got[len(prefix):])
		}
		return false
	}
	got = got[len(prefix):]
	general, err := appendCanonicalJSONGeneral(nil, in)
	if err != nil {
		t.Fatalf("fast path accepts %q, general path rejects it: %v", in, err)
	}
	if !bytes.Equal(got, general) {
		t.Fatalf("fast path %s, general path %s, for %q", got, general, in)
	}
	ref, err := jcs.Transform(in)
	if err != nil {
		t.Fatalf("fast path accepts %q, jcs rejects it: %v", in, err)
	}
	if !bytes.Equal(got, ref) {
		t.Fatalf("fast path %s, jcs %s, for %q", got, ref, in)
	}
	return true
}

func TestFlatObject(t *testing.T) {
	many := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"k` + string(rune('z'-i)) + `":1`)
		}
		b.WriteString("}")
		return b.String()
	}
	for _, tc := range []struct {
		in      string
		handled bool
	}{
		{`{}`, true},
		{` { } `, true},
		{`{"a":1}`, true},
		{`{"order_id":"A-1042","customer_id":"C-2042","include_history":true,"reason":"customer asked where the parcel is","currency":"EUR"}`, true},
		{`{"status":"shipped","order_id":"A-1042","count":3,"_result_size":2048}`, true},
		{"{\n  \"b\" : null ,\t\"a\":false\r\n}\n", true},
		{`{"b":-12,"a":0,"c":-99999999999999}`, true},
		{`{"a":-999999999999999}`, false}, // 16 characters: through a double
		{"{\"name\":\"Zoë €😀\",\"a\":\"<&>\u2028\"}", true},
		{`{"B":1,"a":2,"_":3,"Z":4,"~":5," ":6}`, true},
		{many(16), true},
		{`{"customer_name":1,"customer_id":2,"customer_idx":3,"customer":4,"custom":5,"customers":6}`, true},
		{`{"customer_id":1,"customer_id":2}`, false}, // duplicate past the eight-byte prefix
		{`{"abc":1,"abc":2}`, false},                 // duplicate within it
		{`{"a":"x","b":"tab	inside"}`, false},        // control character in a string
		{many(17), false},                            // more members than the fast path sorts
		{`{"a":1.5}`, false},                         // fractions are reformatted
		{`{"a":1e3}`, false},                         // exponents are reformatted
		{`{"a":-0}`, false},                          // -0 is written 0
		{`{"a":01}`, false},                          // invalid number
		{`{"a":1234567890123456}`, false},            // long integers go through a double
		{`{"a":"\u0041"}`, false},                    // escapes are rewritten
		{`{"\u0061":1}`, false},                      // escaped names are decoded to sort
		{`{"é":1,"e":2}`, false},                     // names beyond ASCII sort by UTF-16
		{`{"a":{"b":1}}`, false},                     // nested object
		{`{"a":[1,2]}`, false},                       // array
		{`{"a":1,"a":2}`, false},                     // duplicate name: the general path reports it
		{`{"a":1}x`, false},                          // trailing garbage
		{`{"a":1,}`, false},                          // trailing comma
		{`{"a" 1}`, false},                           // no colon
		{`{"a":tru}`, false},                         // bad literal
		{`{"a":truex}`, false},                       // no delimiter
		{`{"a":"\xff"}`, false},                      // invalid UTF-8
		{`{"a":1`, false},                            // unterminated
		{`{"a":"x`, false},                           // unterminated string
		{`[1,2]`, false},                             // not an object
		{`"text"`, false},
		{``, false},
	} {
		if got := checkFlatObject(t, []byte(tc.in)); got != tc.handled {
			t.Errorf("%q: handled %v, want %v", tc.in, got, tc.handled)
		}
		// Whatever path runs, CanonicalizeJSON agrees with jcs.
		got, err := CanonicalizeJSON([]byte(tc.in))
		ref, refErr := jcs.Transform([]byte(tc.in))
		if err == nil && refErr == nil && !bytes.Equal(got, ref) {
			t.Errorf("CanonicalizeJSON(%q) = %s, jcs %s", tc.in, got, ref)
		}
	}
}

// FuzzFlatObject cross-checks the flat-object fast path against the
// general canonicalizer and github.com/gowebpki/jcs.
func FuzzFlatObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"b":1,"a":"x"}`, `{"a":true,"c":null,"b":false}`, `{ "z" : -7 , "y" : "é" }`,
		`{"a":1.5}`, `{"a":"\n"}`, `{"a":{"b":1}}`, `{"a":1,"a":2}`, `{"a":-0}`, `{"a":00}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) { checkFlatObject(t, in) })
}

// TestSpecialBytes puts every byte value at every position of a word of
// plain bytes and checks that specialBytes flags exactly the bytes
// needsEscape marks, whatever their neighbours.
func TestSpecialBytes(t *testing.T) {
	for _, fill := range []byte{'a', ' ', '~', '!', '#', '[', ']'} {
		for pos := range 8 {
			for c := range 256 {
				var w [8]byte
				for i := range w {
					w[i] = fill
				}
				w[pos] = byte(c)
				got := specialBytes(binary.LittleEndian.Uint64(w[:]))
				var want uint64
				if needsEscape[c] {
					want = 0x80 << (8 * pos)
				}
				if got != want {
					t.Fatalf("specialBytes(%q) = %#x, want %#x", w, got, want)
				}
			}
		}
	}
	// Two special bytes: the lowest flag is the first of them.
	w := []byte("ab\"cd\\e\x01")
	if got := bits.TrailingZeros64(specialBytes(binary.LittleEndian.Uint64(w))) >> 3; got != 2 {
		t.Fatalf("first special byte of %q at %d, want 2", w, got)
	}
}

// TestFlatObjectNamePrefix covers names of every length up to past a word,
// near the start and the end of the input, where namePrefix loads a word or
// reads bytes.
func TestFlatObjectNamePrefix(t *testing.T) {
	for n := 0; n <= 10; n++ {
		name := strings.Repeat("k", n)
		for _, in := range []string{
			`{"` + name + `":1,"` + name + `a":2,"` + name + `":3}`, // duplicate
			`{"` + name + `b":1,"` + name + `a":2,"` + name + `":3}`,
			`{"` + name + `":1}`,
			`{"z":0,"` + name + `":1}`,
		} {
			checkFlatObject(t, []byte(in))
		}
	}
}
