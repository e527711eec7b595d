//go:build unix

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPruneUnreadableLegalHold: a legal_hold that is a FIFO (prune hung
// holding the prune lock), a dangling link (taken for no hold: every
// segment removed) or a line prune cannot sign (invalid UTF-8, a control
// character: signed into notes verify could not open) is exit 2 with one
// line naming the file, dry run or not, and the store is left as it was.
func TestPruneUnreadableLegalHold(t *testing.T) {
	tests := []struct {
		name   string
		make   func(t *testing.T, path string)
		stderr string
	}{
		{name: "fifo", make: func(t *testing.T, path string) {
			if err := syscall.Mkfifo(path, 0o600); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
		}, stderr: ": not a regular file (a FIFO)"},
		{name: "link to /dev/zero", make: func(t *testing.T, path string) {
			if err := os.Symlink("/dev/zero", path); err != nil {
				t.Fatal(err)
			}
		}, stderr: ": not a regular file (a character device)"},
		{name: "dangling link", make: func(t *testing.T, path string) {
			if err := os.Symlink("/nonexistent-share/holds", path); err != nil {
				t.Fatal(err)
			}
		}, stderr: " is a symbolic link to /nonexistent-share/holds, which does not exist"},
		{name: "invalid UTF-8", make: writeHold("user M\xfcller\n"), stderr: ` line 1: "user M\xfcller": not valid UTF-8`},
		{name: "control character", make: writeHold("user u-1\n\nuser u\x01\n"), stderr: ` line 3: "user u\x01": control character U+0001`},
	}
	for _, tt := range tests {
		for _, file := range []string{"legal_hold", "general/legal_hold"} {
			t.Run(tt.name+"/"+file, func(t *testing.T) {
				store, signer, _ := newStore(t, 20)
				path := filepath.Join(store, file)
				tt.make(t, path)
				before := listTreeStat(t, store)
				for _, args := range [][]string{{"--dry-run"}, {"--signer", signer}} {
					type result struct {
						code        int
						out, errout string
					}
					done := make(chan result, 1)
					go func() {
						code, out, errs := runCLI(append([]string{"prune", "--dir", store, "--now", "2026-01-02"}, args...)...)
						done <- result{code, out, errs}
					}()
					var r result
					select {
					case r = <-done:
					case <-time.After(20 * time.Second):
						// Unblock a prune stuck opening the FIFO, so that the
						// test binary ends.
						if f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
							f.Close()
						}
						t.Fatalf("prune %v did not return within 20s", args)
					}
					want := "otelaudit prune: auditlog: " + path + tt.stderr
					if r.code != 2 || r.out != "" || !strings.HasPrefix(r.errout, want) || strings.Count(r.errout, "\n") != 1 {
						t.Errorf("prune %v = %d, stdout %q, stderr %q; want 2 and one line starting %q", args, r.code, r.out, r.errout, want)
					}
				}
				if after := listTreeStat(t, store); after != before {
					t.Errorf("the store changed:\nbefore %s\nafter  %s", before, after)
				}
			})
		}
	}
}

func writeHold(content string) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}
