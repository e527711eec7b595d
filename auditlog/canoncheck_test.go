package auditlog

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// canonicalByReencoding is the slow definition isCanonicalJSON must agree
// with: the canonicalizer accepts b and reproduces it.
func canonicalByReencoding(b []byte) bool {
	c, err := CanonicalizeJSON(b)
	return err == nil && bytes.Equal(c, b)
}

var canonCheckCases = []struct {
	in   string
	want bool
}{
	{`{"a":1,"b":2}`, true},
	{`{"b":2,"a":1}`, false},
	{`{"a":1,"a":1}`, false},
	{`{"a":1 }`, false},
	{` {"a":1}`, false},
	{`{"a":1}` + "\n", false},
	{`[1,2.5,0,1000,1e-7,1.2345678901234569e+23]`, true},
	{`[1,2.50]`, false},
	{`-0`, false},
	{`0`, true},
	{`-1`, true},
	{`1E3`, false},
	{`1e+21`, true},
	{`1e21`, false},
	{`123456789012345`, true},
	{`1234567890123456`, true},
	{`12345678901234567890`, false},
	{`12345678901234567000`, true},
	{`9007199254740993`, false},
	{`0.1`, true},
	{`-0.5`, true},
	{`100.25`, true},
	{`23.456789`, true},
	{`49.285714285714285`, true},
	{`0.30000000000000004`, true},
	{`0.3000000000000000`, false},
	{`123456789012345.5`, true},
	{`0.000001`, true},
	{`0.00000123`, true},
	{`0.0000001`, false},
	{`1e-7`, true},
	{`0.1000`, false},
	{`1.0`, false},
	{`-0.0`, false},
	{`1.5e0`, false},
	{`.1`, false},
	{`1.`, false},
	{`1e400`, false},
	{`01`, false},
	{`"plain ascii string longer than eight bytes"`, true},
	{"\"é€😀\u2028<>&/\x7f\"", true},
	{`"\u00e9"`, false},
	{`"\/"`, false},
	{`"\"\\\b\f\n\r\t"`, true},
	{`"\u0000\u001f\u000b"`, true},
	{`"\u001F"`, false},
	{`"\u0008"`, false},
	{`"\u000a"`, false},
	{`"\u0020"`, false},
	{"\"a\nb\"", false},
	{"\"\xff\"", false},
	{"\"\xed\xa0\x80\"", false}, // a UTF-8-encoded surrogate
	{"\"\xef\xbf\xbd\"", true},  // U+FFFD itself
	{`"unterminated`, false},
	{`"\`, false},
	{`"\u00`, false},
	{"{\"a\":0,\"€\":1,\"😀\":2,\"\ue000\":3}", true},
	{"{\"a\":0,\"€\":1,\"\ue000\":3,\"😀\":2}", false}, // byte order, not UTF-16 order
	{`{"\n":1,"a":2}`, true},
	{`{"a":2,"\n":1}`, false},
	{`{"\n":1,"\n":2}`, false},
	{"{\"\\u0001\":1,\"\\u0001a\":2}", true},
	{`{"":{"":[]}}`, true},
	{`{}`, true},
	{`[]`, true},
	{`[1,]`, false},
	{`{"a":1,}`, false},
	{`{"a"}`, false},
	{`{"a":}`, false},
	{`true`, true},
	{`tru`, false},
	{`nul`, false},
	{`null`, true},
	{`false`, true},
	{``, false},
	{`{"a":1} x`, false},
	{`[true,false,null,"x",{"k":[]}]`, true},
	{strings.Repeat("[", 10000) + strings.Repeat("]", 10000), true},
	{strings.Repeat("[", 10001) + strings.Repeat("]", 10001), false},
}

func TestIsCanonicalJSON(t *testing.T) {
	for _, tt := range canonCheckCases {
		if got := isCanonicalJSON([]byte(tt.in)); got != tt.want {
			t.Errorf("isCanonicalJSON(%.40q) = %v, want %v", tt.in, got, tt.want)
		}
		if slow := canonicalByReencoding([]byte(tt.in)); slow != tt.want {
			t.Errorf("re-encoding says %.40q canonical = %v, the table says %v", tt.in, slow, tt.want)
		}
	}
}

// TestIsCanonicalJSONOfOutputs checks that every output of the
// canonicalizer passes the check.
func TestIsCanonicalJSONOfOutputs(t *testing.T) {
	for _, tt := range canonCheckCases {
		c, err := CanonicalizeJSON([]byte(tt.in))
		if err != nil {
			continue
		}
		if !isCanonicalJSON(c) {
			t.Errorf("isCanonicalJSON rejects the canonical form %.60q of %.40q", c, tt.in)
		}
	}
}

// FuzzIsCanonicalJSON holds the fast check to the definition: canonical
// exactly when re-encoding reproduces the input, for every input; and the
// canonicalizer's output is always canonical.
func FuzzIsCanonicalJSON(f *testing.F) {
	for _, tt := range canonCheckCases {
		if len(tt.in) < 200 {
			f.Add([]byte(tt.in))
		}
	}
	f.Add(sampleRecord().AppendCanonical(nil, true))
	f.Fuzz(func(t *testing.T, in []byte) {
		fast, slow := isCanonicalJSON(in), canonicalByReencoding(in)
		if fast != slow {
			t.Fatalf("isCanonicalJSON(%q) = %v, re-encoding says %v", in, fast, slow)
		}
		if c, err := CanonicalizeJSON(in); err == nil && !isCanonicalJSON(c) {
			t.Fatalf("canonical form %q of %q fails the check", c, in)
		}
	})
}

// TestAppendFloatMillionths checks the shortcut for whole millionths (the
// durations of nanosecond spans) against strconv's shortest formatting.
func TestAppendFloatMillionths(t *testing.T) {
	check := func(f float64) {
		t.Helper()
		var want []byte
		if f == math.Trunc(f) && f < maxSafeInteger {
			want = strconv.AppendInt(nil, int64(f), 10)
		} else if f < 1e21 && f >= 1e-6 {
			want = strconv.AppendFloat(nil, f, 'f', -1, 64)
		} else {
			return
		}
		if got := appendFloat(nil, f); !bytes.Equal(got, want) {
			t.Fatalf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	for _, ns := range []int64{1, 999, 1000, 1001, 23_456_789, 999_999, 1_000_001, 123_456_789_012, 1e15 - 1, 1e15, 1e15 + 1, 1<<53 - 1, 7 * 1e6} {
		check(float64(ns) / 1e6)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200_000 {
		check(float64(r.Int64N(1e16)) / 1e6)
		check(float64(r.Int64N(1e9)) / 1e6)
		check(r.Float64() * 1e6)
	}
}

// TestCanonicalizeJSONConcurrent runs canonicalizations that reorder
// nested objects in parallel: the pooled scratch space of one call must
// never leak into another (run with -race).
func TestCanonicalizeJSONConcurrent(t *testing.T) {
	inputs := []string{
		`{"z":{"y":[{"b":1,"a":2}],"x":"é"},"a":[3,2,1]}`,
		`{"order_id":"A-1","customer_id":"C-2","include_history":true,"reason":"x","currency":"EUR"}`,
		`[{"k2":null,"k1":{"n2":1.50,"n1":"` + strings.Repeat("v", 5000) + `"}}]`,
		`{"b":2,"a":1,"a":3}`, // duplicate: an error
	}
	want := make([]string, len(inputs))
	for i, in := range inputs {
		c, err := CanonicalizeJSON([]byte(in))
		want[i] = string(c) + fmt.Sprint(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 300 {
				i := (g + n) % len(inputs)
				c, err := CanonicalizeJSON([]byte(inputs[i]))
				if got := string(c) + fmt.Sprint(err); got != want[i] {
					t.Errorf("input %d: got %.80s, want %.80s", i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}
