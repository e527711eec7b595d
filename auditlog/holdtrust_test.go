package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestPruneTrustsOnlySignedHoldState: a prune takes the recorded holds
// (and where it goes on from) only from a prune marker and a
// legal_hold.seen that are signed by its key or a key it is given, of
// this chain of this store, and as recent as each other. Each refusal
// below changes nothing; before, each tampered store pruned the held
// segment, or refused only because of the hold it would have dropped
// (QA findings 3, 4, 2 and 1B).
func TestPruneTrustsOnlySignedHoldState(t *testing.T) {
	k := newTestKeys(t, "test")
	other := newTestKeys(t, "other")
	early := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	const held = "subject patient/P-23"
	heldLine := "holds 1\nhold general/legal_hold " + held + "\n"
	markerPath := func(dir string) string { return filepath.Join(dir, "general", PruneFile) }
	seenPath := func(dir, chain string) string { return filepath.Join(dir, chain, LegalHoldSeenFile) }
	// resign rewrites the note in path with edit applied to its text,
	// signed by signer (nil: no signature at all; keep: the old ones).
	resign := func(t *testing.T, path string, signer note.Signer, keep bool, edit func(string) string) {
		t.Helper()
		msg, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		text, err := noteText(msg)
		if err != nil {
			t.Fatal(err)
		}
		out := []byte(edit(string(text)))
		switch {
		case keep:
			out = append(out, msg[len(text):]...)
		case signer != nil:
			if out, err = note.Sign(&note.Note{Text: string(out)}, signer); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, out, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	dropHold := func(s string) string {
		return strings.Replace(strings.Replace(s, heldLine, "holds 0\n", 1), "\nrun 2\n", "\nrun 99\n", 1)
	}
	tests := []struct {
		name string
		// tamper changes the store after two prunes (run 1 early,
		// recording the hold; run 2 later, removing what is before the
		// held record, its marker stating the hold), seen1 being
		// general's legal_hold.seen of run 1.
		tamper func(t *testing.T, dir string, seen1 []byte)
		// keepHold leaves the hold line in place: else it is removed, so
		// that a prune that lost the hold would remove the held segment.
		keepHold  bool
		verifiers note.Verifiers
		accept    bool
		wantErr   []string
		// wantLoss: the prune goes on and records a lost record.
		wantLoss bool
	}{
		{
			name: "marker forged with another key",
			tamper: func(t *testing.T, dir string, _ []byte) {
				resign(t, markerPath(dir), other.signer, false, dropHold)
			},
			wantErr: []string{markerPath("") + " is not signed by this signer (test)"},
		},
		{
			name: "marker edited, its signature kept",
			tamper: func(t *testing.T, dir string, _ []byte) {
				resign(t, markerPath(dir), nil, true, dropHold)
			},
			wantErr: []string{"is not signed by this signer"},
		},
		{
			name: "marker downgraded to v1 and record removed",
			tamper: func(t *testing.T, dir string, _ []byte) {
				resign(t, markerPath(dir), other.signer, false, func(s string) string {
					s = strings.Replace(s, pruneHeader, pruneHeaderV1, 1)
					return s[:strings.Index(s, "run ")]
				})
				os.Remove(seenPath(dir, "general"))
			},
			wantErr: []string{"is not signed by this signer"},
		},
		{
			name: "marker run that would overflow, signed",
			tamper: func(t *testing.T, dir string, _ []byte) {
				resign(t, markerPath(dir), k.signer, false, func(s string) string {
					return strings.Replace(s, "\nrun 2\n", "\nrun 18446744073709551615\n", 1)
				})
			},
			wantErr: []string{`run "18446744073709551615" is not a number from 1 to`},
		},
		{
			name: "marker signed by an earlier key given as a verifier",
			tamper: func(t *testing.T, dir string, _ []byte) {
				resign(t, markerPath(dir), other.signer, false, func(s string) string { return s })
			},
			verifiers: other.verifiers,
			wantErr:   []string{ErrLegalHoldRemoved.Error(), `"` + held + `"`},
		},
		{
			name: "record forged with a key given as a verifier for another",
			tamper: func(t *testing.T, dir string, _ []byte) {
				resign(t, seenPath(dir, "general"), k.signer, false, func(s string) string {
					return strings.Replace(s, heldLine, "holds 0\n", 1)
				})
				resign(t, seenPath(dir, "general"), other.signer, false, func(s string) string { return s })
			},
			verifiers: note.VerifierList(newTestKeys(t, "third").verifier),
			wantErr:   []string{"or a --verifier key (note has no verifiable signatures)"},
		},
		{
			name: "record of another chain",
			tamper: func(t *testing.T, dir string, _ []byte) {
				msg, _ := os.ReadFile(seenPath(dir, "healthcare"))
				os.WriteFile(seenPath(dir, "general"), msg, 0o600)
			},
			wantErr: []string{`is the record of chain "healthcare", not "general": copied from another chain`},
		},
		{
			name: "record of another store, same key and chain name",
			tamper: func(t *testing.T, dir string, _ []byte) {
				r := LegalHoldRecord{Chain: "general", ChainID: "elsewhere/general", Run: 9, Time: later}
				msg, _ := note.Sign(&note.Note{Text: string(r.Text())}, k.signer)
				os.WriteFile(seenPath(dir, "general"), msg, 0o600)
			},
			wantErr: []string{`is the record of chain id "elsewhere/general", not "example.com/otelaudit/test/general": copied from another store`},
		},
		{
			name: "record removed",
			tamper: func(t *testing.T, dir string, _ []byte) {
				os.Remove(seenPath(dir, "general"))
			},
			wantErr: []string{"legal_hold.seen is missing, but the prune marker of run 2", "--accept-lost-hold-record"},
		},
		{
			name: "record rolled back to an earlier signed copy",
			tamper: func(t *testing.T, dir string, seen1 []byte) {
				os.WriteFile(seenPath(dir, "general"), seen1, 0o600)
			},
			wantErr: []string{"legal_hold.seen is of run 1, but the prune marker of run 2"},
		},
		{
			name: "record removed, loss accepted: the marker's hold stands",
			tamper: func(t *testing.T, dir string, _ []byte) {
				os.Remove(seenPath(dir, "general"))
			},
			accept:  true,
			wantErr: []string{ErrLegalHoldRemoved.Error(), `"` + held + `"`},
		},
		{
			name: "record rolled back, loss accepted and recorded",
			tamper: func(t *testing.T, dir string, seen1 []byte) {
				os.WriteFile(seenPath(dir, "general"), seen1, 0o600)
			},
			keepHold: true, accept: true, wantLoss: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			os.WriteFile(filepath.Join(dir, "general", legalHoldFile), []byte(held+"\n"), 0o600)
			if _, err := Prune(dir, PruneOptions{Now: early, Signer: k.signer}); err != nil {
				t.Fatal(err)
			}
			seen1, _ := os.ReadFile(seenPath(dir, "general"))
			if res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer}); err != nil || len(res[0].Segments) == 0 {
				t.Fatalf("second prune: %+v, %v", res, err)
			}
			if !tt.keepHold {
				os.Remove(filepath.Join(dir, "general", legalHoldFile))
			}
			tt.tamper(t, dir, seen1)
			before := snapshotFiles(t, dir)
			res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, Verifiers: tt.verifiers, AcceptLostHoldRecord: tt.accept})
			if tt.wantErr != nil {
				assertPruneRefused(t, res, err, tt.wantErr, dir, before)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l := res[0].LostHoldRecord; tt.wantLoss != (l != nil) || l != nil && (l.Run != 2 || l.Found != 1) {
				t.Fatalf("lost hold record %+v, want run 2 found 1: %v", l, tt.wantLoss)
			}
			msg, _ := os.ReadFile(seenPath(dir, "general"))
			r, err := OpenLegalHoldRecord(msg, k.verifiers)
			if err != nil || r.Run != 3 || r.ChainID != "example.com/otelaudit/test/general" || len(r.Losses) != 1 || r.Losses[0].Run != 2 || r.Losses[0].Found != 1 {
				t.Fatalf("record after the accepted loss: %+v, %v", r, err)
			}
			if rep, err := Verify(dir, k.verifiers); err != nil || !rep.OK() {
				t.Fatalf("verify after the prune: %v\n%s", err, findingsText(rep))
			}
			// The next marker states the loss; the record after it no
			// longer carries it.
			os.Remove(filepath.Join(dir, "general", legalHoldFile))
			if res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, ReleaseHolds: []string{held}}); err != nil || len(res[0].Segments) == 0 {
				t.Fatalf("prune releasing the hold: %+v, %v", res, err)
			}
			if m, err := ReadPruneMarker(filepath.Join(dir, "general")); err != nil || m.Run != 4 || len(m.Losses) != 1 || !m.Losses[0].equal(r.Losses[0]) {
				t.Fatalf("marker %+v, %v: want run 4 stating the loss", m, err)
			}
			if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer}); err != nil {
				t.Fatal(err)
			}
			msg, _ = os.ReadFile(seenPath(dir, "general"))
			if r, err := OpenLegalHoldRecord(msg, k.verifiers); err != nil || r.Run != 5 || len(r.Losses) != 0 {
				t.Fatalf("record after the marker: %+v, %v", r, err)
			}
			if rep, err := Verify(dir, k.verifiers); err != nil || !rep.OK() {
				t.Fatalf("verify after the marker: %v\n%s", err, findingsText(rep))
			}
		})
	}
}

// TestPruneDryRunUnchecked: a dry run with neither signer nor verifiers
// cannot check the record and marker it reads, and says so in each
// chain's result; given a verifier it checks them and refuses a forgery
// as the prune does (QA finding 10: it presented forged holds as fact).
func TestPruneDryRunUnchecked(t *testing.T) {
	k := newTestKeys(t, "test")
	other := newTestKeys(t, "other")
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := buildTamperStore(t, k)
	os.WriteFile(filepath.Join(dir, legalHoldFile), []byte("user user-1\n"), 0o600)
	if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer}); err != nil {
		t.Fatal(err)
	}
	res, err := Prune(dir, PruneOptions{Now: later, DryRun: true})
	if err != nil || res[0].SignaturesChecked || res[1].SignaturesChecked {
		t.Fatalf("dry run without keys: %+v, %v; want signatures_checked false", res, err)
	}
	res, err = Prune(dir, PruneOptions{Now: later, DryRun: true, Verifiers: k.verifiers})
	if err != nil || !res[0].SignaturesChecked {
		t.Fatalf("dry run with the verifier: %+v, %v", res, err)
	}
	msg, _ := os.ReadFile(filepath.Join(dir, "general", LegalHoldSeenFile))
	text, _ := noteText(msg)
	forged, _ := note.Sign(&note.Note{Text: strings.Replace(string(text), "holds 1\nhold legal_hold user user-1\n", "holds 0\n", 1)}, other.signer)
	os.WriteFile(filepath.Join(dir, "general", LegalHoldSeenFile), forged, 0o600)
	os.Remove(filepath.Join(dir, legalHoldFile))
	if _, err := Prune(dir, PruneOptions{Now: later, DryRun: true, Verifiers: k.verifiers}); err == nil || !strings.Contains(err.Error(), "is not signed by a --verifier key (note has no verifiable signatures)") {
		t.Fatalf("dry run with the verifier of a forged record: %v", err)
	}
}

// TestPruneRolledBackMarker: a prune marker put back from prunes/ (signed,
// but older than the records left) stops the prune, even when only the
// active segment, which the prune does not read, is left; before, the
// prune reported the old cut as the first seq kept and exited 0 (QA
// finding 11).
func TestPruneRolledBackMarker(t *testing.T) {
	k := newTestKeys(t, "test")
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := buildTamperStore(t, k)
	hold := filepath.Join(dir, "general", legalHoldFile)
	os.WriteFile(hold, []byte("subject patient/P-23\n"), 0o600)
	if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer}); err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(filepath.Join(dir, "general", PruneFile))
	os.Remove(hold)
	res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, ReleaseHolds: []string{"subject patient/P-23"}})
	if err != nil || res[0].StoppedAt != "active segment" {
		t.Fatalf("prune to the active segment: %+v, %v", res, err)
	}
	os.WriteFile(filepath.Join(dir, "general", PruneFile), old, 0o600)
	before := snapshotFiles(t, dir)
	for _, dry := range []bool{true, false} {
		res, err = Prune(dir, PruneOptions{Now: later, Signer: k.signer, DryRun: dry})
		if err == nil || !strings.Contains(err.Error(), "a rolled-back prune marker, or records removed") {
			t.Fatalf("prune (dry run %v) with a rolled-back marker: %+v, %v", dry, res, err)
		}
	}
	if snapshotFiles(t, dir) != before {
		t.Fatal("a refused prune changed the store")
	}
}
