//go:build unix

package auditlog

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestOpenWaitsOutProbe holds the shared lock WriterHolds takes: Open
// waits out a short hold, as a verifier's probe is, and refuses a store a
// lock stays on. WriterHolds sees the writer, and no writer once it closed.
func TestOpenWaitsOutProbe(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	openTestStore(t, dir, k).Close()
	if WriterHolds(dir) {
		t.Fatal("WriterHolds on a closed store")
	}
	probe := func(hold time.Duration) {
		f, err := os.Open(filepath.Join(dir, lockFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(hold)
			f.Close()
		}()
	}

	probe(20 * time.Millisecond)
	s, err := Open(dir, WithOrigin(testOrigin), WithSigner(k.signer))
	if err != nil {
		t.Fatalf("Open during a short probe: %v", err)
	}
	if !WriterHolds(dir) {
		t.Error("WriterHolds does not see the open store")
	}
	s.Close()

	probe(500 * time.Millisecond)
	if _, err := Open(dir, WithOrigin(testOrigin), WithSigner(k.signer)); err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("Open under a held lock: %v", err)
	}
}

// TestVerifyHeldLock: any process that holds the store's lock file makes
// Verify take the store for live, and an idle one hid a rolled-back
// checkpoint and a partial line appended to the active segment: "OK, 0
// problems", even with RequireSigned. The report now says the lock was
// held and where a writer's work was assumed; RequireSigned verifies the
// store as stopped whatever holds the lock.
func TestVerifyHeldLock(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	g := filepath.Join(dir, "general")
	segs, _ := listSegments(g)
	active := segs[len(segs)-1]
	hist, _ := os.ReadDir(filepath.Join(g, CheckpointsDir))
	older, err := os.ReadFile(filepath.Join(g, CheckpointsDir, hist[0].Name()))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(g, CheckpointFile), older, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(g, active), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"v":1,"seq":99,"user_id":"evil"`)
	f.Close()
	lock, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	newest := CheckpointsDir + "/" + hist[len(hist)-1].Name()
	tests := []struct {
		name      string
		opts      []VerifyOption
		wantLive  bool
		wantKinds []string
	}{
		{name: "live", wantLive: true},
		{name: "require signed", opts: []VerifyOption{RequireSigned()}, wantKinds: []string{KindCheckpointInconsistent, KindTrailingGarbage}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := Verify(dir, k.verifiers, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if !rep.WriterHeld || rep.Live != tt.wantLive {
				t.Errorf("WriterHeld %v, Live %v; want true, %v", rep.WriterHeld, rep.Live, tt.wantLive)
			}
			var kinds []string
			for _, f := range rep.Findings {
				if f.Chain == "general" && f.Kind != KindUnsigned {
					kinds = append(kinds, f.Kind)
				}
			}
			slices.Sort(kinds)
			if !slices.Equal(kinds, tt.wantKinds) {
				t.Errorf("findings %v, want %v:\n%s", kinds, tt.wantKinds, findingsText(rep))
			}
			var c ChainReport
			for _, c = range rep.Chains {
				if c.Chain == "general" {
					break
				}
			}
			wantSeg, wantBytes, wantHist := "", int64(0), ""
			if tt.wantLive {
				wantSeg, wantBytes, wantHist = active, 32, newest
			}
			if c.InFlightSegment != wantSeg || c.InFlightBytes != wantBytes || c.LatestFromHistory != wantHist {
				t.Errorf("in flight %d bytes at %q, latest from history %q; want %d at %q, %q", c.InFlightBytes, c.InFlightSegment, c.LatestFromHistory, wantBytes, wantSeg, wantHist)
			}
		})
	}
}
