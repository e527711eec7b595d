//go:build unix

package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPruneLegalHoldOddFiles puts what is not a readable legal_hold file
// in place of the store's and a chain's: a FIFO hung prune for good while
// it held the prune lock (so every reader of the store hung with it), a
// link to /dev/zero ran it out of memory, and a dangling link (a share not
// mounted) was taken for no hold, and everything was removed. Each must
// be an error naming the file, within the timeout, with the store
// untouched. A link to a regular file elsewhere is read as that file.
func TestPruneLegalHoldOddFiles(t *testing.T) {
	k := newTestKeys(t, "test")
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		make    func(t *testing.T, path string)
		wantErr string // "" for none
		pruned  bool
	}{
		{name: "fifo", make: func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		}, wantErr: "not a regular file (a FIFO)"},
		{name: "link to /dev/zero", make: symlinkTo("/dev/zero"), wantErr: "not a regular file (a character device)"},
		{name: "directory", make: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "not a regular file (a directory)"},
		{name: "over the cap", make: func(t *testing.T, path string) {
			// Sparse: 4 MiB and a byte of NULs cost no disk.
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, MaxLegalHoldBytes+1); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "has 4194305 bytes, more than the 4194304 a legal_hold file can hold"},
		{name: "dangling link", make: symlinkTo("/nonexistent-share/legal/holds"), wantErr: "is a symbolic link to /nonexistent-share/legal/holds, which does not exist"},
		{name: "link to a file elsewhere holds", make: func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "holds")
			if err := os.WriteFile(target, []byte("*\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			symlinkTo(target)(t, path)
		}},
		{name: "link to an empty file holds nothing", make: func(t *testing.T, path string) {
			target := filepath.Join(t.TempDir(), "holds")
			if err := os.WriteFile(target, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			symlinkTo(target)(t, path)
		}, pruned: true},
		{name: "none holds nothing", make: func(*testing.T, string) {}, pruned: true},
	}
	for _, tt := range tests {
		for _, file := range []string{legalHoldFile, "healthcare/" + legalHoldFile} {
			for _, dryRun := range []bool{true, false} {
				t.Run(tt.name+"/"+file+"/dry run "+map[bool]string{true: "yes", false: "no"}[dryRun], func(t *testing.T) {
					dir := buildTamperStore(t, k)
					path := filepath.Join(dir, file)
					tt.make(t, path)
					before := storeSnapshot(t, dir)
					opts := PruneOptions{Now: later, Signer: k.signer, DryRun: dryRun}
					res, err := pruneWithin(t, dir, opts, 20*time.Second)
					if tt.wantErr != "" {
						if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
							t.Fatalf("Prune = %+v, %v; want one line naming %s, with %q", res, err, path, tt.wantErr)
						}
						if after := storeSnapshot(t, dir); after != before {
							t.Errorf("the store changed:\nbefore %s\nafter  %s", before, after)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					// The chain the file holds: healthcare's, or the store's
					// first.
					c := res[0]
					if strings.HasPrefix(file, "healthcare/") {
						c = res[1]
					}
					if pruned := len(c.Segments) > 0; pruned != tt.pruned {
						t.Errorf("chain %s: %d segments pruned; want pruned %v (%+v)", c.Chain, len(c.Segments), tt.pruned, res)
					}
				})
			}
		}
	}
}

func symlinkTo(target string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
}

// pruneWithin runs Prune and fails the test if it takes longer than d:
// a prune blocked on a FIFO must fail the test, not hang it.
func pruneWithin(t *testing.T, dir string, opts PruneOptions, d time.Duration) ([]ChainPrune, error) {
	t.Helper()
	type result struct {
		res []ChainPrune
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := Prune(dir, opts)
		done <- result{res, err}
	}()
	select {
	case r := <-done:
		return r.res, r.err
	case <-time.After(d):
		// The goroutine stays blocked; the FIFO's open is unblocked by
		// opening it for writing, so that the test binary can end.
		if f, err := os.OpenFile(filepath.Join(dir, legalHoldFile), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		if f, err := os.OpenFile(filepath.Join(dir, "healthcare", legalHoldFile), os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
		t.Fatalf("Prune did not return within %v: blocked on a legal_hold file", d)
		return nil, nil
	}
}
