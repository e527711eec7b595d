package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestVerifyHoldRecord: verify checks legal_hold.seen with the markers'
// verifier key and reports a bad one as legal_hold_seen; a store without
// one (never pruned, or pruned by an older version) is no finding.
func TestVerifyHoldRecord(t *testing.T) {
	k := newTestKeys(t, "test")
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	other := newTestKeys(t, "other")
	resign := func(t *testing.T, p string, edit func(string) string, s note.Signer) {
		msg, _ := os.ReadFile(p)
		text, _ := noteText(msg)
		out, err := note.Sign(&note.Note{Text: edit(string(text))}, s)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, out, 0o600)
	}
	same := func(s string) string { return s }
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string // a substring of the finding's detail; "" for none
	}{
		{name: "intact"},
		{name: "hold line edited", want: "signature does not verify", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "general", LegalHoldSeenFile)
			msg, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(msg), "user u-held", "user u-free", 1)), 0o600)
		}},
		{name: "signed by another key", want: "not signed by a trusted key", tamper: func(t *testing.T, dir string) {
			resign(t, filepath.Join(dir, "general", LegalHoldSeenFile), same, other.signer)
		}},
		{name: "not a record", want: "holds \"2\" does not count", tamper: func(t *testing.T, dir string) {
			resign(t, filepath.Join(dir, "general", LegalHoldSeenFile), func(s string) string { return strings.Replace(s, "holds 1", "holds 2", 1) }, k.signer)
		}},
		{name: "copied from another chain", want: `record of chain "healthcare"`, tamper: func(t *testing.T, dir string) {
			msg, _ := os.ReadFile(filepath.Join(dir, "healthcare", LegalHoldSeenFile))
			os.WriteFile(filepath.Join(dir, "general", LegalHoldSeenFile), msg, 0o600)
		}},
		{name: "copied from another store with the same key and chain name", want: `record of chain id "elsewhere/general", not "example.com/otelaudit/test/general": copied from another store`, tamper: func(t *testing.T, dir string) {
			resign(t, filepath.Join(dir, "general", LegalHoldSeenFile), func(s string) string {
				return strings.Replace(s, "\nchain_id example.com/otelaudit/test/general\n", "\nchain_id elsewhere/general\n", 1)
			}, k.signer)
		}},
		{name: "v1 record, without the chain id", tamper: func(t *testing.T, dir string) {
			resign(t, filepath.Join(dir, "general", LegalHoldSeenFile), func(s string) string {
				s = strings.Replace(s, holdRecordHeader, holdRecordHeaderV1, 1)
				return strings.Replace(s, "\nchain_id example.com/otelaudit/test/general\n", "\n", 1)
			}, k.signer)
		}},
		{name: "removed after a marker", want: "missing, but the prune marker of run 1", tamper: func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "general", LegalHoldSeenFile))
		}},
		{name: "rolled back", want: "older than the prune marker of run 2", tamper: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "general", LegalHoldSeenFile)
			old, _ := os.ReadFile(p)
			if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, Chains: []string{"general"}}); err != nil {
				t.Fatal(err)
			}
			// Run 2 removed nothing: give it a marker, as a run that
			// removed a segment would have.
			resign(t, filepath.Join(dir, "general", PruneFile), func(s string) string { return strings.Replace(s, "\nrun 1\n", "\nrun 2\n", 1) }, k.signer)
			os.WriteFile(p, old, 0o600)
		}},
		{name: "store pruned by an older version", tamper: func(t *testing.T, dir string) {
			asPrunedByV1(t, dir, k.signer)
			for _, chain := range []string{"general", "healthcare"} {
				m, err := ReadPruneMarker(filepath.Join(dir, chain))
				if err != nil || m == nil {
					t.Fatal(m, err)
				}
				if text := string(m.Text()); !strings.HasPrefix(text, pruneHeaderV1+"\n") || strings.Contains(text, "holds") {
					t.Fatalf("v1 marker %q", text)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			// Held by no record: general is pruned, and has a marker.
			os.WriteFile(filepath.Join(dir, "general", legalHoldFile), []byte("user u-held\n"), 0o600)
			if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer}); err != nil {
				t.Fatal(err)
			}
			if tt.tamper != nil {
				tt.tamper(t, dir)
			}
			rep, err := Verify(dir, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			var got []Finding
			for _, f := range rep.Findings {
				if f.Kind == KindLegalHoldSeen {
					got = append(got, f)
				}
			}
			switch {
			case tt.want == "" && !rep.OK():
				t.Fatalf("findings on a sound store:\n%s", findingsText(rep))
			case tt.name == "intact":
				if h := rep.Chains[0].LegalHolds; len(h) != 1 || h[0] != (SeenHold{"general/legal_hold", "user u-held"}) {
					t.Errorf("report's legal holds %v", h)
				}
				// A chain whose prune recorded no hold says so, as an
				// empty list, not as nothing recorded.
				if h := rep.Chains[1].LegalHolds; h == nil || len(h) != 0 {
					t.Errorf("healthcare's legal holds %#v, want empty, not nil", h)
				}
			case tt.want == "":
			case len(got) != 1 || got[0].Chain != "general" || got[0].Segment != LegalHoldSeenFile || !strings.Contains(got[0].Detail, tt.want):
				t.Fatalf("want one %s finding on general with %q, got:\n%s", KindLegalHoldSeen, tt.want, findingsText(rep))
			}
		})
	}
}
