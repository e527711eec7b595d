package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/gowebpki/jcs"
)

func int64p(v int64) *int64 { return &v }

// sampleRecord returns a record with every member set.
func sampleRecord() *Record {
	return &Record{
		V: 1, ChainID: "example.com/gw/general", Seq: 7,
		Timestamp: "2026-01-02T03:04:05.123456789Z",
		TraceID:   "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331", ParentSpanID: "00f067aa0ba902b7",
		DurationMS: 12.5, Operation: "execute_tool", ToolName: "access_patient_record", ToolCallID: "call_1", ToolType: "function",
		Arguments:      json.RawMessage(`{"patient_id":"P-1001","fields":["name","dob"]}`),
		ResultSummary:  json.RawMessage(`{"status":"ok","rows":1}`),
		ConversationID: "conv-1", TurnNumber: int64p(3), Model: "gpt-4o",
		Agent:  Agent{Name: "care-bot", ID: "agent-1"},
		UserID: "dr.smith", UserRoles: []string{"physician", "admin"},
		Session: Session{ID: "s-1", ClientAddress: "10.0.0.1", UserAgent: "ua/1.0 <x&y>"},
		Trigger: "user_request", Purpose: "treatment",
		Subject:    Subject{Type: "patient", ID: "P-1001"},
		BreakGlass: true, BreakGlassReason: "emergency\u2028now",
		Success: false, Error: &Error{Type: "timeout", Message: "tool \"x\" timed out\n"},
		Redaction:   Redaction{Count: 2, Paths: []string{"arguments.ssn", "result.email"}},
		Attribution: Attribution{Initiator: "dr.smith", InitiatorType: InitiatorUser, InitiatorRole: "physician,admin", Model: "gpt-4o", Tool: "access_patient_record", Trigger: "user_request"},
		Retention:   Retention{Class: "healthcare", Days: 2190, RetainUntil: "2032-01-01T03:04:05.123456789Z"},
		Source:      Source{Convention: "genai", Service: "agent", Scope: "otelaudit", Client: "tenant-a"},
		PrevHash:    ZeroHash, Hash: strings.Repeat("ab", 32),
	}
}

// viaJCS is the reference: encoding/json, then the jcs library.
func viaJCS(t testing.TB, r *Record, withHash bool) []byte {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	if !withHash {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "hash")
		if b, err = json.Marshal(m); err != nil {
			t.Fatal(err)
		}
	}
	out, err := jcs.Transform(b)
	if err != nil {
		t.Fatalf("jcs.Transform: %v", err)
	}
	return out
}

func TestAppendCanonicalMatchesJCS(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(r *Record)
	}{
		{"full", func(*Record) {}},
		{"zero record", func(r *Record) { *r = Record{} }},
		{"nil vs empty slices", func(r *Record) { r.UserRoles = []string{}; r.Redaction.Paths = nil }},
		{"html and line separators", func(r *Record) { r.UserID = "<script>&\u2028\u2029\u007f" }},
		{"control characters", func(r *Record) { r.Purpose = "\x00\x01\x1f\b\f\t\r\n\"\\/" }},
		{"non-ASCII", func(r *Record) { r.ToolName = "outil_données_€_𝄞" }},
		{"fraction duration", func(r *Record) { r.DurationMS = 0.1 + 0.2 }},
		{"tiny duration", func(r *Record) { r.DurationMS = 1e-7 }},
		{"huge duration", func(r *Record) { r.DurationMS = 1e21 }},
		{"integral duration", func(r *Record) { r.DurationMS = 1500 }},
		{"negative duration", func(r *Record) { r.DurationMS = -3.25 }},
		{"negative zero", func(r *Record) { r.DurationMS = math.Copysign(0, -1) }},
		{"large seq", func(r *Record) { r.Seq = 1 << 52 }},
		{"large turn", func(r *Record) { r.TurnNumber = int64p(-(1 << 53) + 1) }},
		{"non-canonical arguments", func(r *Record) {
			r.Arguments = json.RawMessage(" { \"b\" : 1.0, \"a\" : [ 1e2, \"\\u00e9\\/\" ], \"\\u0000\": null } ")
		}},
		{"string arguments", func(r *Record) { r.Arguments = json.RawMessage(`"just text"`) }},
		{"nested unsorted result", func(r *Record) {
			r.ResultSummary = json.RawMessage(`{"z":{"y":2,"x":1},"€":1,"a":[{"d":1,"c":2}],"\ud83d\ude00":1,"\ue000":2}`)
		}},
		{"no error", func(r *Record) { r.Error = nil; r.Success = true }},
		{"no turn", func(r *Record) { r.TurnNumber = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleRecord()
			tt.mutate(r)
			for _, withHash := range []bool{true, false} {
				got := r.AppendCanonical(nil, withHash)
				want := viaJCS(t, r, withHash)
				if !bytes.Equal(got, want) {
					t.Fatalf("withHash=%v\n got %s\nwant %s", withHash, got, want)
				}
			}
		})
	}
}

func TestAppendCanonicalRepairsBadInput(t *testing.T) {
	r := sampleRecord()
	r.UserID = "bad\xffutf8\xc3"
	r.DurationMS = math.NaN()
	r.Arguments = json.RawMessage(`{"unterminated":`)
	out := r.AppendCanonical(nil, true)
	ref, err := jcs.Transform(out)
	if err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if !bytes.Equal(ref, out) {
		t.Fatalf("output is not canonical:\n got %s\nwant %s", out, ref)
	}
	var back Record
	if err := DecodeRecord(out, &back); err != nil {
		t.Fatal(err)
	}
	if back.UserID != "bad\uFFFDutf8\uFFFD" {
		t.Errorf("UserID = %q, want invalid bytes replaced by U+FFFD", back.UserID)
	}
	if back.DurationMS != 0 {
		t.Errorf("DurationMS = %v, want 0 for NaN", back.DurationMS)
	}
	if string(back.Arguments) != `"{\"unterminated\":"` {
		t.Errorf("Arguments = %s, want the invalid JSON kept as a string", back.Arguments)
	}
}

func TestComputeHash(t *testing.T) {
	r := sampleRecord()
	sum := sha256.Sum256(viaJCS(t, r, false))
	if got, want := r.ComputeHash(), hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("ComputeHash = %s, want %s", got, want)
	}
	r2 := sampleRecord()
	r2.Hash = "something else"
	if r.ComputeHash() != r2.ComputeHash() {
		t.Fatal("hash depends on the hash member")
	}
	r2.Seq++
	if r.ComputeHash() == r2.ComputeHash() {
		t.Fatal("hash does not depend on seq")
	}
}

func TestCanonicalizeJSON(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  string
	}{
		{in: `{"b":2,"a":1}`, want: `{"a":1,"b":2}`},
		{in: " [1, 2.50, -0, 1E3, 1e-7, 123456789012345678901234] ", want: `[1,2.5,0,1000,1e-7,1.2345678901234569e+23]`},
		{in: `"\u00e9\/\ud83d\ude00<>&"`, want: "\"é/😀<>&\""},
		{in: `{"\u20ac":1,"\ud83d\ude00":2,"\ue000":3,"a":0}`, want: "{\"a\":0,\"€\":1,\"😀\":2,\"\ue000\":3}"},
		{in: `{"":{"":[]}}`, want: `{"":{"":[]}}`},
		{in: `true`, want: `true`},
		{in: `{"a":1,"a":2}`, wantErr: "duplicate member name"},
		{in: `{"b":1,"a":2,"b":3}`, wantErr: "duplicate member name"},
		{in: `{"a":1,}`, wantErr: "expected member name"},
		{in: `[1 2]`, wantErr: "expected ',' or ']'"},
		{in: `01`, wantErr: "after top-level value"},
		{in: `1e400`, wantErr: "out of range"},
		{in: `"\ud800"`, wantErr: "unpaired high surrogate"},
		{in: `"\udc00"`, wantErr: "unpaired low surrogate"},
		{in: "\"\xff\"", wantErr: "invalid UTF-8"},
		{in: "\"a\nb\"", wantErr: "control character"},
		{in: `nul`, wantErr: "invalid literal"},
		{in: ``, wantErr: "unexpected end of input"},
		{in: `{"a":1} x`, wantErr: "after top-level value"},
		{in: strings.Repeat("[", 10001) + strings.Repeat("]", 10001), wantErr: "nesting deeper than 10000"},
	}
	for _, tt := range tests {
		got, err := CanonicalizeJSON([]byte(tt.in))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("CanonicalizeJSON(%.40q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || string(got) != tt.want {
			t.Errorf("CanonicalizeJSON(%.40q) = %s, %v; want %s", tt.in, got, err, tt.want)
		}
		if ref, err := jcs.Transform([]byte(tt.in)); err != nil || !bytes.Equal(ref, got) {
			t.Errorf("jcs.Transform(%.40q) = %s, %v; we produced %s", tt.in, ref, err, got)
		}
	}
}

func TestDecodeRecordRoundTrip(t *testing.T) {
	r := sampleRecord()
	line := r.AppendCanonical(nil, true)
	var back Record
	if err := DecodeRecord(append(line, '\n'), &back); err != nil {
		t.Fatal(err)
	}
	if again := back.AppendCanonical(nil, true); !bytes.Equal(again, line) {
		t.Fatalf("round trip differs:\n got %s\nwant %s", again, line)
	}
	// encoding/json reads our lines too.
	var std Record
	if err := json.Unmarshal(line, &std); err != nil {
		t.Fatal(err)
	}
	if again := std.AppendCanonical(nil, true); !bytes.Equal(again, line) {
		t.Fatalf("encoding/json round trip differs:\n got %s\nwant %s", again, line)
	}
}

func TestDecodeRecordRejects(t *testing.T) {
	good := string(sampleRecord().AppendCanonical(nil, true))
	tests := []struct{ name, line, wantErr string }{
		{"unknown member", strings.Replace(good, `"v":1`, `"v":1,"x":2`, 1), "unknown record member"},
		{"repeated member", strings.Replace(good, `"v":1`, `"v":1,"v":1`, 1), "repeated record member"},
		{"wrong type", strings.Replace(good, `"seq":7`, `"seq":"7"`, 1), "expected number"},
		{"negative seq", strings.Replace(good, `"seq":7`, `"seq":-7`, 1), "unsigned"},
		{"fractional turn", strings.Replace(good, `"turn_number":3`, `"turn_number":3.5`, 1), "integer"},
		{"truncated", good[:len(good)/2], ""},
		{"trailing garbage", good + "x", "after record"},
		{"not an object", `[1]`, "expected object"},
		{"unknown nested", strings.Replace(good, `"agent":{"id"`, `"agent":{"zz":"","id"`, 1), "unknown member"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			err := DecodeRecord([]byte(tt.line), &r)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// FuzzCanonicalizeJSON checks CanonicalizeJSON against the jcs library:
// both accept the same inputs and agree on the output.
func FuzzCanonicalizeJSON(f *testing.F) {
	for _, s := range []string{`{"b":2,"a":1}`, `[1,2.5e10,-0.0,"x"]`, `{"\ud83d\ude00":1,"\ue000":2}`, `"\u0007"`, `null`, `{"a":{"b":[{}]}}`, `1e-7`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := CanonicalizeJSON(in)
		ref, refErr := jcs.Transform(in)
		if (err == nil) != (refErr == nil) {
			// encoding/json is the tie-breaker for what is valid JSON.
			if err != nil && json.Valid(in) {
				t.Fatalf("we reject valid JSON %q: %v (jcs: %s)", in, err, ref)
			}
			if err == nil && !json.Valid(in) {
				t.Fatalf("we accept invalid JSON %q", in)
			}
			return
		}
		if err == nil && !bytes.Equal(got, ref) {
			t.Fatalf("CanonicalizeJSON(%q) = %s, jcs = %s", in, got, ref)
		}
		if err == nil {
			again, err := CanonicalizeJSON(got)
			if err != nil || !bytes.Equal(again, got) {
				t.Fatalf("not idempotent: %s -> %s, %v", got, again, err)
			}
		}
	})
}

// FuzzAppendCanonical builds records from fuzzed strings and numbers and
// compares the encoder with encoding/json followed by jcs.Transform, and
// the decoder with the encoder.
func FuzzAppendCanonical(f *testing.F) {
	f.Add("tool", "user\u2028<&>", `{"b":1,"a":[2]}`, 12.5, int64(3), uint64(0), true)
	f.Add("\x00\x7f", "\xff", `"text"`, 1e21, int64(-1), uint64(1<<40), false)
	f.Add("é€😀", "", `not json`, 1e-7, int64(1<<53), uint64(9), true)
	f.Fuzz(func(t *testing.T, s1, s2, raw string, dur float64, turn int64, seq uint64, b bool) {
		r := sampleRecord()
		r.ToolName, r.UserID, r.Subject.ID = s1, s2, s1+s2
		r.UserRoles = []string{s1, s2}
		r.Arguments = json.RawMessage(raw)
		r.DurationMS = dur
		r.TurnNumber = &turn
		r.Seq = seq
		r.BreakGlass = b
		got := r.AppendCanonical(nil, true)
		ref, err := jcs.Transform(got)
		if err != nil || !bytes.Equal(ref, got) {
			t.Fatalf("output not canonical: %s (%v)", got, err)
		}
		// Where encoding/json can represent the record exactly, the
		// reference pipeline must agree byte for byte.
		if json.Valid([]byte(raw)) && !math.IsNaN(dur) && !math.IsInf(dur, 0) &&
			turn <= maxSafeInteger && turn >= -maxSafeInteger && seq <= maxSafeInteger {
			if _, err := CanonicalizeJSON([]byte(raw)); err == nil {
				if want := viaJCS(t, r, true); !bytes.Equal(got, want) {
					t.Fatalf("\n got %s\nwant %s", got, want)
				}
			}
		}
		var back Record
		if err := DecodeRecord(got, &back); err != nil {
			t.Fatalf("DecodeRecord(own output): %v\n%s", err, got)
		}
		if again := back.AppendCanonical(nil, true); !bytes.Equal(again, got) {
			t.Fatalf("decode/encode differs:\n got %s\nwant %s", again, got)
		}
	})
}
