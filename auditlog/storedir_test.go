package auditlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestChainsNotAStore holds Chains, Verify and Prune to one rule of what
// a store is: a directory with a subdirectory holding a chain's files. A
// chain's own directory, the store's parent, an empty directory and a
// directory of unrelated folders are not stores; a store whose chain lost
// some of its files still is, and the loss is a finding.
func TestChainsNotAStore(t *testing.T) {
	k := newTestKeys(t, "test")
	store := buildTamperStore(t, k)
	tests := []struct {
		name string
		// dir returns the directory to read, made from a fresh copy of
		// the store where it needs one.
		dir        func(t *testing.T) string
		wantChains string // the chains, or "" for not a store
		wantErr    string
		findings   bool // Verify finds a problem
	}{
		{name: "store", dir: func(*testing.T) string { return store }, wantChains: "general,healthcare"},
		{name: "chain directory", dir: func(*testing.T) string { return filepath.Join(store, "healthcare") }, wantErr: "is a chain directory, not an audit store: pass its parent directory"},
		{name: "parent of the store", dir: func(*testing.T) string { return filepath.Dir(store) }, wantErr: "holds no audit chains: not an audit store"},
		{name: "empty", dir: func(t *testing.T) string { return t.TempDir() }, wantErr: "holds no audit chains"},
		// A store its writer opened and closed before its first record:
		// no chains, and no error.
		{name: "store before its first record", dir: func(t *testing.T) string {
			dir := t.TempDir()
			if err := openTestStore(t, dir, k).Close(); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{name: "unrelated folders", dir: func(t *testing.T) string {
			dir := t.TempDir()
			for _, p := range []string{"ssl/certs", "apt", "default"} {
				mkdirs(t, filepath.Join(dir, p))
			}
			writeFile(t, filepath.Join(dir, "apt", "sources.list"), "deb x")
			writeFile(t, filepath.Join(dir, "hosts"), "127.0.0.1 localhost")
			return dir
		}, wantErr: "holds no audit chains"},
		{name: "unrelated folder beside the chains", dir: func(t *testing.T) string {
			dir := copyStore(t, store)
			mkdirs(t, filepath.Join(dir, "backup"))
			writeFile(t, filepath.Join(dir, "backup", "notes.txt"), "x")
			return dir
		}, wantChains: "general,healthcare"},
		{name: "chain that lost its segments", dir: func(t *testing.T) string {
			dir := copyStore(t, store)
			removeGlob(t, filepath.Join(dir, "healthcare", "*"+SegmentExt))
			return dir
		}, wantChains: "general,healthcare", findings: true},
		{name: "only chain keeps only its checkpoint", dir: func(t *testing.T) string {
			dir := copyStore(t, store)
			os.RemoveAll(filepath.Join(dir, "general"))
			hc := filepath.Join(dir, "healthcare")
			entries, _ := os.ReadDir(hc)
			for _, e := range entries {
				if e.Name() != CheckpointFile {
					os.RemoveAll(filepath.Join(hc, e.Name()))
				}
			}
			return dir
		}, wantChains: "healthcare", findings: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			chains, err := Chains(dir)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrNotAStore) || !strings.Contains(err.Error(), tt.wantErr) || chains != nil {
					t.Fatalf("Chains = %v, %v; want ErrNotAStore %q", chains, err, tt.wantErr)
				}
				if _, err := Verify(dir, k.verifiers); !errors.Is(err, ErrNotAStore) {
					t.Errorf("Verify: %v; want ErrNotAStore", err)
				}
				if _, err := Prune(dir, PruneOptions{DryRun: true}); !errors.Is(err, ErrNotAStore) {
					t.Errorf("Prune: %v; want ErrNotAStore", err)
				}
				return
			}
			if err != nil || strings.Join(chains, ",") != tt.wantChains {
				t.Fatalf("Chains = %v, %v; want %s", chains, err, tt.wantChains)
			}
			rep, err := Verify(dir, k.verifiers)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var names []string
			for _, c := range rep.Chains {
				names = append(names, c.Chain)
			}
			if strings.Join(names, ",") != tt.wantChains || rep.OK() == tt.findings {
				t.Errorf("Verify: chains %v, findings %v; want %s and findings %v", names, rep.Findings, tt.wantChains, tt.findings)
			}
		})
	}
}

// TestVerifyPruneUnknownChain: a chain named that the store lacks is an
// error, not a chain with nothing to report.
func TestVerifyPruneUnknownChain(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	const want = `has no chain "genral" (its chains: general, healthcare)`
	if _, err := Verify(dir, k.verifiers, VerifyChains("genral")); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Verify: %v; want %q", err, want)
	}
	if _, err := Prune(dir, PruneOptions{DryRun: true, Chains: []string{"general", "genral"}}); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Prune: %v; want %q", err, want)
	}
	rep, err := Verify(dir, k.verifiers, VerifyChains("healthcare"))
	if err != nil || len(rep.Chains) != 1 || rep.Chains[0].Chain != "healthcare" {
		t.Errorf("Verify of healthcare: %v, %v", rep, err)
	}
}

func mkdirs(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

func removeGlob(t *testing.T, pattern string) {
	t.Helper()
	files, _ := filepath.Glob(pattern)
	if len(files) == 0 {
		t.Fatalf("nothing matches %s", pattern)
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
}
