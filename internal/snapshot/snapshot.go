// Package snapshot keeps the files of a directory tree so that a test can
// put back those a step deleted, as a process killed before it finished
// deleting them would have left them.
package snapshot

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Files holds the contents of the files of a tree, by path.
type Files struct {
	files map[string][]byte
}

// Take reads every file under dir.
func Take(t testing.TB, dir string) *Files {
	t.Helper()
	f := &Files{files: map[string][]byte{}}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			f.files[p], err = os.ReadFile(p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// RestoreDeleted writes back, with mode 0600, the files taken that no
// longer exist, and returns their paths, sorted.
func (f *Files) RestoreDeleted(t testing.TB) []string {
	t.Helper()
	var back []string
	for p, b := range f.files {
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			back = append(back, p)
		}
	}
	slices.Sort(back)
	return back
}
