package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVerifySinceCheckpointBelowPruneCut: a saved checkpoint of fewer
// records than the prune cut was passed over in silence, even one of
// another history. It is now proven against the prune marker's root by a
// consistency proof from tree.hashes, and a finding when it cannot be.
func TestVerifySinceCheckpointBelowPruneCut(t *testing.T) {
	k := newTestKeys(t, "test")
	cases := []struct {
		name string
		// saved returns the checkpoint to verify against and changes the
		// pruned store in dir; detail is "" for a clean verify.
		saved  func(t *testing.T, dir string, cp Checkpoint) []byte
		detail string
	}{
		{name: "same history", saved: func(t *testing.T, dir string, cp Checkpoint) []byte {
			return signCP(t, k, cp)
		}},
		{name: "another history", saved: func(t *testing.T, dir string, cp Checkpoint) []byte {
			cp.Root[0] ^= 1
			return signCP(t, k, cp)
		}, detail: "is not a prefix of the chain pruned at"},
		{name: "no tree.hashes to prove it", saved: func(t *testing.T, dir string, cp Checkpoint) []byte {
			os.Remove(filepath.Join(dir, "general", TreeFile))
			return signCP(t, k, cp)
		}, detail: "could not be checked: tree.hashes is missing"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			hist, _ := os.ReadDir(filepath.Join(dir, "general", CheckpointsDir))
			msg, _ := os.ReadFile(filepath.Join(dir, "general", CheckpointsDir, hist[0].Name()))
			cp, err := OpenCheckpoint(msg, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			res, err := Prune(dir, PruneOptions{Now: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), Signer: k.signer, Chains: []string{"general"}})
			if err != nil || len(res) != 1 || res[0].Cut <= cp.Size {
				t.Fatalf("prune: %+v %v (saved checkpoint of %d records)", res, err, cp.Size)
			}
			saved := tt.saved(t, dir, cp)
			if tt.name == "no tree.hashes to prove it" {
				// Without the saved checkpoint the store still verifies:
				// the tree file is an index the writer rebuilds.
				if rep, err := Verify(dir, k.verifiers); err != nil || !rep.OK() {
					t.Fatalf("without the saved checkpoint: %v\n%s", err, findingsText(rep))
				}
			}
			rep, err := Verify(dir, k.verifiers, SinceCheckpoint(saved))
			if err != nil {
				t.Fatal(err)
			}
			if tt.detail == "" {
				if !rep.OK() || rep.Chains[0].Checkpoints == 0 {
					t.Fatalf("want clean with the saved checkpoint counted; got %+v\n%s", rep.Chains[0], findingsText(rep))
				}
				return
			}
			if len(rep.Findings) != 1 || rep.Findings[0].Kind != KindRollback || rep.Findings[0].Chain != "general" ||
				rep.Findings[0].Segment != PruneFile || rep.Findings[0].Seq != int64(cp.Size) || !strings.Contains(rep.Findings[0].Detail, tt.detail) {
				t.Fatalf("want one rollback at %s seq %d (%q); got:\n%s", PruneFile, cp.Size, tt.detail, findingsText(rep))
			}
		})
	}
}

func signCP(t *testing.T, k testKeys, cp Checkpoint) []byte {
	msg, err := SignCheckpoint(cp, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}
