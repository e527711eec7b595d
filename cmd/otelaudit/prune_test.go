package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestPruneDryRun: a mistyped --chain is exit 2 naming it (it printed
// nothing and exited 0), --format json lists nothing as [] (it printed
// null), and a dry run creates no file, neither in a store without a
// prune lock nor in a directory that is not a store (it created
// .prune.lock and reported "chain sub").
func TestPruneDryRun(t *testing.T) {
	store, _, _ := newStore(t, 20)
	notStore := t.TempDir()
	if err := os.Mkdir(filepath.Join(notStore, "sub"), 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // a substring of stdout
		stderr string // a substring of stderr
	}{
		{name: "mistyped chain", args: []string{"--dir", store, "--chain", "genral"}, code: 2, stderr: `has no chain "genral" (its chains: general)`},
		{name: "not a store", args: []string{"--dir", notStore}, code: 2, stderr: "holds no audit chains: not an audit store"},
		{name: "json, nothing to prune", args: []string{"--dir", store, "--chain", "general", "--now", "2026-01-01", "--format", "json"}, stdout: `"segments": []`},
		{name: "text", args: []string{"--dir", store, "--now", "2030-01-01"}, stdout: "chain general: would remove"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// As on a store no writer or prune of this version opened.
			os.Remove(filepath.Join(store, ".prune.lock"))
			dir := tt.args[1]
			before := listTree(t, dir)
			code, out, errs := runCLI(append([]string{"prune", "--dry-run"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Fatalf("prune --dry-run %v = %d, stdout %q, stderr %q; want %d, %q, %q", tt.args, code, out, errs, tt.code, tt.stdout, tt.stderr)
			}
			if tt.code == 0 && strings.Contains(strings.Join(tt.args, " "), "json") {
				var v []map[string]any
				if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) != 1 {
					t.Fatalf("json %q: %v", out, err)
				}
			}
			if after := listTree(t, dir); after != before {
				t.Fatalf("the dry run changed %s:\nbefore %s\nafter  %s", dir, before, after)
			}
		})
	}
}

// listTree names every file and directory under dir.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		names = append(names, p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(names, " ")
}

// TestPruneLegalHoldLines: a legal_hold line that would hold nothing is
// exit 2 naming the file, line number and line (QA: "subject patient"
// held nothing, and the dry run would remove the segments).
func TestPruneLegalHoldLines(t *testing.T) {
	store, _, _ := newStore(t, 20)
	hold := filepath.Join(store, "legal_hold")
	tests := []struct {
		line   string
		code   int
		stdout string
		stderr string
	}{
		{line: "subject patient", code: 2, stderr: `legal_hold line 1: "subject patient": a subject is TYPE/ID`},
		{line: "subject patient/", code: 2, stderr: `line 1: "subject patient/"`},
		{line: "user *", code: 2, stderr: `line 1: "user *": a user ID is matched exactly`},
		{line: "subject patient/*", stdout: "would remove 9 segments"}, // no record has a subject
		{line: "# nothing held", stdout: "would remove 9 segments"},
	}
	for _, tt := range tests {
		if err := os.WriteFile(hold, []byte(tt.line+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runCLI("prune", "--dir", store, "--dry-run", "--now", "2030-01-01")
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) || (code == 2 && !strings.Contains(errs, hold)) {
			t.Errorf("legal_hold %q: prune --dry-run = %d, stdout %q, stderr %q; want %d, %q, %q", tt.line, code, out, errs, tt.code, tt.stdout, tt.stderr)
		}
	}
}

// TestPruneReleaseHold: a hold a prune recorded and whose line is gone
// stops the next prune, dry run or not, with exit 2 and one line naming
// the hold and its file, until --release-hold lets go of it; a release
// of a hold still in a file, or never recorded, is exit 2 too; verify
// reports a forged legal_hold.seen. Before, the second prune removed
// every segment and said nothing of the hold.
func TestPruneReleaseHold(t *testing.T) {
	store, signer, verifier := newStore(t, 20)
	hold := filepath.Join(store, "legal_hold")
	marker := filepath.Join(store, "general", "prune")
	tests := []struct {
		name   string
		holds  string // legal_hold's content; "" removes it
		args   []string
		code   int
		stdout []string
		stderr []string
		// changes: the store's files change (a dry run or a refusal
		// must not change them).
		changes bool
	}{
		{name: "first prune records the hold", holds: "subject Patient/P-7\n", args: []string{"--signer", signer, "--now", "2026-01-02"},
			stdout: []string{"removed 0 segments", "legal holds: subject patient/P-7 (legal_hold)"}, changes: true},
		{name: "hold removed, dry run", args: []string{"--dry-run"}, code: 2,
			stderr: []string{`legal hold "subject patient/P-7" of chain general, recorded by prune run 1 as seen in ` + hold, "nothing removed", "(otelaudit prune --release-hold 'subject patient/P-7')"}},
		{name: "hold removed", args: []string{"--signer", signer}, code: 2,
			stderr: []string{`legal hold "subject patient/P-7"`, hold, "nothing removed"}},
		{name: "release, dry run", args: []string{"--dry-run", "--release-hold", "subject patient/P-7"},
			stdout: []string{"would remove 9 segments", "legal holds: none", "would release legal hold subject patient/P-7 (legal_hold)"},
			stderr: []string{"warning: dry run without --signer or --verifier"}},
		{name: "release of a hold still in the file", holds: "subject patient/P-7\n", args: []string{"--signer", signer, "--release-hold", "subject patient/P-7"}, code: 2,
			stderr: []string{`release of legal hold "subject patient/P-7": it is still in ` + hold + ": remove the line first"}},
		{name: "release of a hold never recorded", args: []string{"--signer", signer, "--release-hold", "subject patient/P-7", "--release-hold", "user u-1"}, code: 2,
			stderr: []string{`release of legal hold "user u-1": no earlier prune recorded it`}},
		{name: "release that is no hold", args: []string{"--signer", signer, "--release-hold", "subject patient"}, code: 2,
			stderr: []string{`release of legal hold "subject patient": a subject is TYPE/ID`}},
		{name: "release", args: []string{"--signer", signer, "--release-hold", "subject PATIENT/P-7", "--format", "json"},
			stdout: []string{`"released_holds": [`, `"hold": "subject patient/P-7"`, `"file": "legal_hold"`, `"legal_holds": []`}, changes: true},
		{name: "released for good", args: []string{"--signer", signer}, stdout: []string{"removed 0 segments"}, changes: true},
	}
	for _, tt := range tests {
		if tt.holds == "" {
			os.Remove(hold)
		} else if err := os.WriteFile(hold, []byte(tt.holds), 0o600); err != nil {
			t.Fatal(err)
		}
		checkPruneRun(t, store, append([]string{"prune", "--dir", store}, tt.args...), tt.code, tt.stdout, tt.stderr, tt.changes)
	}
	if m, _ := os.ReadFile(marker); !strings.Contains(string(m), "\nrelease ") || !strings.Contains(string(m), " legal_hold subject patient/P-7\n") {
		t.Fatalf("the marker does not record the release:\n%s", m)
	}

	// verify shows the holds the last prune recorded, and a forged
	// record is a finding, in both formats.
	os.WriteFile(hold, []byte("user u-9\n"), 0o600)
	if code, _, errs := runCLI("prune", "--dir", store, "--signer", signer); code != 0 {
		t.Fatalf("prune = %d %s", code, errs)
	}
	if code, out, errs := runCLI("verify", "--dir", store, "--verifier", verifier); code != 0 || !strings.Contains(out, "\nchain general: legal holds recorded by the last prune: user u-9 (legal_hold)\n") {
		t.Fatalf("verify = %d %s %s", code, out, errs)
	}
	seen := filepath.Join(store, "general", "legal_hold.seen")
	msg, _ := os.ReadFile(seen)
	os.WriteFile(seen, []byte(strings.Replace(string(msg), "holds 1\nhold legal_hold user u-9\n", "holds 0\n", 1)), 0o600)
	for _, format := range []string{"text", "json"} {
		code, out, _ := runCLI("verify", "--dir", store, "--verifier", verifier, "--format", format)
		if code != 1 || !strings.Contains(out, "legal_hold_seen") || !strings.Contains(out, "legal_hold.seen") {
			t.Errorf("verify --format %s of a forged legal_hold.seen = %d\n%s", format, code, out)
		}
	}
}

// listTreeStat names every file under dir with its size and time.
func listTreeStat(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil {
			fmt.Fprintf(&b, "%s %d %s\n", p, fi.Size(), fi.ModTime())
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPruneUntrustedHoldState: prune takes the holds earlier prunes
// recorded only from a legal_hold.seen and prune marker signed by
// --signer or a --verifier key, refuses a missing record a marker shows
// was written unless --accept-lost-hold-record, and a dry run without a
// key says it checked no signature. Each refusal is exit 2 with one line
// and changes nothing. Before, a forged marker and a removed record were
// taken at their word (QA findings 3, 1B, 10).
func TestPruneUntrustedHoldState(t *testing.T) {
	resign := func(t *testing.T, path, signerFile string, edit func(string) string) {
		t.Helper()
		s, err := loadSigner(signerFile)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := os.ReadFile(path)
		text, _, _ := strings.Cut(string(msg), "\n\n")
		out, err := note.Sign(&note.Note{Text: edit(text + "\n")}, s)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(path, out, 0o600)
	}
	same := func(s string) string { return s }
	tests := []struct {
		name string
		// tamper changes the store after two prunes that recorded the
		// hold "user u-9", the second removing segments and writing a
		// marker of run 2 stating it.
		tamper   func(t *testing.T, store, otherSigner string)
		keepHold bool     // else legal_hold is removed first
		args     []string // after prune --dir STORE; OTHER is the other verifier key
		code     int
		stdout   []string
		stderr   []string
		changes  bool
	}{
		{name: "marker forged with another key", args: []string{"--signer", "SIGNER"}, code: 2,
			tamper: func(t *testing.T, store, other string) {
				resign(t, filepath.Join(store, "general", "prune"), other, func(s string) string {
					return strings.Replace(s, "holds 1\nhold legal_hold user u-9\n", "holds 0\n", 1)
				})
			},
			stderr: []string{filepath.Join("general", "prune") + " is not signed by this signer (test.example/audit) or a --verifier key", "give its verifier with --verifier"}},
		{name: "marker signed by a rotated key, not given", args: []string{"--signer", "SIGNER"}, code: 2,
			tamper: func(t *testing.T, store, other string) {
				resign(t, filepath.Join(store, "general", "prune"), other, same)
			},
			stderr: []string{"is not signed by this signer"}},
		{name: "marker signed by a rotated key, given with --verifier", args: []string{"--signer", "SIGNER", "--verifier", "OTHER"}, code: 2,
			tamper: func(t *testing.T, store, other string) {
				resign(t, filepath.Join(store, "general", "prune"), other, same)
			},
			stderr: []string{`legal hold removed: legal hold "user u-9" of chain general, recorded by prune run 2`}},
		{name: "record removed", args: []string{"--signer", "SIGNER"}, code: 2,
			tamper: func(t *testing.T, store, _ string) { os.Remove(filepath.Join(store, "general", "legal_hold.seen")) },
			stderr: []string{"legal_hold.seen is missing, but the prune marker of run 2", "--accept-lost-hold-record"}},
		{name: "record removed, loss accepted", args: []string{"--signer", "SIGNER", "--accept-lost-hold-record"}, keepHold: true,
			tamper: func(t *testing.T, store, _ string) { os.Remove(filepath.Join(store, "general", "legal_hold.seen")) },
			stdout: []string{"accepted the loss of legal_hold.seen (found run 0, prune marker of run 2)"}, changes: true},
		{name: "dry run without keys", args: []string{"--dry-run", "--format", "json"}, keepHold: true,
			stdout: []string{`"signatures_checked": false`},
			stderr: []string{"warning: dry run without --signer or --verifier: the signatures of legal_hold.seen and the prune markers were not checked"}},
		{name: "dry run with --verifier", args: []string{"--dry-run", "--verifier", "VERIFIER", "--format", "json"}, keepHold: true,
			stdout: []string{`"signatures_checked": true`}},
		{name: "dry run with --verifier, forged record", args: []string{"--dry-run", "--verifier", "VERIFIER"}, code: 2,
			tamper: func(t *testing.T, store, other string) {
				resign(t, filepath.Join(store, "general", "legal_hold.seen"), other, func(s string) string {
					return strings.Replace(s, "holds 1\nhold legal_hold user u-9\n", "holds 0\n", 1)
				})
			},
			stderr: []string{"is not signed by a --verifier key"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, signer, verifier := newStore(t, 20)
			otherSigner, otherVerifier := filepath.Join(t.TempDir(), "s"), filepath.Join(t.TempDir(), "v")
			if code, _, errs := runCLI("keygen", "--name", "test.example/audit", "--signer", otherSigner, "--verifier", otherVerifier); code != 0 {
				t.Fatal(errs)
			}
			hold := filepath.Join(store, "legal_hold")
			os.WriteFile(hold, []byte("user u-9\n"), 0o600)
			for _, now := range []string{"2026-01-02", "2026-05-01"} {
				if code, _, errs := runCLI("prune", "--dir", store, "--signer", signer, "--now", now); code != 0 {
					t.Fatalf("prune --now %s: %s", now, errs)
				}
			}
			if !tt.keepHold {
				os.Remove(hold)
			}
			if tt.tamper != nil {
				tt.tamper(t, store, otherSigner)
			}
			args := []string{"prune", "--dir", store}
			for _, a := range tt.args {
				args = append(args, strings.NewReplacer("OTHER", otherVerifier, "SIGNER", signer, "VERIFIER", verifier).Replace(a))
			}
			checkPruneRun(t, store, args, tt.code, tt.stdout, tt.stderr, tt.changes)
			if tt.changes {
				if code, out, _ := runCLI("verify", "--dir", store, "--verifier", verifier); code != 0 {
					t.Fatalf("verify after the prune = %d\n%s", code, out)
				}
			}
		})
	}
}

// TestPruneReleaseAgainAndNoHolds: a --release-hold repeated after the
// release (a script run again) is a no-op, not exit 2; verify says that
// the last prune recorded no hold ("none", JSON []), where it printed
// nothing, as for a store no prune recorded (QA finding 11).
func TestPruneReleaseAgainAndNoHolds(t *testing.T) {
	store, signer, verifier := newStore(t, 20)
	hold := filepath.Join(store, "legal_hold")
	os.WriteFile(hold, []byte("user u-9\n"), 0o600)
	if code, _, errs := runCLI("prune", "--dir", store, "--signer", signer, "--now", "2026-01-02"); code != 0 {
		t.Fatal(errs)
	}
	os.Remove(hold)
	for i := range 2 {
		if code, _, errs := runCLI("prune", "--dir", store, "--signer", signer, "--now", "2026-01-02", "--release-hold", "user u-9"); code != 0 {
			t.Fatalf("release %d: %d %s", i+1, code, errs)
		}
	}
	code, out, _ := runCLI("verify", "--dir", store, "--verifier", verifier)
	if code != 0 || !strings.Contains(out, "\nchain general: legal holds recorded by the last prune: none\n") {
		t.Fatalf("verify = %d\n%s", code, out)
	}
	code, out, _ = runCLI("verify", "--dir", store, "--verifier", verifier, "--format", "json")
	if code != 0 || !strings.Contains(out, `"legal_holds": []`) {
		t.Fatalf("verify --format json = %d\n%s", code, out)
	}
}

// checkPruneRun runs the CLI with args on store and fails t unless it exits
// with code, its stdout and stderr hold each of stdout and stderr, a
// refusal (exit 2) says why in one line, a success says nothing on stderr
// unless stderr expects something (a dry run without keys warns), and the
// store changed exactly when changes says so.
func checkPruneRun(t *testing.T, store string, args []string, code int, stdout, stderr []string, changes bool) {
	t.Helper()
	before := listTreeStat(t, store)
	got, out, errs := runCLI(args...)
	bad := got != code || got == 2 && strings.Count(errs, "\n") != 1 || got == 0 && len(stderr) == 0 && errs != ""
	for _, w := range stdout {
		bad = bad || !strings.Contains(out, w)
	}
	for _, w := range stderr {
		bad = bad || !strings.Contains(errs, w)
	}
	if bad {
		t.Fatalf("%v = %d, stdout %q, stderr %q; want %d, %q, %q", args, got, out, errs, code, stdout, stderr)
	}
	if changed := listTreeStat(t, store) != before; changed != changes {
		t.Fatalf("%v: the store changed: %v, want %v", args, changed, changes)
	}
}
