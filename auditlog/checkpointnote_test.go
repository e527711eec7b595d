package auditlog

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
)

// TestParseCheckpointNote tells input that cannot be a checkpoint from a
// checkpoint whose signature does not verify; Verify fails on the first
// and reports the second (a garbage --since-checkpoint file was a
// rollback finding with no chain).
func TestParseCheckpointNote(t *testing.T) {
	k := newTestKeys(t, "test")
	other := newTestKeys(t, "other")
	dir := buildTamperStore(t, k)
	saved, err := os.ReadFile(filepath.Join(dir, "general", CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := OpenCheckpoint(saved, k.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	byOther, err := SignCheckpoint(cp, other.signer)
	if err != nil {
		t.Fatal(err)
	}
	notCheckpoint, err := note.Sign(&note.Note{Text: "hello\n"}, k.signer)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		msg     []byte
		wantErr string // ParseCheckpointNote's; "" when it parses
		finding string // Verify's finding kind when it parses and does not verify
	}{
		{name: "checkpoint", msg: saved},
		{name: "signed by another key", msg: byOther, finding: KindRollback},
		{name: "garbage", msg: []byte("garbage\n"), wantErr: "not a signed note"},
		{name: "empty", msg: nil, wantErr: "not a signed note"},
		{name: "text only", msg: cp.Text(), wantErr: "not a signed note"},
		{name: "signed note, not a checkpoint", msg: notCheckpoint, wantErr: "a signed note but not a checkpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCheckpointNote(tt.msg)
			rep, verr := Verify(dir, k.verifiers, SinceCheckpoint(tt.msg))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseCheckpointNote = %v, %v; want %q", got, err, tt.wantErr)
				}
				if verr == nil || !strings.Contains(verr.Error(), "saved checkpoint 1 of 1: "+tt.wantErr) {
					t.Errorf("Verify = %v; want error %q", verr, tt.wantErr)
				}
				return
			}
			if err != nil || got != cp {
				t.Fatalf("ParseCheckpointNote = %v, %v; want %v", got, err, cp)
			}
			if verr != nil {
				t.Fatal(verr)
			}
			var kinds []string
			for _, f := range rep.Findings {
				kinds = append(kinds, f.Kind)
			}
			if strings.Join(kinds, ",") != tt.finding {
				t.Errorf("findings %v; want %q", rep.Findings, tt.finding)
			}
		})
	}
	var unverified *note.UnverifiedNoteError
	if _, err := OpenCheckpoint(byOther, k.verifiers); !errors.As(err, &unverified) {
		t.Errorf("OpenCheckpoint of another key's checkpoint: %v", err)
	}
}
