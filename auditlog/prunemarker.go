package auditlog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// PruneMarker is the signed statement a prune leaves in a chain directory
// (file "prune", earlier ones in "prunes/"): records before Cut were removed
// on purpose. It carries what the verifier needs to go on from the cut: the
// hash of record Cut-1 (the prev_hash of record Cut), and the Merkle
// frontier of the first Cut records (the roots of the maximal complete
// subtrees, left to right), so that checkpoint roots can still be
// recomputed from the records that remain.
type PruneMarker struct {
	Chain    string
	Cut      uint64
	LastHash string
	Root     tlog.Hash
	Frontier []tlog.Hash
	// Segments are the segment files this prune removed.
	Segments []string
	Time     time.Time
	// Run is the number of the prune run that wrote the marker, the same
	// as that run's legal_hold.seen (see LegalHoldRecord); 0 for a v1
	// marker, written before prunes recorded the holds they honoured.
	Run uint64
	// Holds are the legal holds in force for the chain when the prune
	// removed Segments; Releases the holds it (or a prune since the
	// previous marker) was told to let go of. Both are empty in a v1
	// marker, which does not say.
	Holds    []SeenHold
	Releases []HoldRelease
	// Losses are the prunes since the previous marker that went on
	// without the chain's legal_hold.seen (see HoldRecordLoss).
	Losses []HoldRecordLoss
}

const (
	pruneHeaderV1 = "otelaudit prune v1"
	// pruneHeader adds the run and the holds: a v1 reader refuses a v2
	// marker by its header rather than by its unknown lines.
	pruneHeader = "otelaudit prune v2"
)

// Text returns the marker's note text: a header line and "key value" lines;
// v2 (Run above 0) adds "run N", "holds N" and the hold and release lines.
func (m PruneMarker) Text() []byte {
	fr := make([]string, len(m.Frontier))
	for i, h := range m.Frontier {
		fr[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	segs := strings.Join(m.Segments, ",")
	header := pruneHeader
	if m.Run == 0 {
		header = pruneHeaderV1
	}
	b := fmt.Appendf(nil, "%s\nchain %s\ncut %d\nlast_hash %s\nroot %s\nfrontier %s\nsegments %s\ntime %s\n",
		header, m.Chain, m.Cut, m.LastHash, base64.StdEncoding.EncodeToString(m.Root[:]),
		strings.Join(fr, " "), segs, m.Time.UTC().Format(time.RFC3339Nano))
	if m.Run == 0 {
		return b
	}
	b = fmt.Appendf(b, "run %d\n", m.Run)
	return appendHoldLines(b, m.Holds, m.Releases, m.Losses)
}

// ParsePruneMarker parses a prune marker note text, v1 or v2.
func ParsePruneMarker(text []byte) (PruneMarker, error) {
	keys := []string{"chain", "cut", "last_hash", "root", "frontier", "segments", "time"}
	header, rest := pruneHeaderV1, string(text)
	var (
		holds    []SeenHold
		releases []HoldRelease
		losses   []HoldRecordLoss
	)
	if strings.HasPrefix(rest, pruneHeader+"\n") {
		var err error
		if rest, holds, releases, losses, err = splitHoldLines(rest); err != nil {
			return PruneMarker{}, fmt.Errorf("prune marker %w", err)
		}
		header, keys = pruneHeader, append(keys, "run", "holds")
	}
	kv, err := parseKV(rest, header, keys...)
	if err != nil {
		return PruneMarker{}, fmt.Errorf("prune marker %w", err)
	}
	m := PruneMarker{Chain: kv["chain"], LastHash: kv["last_hash"], Holds: holds, Releases: releases, Losses: losses}
	if header == pruneHeader {
		if m.Run, err = parseRun(kv["run"]); err != nil {
			return PruneMarker{}, fmt.Errorf("prune marker %w", err)
		}
		if err := holdCount(kv["holds"], holds); err != nil {
			return PruneMarker{}, fmt.Errorf("prune marker %w", err)
		}
	}
	if m.Cut, err = strconv.ParseUint(kv["cut"], 10, 64); err != nil {
		return PruneMarker{}, fmt.Errorf("prune marker cut %q: %w", kv["cut"], err)
	}
	if m.Root, err = parseB64Hash(kv["root"]); err != nil {
		return PruneMarker{}, fmt.Errorf("prune marker root: %w", err)
	}
	if f := kv["frontier"]; f != "" {
		for _, s := range strings.Split(f, " ") {
			h, err := parseB64Hash(s)
			if err != nil {
				return PruneMarker{}, fmt.Errorf("prune marker frontier: %w", err)
			}
			m.Frontier = append(m.Frontier, h)
		}
	}
	if s := kv["segments"]; s != "" {
		m.Segments = strings.Split(s, ",")
	}
	if m.Time, err = time.Parse(time.RFC3339Nano, kv["time"]); err != nil {
		return PruneMarker{}, fmt.Errorf("prune marker time: %w", err)
	}
	// The frontier must have one hash per set bit of Cut and fold to Root.
	f := frontier{n: int64(m.Cut), hashes: m.Frontier}
	if popcount(m.Cut) != len(m.Frontier) || f.root() != m.Root {
		return PruneMarker{}, fmt.Errorf("prune marker frontier does not match its cut %d and root", m.Cut)
	}
	return m, nil
}

// ReadPruneMarker reads the latest prune marker of the chain in chainDir,
// without verifying its signature (Verify does), or returns nil when the
// chain was never pruned.
//
// Readers use it to pass over the segments a prune named but had not yet
// deleted when it was killed: it writes its marker first.
func ReadPruneMarker(chainDir string) (*PruneMarker, error) {
	msg, err := ReadStoreFile(filepath.Join(chainDir, PruneFile), MaxPruneMarkerBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	text, err := noteText(msg)
	if err != nil {
		return nil, err
	}
	m, err := ParsePruneMarker(text)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// Pruned reports whether segment is one of those the prune deleted, which
// its marker names: such a segment still on disk was left behind by a
// prune that was killed.
func (m *PruneMarker) Pruned(segment string) bool {
	first, ok := parseSegmentName(segment)
	return ok && first < m.Cut && slices.Contains(m.Segments, segment)
}

// OpenPruneMarker verifies a signed prune marker and parses it.
func OpenPruneMarker(msg []byte, verifiers note.Verifiers) (PruneMarker, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return PruneMarker{}, err
	}
	return ParsePruneMarker([]byte(n.Text))
}

func parseB64Hash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != tlog.HashSize {
		return h, fmt.Errorf("%q is not a base64 SHA-256 hash", truncate(s, 60))
	}
	copy(h[:], b)
	return h, nil
}

func popcount(n uint64) int {
	c := 0
	for ; n != 0; n &= n - 1 {
		c++
	}
	return c
}
