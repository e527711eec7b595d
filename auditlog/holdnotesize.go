package auditlog

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// maxHoldNoteText is the largest note text prune signs into a
// legal_hold.seen or a prune marker: what their readers accept
// (MaxPruneMarkerBytes, the whole signed file) less room for the signature
// lines, a few hundred bytes each, for which a checkpoint's whole cap is
// plenty.
const maxHoldNoteText = MaxPruneMarkerBytes - MaxNoteBytes

// checkHoldNotes refuses, before prune writes anything in any chain, a
// plan whose legal_hold.seen or prune marker would be larger than their
// readers accept. Every hold in force for a chain, the store's included,
// is a line of both files (600,000 short holds made 18.6 MB of each):
// written, every later prune and verify refused them. The marker is
// measured without the chain id and segment names pruneChain has yet to
// read; checkHoldNoteText checks its whole text again before it is
// signed.
func checkHoldNotes(names []string, plans []holdPlan) error {
	for i, name := range names {
		p := &plans[i]
		seen := LegalHoldRecord{Chain: name, Run: p.run, Time: p.time, Holds: p.inForce, Releases: p.releases}
		// The largest frontier: one hash per bit of the cut.
		marker := PruneMarker{Run: p.run, Time: p.time, Frontier: make([]tlog.Hash, 64), Holds: p.inForce, Releases: p.releases}
		err := checkHoldNoteText(LegalHoldSeenFile, seen.Text(), len(p.inForce), len(p.releases))
		if err == nil {
			err = checkHoldNoteText("prune marker", marker.Text(), len(p.inForce), len(p.releases))
		}
		if err != nil {
			return fmt.Errorf("auditlog: chain %s: %w: nothing written or removed in any chain; hold as much with fewer lines (subject TYPE/*, or *)", name, err)
		}
	}
	return nil
}

// checkHoldNoteText refuses the text of a legal_hold.seen or a prune
// marker (file) if it is over maxHoldNoteText.
func checkHoldNoteText(file string, text []byte, holds, releases int) error {
	if len(text) <= maxHoldNoteText {
		return nil
	}
	return fmt.Errorf("its %s would have %d bytes of text (%d legal holds, %d releases), more than the %d its readers accept (%d bytes less %d for signatures)",
		file, len(text), holds, releases, maxHoldNoteText, MaxPruneMarkerBytes, MaxNoteBytes)
}
