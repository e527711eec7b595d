package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

var pruneCommand = command{
	name:    "prune",
	summary: "remove sealed segments past retention (run with --dry-run first)",
	run:     runPrune,
}

func runPrune(e *env, args []string) int {
	fs := flagSet(e, "prune", "--dir DIR --signer FILE [--dry-run] [--now TIME] [--chain NAME] [--release-hold HOLD]... [--format text|json]",
		"Removes, per chain, the oldest sealed segments whose every record is past its\nretain_until and under no legal hold, leaving a signed prune marker so that the\nrest of the chain still verifies. Legal holds: lines \"*\", \"subject TYPE/ID\",\n\"subject TYPE/*\" (every subject of the type), \"conversation ID\" or \"user ID\" in\nDIR/legal_hold or DIR/CHAIN/legal_hold; IDs match exactly, and any other line is\nan error that stops the prune before it removes anything.\n\nHolds are sticky: each prune (not a dry run) signs the holds in force into\nDIR/CHAIN/legal_hold.seen and into any prune marker it writes. A hold an earlier\nprune recorded that is in no legal_hold file now stops the prune (exit 2, naming\nthe hold and its file; nothing removed) until its line is restored or it is let\ngo of with --release-hold, which is signed into the record with the time.")
	dir := dirFlag(fs)
	signer := signerFlag(fs)
	dryRun := fs.Bool("dry-run", false, "report what would be removed; change nothing and create no file (it waits for a prune in progress)")
	nowFlag := fs.String("now", "", "compare retain_until with this time (RFC 3339 or YYYY-MM-DD) instead of the current time; a later one only with --dry-run")
	chain := fs.String("chain", "", "prune only this chain (a name the store lacks is an error)")
	var release listFlag
	fs.Var(&release, "release-hold", "let go of a legal hold an earlier prune recorded and whose line was removed from legal_hold, e.g. 'subject patient/P-7' (repeatable; a hold still in a legal_hold file is an error)")
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
	opts := auditlog.PruneOptions{DryRun: *dryRun, Now: clock, ReleaseHolds: release}
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
	if *signer != "" {
		s, err := loadSigner(*signer)
		if err != nil {
			return fail(e, "prune", "%v", err)
		}
		opts.Signer = s
	}
	res, err := auditlog.Prune(*dir, opts)
	if err != nil {
		return fail(e, "prune", "%v", err)
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
	}
	return exitOK
}
