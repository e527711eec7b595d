package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
