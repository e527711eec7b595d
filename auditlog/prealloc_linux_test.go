package auditlog

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// allocated is the disk space the file at path takes, and its size.
func allocated(t *testing.T, path string) (disk, size int64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Blocks * 512, st.Size()
}

// TestSegmentReservation checks what reserve leaves on disk: the active
// segment has space allocated beyond its size, which readers do not
// see; once the segment is sealed (full or old), or cut back after a
// failed write, it takes no more than its size rounded up to a block;
// and the store verifies with every record once.
func TestSegmentReservation(t *testing.T) {
	const maxBytes = 2 * reserveBytes
	for _, tc := range []struct {
		name string
		// after runs once the first batch is written, and returns how
		// many records are stored in the end.
		after func(t *testing.T, s *Store, clock *fakeClock, fs *failingSyncs) int
		// sealed: the first segment is sealed in the end.
		sealed bool
	}{
		{name: "full", sealed: true, after: func(t *testing.T, s *Store, _ *fakeClock, _ *failingSyncs) int {
			n := 20
			for _, size := allocated(t, segPath(s, 0)); size < maxBytes; _, size = allocated(t, segPath(s, 0)) {
				appendOK(t, s, testRecords(n, 500, "general"))
				n += 500
			}
			appendOK(t, s, testRecords(n, 20, "general")) // seals
			return n + 20
		}},
		{name: "old", sealed: true, after: func(t *testing.T, s *Store, clock *fakeClock, _ *failingSyncs) int {
			clock.advance(2 * time.Hour)
			appendOK(t, s, testRecords(20, 20, "general")) // seals
			return 40
		}},
		{name: "cut back", after: func(t *testing.T, s *Store, _ *fakeClock, fs *failingSyncs) int {
			fs.armWrite("general", 100)
			if _, err := s.Append(context.Background(), testRecords(20, 20, "general")); err == nil {
				t.Fatal("Append: no error from a failing write")
			}
			return 20
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			k := newTestKeys(t, "test")
			clock := &fakeClock{now: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
			fs := &failingSyncs{}
			s := openTestStore(t, dir, k, WithSegmentMaxBytes(maxBytes), WithSegmentMaxAge(time.Hour),
				WithClock(clock.Now), withWriteFile(fs.write))
			appendOK(t, s, testRecords(0, 20, "general"))
			first := segPath(s, 0)
			disk, size := allocated(t, first)
			if disk < reserveBytes || size >= reserveBytes/2 {
				t.Fatalf("active segment: %d bytes allocated for %d written, want %d reserved", disk, size, reserveBytes)
			}
			data, err := os.ReadFile(first)
			if err != nil {
				t.Fatal(err)
			}
			if int64(len(data)) != size || data[len(data)-1] != '\n' {
				t.Fatalf("active segment reads %d bytes ending %q, want its %d bytes of records", len(data), data[len(data)-1:], size)
			}

			want := tc.after(t, s, clock, fs)
			_, err = os.Stat(filepath.Join(filepath.Dir(first), sealName(SegmentName(0))))
			if sealed := err == nil; sealed != tc.sealed {
				t.Fatalf("first segment sealed: %v, want %v", sealed, tc.sealed)
			}
			if disk, size = allocated(t, first); disk > size+4096 {
				t.Errorf("%d bytes allocated for %d written, want the reservation freed", disk, size)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(dir, k.verifiers)
			if err != nil || !rep.OK() {
				t.Fatalf("Verify: %v\n%s", err, findingsText(rep))
			}
			if rep.Records != uint64(want) {
				t.Fatalf("%d records stored, want %d", rep.Records, want)
			}
		})
	}
}

// segPath is the path of the segment of the "general" chain whose first
// record is seq.
func segPath(s *Store, seq uint64) string {
	return filepath.Join(s.dir, "general", SegmentName(seq))
}

// fakeClock is a clock for WithClock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
