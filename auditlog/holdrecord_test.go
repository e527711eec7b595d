package auditlog

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestPruneStickyHolds: a hold that a prune recorded and that is gone
// from the legal_hold files at the next prune stops that prune, in every
// chain, before it removes anything, until it is restored or released;
// each case failed before (the second prune removed the held segments
// under a valid marker that said nothing of the hold).
func TestPruneStickyHolds(t *testing.T) {
	k := newTestKeys(t, "test")
	early := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC) // nothing expired: the first prune only records
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	const held = "subject patient/P-23" // general seq 23, past the first segments; no healthcare record
	tests := []struct {
		name string
		// first are the hold files (relative to the store) at the first
		// prune, firstNow its time; then the files' content at the
		// second prune ("" removes the file).
		first    map[string]string
		firstNow time.Time
		then     map[string]string
		// removeSeen removes general's legal_hold.seen before the second
		// prune: the marker's holds must stand in for it.
		removeSeen bool
		// asV1 turns the first prune's markers into v1 ones and removes
		// its records: a store pruned by an older version.
		asV1 bool
		// accept is PruneOptions.AcceptLostHoldRecord.
		accept bool
		// chains are the chains the second prune prunes (all if nil).
		chains     []string
		release    []string
		dryRun     bool
		wantErr    []string // substrings of the second prune's error
		pruned     bool     // the second prune removes segments of general
		heldAt     bool     // ... and stops at the held subject
		wantMarker []string // lines of general's marker after the second prune
	}{
		{
			name:  "hold removed between two prunes",
			first: map[string]string{"general/legal_hold": held + "\n"}, firstNow: early,
			then:    map[string]string{"general/legal_hold": ""},
			wantErr: []string{ErrLegalHoldRemoved.Error(), `"` + held + `"`, filepath.Join("general", "legal_hold"), "--release-hold"},
		},
		{
			name:  "hold removed, dry run refuses too",
			first: map[string]string{"legal_hold": held + "\n"}, firstNow: early,
			then: map[string]string{"legal_hold": ""}, dryRun: true,
			wantErr: []string{ErrLegalHoldRemoved.Error(), `"` + held + `"`},
		},
		{
			name:  "hold removed from the store's file, released",
			first: map[string]string{"legal_hold": "# case 42\n" + held + "\n"}, firstNow: early,
			then: map[string]string{"legal_hold": "# case 42 closed\n"}, release: []string{held},
			pruned:     true,
			wantMarker: []string{"holds 0", " legal_hold " + held},
		},
		{
			name:  "released in another case and spacing",
			first: map[string]string{"general/legal_hold": "subject Patient/P-23\n"}, firstNow: early,
			then: map[string]string{"general/legal_hold": ""}, release: []string{"subject  PATIENT/P-23"},
			pruned:     true,
			wantMarker: []string{"general/legal_hold " + held},
		},
		{
			name:  "hold re-added in another case",
			first: map[string]string{"general/legal_hold": held + "\n"}, firstNow: early,
			then:   map[string]string{"general/legal_hold": "subject PATIENT/P-23\n"},
			pruned: true, heldAt: true,
			wantMarker: []string{"holds 1", "hold general/legal_hold " + held},
		},
		{
			name:  "hold moved to the store's file",
			first: map[string]string{"general/legal_hold": held + "\n"}, firstNow: early,
			then:   map[string]string{"general/legal_hold": "", "legal_hold": held + "\n"},
			pruned: true, heldAt: true,
			wantMarker: []string{"hold legal_hold " + held},
		},
		{
			name:  "release of a hold still in a file",
			first: map[string]string{"general/legal_hold": held + "\n"}, firstNow: early,
			then: map[string]string{}, release: []string{held},
			wantErr: []string{"still in ", filepath.Join("general", "legal_hold") + ": remove the line first"},
		},
		{
			name:  "release of a hold never recorded",
			first: map[string]string{"general/legal_hold": held + "\n"}, firstNow: early,
			then: map[string]string{"general/legal_hold": ""}, release: []string{held, "user nobody"},
			wantErr: []string{`"user nobody": no earlier prune recorded it`},
		},
		{
			name:  "hold removed from one chain's file, still in another's: the command names the chain",
			first: map[string]string{"general/legal_hold": held + "\n", "healthcare/legal_hold": held + "\n"}, firstNow: early,
			then:    map[string]string{"general/legal_hold": ""},
			wantErr: []string{"(otelaudit prune --chain general --release-hold '" + held + "')"},
		},
		{
			name:  "hold removed from one chain's file, still in another's: released there",
			first: map[string]string{"general/legal_hold": held + "\n", "healthcare/legal_hold": held + "\n"}, firstNow: early,
			then: map[string]string{"general/legal_hold": ""}, chains: []string{"general"}, release: []string{held},
			pruned: true,
		},
		{
			name:  "hold gone from another chain stops this one",
			first: map[string]string{"healthcare/legal_hold": "user user-1\n"}, firstNow: early,
			then:    map[string]string{"healthcare/legal_hold": ""},
			wantErr: []string{`"user user-1" of chain healthcare`, filepath.Join("healthcare", "legal_hold")},
		},
		{
			name:  "record removed: refused",
			first: map[string]string{"general/legal_hold": held + "\n"}, firstNow: later,
			then: map[string]string{"general/legal_hold": ""}, removeSeen: true,
			wantErr: []string{filepath.Join("general", LegalHoldSeenFile) + " is missing", "prune marker of run 1", "--accept-lost-hold-record"},
		},
		{
			name:  "record removed, loss accepted: the marker's holds stand",
			first: map[string]string{"general/legal_hold": held + "\n"}, firstNow: later,
			then: map[string]string{"general/legal_hold": ""}, removeSeen: true, accept: true,
			wantErr: []string{`"` + held + `"`, "recorded by prune run 1"},
		},
		{
			name:  "store pruned by an older version: as before",
			first: map[string]string{"general/legal_hold": held + "\n"}, firstNow: later, asV1: true,
			then:   map[string]string{"general/legal_hold": ""},
			pruned: true, wantMarker: []string{"run 1\nholds 0\n"},
		},
		{
			name:  "no earlier record: as before",
			first: map[string]string{}, firstNow: time.Time{},
			then:   map[string]string{},
			pruned: true,
		},
	}
	write := func(t *testing.T, dir string, files map[string]string) {
		for f, content := range files {
			p := filepath.Join(dir, f)
			if content == "" {
				os.Remove(p)
			} else if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			write(t, dir, tt.first)
			if !tt.firstNow.IsZero() {
				if _, err := Prune(dir, PruneOptions{Now: tt.firstNow, Signer: k.signer}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.asV1 {
				asPrunedByV1(t, dir, k.signer)
			}
			write(t, dir, tt.then)
			if tt.removeSeen {
				os.Remove(filepath.Join(dir, "general", LegalHoldSeenFile))
			}
			before := snapshotFiles(t, dir)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, ReleaseHolds: tt.release, DryRun: tt.dryRun, AcceptLostHoldRecord: tt.accept, Chains: tt.chains})
			if tt.wantErr != nil {
				assertPruneRefused(t, res, err, tt.wantErr, dir, before)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			after, _ := listSegments(filepath.Join(dir, "general"))
			if pruned := len(after) < len(segs); pruned != tt.pruned {
				t.Fatalf("general pruned %v (%d of %d segments left), want %v: %+v", pruned, len(after), len(segs), tt.pruned, res)
			}
			if tt.heldAt != strings.Contains(res[0].StoppedAt, "legal hold") {
				t.Errorf("stopped at %q", res[0].StoppedAt)
			}
			if len(tt.release) > 0 && (len(res[0].Released) != 1 || res[0].Released[0].Hold != held) {
				t.Errorf("released %+v", res[0].Released)
			}
			if tt.pruned {
				msg, _ := os.ReadFile(filepath.Join(dir, "general", PruneFile))
				text, _ := noteText(msg)
				for _, w := range append([]string{pruneHeader + "\n", "\nrun "}, tt.wantMarker...) {
					if !strings.Contains(string(text), w) {
						t.Errorf("marker lacks %q:\n%s", w, text)
					}
				}
				if len(tt.release) > 0 && !strings.Contains(string(text), "\nrelease ") {
					t.Errorf("marker records no release:\n%s", text)
				}
			}
			rep, err := Verify(dir, k.verifiers)
			if err != nil || !rep.OK() {
				t.Fatalf("verify after the prune: %v\n%s", err, findingsText(rep))
			}
			// A release is released for good: the next prune needs none,
			// and one given again (a script run twice) is a no-op.
			if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, Chains: tt.chains}); err != nil {
				t.Fatalf("prune after that: %v", err)
			}
			if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, Chains: tt.chains, ReleaseHolds: tt.release}); err != nil {
				t.Fatalf("the same release again: %v", err)
			}
		})
	}
}

// snapshotFiles names every file under dir with its size and time.
func snapshotFiles(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s\n", p, fi.Size(), fi.ModTime())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPruneHoldRecord: every prune but a dry run leaves each chain a
// signed legal_hold.seen, even when it removes nothing; the releases it
// holds are carried until a marker states them; a record that is not the
// signer's stops the prune.
func TestPruneHoldRecord(t *testing.T) {
	k := newTestKeys(t, "test")
	early := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	dir := buildTamperStore(t, k)
	if _, err := Prune(dir, PruneOptions{Now: later, DryRun: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "general", LegalHoldSeenFile)); !os.IsNotExist(err) {
		t.Fatalf("a dry run wrote a record: %v", err)
	}
	os.WriteFile(filepath.Join(dir, legalHoldFile), []byte("user user-1\nsubject Patient/*\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "healthcare", legalHoldFile), []byte("conversation conv-10\n"), 0o600)
	if _, err := Prune(dir, PruneOptions{Now: early, Signer: k.signer}); err != nil {
		t.Fatal(err)
	}
	read := func(chain string) LegalHoldRecord {
		t.Helper()
		msg, err := os.ReadFile(filepath.Join(dir, chain, LegalHoldSeenFile))
		if err != nil {
			t.Fatal(err)
		}
		r, err := OpenLegalHoldRecord(msg, k.verifiers)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	hc := read("healthcare")
	want := []SeenHold{{"healthcare/legal_hold", "conversation conv-10"}, {"legal_hold", "subject patient/*"}, {"legal_hold", "user user-1"}}
	if hc.Chain != "healthcare" || hc.Run != 1 || !slices.Equal(hc.Holds, want) {
		t.Fatalf("healthcare record %+v, want holds %v", hc, want)
	}
	// Released without a marker (nothing expired): carried forward.
	os.WriteFile(filepath.Join(dir, legalHoldFile), []byte("subject patient/*\n"), 0o600)
	res, err := Prune(dir, PruneOptions{Now: early, Signer: k.signer, ReleaseHolds: []string{"user user-1"}})
	if err != nil || len(res[0].Released) != 1 || len(res[1].Released) != 1 {
		t.Fatalf("release = %+v, %v", res, err)
	}
	if _, err := Prune(dir, PruneOptions{Now: early, Signer: k.signer}); err != nil {
		t.Fatal(err)
	}
	if g := read("general"); g.Run != 3 || len(g.Releases) != 1 || g.Releases[0].Hold != "user user-1" || len(g.Holds) != 1 {
		t.Fatalf("general record %+v: the release must be carried", g)
	}
	// A prune that writes a marker states it; the record after the next
	// run no longer carries it.
	os.Remove(filepath.Join(dir, legalHoldFile))
	if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, ReleaseHolds: []string{"subject PATIENT/*"}}); err != nil {
		t.Fatal(err)
	}
	m, err := ReadPruneMarker(filepath.Join(dir, "general"))
	if err != nil || m.Run != 4 || len(m.Releases) != 2 || len(m.Holds) != 0 {
		t.Fatalf("marker %+v, %v: want run 4 and both releases", m, err)
	}
	if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer}); err != nil {
		t.Fatal(err)
	}
	if g := read("general"); g.Run != 5 || len(g.Releases) != 0 {
		t.Fatalf("general record %+v: releases the marker states are not carried", g)
	}

	// A record the signer did not sign stops the prune.
	other := newTestKeys(t, "other")
	p := filepath.Join(dir, "general", LegalHoldSeenFile)
	msg, _ := os.ReadFile(p)
	text, _ := noteText(msg)
	forged, _ := note.Sign(&note.Note{Text: string(text)}, other.signer)
	os.WriteFile(p, forged, 0o600)
	if _, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer}); err == nil || !strings.Contains(err.Error(), "is not signed by this signer") {
		t.Fatalf("prune with a record signed by another key: %v", err)
	}
}

// TestParsePruneMarkerVersions: a v1 marker (before holds) still parses;
// a v2 one round-trips with its holds and releases; a v2 one whose hold
// lines do not add up, or are not normalised, does not parse.
func TestParsePruneMarkerVersions(t *testing.T) {
	base := PruneMarker{Chain: "o/general", Cut: 0, LastHash: ZeroHash, Root: (&frontier{}).root(), Time: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}
	v1 := base
	if m, err := ParsePruneMarker(v1.Text()); err != nil || m.Run != 0 || m.Holds != nil {
		t.Fatalf("v1: %+v, %v", m, err)
	}
	v2 := base
	v2.Run = 3
	v2.Holds = []SeenHold{{"legal_hold", "*"}, {"general/legal_hold", "subject patient/P-7"}}
	v2.Releases = []HoldRelease{{Time: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), File: "legal_hold", Hold: "subject patient/*"}}
	text := string(v2.Text())
	m, err := ParsePruneMarker([]byte(text))
	if err != nil || m.Run != 3 || !slices.Equal(m.Holds, v2.Holds) || len(m.Releases) != 1 || !m.Releases[0].equal(v2.Releases[0]) {
		t.Fatalf("v2 %q: %+v, %v", text, m, err)
	}
	for _, bad := range []struct{ from, to, want string }{
		{"holds 2", "holds 1", "does not count"},
		{"subject patient/P-7", "subject Patient/P-7", "not a normalised legal hold"},
		{"hold legal_hold *", "hold ../legal_hold *", "not a legal_hold file"},
		{"run 3", "run 0", "run"},
		{"release 2027", "release 1/1/2027", "release time"},
	} {
		if _, err := ParsePruneMarker([]byte(strings.Replace(text, bad.from, bad.to, 1))); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s → %s: %v; want %q", bad.from, bad.to, err, bad.want)
		}
	}
}

// assertPruneRefused fails t unless Prune's error says each of wantErr, in
// one line, and the store in dir is as snapshotFiles found it before.
func assertPruneRefused(t *testing.T, res []ChainPrune, err error, wantErr []string, dir, before string) {
	t.Helper()
	for _, w := range wantErr {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Fatalf("Prune = %+v, %v; want an error with %q", res, err, w)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	if after := snapshotFiles(t, dir); after != before {
		t.Fatalf("a refused prune changed the store:\nbefore %s\nafter  %s", before, after)
	}
}

// asPrunedByV1 makes the pruned store in dir look pruned by a version
// before sticky holds: no legal_hold.seen, and v1 prune markers (no run,
// no holds), signed by signer.
func asPrunedByV1(t *testing.T, dir string, signer note.Signer) {
	t.Helper()
	for _, chain := range []string{"general", "healthcare"} {
		os.Remove(filepath.Join(dir, chain, LegalHoldSeenFile))
		m, err := ReadPruneMarker(filepath.Join(dir, chain))
		if err != nil || m == nil {
			t.Fatal(m, err)
		}
		m.Run, m.Holds, m.Releases = 0, nil, nil
		msg, err := note.Sign(&note.Note{Text: string(m.Text())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, chain, PruneFile), msg, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
