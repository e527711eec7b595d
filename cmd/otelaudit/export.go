package main

import (
	"flag"
	"slices"
	"strings"

	"github.com/otelaudit/otelaudit/query"
)

var exportCommand = command{
	name:    "export",
	summary: "export records: --format fhir (FHIR R4 AuditEvent Bundle) or jsonl",
	run:     runExport,
}

// jsonlFlags are the flags export --format jsonl honours; it copies a
// store's lines whole, so a filter or a source other than --dir would be
// ignored: such flags are refused instead.
var jsonlFlags = []string{"format", "dir", "chain"}

func runExport(e *env, args []string) int {
	fs := flagSet(e, "export", "--format fhir|jsonl (--dir DIR --verifier FILE | --jaeger URL | --otlp-json FILE) [filters]",
		"fhir: writes the selected calls (the filters of calls) as FHIR R4 AuditEvent\n"+
			"resources in a Bundle of type collection (mapping in query/README.md); integrity\n"+
			"that failed or was not checked is stated on stderr. "+integrityHelp+"\n"+
			"jsonl: copies a store's record lines unchanged, like cat: --dir and --chain only\n"+
			"(no filters, no verification: run otelaudit verify); other flags are refused.")
	format := fs.String("format", "", "fhir or jsonl (required)")
	chain := fs.String("chain", "", "jsonl: export only this chain")
	ff := addFilterFlags(fs)
	src := addSourceFlags(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	switch *format {
	case "jsonl":
		if bad := flagsSetExcept(fs.FlagSet, jsonlFlags...); len(bad) > 0 {
			return fail(e, "export", "%s: not supported with --format jsonl, which copies every record of the store (or of --chain) unfiltered and unverified; use --format fhir, otelaudit calls or otelaudit verify", strings.Join(bad, ", "))
		}
		if err := required("dir", *src.dir); err != nil {
			return fail(e, "export", "%v", err)
		}
		if err := writeJSONL(e, *src.dir, *chain); err != nil {
			return fail(e, "export", "%v", err)
		}
		return exitOK
	case "fhir":
		if *chain != "" {
			return fail(e, "export", "--chain %q: not supported with --format fhir; select with the filters of calls (--user, --tool, --subject, …)", *chain)
		}
	case "":
		return fail(e, "export", "--format is required: fhir or jsonl")
	default:
		return fail(e, "export", "--format %q is not one of fhir, jsonl", *format)
	}
	_, res, code, ok := fetchFiltered(e, "export", ff, src)
	if !ok {
		return code
	}
	noteRange(e, "export", res)
	return render(e, "export", "json", query.NewFHIRExport(res), &res.Integrity, false)
}

// flagsSetExcept returns the flags given on the command line, as --name,
// that are not among allowed.
func flagsSetExcept(fs *flag.FlagSet, allowed ...string) []string {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if !slices.Contains(allowed, f.Name) {
			bad = append(bad, "--"+f.Name)
		}
	})
	return bad
}
