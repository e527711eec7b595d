package main

import (
	"bufio"
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/otelaudit/otelaudit/auditlog"
)

var catCommand = command{
	name:    "cat",
	summary: "print the records of a store as JSON lines, chain by chain",
	run:     runCat,
}

func runCat(e *env, args []string) int {
	fs := flagSet(e, "cat", "--dir DIR [--chain NAME]",
		"Prints every record, one canonical JSON object per line, in chain order. It does\nnot verify: run otelaudit verify for that. On a store being written, a record\nwhose write is still in flight is left for the next run.")
	dir := dirFlag(fs)
	chain := fs.String("chain", "", "print only this chain")
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := required("dir", *dir); err != nil {
		return fail(e, "cat", "%v", err)
	}
	if err := writeJSONL(e, *dir, *chain); err != nil {
		return fail(e, "cat", "%v", err)
	}
	return exitOK
}

// writeJSONL copies the record lines of the store (or one chain) to
// stdout. export --format jsonl is the same operation. On an error, every
// record before the line in error has been written, whole.
func writeJSONL(e *env, dir, only string) error {
	w := bufio.NewWriterSize(e.stdout, 1<<16)
	err := copyJSONL(w, dir, only)
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// copyJSONL is writeJSONL's work, into a buffer the caller flushes.
func copyJSONL(w *bufio.Writer, dir, only string) error {
	chains, err := auditlog.Chains(dir)
	if err != nil {
		return err
	}
	if only != "" {
		chains = []string{only}
	}
	// A writer's last segment may end in a write in flight.
	live := auditlog.WriterHolds(dir)
	for _, c := range chains {
		segs, err := auditlog.SegmentFiles(dir, c)
		if err != nil {
			return err
		}
		// Segments a killed prune left behind are not the store's.
		if m, err := auditlog.ReadPruneMarker(filepath.Join(dir, c)); err != nil {
			return fmt.Errorf("chain %s: %w", c, err)
		} else if m != nil {
			segs = slices.DeleteFunc(segs, m.Pruned)
		}
		for i, s := range segs {
			err := auditlog.ReadSegmentFile(filepath.Join(dir, c, s), func(_ *auditlog.Record, line []byte) error {
				w.Write(line)
				return w.WriteByte('\n')
			})
			if live && i == len(segs)-1 && errors.Is(err, auditlog.ErrIncompleteLine) {
				err = nil
			}
			if err != nil {
				return fmt.Errorf("chain %s: %w", c, err)
			}
		}
	}
	return nil
}
