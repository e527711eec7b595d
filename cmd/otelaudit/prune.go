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
	fs := flagSet(e, "prune", "--dir DIR --signer FILE [--dry-run] [--now TIME] [--chain NAME] [--format text|json]",
		"Removes, per chain, the oldest sealed segments whose every record is past its\nretain_until and under no legal hold, leaving a signed prune marker so that the\nrest of the chain still verifies. Legal holds: lines \"*\", \"subject TYPE/ID\",\n\"subject TYPE/*\" (every subject of the type), \"conversation ID\" or \"user ID\" in\nDIR/legal_hold or DIR/CHAIN/legal_hold; IDs match exactly, and any other line is\nan error that stops the prune before it removes anything.")
	dir := dirFlag(fs)
	signer := signerFlag(fs)
	dryRun := fs.Bool("dry-run", false, "report what would be removed; change nothing and create no file (it waits for a prune in progress)")
	nowFlag := fs.String("now", "", "compare retain_until with this time (RFC 3339 or YYYY-MM-DD) instead of the current time; a later one only with --dry-run")
	chain := fs.String("chain", "", "prune only this chain (a name the store lacks is an error)")
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
	opts := auditlog.PruneOptions{DryRun: *dryRun, Now: clock}
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
	verb := "removed"
	if *dryRun {
		verb = "would remove"
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
	}
	return exitOK
}
