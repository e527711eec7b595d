package auditlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReader(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	r, err := NewReader(dir, k.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	chains, _ := r.Chains()
	if strings.Join(chains, ",") != "general,healthcare" {
		t.Fatalf("chains = %v", chains)
	}
	segs, err := r.Segments("general")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, sg := range segs {
		last := i == len(segs)-1
		if sg.Sealed == last || (!last && sg.Summary == nil) {
			t.Fatalf("segment %s: sealed=%v summary=%v problem=%q", sg.Name, sg.Sealed, sg.Summary != nil, sg.Problem)
		}
		n := 0
		chk, err := r.ReadSegment(sg, func(rec *Record) error {
			if sg.Summary != nil && !sg.Summary.ContainsConversation(rec.ConversationID) {
				t.Errorf("summary of %s lacks conversation %s", sg.Name, rec.ConversationID)
			}
			n++
			return nil
		})
		if err != nil || !chk.Verified || chk.Records != uint64(n) || chk.Unproven != 0 {
			t.Fatalf("ReadSegment(%s) = %+v, %v", sg.Name, chk, err)
		}
		total += n
	}
	if total != 60 {
		t.Fatalf("read %d records", total)
	}

	// Rewriting a sealed segment consistently (every hash recomputed)
	// still contradicts its signed seal.
	p := filepath.Join(dir, "general", segs[1].Name)
	data, _ := os.ReadFile(p)
	var out [][]byte
	prev := ""
	for i, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		var rec Record
		if err := DecodeRecord(line, &rec); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			rec.UserID = "mallory"
		} else {
			rec.PrevHash = prev
		}
		rec.Hash = rec.ComputeHash()
		prev = rec.Hash
		out = append(out, rec.AppendCanonical(nil, true))
	}
	os.WriteFile(p, append(bytes.Join(out, []byte("\n")), '\n'), 0o600)
	chk, _ := r.ReadSegment(segs[1], func(*Record) error { return nil })
	if chk.Verified || !strings.Contains(strings.Join(chk.Problems, ";"), "does not match its seal") {
		t.Fatalf("rewritten sealed segment: %+v", chk)
	}

	// The active segment is proven by the checkpoint root.
	last := segs[len(segs)-1]
	p = filepath.Join(dir, "general", last.Name)
	data, _ = os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(data, []byte(`"success":true`), []byte(`"success":false`), 1), 0o600)
	chk, _ = r.ReadSegment(last, func(*Record) error { return nil })
	if chk.Verified {
		t.Fatalf("tampered active segment verified: %+v", chk)
	}

	// Without keys nothing is claimed.
	r2, _ := NewReader(dir, nil)
	segs2, _ := r2.Segments("healthcare")
	chk, _ = r2.ReadSegment(segs2[0], func(*Record) error { return nil })
	if chk.Verified {
		t.Fatal("verified without a key")
	}
}
