package main

import (
	"github.com/otelaudit/otelaudit/query"
)

var reportCommand = command{
	name:    "report",
	summary: "access report for one subject: who, role, when, tool, purpose, outcome, break-glass",
	run:     runReport,
}

func runReport(e *env, args []string) int {
	fs := flagSet(e, "report", "--subject TYPE/ID [--from T] [--to T] (--dir DIR --verifier FILE | --jaeger URL | --otlp-json FILE)",
		"Lists every access to the subject's data in the period, with totals, unique users\n"+
			"and whether the store's integrity was verified (yes, NO with its findings, or not\n"+
			"checked). --to with a date includes that whole day. "+integrityHelp)
	subject := fs.String("subject", "", "the subject, TYPE/ID, e.g. patient/P-1001 (required)")
	tf := addTimeFlags(fs, "from", "to")
	src := addSourceFlags(fs)
	format := outputFlag(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := required("subject", *subject); err != nil {
		return fail(e, "report", "%v", err)
	}
	if err := checkFormat(*format, "text", "json", "csv"); err != nil {
		return fail(e, "report", "%v", err)
	}
	subj, err := query.ParseSubject(*subject)
	if err != nil {
		return fail(e, "report", "--subject: %v", err)
	}
	from, to, err := tf.parse()
	if err != nil {
		return fail(e, "report", "%v", err)
	}
	s, err := src.source()
	if err != nil {
		return fail(e, "report", "%v", err)
	}
	res, err := fetch(e, "report", s, query.Filter{Subject: subj, Since: from, Until: to})
	if err != nil {
		return fail(e, "report", "%v", err)
	}
	// CSV rows have no room for the period or the integrity that the
	// text and JSON state, so they go to stderr as for the other
	// commands' tables.
	if *format == "csv" {
		noteRange(e, "report", res)
	}
	return render(e, "report", *format, query.Report(subj, from, to, res), &res.Integrity, *format != "csv")
}
