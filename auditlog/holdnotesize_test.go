package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPruneRefusesOversizedHoldNotes: every hold in force for a chain, the
// store's included, is a line of its legal_hold.seen and prune marker.
// Two legal_hold files, each under their cap, made more than the 16 MiB
// those readers accept: the prune signed them, and every later prune and
// verify refused them. Now the prune is refused before it writes anything
// in any chain, dry run or not, with the chain and the sizes named.
func TestPruneRefusesOversizedHoldNotes(t *testing.T) {
	k := newTestKeys(t, "test")
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	// holdLines returns about size bytes of distinct user holds.
	holdLines := func(prefix string, size int) []byte {
		var b []byte
		for i := 0; len(b) < size; i++ {
			b = fmt.Appendf(b, "user %s%x\n", prefix, i)
		}
		return b
	}
	tests := []struct {
		name    string
		files   map[string][]byte
		wantErr []string
	}{
		{
			// general (pruned first) would be under the cap: healthcare,
			// over it, must stop general's prune too.
			name: "last chain over",
			files: map[string][]byte{
				legalHoldFile:                 holdLines("s", MaxLegalHoldBytes-64),
				"healthcare/" + legalHoldFile: holdLines("h", MaxLegalHoldBytes-64),
			},
			wantErr: []string{"auditlog: chain healthcare: its legal_hold.seen would have ", fmt.Sprintf("more than the %d its readers accept (%d bytes less %d for signatures): nothing written or removed in any chain", maxHoldNoteText, MaxPruneMarkerBytes, MaxNoteBytes)},
		},
		{
			// Many holds, far below the cap (TestCheckHoldNoteText tries
			// its edge): prune writes what its readers take.
			name:  "under the cap",
			files: map[string][]byte{legalHoldFile: holdLines("s", 256<<10)},
		},
	}
	for _, tt := range tests {
		for _, dryRun := range []bool{true, false} {
			if dryRun && tt.wantErr == nil {
				continue // the slow case: its real prune, then Verify, is the check
			}
			t.Run(fmt.Sprintf("%s/dry run %v", tt.name, dryRun), func(t *testing.T) {
				dir := buildTamperStore(t, k)
				for f, data := range tt.files {
					if err := os.WriteFile(filepath.Join(dir, f), data, 0o600); err != nil {
						t.Fatal(err)
					}
				}
				before := storeSnapshot(t, dir)
				res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer, DryRun: dryRun})
				if tt.wantErr == nil {
					if err != nil {
						t.Fatal(err)
					}
					if !dryRun {
						// What was written, every reader takes.
						for _, c := range res {
							if _, _, err := readHoldRecord(filepath.Join(dir, c.Chain), c.Chain, "", &PruneOptions{Signer: k.signer}); err != nil {
								t.Errorf("chain %s: %v", c.Chain, err)
							}
						}
						if rep, err := Verify(dir, k.verifiers); err != nil || !rep.OK() {
							t.Errorf("Verify = %+v, %v", rep, err)
						}
					}
					return
				}
				if err == nil {
					t.Fatalf("Prune = %+v, nil; want %q", res, tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Prune: %v\nwant %q", err, w)
					}
				}
				if after := storeSnapshot(t, dir); after != before {
					t.Errorf("the store changed")
				}
			})
		}
	}
}

// TestCheckHoldNoteText: pruneChain's last check, of the marker with the
// segments it names, refuses the same text size.
func TestCheckHoldNoteText(t *testing.T) {
	if err := checkHoldNoteText("prune marker", make([]byte, maxHoldNoteText), 0, 0); err != nil {
		t.Errorf("at the cap: %v", err)
	}
	err := checkHoldNoteText("prune marker", make([]byte, maxHoldNoteText+1), 3, 1)
	if want := fmt.Sprintf("its prune marker would have %d bytes of text (3 legal holds, 1 releases)", maxHoldNoteText+1); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("over the cap: %v; want %q", err, want)
	}
}

// storeSnapshot lists every entry of the store with its type, and a
// regular file's SHA-256, so that any change to the store shows.
func storeSnapshot(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b.WriteString(rel + " " + d.Type().String())
		if d.Type().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			b.WriteString(" " + hex.EncodeToString(sum[:8]))
		}
		b.WriteString("; ")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
