package auditlog

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNotAStore is wrapped by the error of Chains, and so of Verify and
// Prune, for a directory that holds no audit chain.
var ErrNotAStore = errors.New("not an audit store")

// Chains returns the chain directory names of the audit store in dir,
// sorted. It is the one rule of what a store is, which Verify, Prune and
// the query engine share.
//
// A chain directory is a subdirectory with a chain name (ValidChainName)
// that holds at least one of the names a chain's writer or a prune
// creates (see isChainEntry): a segment (*.jsonl), a seal or summary,
// the checkpoint, earlier checkpoints, tree.hashes, the seal index, a
// prune marker or a prune's record of the legal holds (legal_hold.seen). A chain that lost some of its files keeps the others and
// so stays a chain, and its damage a finding of Verify; a directory that
// lost all of them is no longer told apart from an unrelated folder
// (SinceCheckpoint catches a chain removed whole).
//
// A directory with no chain directory is not a store, unless it holds the
// writer's lock file (a store opened before its first record: no chains,
// no error). Otherwise the error wraps ErrNotAStore, and says so when dir
// is itself a chain's directory.
func Chains(dir string) ([]string, error) {
	names, err := listChains(dir)
	if err != nil {
		return nil, err
	}
	var chains []string
	for _, name := range names {
		ok, err := isChainDir(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		if ok {
			chains = append(chains, name)
		}
	}
	if len(chains) > 0 {
		return chains, nil
	}
	if self, err := isChainDir(dir); err == nil && self {
		return nil, fmt.Errorf("%s is a chain directory, %w: pass its parent directory", dir, ErrNotAStore)
	}
	// A store its writer has opened before its first record holds only
	// the writer's lock file: an empty store, not a wrong directory, so
	// that a scheduled verify of a new or quiet deployment passes.
	if _, err := os.Stat(filepath.Join(dir, lockFile)); err == nil {
		return []string{}, nil
	}
	return nil, fmt.Errorf("%s holds no audit chains: %w", dir, ErrNotAStore)
}

// isChainDir reports whether dir holds a name that only a chain's
// directory holds. It reads the directory in batches and stops at the
// first such name.
func isChainDir(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for {
		entries, err := f.ReadDir(256)
		for _, e := range entries {
			if isChainEntry(e) {
				return true, nil
			}
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// isChainEntry reports whether e is a name the store layout (README.md)
// gives to a chain directory's files. The store's own files (.lock,
// .prune.lock, legal_hold) are not: legal_hold is written by people, and
// may be the only file of a chain directory made for it in advance.
func isChainEntry(e os.DirEntry) bool {
	name := e.Name()
	if e.IsDir() {
		return name == CheckpointsDir || name == prunesDir
	}
	switch name {
	case CheckpointFile, TreeFile, PruneFile, SealIndexFile, LegalHoldSeenFile:
		return true
	}
	return strings.HasSuffix(name, SegmentExt) || strings.HasSuffix(name, SealExt) || strings.HasSuffix(name, SummaryExt)
}

// selectChains returns the chains among names that only lists, or all of
// names when only is empty. A name in only that is not a chain of the
// store in dir is an error: a mistyped chain must not pass as a chain
// with nothing to report.
func selectChains(dir string, names, only []string) ([]string, error) {
	if len(only) == 0 {
		return names, nil
	}
	for _, n := range only {
		if !slices.Contains(names, n) {
			return nil, fmt.Errorf("%s has no chain %q (its chains: %s)", dir, n, strings.Join(names, ", "))
		}
	}
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !slices.Contains(only, n) }), nil
}
