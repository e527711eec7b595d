package auditlog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestVerifyCheckpointCounts: a chain's report counts as matched only the
// checkpoints its records reproduce, and those they do not as failed, one
// for each checkpoint finding (a modified record's chain read "3
// checkpoints matched" beside 3 checkpoint findings).
func TestVerifyCheckpointCounts(t *testing.T) {
	k := newTestKeys(t, "test")
	clean := buildTamperStore(t, k)
	rep, err := Verify(clean, k.verifiers)
	if err != nil || !rep.OK() {
		t.Fatalf("clean store: %v\n%s", err, findingsText(rep))
	}
	all := rep.Chains[0].Checkpoints
	if all < 3 || rep.Chains[0].CheckpointsFailed != 0 {
		t.Fatalf("clean store: %d checkpoints matched, %d failed", all, rep.Chains[0].CheckpointsFailed)
	}
	tests := []struct {
		name       string
		tamper     func(t *testing.T, chainDir string)
		wantFailed int // -1: at least one
	}{
		{name: "modified record", wantFailed: -1, tamper: func(t *testing.T, chainDir string) {
			seg := filepath.Join(chainDir, SegmentName(0))
			data, err := os.ReadFile(seg)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(seg, bytes.Replace(data, []byte(`"q":"x"`), []byte(`"q":"y"`), 1), 0o600)
		}},
		{name: "signed checkpoint with a wrong root", wantFailed: 1, tamper: func(t *testing.T, chainDir string) {
			hist, _ := os.ReadDir(filepath.Join(chainDir, CheckpointsDir))
			path := filepath.Join(chainDir, CheckpointsDir, hist[0].Name())
			msg, _ := os.ReadFile(path)
			cp, err := OpenCheckpoint(msg, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			cp.Root[0] ^= 1
			forged, err := SignCheckpoint(cp, k.signer)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(path, forged, 0o600)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyStore(t, clean)
			tt.tamper(t, filepath.Join(dir, "general"))
			rep, err := Verify(dir, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			c := rep.Chains[0]
			findings := 0
			for _, f := range rep.Findings {
				switch f.Kind {
				case KindCheckpointMismatch, KindCheckpointInconsistent:
					findings++
				}
			}
			if c.CheckpointsFailed != findings || findings == 0 || (tt.wantFailed >= 0 && findings != tt.wantFailed) {
				t.Errorf("%d checkpoints failed, %d checkpoint findings; want them equal (and %d)\n%s", c.CheckpointsFailed, findings, tt.wantFailed, findingsText(rep))
			}
			if c.Checkpoints+c.CheckpointsFailed != all {
				t.Errorf("%d matched + %d failed; want the clean store's %d checked", c.Checkpoints, c.CheckpointsFailed, all)
			}
		})
	}
}

// TestVerifySkipsCheckpointBeingFiled: a checkpoint's temporary file in
// checkpoints/, as a live writer's writeFileAtomic has it for a moment
// (or a crash leaves it, for the next Open to remove), is not history:
// TestVerifyWhileWriting failed now and then with "checkpoint of size
// 2010 is filed as 00000000000000002010.tmp".
func TestVerifySkipsCheckpointBeingFiled(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	hist := filepath.Join(dir, "general", CheckpointsDir)
	entries, _ := os.ReadDir(hist)
	msg, err := os.ReadFile(filepath.Join(hist, entries[len(entries)-1].Name()))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(hist, entries[len(entries)-1].Name()+tmpSuffix), msg, 0o600)
	rep, err := Verify(dir, k.verifiers)
	if err != nil || !rep.OK() {
		t.Fatalf("Verify: %v\n%s", err, findingsText(rep))
	}
}
