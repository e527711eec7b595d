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

const (
	holdRecordHeaderV1 = "otelaudit legal holds v1"
	// holdRecordHeader adds the chain id: the chain's directory name is
	// the same in every store of one deployment, so a record copied from
	// another store signed by the same key must be told apart by the id.
	holdRecordHeader = "otelaudit legal holds v2"
)

// maxRun bounds a prune run number. A prune adds one to the latest run,
// so a forged number near 2^64 would wrap to 0; no store prunes 2^40
// times.
const maxRun = 1 << 40

// parseRun parses a run number: positive and at most maxRun.
func parseRun(s string) (uint64, error) {
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n == 0 || n > maxRun {
		return 0, fmt.Errorf("run %q is not a number from 1 to %d", truncate(s, 24), uint64(maxRun))
	}
	return n, nil
}

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
	// ChainID is the chain's id (origin/name, as its records, checkpoints
	// and prune markers name it): a record copied from another store
	// signed by the same key does not pass for this one's. Empty in a v1
	// record, and when the chain had neither record nor prune marker.
	ChainID string
	// Run numbers the prunes that recorded holds for the chain, from 1;
	// the prune marker written in the same run carries the same number,
	// so a record older than the latest marker is evident.
	Run      uint64
	Time     time.Time
	Holds    []SeenHold
	Releases []HoldRelease
	// Losses are the prunes that went on without this record
	// (PruneOptions.AcceptLostHoldRecord) that no prune marker states yet.
	Losses []HoldRecordLoss
}

// HoldRecordLoss is a prune's signed statement that it found the chain's
// legal_hold.seen missing, or older than the prune marker, and was told to
// go on from the holds the marker of run Run states. Found is the run of
// the record it found, 0 when there was none.
type HoldRecordLoss struct {
	Time  time.Time `json:"time"`
	Run   uint64    `json:"run"`
	Found uint64    `json:"found"`
}

func (l HoldRecordLoss) equal(o HoldRecordLoss) bool {
	return l.Time.Equal(o.Time) && l.Run == o.Run && l.Found == o.Found
}

// Text returns the record's note text.
func (r LegalHoldRecord) Text() []byte {
	b := fmt.Appendf(nil, "%s\nchain %s\nchain_id %s\nrun %d\ntime %s\n", holdRecordHeader, r.Chain, r.ChainID, r.Run, r.Time.UTC().Format(time.RFC3339Nano))
	return appendHoldLines(b, r.Holds, r.Releases, r.Losses)
}

// appendHoldLines appends the lines a hold record and a v2 prune marker
// share: "holds N", then one "hold FILE HOLD" per hold, one "release
// TIME FILE HOLD" per release and one "lost_record TIME RUN FOUND" per
// loss.
func appendHoldLines(b []byte, holds []SeenHold, releases []HoldRelease, losses []HoldRecordLoss) []byte {
	b = fmt.Appendf(b, "holds %d\n", len(holds))
	for _, h := range holds {
		b = fmt.Appendf(b, "hold %s %s\n", h.File, h.Hold)
	}
	for _, r := range releases {
		b = fmt.Appendf(b, "release %s %s %s\n", r.Time.UTC().Format(time.RFC3339Nano), r.File, r.Hold)
	}
	for _, l := range losses {
		b = fmt.Appendf(b, "lost_record %s %d %d\n", l.Time.UTC().Format(time.RFC3339Nano), l.Run, l.Found)
	}
	return b
}

// splitHoldLines takes the "hold" and "release" lines out of a note text
// and parses them, returning the other lines for parseKV.
func splitHoldLines(text string) (rest string, holds []SeenHold, releases []HoldRelease, losses []HoldRecordLoss, err error) {
	lines := strings.SplitAfter(text, "\n")
	var kept strings.Builder
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, "hold "):
			h, err := parseSeenHold(strings.TrimSuffix(strings.TrimPrefix(l, "hold "), "\n"))
			if err != nil {
				return "", nil, nil, nil, err
			}
			holds = append(holds, h)
		case strings.HasPrefix(l, "release "):
			ts, hold, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(l, "release "), "\n"), " ")
			t, err := time.Parse(time.RFC3339Nano, ts)
			if err != nil {
				return "", nil, nil, nil, fmt.Errorf("release time: %w", err)
			}
			h, err := parseSeenHold(hold)
			if err != nil {
				return "", nil, nil, nil, err
			}
			releases = append(releases, HoldRelease{Time: t, File: h.File, Hold: h.Hold})
		case strings.HasPrefix(l, "lost_record "):
			l, err := parseLoss(strings.TrimSuffix(strings.TrimPrefix(l, "lost_record "), "\n"))
			if err != nil {
				return "", nil, nil, nil, err
			}
			losses = append(losses, l)
		default:
			kept.WriteString(l)
		}
	}
	return kept.String(), holds, releases, losses, nil
}

// parseLoss parses "TIME RUN FOUND" of a lost_record line.
func parseLoss(s string) (HoldRecordLoss, error) {
	f := strings.Split(s, " ")
	if len(f) != 3 {
		return HoldRecordLoss{}, fmt.Errorf("lost_record %q is not TIME RUN FOUND", truncate(s, 60))
	}
	var l HoldRecordLoss
	var err error
	if l.Time, err = time.Parse(time.RFC3339Nano, f[0]); err != nil {
		return HoldRecordLoss{}, fmt.Errorf("lost_record time: %w", err)
	}
	if l.Run, err = parseRun(f[1]); err != nil {
		return HoldRecordLoss{}, fmt.Errorf("lost_record %w", err)
	}
	if l.Found, err = strconv.ParseUint(f[2], 10, 64); err != nil || l.Found >= l.Run {
		return HoldRecordLoss{}, fmt.Errorf("lost_record found run %q is not below run %d", truncate(f[2], 24), l.Run)
	}
	return l, nil
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

// ParseLegalHoldRecord parses the note text of a legal_hold.seen file, v1
// (written the day sticky holds landed, without the chain id) or v2.
func ParseLegalHoldRecord(text []byte) (LegalHoldRecord, error) {
	rest, holds, releases, losses, err := splitHoldLines(string(text))
	if err != nil {
		return LegalHoldRecord{}, fmt.Errorf("legal hold record %w", err)
	}
	header, keys := holdRecordHeader, []string{"chain", "chain_id", "run", "time", "holds"}
	if strings.HasPrefix(rest, holdRecordHeaderV1+"\n") {
		header, keys = holdRecordHeaderV1, []string{"chain", "run", "time", "holds"}
	}
	kv, err := parseKV(rest, header, keys...)
	if err != nil {
		return LegalHoldRecord{}, fmt.Errorf("legal hold record %w", err)
	}
	r := LegalHoldRecord{Chain: kv["chain"], ChainID: kv["chain_id"], Holds: holds, Releases: releases, Losses: losses}
	if r.Run, err = parseRun(kv["run"]); err != nil {
		return LegalHoldRecord{}, fmt.Errorf("legal hold record %w", err)
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

// errUnchecked is returned by trustedText when it has neither a signer
// nor verifiers to check a signature with: only a dry run goes on, and
// says so (ChainPrune.SignaturesChecked).
var errUnchecked = errors.New("signature not checked")

// trustedText returns the text of the signed note msg, read from path,
// when it is signed by the prune's own key or by a key of verifiers (an
// earlier key, after a rotation). The signer needs no verifier: Ed25519
// signatures are deterministic, so the note is the signer's when signing
// its text again gives msg. A note that is neither is an error: read
// unchecked, a forged marker or record could drop the holds they exist to
// keep. With neither signer nor verifiers it returns the text and
// errUnchecked.
func trustedText(path string, msg []byte, signer note.Signer, verifiers note.Verifiers) ([]byte, error) {
	text, err := noteText(msg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if signer != nil {
		again, err := note.Sign(&note.Note{Text: string(text)}, signer)
		if err != nil {
			return nil, err
		}
		if slices.Equal(again, msg) {
			return text, nil
		}
	}
	var why string
	if verifiers != nil {
		n, err := note.Open(msg, verifiers)
		if err == nil {
			return []byte(n.Text), nil
		}
		why = " (" + err.Error() + ")"
	}
	switch {
	case signer != nil:
		return nil, fmt.Errorf("%s is not signed by this signer (%s) or a --verifier key%s: forged, or signed by an earlier key (give its verifier with --verifier); check it with otelaudit verify", path, signer.Name(), why)
	case verifiers != nil:
		return nil, fmt.Errorf("%s is not signed by a --verifier key%s: forged, or signed by a key not given; check it with otelaudit verify", path, why)
	}
	return text, errUnchecked
}

// readHoldRecord reads the chain's legal_hold.seen, checked by
// trustedText, or returns nil when there is none. A record of another
// chain (its name or, when both are known, its id) is an error: copied
// there, it would stand for holds this chain never had. unchecked says
// that nothing could check the signature.
func readHoldRecord(chainDir, name, id string, opts *PruneOptions) (rec *LegalHoldRecord, unchecked bool, err error) {
	path := filepath.Join(chainDir, LegalHoldSeenFile)
	text, unchecked, err := readTrustedNote(path, opts)
	if text == nil || err != nil {
		return nil, false, err
	}
	r, err := ParseLegalHoldRecord(text)
	switch {
	case err != nil:
		return nil, false, fmt.Errorf("%s: %w", path, err)
	case r.Chain != name:
		return nil, false, fmt.Errorf("%s is the record of chain %q, not %q: copied from another chain; check it with otelaudit verify", path, truncate(r.Chain, 60), name)
	case r.ChainID != "" && id != "" && r.ChainID != id:
		return nil, false, fmt.Errorf("%s is the record of chain id %q, not %q: copied from another store; check it with otelaudit verify", path, truncate(r.ChainID, 100), id)
	}
	return &r, unchecked, nil
}

// readMarker reads the chain's latest prune marker, checked by
// trustedText, or returns nil when the chain was never pruned. Its run
// says whether the record may be missing, its holds stand when the loss
// of the record is accepted, and its cut and hashes are where the prune
// goes on from: a forged one must not be trusted for any of these.
func readMarker(chainDir string, opts *PruneOptions) (m *PruneMarker, unchecked bool, err error) {
	path := filepath.Join(chainDir, PruneFile)
	text, unchecked, err := readTrustedNote(path, opts)
	if text == nil || err != nil {
		return nil, false, err
	}
	pm, err := ParsePruneMarker(text)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	return &pm, unchecked, nil
}

// readTrustedNote reads the signed note at path, a legal_hold.seen or a
// prune marker, and returns its text checked by trustedText; nil, and no
// error, when there is no such file. unchecked says that no key could
// check the signature (a dry run without keys).
func readTrustedNote(path string, opts *PruneOptions) (text []byte, unchecked bool, err error) {
	msg, err := ReadStoreFile(path, MaxPruneMarkerBytes)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	text, err = trustedText(path, msg, opts.Signer, opts.Verifiers)
	unchecked = errors.Is(err, errUnchecked)
	if err != nil && !unchecked {
		return nil, false, err
	}
	return text, unchecked, nil
}

// checkCut checks that the chain goes on at the marker's cut (0 without
// a marker): a first segment past it means the marker is older than the
// records left (put back from prunes/) or records were removed. The prune
// reads the segments it removes and would stop at such a gap, but not the
// active one: with only that left, it reported the old cut as the first
// seq kept. Checked before anything is written.
func checkCut(chainDir string, m *PruneMarker) error {
	var cut uint64
	if m != nil {
		cut = m.Cut
	}
	segs, err := listSegments(chainDir)
	if err != nil {
		return err
	}
	for _, seg := range segs {
		first, ok := parseSegmentName(seg)
		switch {
		case !ok:
			return nil // the prune stops at a segment named oddly
		case first < cut:
			continue // left over by an interrupted prune
		case first != cut:
			return fmt.Errorf("segment %s starts at seq %d, but the chain is kept from seq %d (prune marker or start): a rolled-back prune marker, or records removed; nothing removed; run otelaudit verify", seg, first, cut)
		}
		return nil
	}
	return nil
}

// errFound stops a segment read at its first record.
var errFound = errors.New("found")

// chainIDOf returns the chain's id: the prune marker's, else its first
// record's, else "" (a chain with no record yet, or whose first line
// cannot be read). An unreadable first line only skips the record's id
// check: the prune reads every segment it removes and stops at a bad one,
// and a torn line in an active segment left by a crash must not stop a
// prune that removes nothing there.
func chainIDOf(chainDir string, m *PruneMarker) (string, error) {
	if m != nil {
		return m.Chain, nil
	}
	segs, err := listSegments(chainDir)
	if err != nil {
		return "", err
	}
	for _, seg := range segs {
		var id string
		err := ReadSegmentFile(filepath.Join(chainDir, seg), func(r *Record, _ []byte) error {
			id = r.ChainID
			return errFound
		})
		if err != nil && !errors.Is(err, errFound) {
			return "", nil
		}
		if id != "" {
			return id, nil
		}
	}
	return "", nil
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
	// id is the chain's id, "" for a chain with no record yet.
	id string
	// marker is the chain's latest prune marker, checked, or nil.
	marker *PruneMarker
	// unchecked says that no signature of the chain's record and marker
	// could be checked (a dry run with neither signer nor verifiers).
	unchecked bool
	// inForce are the holds in the legal_hold files now.
	inForce []SeenHold
	// releases are the releases to record: those an earlier run made
	// that no prune marker states yet, and released.
	releases []HoldRelease
	// released are this run's releases.
	released []HoldRelease
	// losses are the losses to record, as releases are.
	losses []HoldRecordLoss
	// lost is this run's loss, if the record was missing or rolled back
	// and opts.AcceptLostHoldRecord let it go on.
	lost *HoldRecordLoss
}

// write signs the plan as the chain's legal_hold.seen, atomically: a
// crash leaves the old record or the new one. It is written before the
// prune marker of the same run, so that a marker of run N means a record
// of run N or later was written.
func (p *holdPlan) write(chainDir, name string, signer note.Signer) error {
	r := LegalHoldRecord{Chain: name, ChainID: p.id, Run: p.run, Time: p.time, Holds: p.inForce, Releases: p.releases, Losses: p.losses}
	msg, err := note.Sign(&note.Note{Text: string(r.Text())}, signer)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(chainDir, LegalHoldSeenFile), msg)
}

// planHolds compares, for each chain, the holds in force with those the
// latest record (legal_hold.seen) says an earlier prune saw, and applies
// opts.ReleaseHolds. A recorded hold in force in no legal_hold file and
// not released is an error wrapping ErrLegalHoldRemoved, naming every
// such hold and the file it was seen in; nothing has been removed by then.
//
// A v2 prune marker of run N means a record of run N or later was
// written: without one (removed) or with an older one (rolled back to an
// earlier signed copy), the prune stops unless
// opts.AcceptLostHoldRecord, and then goes on from the marker's holds and
// records that it did.
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
	// releasedBefore are the releases on record, per chain: a release
	// repeated (a script run again) is not an error.
	releasedBefore := make([][]HoldRelease, len(names))
	for i, name := range names {
		chainDir := filepath.Join(dir, name)
		p := &plans[i]
		p.inForce, p.time = inForce[i], now
		m, unchecked, err := readMarker(chainDir, opts)
		if err != nil {
			return nil, fmt.Errorf("auditlog: chain %s: %w", name, err)
		}
		p.marker, p.unchecked = m, unchecked
		if err := checkCut(chainDir, m); err != nil {
			return nil, fmt.Errorf("auditlog: chain %s: %w", name, err)
		}
		if p.id, err = chainIDOf(chainDir, m); err != nil {
			return nil, fmt.Errorf("auditlog: chain %s: %w", name, err)
		}
		rec, unchecked, err := readHoldRecord(chainDir, name, p.id, opts)
		if err != nil {
			return nil, fmt.Errorf("auditlog: chain %s: %w", name, err)
		}
		p.unchecked = p.unchecked || unchecked
		if m != nil {
			releasedBefore[i] = m.Releases
		}
		switch {
		case rec != nil && (m == nil || rec.Run >= m.Run):
			recorded[i], p.run = rec.Holds, rec.Run
			releasedBefore[i] = append(releasedBefore[i], rec.Releases...)
			// Releases and losses a marker states are on record for good
			// (prunes/ keeps every marker); the others are carried
			// forward.
			for _, r := range rec.Releases {
				if m == nil || !slices.ContainsFunc(m.Releases, r.equal) {
					p.releases = append(p.releases, r)
				}
			}
			for _, l := range rec.Losses {
				if m == nil || !slices.ContainsFunc(m.Losses, l.equal) {
					p.losses = append(p.losses, l)
				}
			}
		case m != nil && m.Run > 0:
			// The marker's run wrote a record of its run or later before
			// the marker: it was removed or rolled back, which verify
			// reports too. The marker's holds may be older than the
			// record's, so going on from them needs the operator's word,
			// which is recorded.
			found, what := uint64(0), "is missing"
			if rec != nil {
				found, what = rec.Run, fmt.Sprintf("is of run %d", rec.Run)
			}
			if !opts.AcceptLostHoldRecord {
				return nil, fmt.Errorf("auditlog: chain %s: %s %s, but the prune marker of run %d shows a prune wrote one of run %d or later: removed or rolled back, holds recorded since may be lost; nothing removed; restore it (a saved copy), or go on from the marker's holds with --accept-lost-hold-record (recorded)",
					name, filepath.Join(chainDir, LegalHoldSeenFile), what, m.Run, m.Run)
			}
			recorded[i], p.run = m.Holds, m.Run
			p.lost = &HoldRecordLoss{Time: now, Run: m.Run, Found: found}
			p.losses = append(p.losses, *p.lost)
		}
		p.run++
	}
	// A release must name a hold that was recorded and is gone: a typo
	// must not be signed as a release, and a hold still in a file is
	// released by removing its line, so the file never contradicts the
	// record. One released before and not recorded since is let be.
	for _, r := range release {
		found, before := false, false
		for i := range names {
			if h := heldAs(inForce[i], r); h != nil {
				return nil, fmt.Errorf("auditlog: release of legal hold %q: it is still in %s: remove the line first", r, filepath.Join(dir, h.File))
			}
			found = found || heldAs(recorded[i], r) != nil
			before = before || slices.ContainsFunc(releasedBefore[i], func(x HoldRelease) bool { return x.Hold == r })
		}
		if !found && !before {
			return nil, fmt.Errorf("auditlog: release of legal hold %q: no earlier prune recorded it (chains: %s)", r, strings.Join(names, ", "))
		}
	}
	var gone []string
	// flags are the --release-hold flags, per chain, that let go of the
	// gone holds.
	flags := make([][]string, len(names))
	split := false
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
				if f := "--release-hold '" + h.Hold + "'"; !slices.Contains(flags[i], f) {
					flags[i] = append(flags[i], f)
				}
				// A release of a hold still in another chain's file is
				// refused: that chain's prune must be left out of it.
				for j := range names {
					split = split || heldAs(inForce[j], h.Hold) != nil
				}
			}
		}
		if p.released == nil {
			p.released = []HoldRelease{}
		}
	}
	if gone != nil {
		return nil, fmt.Errorf("auditlog: %w: %s: nothing removed; restore the line, or let go of the hold (%s)", ErrLegalHoldRemoved, strings.Join(gone, "; "), releaseCommand(names, flags, split, opts.Chains))
	}
	return plans, nil
}

// releaseCommand returns the otelaudit prune command(s) that let go of the
// gone holds: one for the chains pruned, or one per chain (--chain) when
// a hold is still in force in a chain other than its own.
func releaseCommand(names []string, flags [][]string, split bool, chains []string) string {
	var cmds []string
	if !split {
		var all []string
		for _, f := range flags {
			for _, x := range f {
				if !slices.Contains(all, x) {
					all = append(all, x)
				}
			}
		}
		prefix := "otelaudit prune "
		if len(chains) == 1 {
			prefix += "--chain " + chains[0] + " "
		}
		return prefix + strings.Join(all, " ")
	}
	for i, name := range names {
		if len(flags[i]) > 0 {
			cmds = append(cmds, "otelaudit prune --chain "+name+" "+strings.Join(flags[i], " "))
		}
	}
	return strings.Join(cmds, ", then ")
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
