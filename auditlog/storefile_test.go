//go:build unix

package auditlog

import (
	"os"
	"path/filepath"
	"runtime"
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

// TestSummaryCapIgnoresSegmentSize: a summary's cap came from its segment
// file's size, which whoever writes the store controls; a sparse segment
// and a sparse summary of 1 GiB each drove verify to 2.2 GB. The cap is now
// what the signed seal allows, and a summary is hashed while streamed
// before it is kept: Verify and Reader report the file, and allocate no
// more than a segment's long line costs (Verify) or nothing near the file's
// size (Reader).
func TestSummaryCapIgnoresSegmentSize(t *testing.T) {
	k := newTestKeys(t, "test")
	base := buildTamperStore(t, k)
	segs, _ := listSegments(filepath.Join(base, "general"))
	const big = 256 << 20
	tests := []struct {
		name       string
		segment    int64 // extend the segment to this size (sparse); 0 keeps it
		summary    func(p string) error
		wantDetail string
	}{
		{name: "sparse summary, sparse segment", segment: big, summary: func(p string) error { return os.Truncate(p, big) }, wantDetail: "more than the"},
		{name: "sparse summary", summary: func(p string) error { return os.Truncate(p, big) }, wantDetail: "more than the"},
		{name: "forged summary within the cap", summary: func(p string) error {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			data[len(data)-2] ^= 1
			return os.WriteFile(p, data, 0o600)
		}, wantDetail: "SHA-256"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			if tt.segment > 0 {
				if err := os.Truncate(filepath.Join(dir, "general", segs[1]), tt.segment); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.summary(filepath.Join(dir, "general", summaryName(segs[1]))); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			rep, err := Verify(dir, k.verifiers)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*MaxRecordBytes {
				t.Errorf("Verify allocated %d MiB, want at most %d", alloc>>20, 3*MaxRecordBytes>>20)
			}
			found := false
			for _, f := range rep.Findings {
				found = found || f.Chain == "general" && f.Segment == summaryName(segs[1]) && f.Kind == KindSummaryInvalid && strings.Contains(f.Detail, tt.wantDetail)
			}
			if !found {
				t.Errorf("Verify: want %s at %s with %q; got:\n%s", KindSummaryInvalid, summaryName(segs[1]), tt.wantDetail, findingsText(rep))
			}

			r, err := NewReader(dir, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			runtime.GC()
			runtime.ReadMemStats(&before)
			infos, err := r.Segments("general")
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("Reader.Segments allocated %d MiB, want at most 4", alloc>>20)
			}
			if len(infos) < 2 || infos[1].Summary != nil || infos[1].Problem == "" {
				t.Fatalf("Reader.Segments: segment %s usable despite its summary: %+v", segs[1], infos)
			}
		})
	}
}
