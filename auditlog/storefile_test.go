//go:build unix

package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestVerifyOddStoreFiles puts what is not a regular file of the writer's
// in place of each small file of a chain: a FIFO (whose open or read
// blocked verify for good), a link to /dev/zero and a sparse file of 4
// GiB (each read whole: out of memory). Each must be a finding naming the
// file, read no further than its size cap.
func TestVerifyOddStoreFiles(t *testing.T) {
	k := newTestKeys(t, "test")
	base := buildTamperStore(t, k)
	segs, _ := listSegments(filepath.Join(base, "general"))
	hist, _ := os.ReadDir(filepath.Join(base, "general", CheckpointsDir))
	files := []struct {
		file, kind string
	}{
		{CheckpointFile, KindCheckpointForged},
		{CheckpointsDir + "/" + hist[0].Name(), KindCheckpointForged},
		{sealName(segs[1]), KindSealInvalid},
		{summaryName(segs[1]), KindSummaryInvalid},
		{SealIndexFile, KindSealInvalid},
		{PruneFile, KindPruneMarker},
		{TreeFile, KindTreeMismatch},
	}
	replacements := []struct {
		name string
		make func(path string) error
	}{
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
		{"link to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }},
		{"sparse 4 GiB", func(p string) error {
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			defer f.Close()
			return f.Truncate(4 << 30)
		}},
	}
	for _, r := range replacements {
		for _, tt := range files {
			if tt.file == TreeFile && r.name == "sparse 4 GiB" {
				continue // streamed, not read whole: a tree file too long is no problem
			}
			t.Run(r.name+"/"+tt.file, func(t *testing.T) {
				dir := t.TempDir()
				if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, "general", tt.file)
				os.Remove(p)
				if err := r.make(p); err != nil {
					t.Fatal(err)
				}
				rep, err := Verify(dir, k.verifiers)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range rep.Findings {
					if f.Chain == "general" && f.Segment == tt.file && f.Kind == tt.kind &&
						(strings.Contains(f.Detail, "not a regular file") || strings.Contains(f.Detail, "more than the")) {
						return
					}
				}
				t.Fatalf("want chain=general segment=%s kind=%s, unreadable; got:\n%s", tt.file, tt.kind, findingsText(rep))
			})
		}
	}
}

// TestVerifyOddLockFiles: a FIFO in place of the writer's lock is no
// writer holding the store (verify must not block opening it); in place
// of the prune lock, which readers wait on, it is an error naming it.
func TestVerifyOddLockFiles(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	os.Remove(filepath.Join(dir, lockFile))
	if err := syscall.Mkfifo(filepath.Join(dir, lockFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if rep, err := Verify(dir, k.verifiers); err != nil || !rep.OK() {
		t.Fatalf("FIFO as .lock: %v %v", err, rep.Findings)
	}
	os.Remove(filepath.Join(dir, pruneLockFile))
	if err := syscall.Mkfifo(filepath.Join(dir, pruneLockFile), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(dir, k.verifiers); err == nil || !strings.Contains(err.Error(), pruneLockFile) {
		t.Fatalf("FIFO as .prune.lock: err %v", err)
	}
}

// TestReadStoreFileCap reads a file at its cap and one byte over it.
func TestReadStoreFileCap(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, make([]byte, 100), 0o600)
	if b, err := ReadStoreFile(p, 100); err != nil || len(b) != 100 {
		t.Fatalf("at the cap: %d bytes, %v", len(b), err)
	}
	if _, err := ReadStoreFile(p, 99); err == nil || !strings.Contains(err.Error(), "more than the 99") {
		t.Fatalf("over the cap: %v", err)
	}
}
