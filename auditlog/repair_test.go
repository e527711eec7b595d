package auditlog

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenRepairs damages the tail the way crashes do and checks that Open
// cuts exactly the damage, resumes the chain, and the store verifies.
func TestOpenRepairs(t *testing.T) {
	k := newTestKeys(t, "test")
	tests := []struct {
		name string
		// damage changes the closed store; it returns how many records
		// should survive.
		damage  func(t *testing.T, dir string, segs []string) int
		wantErr string
	}{
		{"half a line", func(t *testing.T, dir string, segs []string) int {
			appendBytes(t, filepath.Join(dir, "general", segs[len(segs)-1]), []byte(`{"agent":{"id":"a1","na`))
			return 60
		}, ""},
		{"checkpointed line without newline", func(t *testing.T, dir string, segs []string) int {
			p := filepath.Join(dir, "general", segs[len(segs)-1])
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)-1], 0o600)
			return 0
		}, "checkpoint covers 60"},
		{"zero-filled tail", func(t *testing.T, dir string, segs []string) int {
			appendBytes(t, filepath.Join(dir, "general", segs[len(segs)-1]), make([]byte, 4096))
			return 60
		}, ""},
		{"crash between seal and first write", func(t *testing.T, dir string, segs []string) int {
			sealActive(t, dir, k)
			os.WriteFile(filepath.Join(dir, "general", SegmentName(60)), nil, 0o600)
			return 60
		}, ""},
		{"crash after seal, empty segment with a wrong name", func(t *testing.T, dir string, segs []string) int {
			sealActive(t, dir, k)
			os.WriteFile(filepath.Join(dir, "general", SegmentName(99)), nil, 0o600)
			return 60
		}, ""},
		{"crash after seal, before the next segment", func(t *testing.T, dir string, segs []string) int {
			sealActive(t, dir, k)
			return 60
		}, ""},
		{"stale temp files", func(t *testing.T, dir string, segs []string) int {
			os.WriteFile(filepath.Join(dir, "general", CheckpointFile+tmpSuffix), []byte("partial"), 0o600)
			os.WriteFile(filepath.Join(dir, "general", CheckpointsDir, "x"+tmpSuffix), []byte("partial"), 0o600)
			return 60
		}, ""},
		{"tree file lost", func(t *testing.T, dir string, segs []string) int {
			os.Remove(filepath.Join(dir, "general", TreeFile))
			return 60
		}, ""},
		{"complete last line whose hash does not match its content", func(t *testing.T, dir string, segs []string) int {
			// The next record in every field a chain check reads (seq,
			// prev_hash, chain id), canonical, but with a stale hash.
			recs := readChain(t, dir, "general")
			r := recs[len(recs)-1]
			r.Seq, r.PrevHash = r.Seq+1, r.Hash
			appendBytes(t, filepath.Join(dir, "general", segs[len(segs)-1]), append(r.AppendCanonical(nil, true), '\n'))
			return 60
		}, ""},
		{"damage followed by valid records is kept as evidence", func(t *testing.T, dir string, segs []string) int {
			p := filepath.Join(dir, "general", segs[len(segs)-1])
			data, _ := os.ReadFile(p)
			i := bytes.IndexByte(data, '\n')
			data[i/2] = 'X'
			os.WriteFile(p, data, 0o600)
			return 0
		}, "refusing to repair"},
		{"records lost below the checkpoint", func(t *testing.T, dir string, segs []string) int {
			p := filepath.Join(dir, "general", segs[len(segs)-1])
			data, _ := os.ReadFile(p)
			lines := bytes.SplitAfter(data, []byte("\n"))
			os.WriteFile(p, bytes.Join(lines[:len(lines)-3], nil), 0o600)
			return 0
		}, "checkpoint covers 60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			want := tt.damage(t, dir, segs)
			s, err := Open(dir, WithOrigin(testOrigin), WithSigner(k.signer), WithSegmentMaxBytes(8<<10))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Open = %v, want error %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := len(readChain(t, dir, "general")); got != want {
				t.Fatalf("%d records after repair, want %d", got, want)
			}
			appendOK(t, s, testRecords(500, 5, "general"))
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(dir, k.verifiers)
			if err != nil || !rep.OK() || rep.Chains[0].Size != uint64(want+5) {
				t.Fatalf("verify after repair: %v %+v\n%s", err, rep.Chains, findingsText(rep))
			}
			if _, err := os.Stat(filepath.Join(dir, "general", CheckpointFile+tmpSuffix)); err == nil {
				t.Error("stale temp file left behind")
			}
		})
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

// sealActive seals the active segment of "general" as a rotation would.
func sealActive(t *testing.T, dir string, k testKeys) {
	t.Helper()
	s := openTestStore(t, dir, k)
	s.mu.Lock()
	err := s.chains["general"].seal()
	s.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
