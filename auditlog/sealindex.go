package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

const sealIndexHeader = "otelaudit seal index v1"

// SealIndex is a signed note that lists a chain's seals by the SHA-256 of
// their files (the signed seal notes, signatures included). It lets a
// reader trust every seal it lists after one signature check instead of
// one per segment; a seal it does not list, or whose file differs in any
// byte, is checked on its own signature as before, so the index only ever
// saves work and never decides a verdict. The writer rewrites it after
// every seal. A parsed SealIndex is only read: safe for concurrent use.
//
//	otelaudit seal index v1
//	chain example.com/otelaudit/gw-1/general
//	00000000000000000000.jsonl 9f2e…
//	00000000000000004096.jsonl 1c3d…
type SealIndex struct {
	Chain string
	// Seals maps a segment file name to the lowercase hex SHA-256 of its
	// seal file.
	Seals map[string]string
}

// Text returns the index's note text, segments in name order.
func (x SealIndex) Text() []byte {
	names := make([]string, 0, len(x.Seals))
	for n := range x.Seals {
		names = append(names, n)
	}
	slices.Sort(names)
	b := fmt.Appendf(nil, "%s\nchain %s\n", sealIndexHeader, x.Chain)
	for _, n := range names {
		b = fmt.Appendf(b, "%s %s\n", n, x.Seals[n])
	}
	return b
}

// ParseSealIndex parses a seal index note text.
func ParseSealIndex(text []byte) (SealIndex, error) {
	lines := strings.Split(strings.TrimSuffix(string(text), "\n"), "\n")
	if len(lines) < 2 || lines[0] != sealIndexHeader {
		return SealIndex{}, fmt.Errorf("seal index does not start with %q", sealIndexHeader)
	}
	chain, ok := strings.CutPrefix(lines[1], "chain ")
	if !ok || chain == "" {
		return SealIndex{}, fmt.Errorf("seal index line 2 %q is not \"chain ID\"", truncate(lines[1], 60))
	}
	x := SealIndex{Chain: chain, Seals: make(map[string]string, len(lines)-2)}
	for i, l := range lines[2:] {
		seg, sum, ok := strings.Cut(l, " ")
		if _, named := parseSegmentName(seg); !ok || !named || !isLowerHex(sum, 2*sha256.Size) {
			return SealIndex{}, fmt.Errorf("seal index line %d %q is not \"SEGMENT SHA256\"", i+3, truncate(l, 60))
		}
		if _, dup := x.Seals[seg]; dup {
			return SealIndex{}, fmt.Errorf("seal index lists %s twice", seg)
		}
		x.Seals[seg] = sum
	}
	return x, nil
}

// OpenSealIndex verifies a signed seal index with verifiers and parses it.
func OpenSealIndex(msg []byte, verifiers note.Verifiers) (SealIndex, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return SealIndex{}, err
	}
	return ParseSealIndex([]byte(n.Text))
}

// Seal returns the seal in msg, the signed seal note of segment, without
// checking its signature, when the index lists exactly that file for
// segment; ok is false otherwise, and the caller verifies the seal's own
// signature (OpenSeal).
func (x *SealIndex) Seal(segment string, msg []byte) (seal Seal, ok bool) {
	want, listed := x.Seals[segment]
	if !listed || fileSHA256(msg) != want {
		return Seal{}, false
	}
	text, err := noteText(msg)
	if err != nil {
		return Seal{}, false
	}
	seal, err = ParseSeal(text)
	return seal, err == nil
}

func fileSHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// readSealIndexEntries lists the seals of the chain directory dir that
// belong to chain id, as index entries: the writer's starting point, which
// does not trust an index file it finds.
func readSealIndexEntries(dir, id string) (map[string]string, error) {
	segs, err := listSegments(dir)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(segs))
	for _, seg := range segs {
		msg, err := os.ReadFile(filepath.Join(dir, sealName(seg)))
		if err != nil {
			continue
		}
		text, err := noteText(msg)
		if err != nil {
			continue
		}
		if s, err := ParseSeal(text); err != nil || s.Chain != id || s.Segment != seg {
			continue
		}
		out[seg] = fileSHA256(msg)
	}
	return out, nil
}
