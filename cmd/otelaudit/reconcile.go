package main

import (
	"errors"

	"github.com/otelaudit/otelaudit/query"
)

var reconcileCommand = command{
	name:    "reconcile",
	summary: "tool spans in Jaeger or OTLP JSON vs audit records: missing on either side, fields that differ",
	run:     runReconcile,
}

func runReconcile(e *env, args []string) int {
	fs := flagSet(e, "reconcile", "(--jaeger URL | --otlp-json FILE) --dir DIR --verifier FILE [--since T] [--until T]",
		"Matches tool spans and audit records by trace and span id and lists spans without\n"+
			"a record, records without a span, and every field that differs. With Jaeger,\n"+
			"only records inside the searched range (--since/--until, or --lookback) are\n"+
			"compared. Exit 1 on any difference or when the store's integrity check fails; a\n"+
			"store read without --verifier is reported as not checked, which alone exits 0.")
	tf := addTimeFlags(fs, "since", "until")
	src := addSourceFlags(fs)
	format := outputFlag(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := checkFormat(*format, "text", "json", "csv"); err != nil {
		return fail(e, "reconcile", "%v", err)
	}
	since, until, err := tf.parse()
	if err != nil {
		return fail(e, "reconcile", "%v", err)
	}
	traces, err := src.traceSource()
	if err == nil && traces == nil {
		err = errors.New("no trace source: give --jaeger URL or --otlp-json FILE")
	}
	if err != nil {
		return fail(e, "reconcile", "%v", err)
	}
	audit, err := src.storeSource()
	if err == nil && audit == nil {
		err = errors.New("no audit store: give --dir DIR and --verifier FILE")
	}
	if err != nil {
		return fail(e, "reconcile", "%v", err)
	}
	f := query.Filter{Since: since, Until: until}
	tres, err := fetchSpans(e, "reconcile", traces, f)
	if err != nil {
		return fail(e, "reconcile", "%v", err)
	}
	ares, err := fetchSpans(e, "reconcile", audit, f)
	if err != nil {
		return fail(e, "reconcile", "%v", err)
	}
	out := query.Reconcile(tres, ares)
	if *format == "csv" {
		// The rows have no room for the range compared, which text and
		// JSON state.
		noteRange(e, "reconcile", tres)
	}
	code := render(e, "reconcile", *format, out, &ares.Integrity, *format != "csv")
	if code == exitOK && !out.Consistent {
		code = exitFinding
	}
	return code
}
