package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNotAStore: verify, prune, cat and every query command refuse, with
// exit 2 and a one-line reason, a directory that holds no chain: one
// chain's directory, the store's parent, an empty directory and a
// directory of unrelated folders (before, all but the first two passed:
// "OK: 0 records", "Integrity verified: yes").
func TestNotAStore(t *testing.T) {
	store, _, verifier := newStore(t, 20)
	unrelated := t.TempDir()
	for _, d := range []string{"ssl/certs", "apt", "default"} {
		if err := os.MkdirAll(filepath.Join(unrelated, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dirs := []struct {
		name, dir, want string
	}{
		{"chain directory", filepath.Join(store, "general"), "is a chain directory, not an audit store: pass its parent directory"},
		{"store's parent", filepath.Dir(store), "holds no audit chains: not an audit store"},
		{"empty", t.TempDir(), "holds no audit chains: not an audit store"},
		{"unrelated folders", unrelated, "holds no audit chains: not an audit store"},
	}
	commands := [][]string{
		{"verify", "--verifier", verifier},
		{"prune", "--dry-run"},
		{"cat"},
		{"report", "--subject", "patient/P-1007", "--verifier", verifier},
		{"calls", "--verifier", verifier},
		{"stats", "--verifier", verifier},
		{"timeline", "--conversation", "c1", "--verifier", verifier},
		{"anomalies", "--verifier", verifier},
		{"export", "--format", "fhir", "--verifier", verifier},
		{"export", "--format", "jsonl"},
		{"reconcile", "--otlp-json", scenarioFile, "--verifier", verifier},
	}
	for _, d := range dirs {
		for _, c := range commands {
			args := append(append([]string{}, c...), "--dir", d.dir)
			code, out, errs := runCLI(args...)
			if code != exitUsage || !strings.Contains(errs, d.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("%s: otelaudit %s = %d, stdout %q, stderr %q; want exit 2 and %q", d.name, strings.Join(c[:1], " "), code, out, errs, d.want)
			}
		}
	}
	if code, out, errs := runCLI("verify", "--dir", store, "--verifier", verifier); code != exitOK {
		t.Errorf("verify of the store = %d %s%s", code, out, errs)
	}
}
