package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/query"
)

var verifyCommand = command{
	name:    "verify",
	summary: "check an audit store's hash chains, seals and signed checkpoints",
	run:     runVerify,
}

func runVerify(e *env, args []string) int {
	fs := flagSet(e, "verify", "--dir DIR --verifier FILE [--since-checkpoint FILE] [--require-signed] [--full] [--format text|json|csv]",
		"Verifies every chain of the store. Exits 0 when all are intact, 1 with one line\nper problem (chain, segment, seq, kind), 2 when DIR is not an audit store\n(a directory with a chain subdirectory) or cannot be read.\n"+
			"Records a verified signed checkpoint covers are proven by their Merkle leaves;\n--full also recomputes each one's hash and canonical form and the SHA-256\nof each segment file a v2 seal signs, checking the writer's own arithmetic.\n"+
			"The newest records of a live store are signed by no checkpoint yet: they are\ncounted as unsigned, and are a problem with --require-signed (for a store whose\nwriter has stopped, which signs everything at shutdown).")
	dir := dirFlag(fs)
	verifier := verifierFlag(fs)
	format := formatFlag(fs, "text", "json", "csv")
	requireSigned := fs.Bool("require-signed", false, "report records that no checkpoint or seal signs as a problem; for a store whose writer has stopped")
	full := fs.Bool("full", false, "recompute every record's hash and canonical form and every sealed segment's SHA-256, even where a signed checkpoint proves the bytes")
	var since []string
	fs.Func("since-checkpoint", "a signed checkpoint saved earlier; the store must still contain it (repeatable)", func(s string) error {
		since = append(since, s)
		return nil
	})
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := required("dir", *dir); err != nil {
		return fail(e, "verify", "%v", err)
	}
	if err := required("verifier", *verifier); err != nil {
		return fail(e, "verify", "%v", err)
	}
	if err := checkFormat(*format, "text", "json", "csv"); err != nil {
		return fail(e, "verify", "%v", err)
	}
	verifiers, err := loadVerifiers(*verifier)
	if err != nil {
		return fail(e, "verify", "%v", err)
	}
	var opts []auditlog.VerifyOption
	if *full {
		opts = append(opts, auditlog.VerifyFull())
	}
	if *requireSigned {
		opts = append(opts, auditlog.RequireSigned())
	}
	for _, path := range since {
		msg, err := os.ReadFile(path)
		if err != nil {
			return fail(e, "verify", "%v", err)
		}
		// Whether it is a checkpoint at all: its signature is verify's
		// business, and a finding.
		if _, err := auditlog.ParseCheckpointNote(msg); err != nil {
			return fail(e, "verify", "--since-checkpoint %s: %v", path, err)
		}
		opts = append(opts, auditlog.SinceCheckpoint(msg))
	}
	rep, err := auditlog.Verify(*dir, verifiers, opts...)
	if err != nil {
		return fail(e, "verify", "%v", err)
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if rep.Findings == nil {
			rep.Findings = []auditlog.Finding{}
		}
		if err := enc.Encode(struct {
			OK bool `json:"ok"`
			*auditlog.Report
		}{rep.OK(), rep}); err != nil {
			return fail(e, "verify", "%v", err)
		}
	case "csv":
		w := csv.NewWriter(e.stdout)
		w.Write([]string{"chain", "segment", "seq", "kind", "detail"})
		for _, f := range rep.Findings {
			w.Write([]string{query.CSVCell(f.Chain), query.CSVCell(f.Segment), strconv.FormatInt(f.Seq, 10), f.Kind, query.CSVCell(f.Detail)})
		}
		w.Flush()
		for _, n := range liveNotes(*dir, rep) {
			fmt.Fprintf(e.stderr, "otelaudit verify: note: %s\n", n)
		}
	default:
		for _, f := range rep.Findings {
			fmt.Fprintf(e.stdout, "FAIL %s\n", f)
		}
		for _, c := range rep.Chains {
			failed := ""
			if c.CheckpointsFailed > 0 {
				failed = fmt.Sprintf(", %d did not", c.CheckpointsFailed)
			}
			fmt.Fprintf(e.stdout, "chain %s (%s): records %d..%d, %d segments, latest checkpoint %d, %d checkpoints matched%s\n",
				c.Chain, c.ID, c.FirstSeq, int64(c.Size)-1, c.Segments, c.CheckpointSize, c.Checkpoints, failed)
		}
		// The holds the next prune keeps to, whatever the legal_hold
		// files say now: a line of their own, so the lines above keep
		// their form.
		for _, c := range rep.Chains {
			if c.LegalHolds != nil {
				holds := make([]string, len(c.LegalHolds))
				for i, h := range c.LegalHolds {
					holds[i] = h.String()
				}
				if len(holds) == 0 {
					holds = []string{"none"}
				}
				fmt.Fprintf(e.stdout, "chain %s: legal holds recorded by the last prune: %s\n", c.Chain, strings.Join(holds, ", "))
			}
		}
		// On stdout, before the verdict: an OK that rests on taking the
		// store for live must say so where the OK is read.
		for _, n := range liveNotes(*dir, rep) {
			fmt.Fprintf(e.stdout, "NOTE %s\n", n)
		}
		status := "OK"
		if !rep.OK() {
			status = "FAILED"
		}
		fmt.Fprintf(e.stdout, "%s: %d records in %d chains, %d problems\n", status, rep.Records, len(rep.Chains), len(rep.Findings))
		// What rests on the hash chain alone goes to stderr, as the query
		// commands' integrity notes do: the lines above keep their form.
		for _, c := range rep.Chains {
			if c.UnsignedRecords > 0 && !*requireSigned {
				fmt.Fprintf(e.stderr, "otelaudit verify: note: chain %s: records %d..%d are signed by no checkpoint or seal yet, proven by their hash chain only (--require-signed makes that a problem)\n",
					c.Chain, c.Size-c.UnsignedRecords, c.Size-1)
			}
		}
	}
	if !rep.OK() {
		return exitFinding
	}
	return exitOK
}

// liveNotes says, one line each, that something held the store's lock
// and what verify therefore did not report. Verify cannot tell a writer
// from any other process holding the lock, so an idle one made a rolled
// back checkpoint and bytes appended to a segment pass unremarked: the
// reader of an OK must learn that it assumed a live writer.
func liveNotes(dir string, rep *auditlog.Report) []string {
	if !rep.WriterHeld {
		return nil
	}
	lock := filepath.Join(dir, ".lock")
	if !rep.Live {
		return []string{fmt.Sprintf("a process holds %s, but --require-signed verified the store as stopped: nothing a writer does mid-write was excused", lock)}
	}
	notes := []string{fmt.Sprintf("a process holds %s (a writer, or anything else that locks it): verified as a live store, whose writer's work in progress is not reported", lock)}
	for _, c := range rep.Chains {
		if c.InFlightBytes > 0 {
			notes = append(notes, fmt.Sprintf("chain %s: %d bytes without a newline at the end of %s taken for a write in flight, not reported as trailing_garbage", c.Chain, c.InFlightBytes, c.InFlightSegment))
		}
		if c.LatestFromHistory != "" {
			notes = append(notes, fmt.Sprintf("chain %s: %s, newer than %s, taken as the latest checkpoint (one being filed), not reported as checkpoint_inconsistent", c.Chain, c.LatestFromHistory, auditlog.CheckpointFile))
		}
	}
	return append(notes, "to have these reported, verify the stopped store with nothing holding the lock, or use --require-signed")
}
