package auditlog

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Names in a chain's directory that readers of a store, such as query,
// look for (the layout is in README.md; SPEC §4).
const (
	// SegmentExt ends the name of every segment file.
	SegmentExt = ".jsonl"
	// SummaryExt ends the name of a sealed segment's summary.
	SummaryExt = ".summary.json"
	// SealExt ends the name of a sealed segment's signed seal.
	SealExt = ".seal"
	// CheckpointFile is the chain's latest signed checkpoint.
	CheckpointFile = "checkpoint"
	// CheckpointsDir keeps the chain's earlier checkpoints.
	CheckpointsDir = "checkpoints"
	// TreeFile holds the chain's Merkle leaf hashes.
	TreeFile = "tree.hashes"
	// PruneFile is the chain's latest signed prune marker.
	PruneFile = "prune"
	// SealIndexFile is the chain's signed list of its seals.
	SealIndexFile = "seal_index"
)

// Names only the store itself uses, and file modes.
const (
	prunesDir     = "prunes"
	legalHoldFile = "legal_hold"
	lockFile      = ".lock"
	pruneLockFile = ".prune.lock"
	tmpSuffix     = ".tmp"

	fileMode = 0o600
	dirMode  = 0o700
)

// chainNameRE is what a chain (retention class) name may look like: it is
// a directory name, so no separators, no leading dot, bounded length.
var chainNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// ValidChainName reports whether name can name a chain (and so a
// retention class): 1 to 64 ASCII letters, digits, '_', '.', '-', not
// starting with '.', '_' or '-'.
func ValidChainName(name string) bool { return chainNameRE.MatchString(name) }

// SegmentName returns the file name of the segment whose first record has
// sequence number first: 20 zero-padded digits and ".jsonl".
func SegmentName(first uint64) string { return fmt.Sprintf("%020d%s", first, SegmentExt) }

// parseSegmentName returns the first seq a segment file name claims.
func parseSegmentName(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, SegmentExt)
	if !ok || len(base) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

func summaryName(segment string) string {
	return strings.TrimSuffix(segment, SegmentExt) + SummaryExt
}

func sealName(segment string) string {
	return strings.TrimSuffix(segment, SegmentExt) + SealExt
}

func historyName(n uint64) string { return fmt.Sprintf("%020d", n) }

// listSegments returns the names of the *.jsonl files of a chain
// directory in name order, whatever their names claim.
func listSegments(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), SegmentExt) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// listChains returns the subdirectories of dir whose names can name a
// chain, in name order: the writer's chains. Readers take Chains, which
// also requires each to hold a chain's files.
func listChains(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && ValidChainName(e.Name()) {
			names = append(names, e.Name())
		}
	}
	return names, nil
}

// writeFileAtomic replaces path with data so that after a crash the file
// holds either its old or its new content: temp file, fsync, rename,
// directory fsync.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + tmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileMode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// mkdirSynced creates dir (mode 0700) if it does not exist and fsyncs its
// parent so the new entry is durable.
func mkdirSynced(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.Mkdir(dir, dirMode); err != nil && !os.IsExist(err) {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// writeFunc writes all of b to f at off, or at f's position (for a
// segment, opened O_APPEND, its end) when off is negative, and returns
// what os.File's Write and WriteAt would. The store's are plainWrite and
// ring.write (see options).
type writeFunc func(f *os.File, b []byte, off int64) (int, error)

// plainWrite is the store's writeFunc without io_uring.
func plainWrite(f *os.File, b []byte, off int64) (int, error) {
	if off < 0 {
		return f.Write(b)
	}
	return f.WriteAt(b, off)
}
