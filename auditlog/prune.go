package auditlog

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// PruneOptions configures Prune.
type PruneOptions struct {
	// Now is the time records' retain_until is compared with. Default
	// time.Now().
	Now time.Time
	// DryRun reports what would be removed and changes nothing.
	DryRun bool
	// Signer signs the prune markers and legal_hold.seen. Required
	// unless DryRun. The chain's latest marker and legal_hold.seen are
	// trusted when signed by it (or by Verifiers); else the prune stops.
	Signer note.Signer
	// Verifiers, optional, are keys whose signature on a chain's latest
	// prune marker or legal_hold.seen is trusted as the Signer's is: an
	// earlier key after a rotation. A dry run without Signer checks
	// signatures with them only; with neither it checks none and says so
	// (ChainPrune.SignaturesChecked).
	Verifiers note.Verifiers
	// AcceptLostHoldRecord lets a prune go on when a chain's
	// legal_hold.seen is missing or older than its v2 prune marker (which
	// shows a prune wrote a later one): the holds the marker states are
	// then the record, and the acceptance is signed, with the time, into
	// the new legal_hold.seen and the next prune marker. Without it such a
	// chain stops the prune: holds recorded after the marker would be
	// lost.
	AcceptLostHoldRecord bool
	// Chains limits pruning to the named chains. Default: all.
	Chains []string
	// Logger receives one line per removed segment. Default: none.
	Logger *zap.Logger
	// ReleaseHolds are legal holds ("subject patient/P-7", in any form a
	// legal_hold line takes) that an earlier prune recorded, that are in
	// no legal_hold file any more, and that this prune may let go of.
	// Without a release such a hold stops the prune (ErrLegalHoldRemoved);
	// with one, the release is recorded, with the time, in the chain's
	// legal_hold.seen and its next prune marker. A release of a hold that
	// is still in a legal_hold file, or that no prune recorded for the
	// chains pruned, is an error.
	ReleaseHolds []string
	_            struct{}
}

// ErrLegalHoldRemoved is wrapped by Prune's error when a legal hold that
// an earlier prune recorded is in no legal_hold file any more and was not
// released (PruneOptions.ReleaseHolds): nothing was removed.
var ErrLegalHoldRemoved = errors.New("legal hold removed")

// ChainPrune is what Prune did (or would do) to one chain.
type ChainPrune struct {
	Chain string `json:"chain"`
	// Segments are the removed (or removable) segment files; empty, not
	// nil, when there are none.
	Segments []string `json:"segments"`
	Records  uint64   `json:"records"`
	// Cut is the first seq kept after the prune.
	Cut uint64 `json:"cut"`
	// StoppedAt says why the next segment was kept: "not expired",
	// "legal hold: ...", "active segment".
	StoppedAt string `json:"stopped_at"`
	// LegalHolds are the holds in force for the chain (from the store's
	// legal_hold and the chain's), normalised; empty, not nil, when none.
	LegalHolds []SeenHold `json:"legal_holds"`
	// Released are the holds this prune let go of (ReleaseHolds).
	Released []HoldRelease `json:"released_holds"`
	// SignaturesChecked says that the signatures of the chain's
	// legal_hold.seen and prune marker were checked; false only in a dry
	// run with neither Signer nor Verifiers, whose recorded holds are
	// then as the files say, which may be forged.
	SignaturesChecked bool `json:"signatures_checked"`
	// LostHoldRecord is the loss this prune accepted
	// (AcceptLostHoldRecord), if any.
	LostHoldRecord *HoldRecordLoss `json:"lost_hold_record,omitempty"`
}

// Prune enforces retention on the store in dir. In each chain it removes
// the longest run of sealed segments, from the oldest, whose every record
// has retain_until before opts.Now and matches no legal hold; the active
// (last) segment is never removed. Before removing anything it writes a
// signed prune marker (file "prune", history in "prunes/") holding the new
// cut, the hash of the last removed record and the Merkle frontier there,
// so that Verify still checks the rest of the chain and its checkpoints,
// and can tell a prune from a deleted segment. The segments removed are
// checked first (hash chain and seal), so a tampered segment is reported,
// not silently removed.
//
// Legal holds are lines in the file "legal_hold" at the store root (all
// chains) or in a chain directory: "*" holds everything; "subject
// TYPE/ID", "conversation ID" and "user ID" hold every segment with a
// matching record, "subject TYPE/*" every segment with a subject of that
// type; "#" starts a comment. A line of any other form is an error, as is
// a '*' anywhere else: a hold that matched nothing would let what it was
// written for be pruned. Every hold file that applies is read before
// anything is removed.
//
// Holds are sticky: every prune but a dry run writes the holds in force
// for each chain to the chain's signed legal_hold.seen, and states them in
// any prune marker it writes. A hold so recorded that is in no legal_hold
// file at the next prune stops that prune before it removes anything, in
// any chain (the error wraps ErrLegalHoldRemoved), unless it is named in
// opts.ReleaseHolds. The record and the latest prune marker are trusted
// only when signed by opts.Signer or a key of opts.Verifiers, the record
// only when it names this chain and its id. A v2 marker shows that a
// record of its run or later was written: without one, or with an older
// one, the prune stops unless opts.AcceptLostHoldRecord. A store with
// neither record nor v2 marker (no prune of this version has pruned it)
// prunes as before.
//
// dir must be a store (see Chains), and every name in opts.Chains one of
// its chains. Prune may run while a Store is writing; two Prunes of one
// store, and a Prune and the readers that hold HoldPrunes (Verify among
// them), wait for each other. A dry run creates no file: it holds the
// prune lock as a reader does, so it waits for a prune in progress and
// holds off a new one, except on a store that no writer or prune of this
// version has opened, which has no lock file yet; a prune started there
// at the same moment may remove segments the dry run is reading, and the
// dry run then fails.
func Prune(dir string, opts PruneOptions) ([]ChainPrune, error) {
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Signer == nil && !opts.DryRun {
		return nil, errors.New("auditlog: prune needs a signer for its markers")
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	names, err := Chains(dir)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	if names, err = selectChains(dir, names, opts.Chains); err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	release, err := lockPrunes(dir, opts.DryRun)
	if err != nil {
		return nil, err
	}
	defer release()
	// Every hold file is read before anything is removed: a bad line in
	// the last chain's stops the prune of the first too.
	storeHolds, err := readLegalHolds(filepath.Join(dir, legalHoldFile))
	if err != nil {
		return nil, err
	}
	holds := make([][]legalHold, len(names))
	inForce := make([][]SeenHold, len(names))
	for i, name := range names {
		file := name + "/" + legalHoldFile
		h, err := readLegalHolds(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		holds[i] = append(h, storeHolds...)
		inForce[i] = seenHolds(seenHolds(nil, file, h), legalHoldFile, storeHolds)
	}
	// So is every chain's record of the holds earlier prunes saw: a hold
	// gone from the last chain's stops the prune of the first too.
	plans, err := planHolds(dir, names, inForce, &opts)
	if err != nil {
		return nil, err
	}
	if err := checkHoldNotes(names, plans); err != nil {
		return nil, err
	}
	out := make([]ChainPrune, 0, len(names))
	for i, name := range names {
		chainDir := filepath.Join(dir, name)
		if !opts.DryRun {
			if err := plans[i].write(chainDir, name, opts.Signer); err != nil {
				return out, fmt.Errorf("auditlog: chain %s: %w", name, err)
			}
		}
		cp, err := pruneChain(chainDir, name, holds[i], &plans[i], &opts)
		if err != nil {
			return out, fmt.Errorf("auditlog: chain %s: %w", name, err)
		}
		cp.LegalHolds, cp.Released = plans[i].inForce, plans[i].released
		cp.SignaturesChecked, cp.LostHoldRecord = !plans[i].unchecked, plans[i].lost
		out = append(out, cp)
	}
	return out, nil
}

// lockPrunes takes the prune lock of the store in dir: exclusively,
// creating its file, for a prune; shared and only where the file exists,
// as HoldPrunes does, for a dry run, which must change nothing.
func lockPrunes(dir string, dryRun bool) (release func(), err error) {
	if dryRun {
		return HoldPrunes(dir)
	}
	// Readers that list segments and then read them hold this lock shared
	// (HoldPrunes), and so does another prune, exclusively: each is
	// waited for.
	lock, err := os.OpenFile(filepath.Join(dir, pruneLockFile), os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	if err := lockWait(lock, false); err != nil {
		lock.Close()
		return nil, fmt.Errorf("auditlog: locking %s against readers and other prunes: %w", dir, err)
	}
	return func() { lock.Close() }, nil
}

// pruneChain prunes the chain in dir under holds: the chain's and the
// store's.
func pruneChain(dir, name string, holds []legalHold, plan *holdPlan, opts *PruneOptions) (ChainPrune, error) {
	res := ChainPrune{Chain: name, Segments: []string{}}
	var front frontier
	prev := ZeroHash
	var id string
	// The marker planHolds read and checked: the cut and hashes the
	// prune goes on from must be signed.
	if m := plan.marker; m != nil {
		front = frontier{n: int64(m.Cut), hashes: m.Frontier}
		prev, id = m.LastHash, m.Chain
	}
	res.Cut = uint64(front.n)
	segs, err := listSegments(dir)
	if err != nil {
		return res, err
	}
	var (
		prunable []string
		hasher   recordHasher
		canon    []byte
		stored   []tlog.Hash
	)
	for i, seg := range segs {
		first, ok := parseSegmentName(seg)
		if !ok {
			res.StoppedAt = "segment " + seg + " has a malformed name"
			break
		}
		if first < uint64(front.n) {
			prunable = append(prunable, seg) // left over by an interrupted prune
			continue
		}
		if i == len(segs)-1 {
			res.StoppedAt = "active segment"
			break
		}
		msg, err := os.ReadFile(filepath.Join(dir, sealName(seg)))
		if err != nil {
			res.StoppedAt = "segment " + seg + " is not sealed"
			break
		}
		text, err := noteText(msg)
		if err != nil {
			return res, err
		}
		seal, err := ParseSeal(text)
		if err != nil {
			return res, err
		}
		f := front.clone()
		p, cid := prev, id
		stop := ""
		var records uint64
		err = ReadSegmentFile(filepath.Join(dir, seg), func(r *Record, _ []byte) error {
			if cid == "" {
				cid = r.ChainID
			}
			// One encoding gives both digests: the record hash to check
			// and the Merkle leaf.
			canon = r.AppendCanonical(canon[:0], false)
			leaf := hasher.hash(canon, nil)
			switch {
			case r.ChainID != cid || int64(r.Seq) != f.n || r.PrevHash != p || !hasher.matches(r.Hash):
				return fmt.Errorf("segment %s fails verification at seq %d: run otelaudit verify", seg, f.n)
			case stop == "":
				// Times are compared parsed, never as text: a year
				// past 9999 or a negative one sorts before today's.
				if until, problem := retainedUntil(r); problem != "" {
					stop = fmt.Sprintf("kept, retention tag unusable: seq %d: %s", r.Seq, problem)
					opts.Logger.Warn("prune keeps a record whose retention tag it cannot use", zap.String("chain", name), zap.String("segment", seg), zap.Uint64("seq", r.Seq), zap.String("problem", problem))
				} else if !until.Before(opts.Now) {
					stop = fmt.Sprintf("not expired: seq %d retained until %q", r.Seq, r.Retention.RetainUntil)
				}
			}
			for _, h := range holds {
				if stop == "" && h.matches(r) {
					stop = fmt.Sprintf("legal hold %q: seq %d", h.String(), r.Seq)
				}
			}
			stored = f.push(leaf, stored[:0])
			p = r.Hash
			records++
			return nil
		})
		if err != nil {
			return res, err
		}
		if seal.LastHash != p || seal.FirstSeq+seal.Count != uint64(f.n) {
			return res, fmt.Errorf("segment %s does not match its seal: run otelaudit verify", seg)
		}
		if stop != "" {
			res.StoppedAt = seg + ": " + stop
			break
		}
		front, prev, id = f, p, cid
		prunable = append(prunable, seg)
		res.Records += records
	}
	if prunable != nil {
		res.Segments = prunable
	}
	res.Cut = uint64(front.n)
	if len(prunable) == 0 || opts.DryRun {
		return res, nil
	}
	var removed []string
	for _, s := range prunable {
		if first, _ := parseSegmentName(s); first >= uint64(res.Cut) {
			continue
		}
		removed = append(removed, s)
	}
	marker := PruneMarker{Chain: id, Cut: res.Cut, LastHash: prev, Root: front.root(), Frontier: front.hashes, Segments: removed, Time: opts.Now,
		Run: plan.run, Holds: plan.inForce, Releases: plan.releases, Losses: plan.losses}
	if err := checkHoldNoteText("prune marker", marker.Text(), len(marker.Holds), len(marker.Releases)); err != nil {
		return res, fmt.Errorf("%w: none of its segments removed", err)
	}
	msg, err := note.Sign(&note.Note{Text: string(marker.Text())}, opts.Signer)
	if err != nil {
		return res, err
	}
	if err := mkdirSynced(filepath.Join(dir, prunesDir)); err != nil {
		return res, err
	}
	if err := writeFileAtomic(filepath.Join(dir, prunesDir, historyName(res.Cut)), msg); err != nil {
		return res, err
	}
	if err := writeFileAtomic(filepath.Join(dir, PruneFile), msg); err != nil {
		return res, err
	}
	for _, s := range removed {
		for _, f := range []string{s, sealName(s), summaryName(s)} {
			if err := os.Remove(filepath.Join(dir, f)); err != nil && !os.IsNotExist(err) {
				return res, err
			}
		}
		opts.Logger.Info("pruned segment", zap.String("chain", name), zap.String("segment", s))
	}
	return res, syncDir(dir)
}
