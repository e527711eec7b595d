package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVerifyEvidenceOfRemovedSegments rolls chain general back to a
// signed checkpoint at a segment boundary, removing the later segments
// and checkpoints: self-consistent, and it verified clean although the
// signed seal index, or a seal and summary left behind, still proved that
// the removed segments existed.
func TestVerifyEvidenceOfRemovedSegments(t *testing.T) {
	k := newTestKeys(t, "test")
	// rollBack removes every segment from segs[i] on with its later
	// checkpoints, and files the one of size first(i) as the latest.
	rollBack := func(f *fixture, i int, keep ...string) {
		for _, sg := range f.segs[i:] {
			for _, p := range []string{sg, sealName(sg), summaryName(sg)} {
				if !strings.Contains(strings.Join(keep, " "), p) {
					os.Remove(f.path("general", p))
				}
			}
		}
		n := uint64(f.first(i))
		hist, _ := os.ReadDir(f.path("general", CheckpointsDir))
		for _, h := range hist {
			if h.Name() > historyName(n) {
				os.Remove(f.path("general", CheckpointsDir, h.Name()))
			}
		}
		msg, err := os.ReadFile(f.path("general", CheckpointsDir, historyName(n)))
		if err != nil {
			f.t.Fatal(err)
		}
		os.WriteFile(f.path("general", CheckpointFile), msg, 0o600)
	}
	cases := []struct {
		name   string
		tamper func(f *fixture) (segment string, seq int64, detail string) // segment "": clean
	}{
		{"rolled back, seal index kept", func(f *fixture) (string, int64, string) {
			rollBack(f, 2)
			return f.segs[2], f.first(2), "the signed seal_index"
		}},
		{"rolled back, seal and summary kept", func(f *fixture) (string, int64, string) {
			rollBack(f, 2, sealName(f.segs[2]), summaryName(f.segs[2]))
			os.Remove(f.path("general", SealIndexFile))
			return f.segs[2], f.first(2), sealName(f.segs[2]) + ", " + summaryName(f.segs[2])
		}},
		{"pruned: the seal index still lists what the prune removed", func(f *fixture) (string, int64, string) {
			if _, err := Prune(f.dir, PruneOptions{Now: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), Signer: f.k.signer, Chains: []string{"general"}}); err != nil {
				f.t.Fatal(err)
			}
			if _, err := os.Stat(f.path("general", f.segs[0])); err == nil {
				f.t.Fatal("prune removed nothing")
			}
			return "", 0, ""
		}},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			f := &fixture{t: t, dir: dir, k: k, segs: segs}
			segment, seq, detail := tt.tamper(f)
			rep, err := Verify(dir, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			if segment == "" {
				if !rep.OK() {
					t.Fatalf("want clean; got:\n%s", findingsText(rep))
				}
				return
			}
			for _, fd := range rep.Findings {
				if fd.Chain == "general" && fd.Segment == segment && fd.Seq == seq && fd.Kind == KindSegmentMissing && strings.Contains(fd.Detail, detail) {
					return
				}
			}
			t.Fatalf("want chain=general segment=%s seq=%d kind=%s (%q); got:\n%s", segment, seq, KindSegmentMissing, detail, findingsText(rep))
		})
	}
}
