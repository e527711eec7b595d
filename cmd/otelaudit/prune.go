package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/otelaudit/otelaudit/auditlog"
)

var pruneCommand = command{
	name:    "prune",
	summary: "remove sealed segments past retention (run with --dry-run first)",
	run:     runPrune,
}

func runPrune(e *env, args []string) int {
	fs := flagSet(e, "prune", "--dir DIR --signer FILE [--verifier FILE]... [--dry-run] [--now TIME] [--chain NAME] [--release-hold HOLD]... [--accept-lost-hold-record] [--format text|json]",
		"Removes, per chain, the oldest sealed segments whose every record is past its\nretain_until and under no legal hold, leaving a signed prune marker so that the\nrest of the chain still verifies. Legal holds: lines \"*\", \"subject TYPE/ID\",\n\"subject TYPE/*\" (every subject of the type), \"conversation ID\" or \"user ID\" in\nDIR/legal_hold or DIR/CHAIN/legal_hold; IDs match exactly, and any other line is\nan error that stops the prune before it removes anything, as is a line that is\nnot UTF-8 or has a control character (holds are signed), a legal_hold that is\nnot a regular file (or a link to one) of at most 4 MiB, a link to a missing\nfile, or more holds than a signed record of 16 MiB can list.\n\nHolds are sticky: each prune (not a dry run) signs the holds in force into\nDIR/CHAIN/legal_hold.seen and into any prune marker it writes. A hold an earlier\nprune recorded that is in no legal_hold file now stops the prune (exit 2, naming\nthe hold and its file; nothing removed) until its line is restored or it is let\ngo of with --release-hold, which is signed into the record with the time.\n\nThe record and the chain's latest prune marker are trusted only when signed by\nthe --signer key or a --verifier key (an earlier key, after a rotation), and the\nrecord only when it names this chain and its chain id: anything else stops the\nprune (exit 2). A marker shows that its prune wrote a record; if the record is\nthen missing or older than the marker, the prune stops too, unless\n--accept-lost-hold-record, which goes on from the holds the marker states and\nsigns that acceptance, with the time, into the new record and marker. A dry run\nwithout --signer checks signatures only with --verifier; with neither it says\nthat it checked none.")
	dir := dirFlag(fs)
	signer := signerFlag(fs)
	dryRun := fs.Bool("dry-run", false, "report what would be removed; change nothing and create no file (it waits for a prune in progress)")
	nowFlag := fs.String("now", "", "compare retain_until with this time (RFC 3339 or YYYY-MM-DD) instead of the current time; a later one only with --dry-run")
	chain := fs.String("chain", "", "prune only this chain (a name the store lacks is an error)")
	var release listFlag
	fs.Var(&release, "release-hold", "let go of a legal hold an earlier prune recorded and whose line was removed from legal_hold, e.g. 'subject patient/P-7' (repeatable; a hold still in a legal_hold file is an error)")
	var verifiers listFlag
	fs.Var(&verifiers, "verifier", "file with note verifier key(s), one per line, whose signatures on legal_hold.seen and the prune marker are trusted as the signer's (an earlier key after a rotation; repeatable); lets a dry run without --signer check them")
	acceptLost := fs.Bool("accept-lost-hold-record", false, "go on when a chain's legal_hold.seen is missing or older than its prune marker, from the holds the marker states (holds recorded after it are lost); the acceptance is signed into the new record and marker")
	format := formatFlag(fs, "text", "json")
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := required("dir", *dir); err != nil {
		return fail(e, "prune", "%v", err)
	}
	if err := checkFormat(*format, "text", "json"); err != nil {
		return fail(e, "prune", "%v", err)
	}
	clock := time.Now()
	opts := auditlog.PruneOptions{DryRun: *dryRun, Now: clock, ReleaseHolds: release, AcceptLostHoldRecord: *acceptLost}
	if *nowFlag != "" {
		t, err := parseTime(*nowFlag)
		if err != nil {
			return fail(e, "prune", "--now: %v", err)
		}
		// A prune cannot be undone: a date typed wrong must not remove
		// records before their retain_until.
		if t.After(clock) && !*dryRun {
			return fail(e, "prune", "--now %s is later than the clock (%s): a prune removes only what has expired; use --dry-run to see what that date would remove",
				t.UTC().Format(time.RFC3339), clock.UTC().Format(time.RFC3339))
		}
		opts.Now = t
	}
	if *chain != "" {
		opts.Chains = []string{*chain}
	}
	if !*dryRun {
		if err := required("signer", *signer); err != nil {
			return fail(e, "prune", "%v (or use --dry-run)", err)
		}
	}
	var keys []note.Verifier
	if *signer != "" {
		s, v, err := loadSignerKey(*signer)
		if err != nil {
			return fail(e, "prune", "%v", err)
		}
		opts.Signer, keys = s, append(keys, v)
	}
	for _, f := range verifiers {
		list, err := loadVerifierList(f)
		if err != nil {
			return fail(e, "prune", "--verifier: %v", err)
		}
		for _, v := range list {
			// The same key twice (the signer's own given as a verifier
			// too) would make note.Open call it ambiguous.
			if !slices.ContainsFunc(keys, func(k note.Verifier) bool { return k.Name() == v.Name() && k.KeyHash() == v.KeyHash() }) {
				keys = append(keys, v)
			}
		}
	}
	if keys != nil {
		opts.Verifiers = note.VerifierList(keys...)
	}
	res, err := auditlog.Prune(*dir, opts)
	if err != nil {
		return fail(e, "prune", "%v", err)
	}
	for _, c := range res {
		if !c.SignaturesChecked {
			// Without a key the recorded holds shown are what the files
			// say; a forged record would pass for one.
			fmt.Fprintf(e.stderr, "otelaudit prune: warning: dry run without --signer or --verifier: the signatures of legal_hold.seen and the prune markers were not checked, so the recorded holds it compared with may be forged; the prune itself checks them\n")
			break
		}
	}
	if *format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
		return exitOK
	}
	verb, releaseVerb := "removed", "released"
	if *dryRun {
		verb, releaseVerb = "would remove", "would release"
	}
	for _, c := range res {
		why := c.StoppedAt
		if why == "" {
			why = "no segment" // a chain with no segment left to consider
		}
		fmt.Fprintf(e.stdout, "chain %s: %s %d segments (%d records), first kept seq %d; kept: %s\n",
			c.Chain, verb, len(c.Segments), c.Records, c.Cut, why)
		if len(c.Segments) > 0 {
			fmt.Fprintf(e.stdout, "  %s\n", strings.Join(c.Segments, " "))
		}
		holds := make([]string, len(c.LegalHolds))
		for i, h := range c.LegalHolds {
			holds[i] = h.String()
		}
		if len(holds) == 0 {
			holds = []string{"none"}
		}
		fmt.Fprintf(e.stdout, "  legal holds: %s\n", strings.Join(holds, ", "))
		for _, r := range c.Released {
			fmt.Fprintf(e.stdout, "  %s legal hold %s (%s)\n", releaseVerb, r.Hold, r.File)
		}
		if l := c.LostHoldRecord; l != nil {
			fmt.Fprintf(e.stdout, "  accepted the loss of legal_hold.seen (found run %d, prune marker of run %d): went on from the marker's holds\n", l.Found, l.Run)
		}
	}
	return exitOK
}
