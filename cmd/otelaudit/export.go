package main

import "github.com/otelaudit/otelaudit/query"

var exportCommand = command{
	name:    "export",
	summary: "export records: --format fhir (FHIR R4 AuditEvent Bundle) or jsonl",
	run:     runExport,
}

func runExport(e *env, args []string) int {
	fs := flagSet(e, "export", "--format fhir|jsonl (--dir DIR --verifier FILE | --jaeger URL | --otlp-json FILE) [filters]",
		"fhir: writes the selected calls as FHIR R4 AuditEvent resources in a Bundle of\n"+
			"type collection (mapping in query/README.md); exit 1 when the store's integrity\n"+
			"is NOT verified. jsonl: copies a store's record lines unchanged, like cat\n"+
			"(--dir only, no filters, no verification).")
	format := fs.String("format", "", "fhir or jsonl (required)")
	chain := fs.String("chain", "", "jsonl: export only this chain")
	ff := addFilterFlags(fs)
	src := addSourceFlags(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	switch *format {
	case "jsonl":
		if err := required("dir", *src.dir); err != nil {
			return fail(e, "export", "%v", err)
		}
		if err := writeJSONL(e, *src.dir, *chain); err != nil {
			return fail(e, "export", "%v", err)
		}
		return exitOK
	case "fhir":
	case "":
		return fail(e, "export", "--format is required: fhir or jsonl")
	default:
		return fail(e, "export", "--format %q is not one of fhir, jsonl", *format)
	}
	_, res, code, ok := fetchFiltered(e, "export", ff, src)
	if !ok {
		return code
	}
	return render(e, "export", "json", query.NewFHIRExport(res), &res.Integrity, false)
}
