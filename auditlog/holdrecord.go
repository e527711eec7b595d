package auditlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// LegalHoldSeenFile is the chain's signed record of the legal holds the
// latest prune saw (README.md, "Legal holds"). A legal_hold file is
// written by people and can be deleted by anyone who can write the store;
// this record, signed by the prune's key, is what makes a hold that
// disappears between two prunes stop the second one.
const LegalHoldSeenFile = "legal_hold.seen"

const holdRecordHeader = "otelaudit legal holds v1"

// SeenHold is a legal hold as a prune saw it: the hold's line, normalised
// (a subject type in lower case, single spaces), and the legal_hold file
// it was read from, relative to the store ("legal_hold" for the store's,
// "CHAIN/legal_hold" for a chain's).
type SeenHold struct {
	File string `json:"file"`
	Hold string `json:"hold"`
}

// String returns the hold and its file, as messages name them.
func (h SeenHold) String() string { return h.Hold + " (" + h.File + ")" }

// HoldRelease is a hold that an earlier prune recorded, that is no longer
// in any legal_hold file, and that a prune was told to let go of
// (PruneOptions.ReleaseHolds). Time is when that prune ran.
type HoldRelease struct {
	Time time.Time `json:"time"`
	File string    `json:"file"`
	Hold string    `json:"hold"`
}

// LegalHoldRecord is the content of a chain's legal_hold.seen: what the
// prune numbered Run saw, and the releases not yet stated by a prune
// marker.
type LegalHoldRecord struct {
	// Chain is the chain's directory name: a record copied from another
	// chain's directory does not pass for this one's.
	Chain string
	// Run numbers the prunes that recorded holds for the chain, from 1;
	// the prune marker written in the same run carries the same number,
	// so a record older than the latest marker is evident.
	Run      uint64
	Time     time.Time
	Holds    []SeenHold
	Releases []HoldRelease
}

// Text returns the record's note text.
func (r LegalHoldRecord) Text() []byte {
	b := fmt.Appendf(nil, "%s\nchain %s\nrun %d\ntime %s\n", holdRecordHeader, r.Chain, r.Run, r.Time.UTC().Format(time.RFC3339Nano))
	return appendHoldLines(b, r.Holds, r.Releases)
}

// appendHoldLines appends the lines a hold record and a v2 prune marker
// share: "holds N", then one "hold FILE HOLD" per hold and one "release
// TIME FILE HOLD" per release.
func appendHoldLines(b []byte, holds []SeenHold, releases []HoldRelease) []byte {
	b = fmt.Appendf(b, "holds %d\n", len(holds))
	for _, h := range holds {
		b = fmt.Appendf(b, "hold %s %s\n", h.File, h.Hold)
	}
	for _, r := range releases {
		b = fmt.Appendf(b, "release %s %s %s\n", r.Time.UTC().Format(time.RFC3339Nano), r.File, r.Hold)
	}
	return b
}

// splitHoldLines takes the "hold" and "release" lines out of a note text
// and parses them, returning the other lines for parseKV.
func splitHoldLines(text string) (rest string, holds []SeenHold, releases []HoldRelease, err error) {
	lines := strings.SplitAfter(text, "\n")
	var kept strings.Builder
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "hold "):
			h, err := parseSeenHold(strings.TrimSuffix(strings.TrimPrefix(l, "hold "), "\n"))
			if err != nil {
				return "", nil, nil, err
			}
			holds = append(holds, h)
		case strings.HasPrefix(l, "release "):
			ts, hold, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(l, "release "), "\n"), " ")
			t, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				return "", nil, nil, fmt.Errorf("release time: %w", err)
			}
			h, err := parseSeenHold(hold)
			if err != nil {
				return "", nil, nil, err
			}
			releases = append(releases, HoldRelease{Time: t, File: h.File, Hold: h.Hold})
		default:
			kept.WriteString(l)
		}
	}
	return kept.String(), holds, releases, nil
}

// parseSeenHold parses "FILE HOLD": the hold must be in its normalised
// form, so that one hold has one spelling in every record.
func parseSeenHold(s string) (SeenHold, error) {
	file, line, _ := strings.Cut(s, " ")
	if !validHoldFile(file) {
		return SeenHold{}, fmt.Errorf("hold %q: %q is not a legal_hold file of the store", truncate(s, 60), truncate(file, 60))
	}
	h, err := parseLegalHold(line)
	if err != nil || h.key() != line {
		return SeenHold{}, fmt.Errorf("hold %q is not a normalised legal hold", truncate(s, 60))
	}
	return SeenHold{File: file, Hold: line}, nil
}

// validHoldFile reports whether file names a legal_hold file of a store:
// the store's own or a chain's.
func validHoldFile(file string) bool {
	if file == legalHoldFile {
		return true
	}
	chain, ok := strings.CutSuffix(file, "/"+legalHoldFile)
	return ok && ValidChainName(chain)
}

// holdCount parses the "holds N" line and checks it against the hold
// lines found: a count guards against a hold line lost in transcription.
func holdCount(s string, holds []SeenHold) error {
	n, err := strconv.Atoi(s)
	if err != nil || n != len(holds) {
		return fmt.Errorf("holds %q does not count its %d hold lines", truncate(s, 20), len(holds))
	}
	return nil
}

// ParseLegalHoldRecord parses the note text of a legal_hold.seen file.
func ParseLegalHoldRecord(text []byte) (LegalHoldRecord, error) {
	rest, holds, releases, err := splitHoldLines(string(text))
	if err != nil {
		return LegalHoldRecord{}, fmt.Errorf("legal hold record %w", err)
	}
	kv, err := parseKV(rest, holdRecordHeader, "chain", "run", "time", "holds")
	if err != nil {
		return LegalHoldRecord{}, fmt.Errorf("legal hold record %w", err)
	}
	r := LegalHoldRecord{Chain: kv["chain"], Holds: holds, Releases: releases}
	if r.Run, err = strconv.ParseUint(kv["run"], 10, 64); err != nil || r.Run == 0 {
		return LegalHoldRecord{}, fmt.Errorf("legal hold record run %q is not a positive number", truncate(kv["run"], 20))
	}
	if r.Time, err = time.Parse(time.RFC3339Nano, kv["time"]); err != nil {
		return LegalHoldRecord{}, fmt.Errorf("legal hold record time: %w", err)
	}
	if err := holdCount(kv["holds"], holds); err != nil {
		return LegalHoldRecord{}, fmt.Errorf("legal hold record %w", err)
	}
	return r, nil
}

// OpenLegalHoldRecord verifies a signed legal_hold.seen and parses it.
func OpenLegalHoldRecord(msg []byte, verifiers note.Verifiers) (LegalHoldRecord, error) {
	n, err := note.Open(msg, verifiers)
	if err != nil {
		return LegalHoldRecord{}, err
	}
	return ParseLegalHoldRecord([]byte(n.Text))
}

// readHoldRecord reads the chain's legal_hold.seen, or returns nil when
// there is none. A prune holds the signer, not a verifier: Ed25519
// signatures are deterministic, so the record is this signer's if signing
// its text again gives the file's bytes. A record that is not (forged, or
// signed by an earlier key) stops the prune: read unchecked, an edited
// record could drop the hold it exists to keep.
func readHoldRecord(chainDir string, signer note.Signer) (*LegalHoldRecord, error) {
	path := filepath.Join(chainDir, LegalHoldSeenFile)
	msg, err := ReadStoreFile(path, MaxPruneMarkerBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	text, err := noteText(msg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if signer != nil {
		again, err := note.Sign(&note.Note{Text: string(text)}, signer)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(again, msg) {
			return nil, fmt.Errorf("%s is not signed by this signer (%s): forged, or signed by an earlier key; check it with otelaudit verify, and move it aside only if it is genuine (the prune then takes the holds from the latest prune marker)", path, signer.Name())
		}
	}
	r, err := ParseLegalHoldRecord(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// seenHolds appends holds, read from file, to seen as SeenHolds, sorted
// by file and hold, each once.
func seenHolds(seen []SeenHold, file string, holds []legalHold) []SeenHold {
	for _, h := range holds {
		seen = append(seen, SeenHold{File: file, Hold: h.key()})
	}
	slices.SortFunc(seen, func(a, b SeenHold) int {
		if c := strings.Compare(a.File, b.File); c != 0 {
			return c
		}
		return strings.Compare(a.Hold, b.Hold)
	})
	seen = slices.Compact(seen)
	if seen == nil {
		seen = []SeenHold{}
	}
	return seen
}

// holdPlan is what one prune run records about a chain's holds.
type holdPlan struct {
	// run numbers this run (LegalHoldRecord.Run), at time.
	run  uint64
	time time.Time
	// inForce are the holds in the legal_hold files now.
	inForce []SeenHold
	// releases are the releases to record: those an earlier run made
	// that no prune marker states yet, and released.
	releases []HoldRelease
	// released are this run's releases.
	released []HoldRelease
}

// write signs the plan as the chain's legal_hold.seen, atomically: a
// crash leaves the old record or the new one. It is written before the
// prune marker of the same run, so that a marker of run N means a record
// of run N or later was written.
func (p *holdPlan) write(chainDir, name string, signer note.Signer) error {
	r := LegalHoldRecord{Chain: name, Run: p.run, Time: p.time, Holds: p.inForce, Releases: p.releases}
	msg, err := note.Sign(&note.Note{Text: string(r.Text())}, signer)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(chainDir, LegalHoldSeenFile), msg)
}

// planHolds compares, for each chain, the holds in force with those the
// latest record (legal_hold.seen, else the latest prune marker) says an
// earlier prune saw, and applies opts.ReleaseHolds. A recorded hold in
// force in no legal_hold file and not released is an error wrapping
// ErrLegalHoldRemoved, naming every such hold and the file it was seen
// in; nothing has been removed by then.
func planHolds(dir string, names []string, inForce [][]SeenHold, opts *PruneOptions) ([]holdPlan, error) {
	var release []string
	for _, r := range opts.ReleaseHolds {
		h, err := parseLegalHold(strings.Join(strings.Fields(r), " "))
		if err != nil {
			return nil, fmt.Errorf("auditlog: release of legal hold %q: %w", truncate(r, 60), err)
		}
		release = append(release, h.key())
	}
	now := time.Now().UTC()
	plans := make([]holdPlan, len(names))
	recorded := make([][]SeenHold, len(names))
	for i, name := range names {
		chainDir := filepath.Join(dir, name)
		m, err := ReadPruneMarker(chainDir)
		if err != nil {
			return nil, fmt.Errorf("auditlog: chain %s: %w", name, err)
		}
		rec, err := readHoldRecord(chainDir, opts.Signer)
		if err != nil {
			return nil, fmt.Errorf("auditlog: chain %s: %w", name, err)
		}
		p := &plans[i]
		p.inForce, p.time = inForce[i], now
		switch {
		case rec != nil && (m == nil || rec.Run >= m.Run):
			recorded[i], p.run = rec.Holds, rec.Run
			// Releases a marker states are on record for good (prunes/
			// keeps every marker); the others are carried forward.
			for _, r := range rec.Releases {
				if m == nil || !slices.ContainsFunc(m.Releases, r.equal) {
					p.releases = append(p.releases, r)
				}
			}
		case m != nil && m.Run > 0:
			// No record, or one older than the marker (rolled back):
			// the signed marker's holds stand. Verify reports either.
			recorded[i], p.run = m.Holds, m.Run
		}
		p.run++
	}
	// A release must name a hold that was recorded and is gone: a typo
	// must not be signed as a release, and a hold still in a file is
	// released by removing its line, so the file never contradicts the
	// record.
	for _, r := range release {
		found := false
		for i := range names {
			if h := heldAs(inForce[i], r); h != nil {
				return nil, fmt.Errorf("auditlog: release of legal hold %q: it is still in %s: remove the line first", r, filepath.Join(dir, h.File))
			}
			found = found || heldAs(recorded[i], r) != nil
		}
		if !found {
			return nil, fmt.Errorf("auditlog: release of legal hold %q: no earlier prune recorded it (chains: %s)", r, strings.Join(names, ", "))
		}
	}
	var gone, flags []string
	for i, name := range names {
		p := &plans[i]
		for _, h := range recorded[i] {
			switch {
			case heldAs(p.inForce, h.Hold) != nil:
			case slices.Contains(release, h.Hold):
				rel := HoldRelease{Time: now, File: h.File, Hold: h.Hold}
				p.released = append(p.released, rel)
				p.releases = append(p.releases, rel)
			default:
				gone = append(gone, fmt.Sprintf("legal hold %q of chain %s, recorded by prune run %d as seen in %s, is in no legal_hold file", h.Hold, name, p.run-1, filepath.Join(dir, h.File)))
				if f := "--release-hold '" + h.Hold + "'"; !slices.Contains(flags, f) {
					flags = append(flags, f)
				}
			}
		}
		if p.released == nil {
			p.released = []HoldRelease{}
		}
	}
	if gone != nil {
		return nil, fmt.Errorf("auditlog: %w: %s: nothing removed; restore the line, or let go of the hold (otelaudit prune %s)", ErrLegalHoldRemoved, strings.Join(gone, "; "), strings.Join(flags, " "))
	}
	return plans, nil
}

// heldAs returns the first of holds that is hold, or nil.
func heldAs(holds []SeenHold, hold string) *SeenHold {
	for i := range holds {
		if holds[i].Hold == hold {
			return &holds[i]
		}
	}
	return nil
}

func (r HoldRelease) equal(o HoldRelease) bool {
	return r.Time.Equal(o.Time) && r.File == o.File && r.Hold == o.Hold
}
