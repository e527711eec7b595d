package main

import "github.com/otelaudit/otelaudit/query"

var statsCommand = command{
	name:    "stats",
	summary: "per tool: calls, success rate, p50/p95/max duration, unique users",
	run:     runStats,
}

func runStats(e *env, args []string) int {
	fs := flagSet(e, "stats", "(--dir DIR --verifier FILE | --jaeger URL | --otlp-json FILE) [filters]",
		"Aggregates the selected calls per tool (nearest-rank percentiles); text adds a\n"+
			"* row for all tools, JSON a total, CSV has tool rows only. Accepts the\n"+
			"filters of calls. For text and CSV, integrity that failed or was not checked is\n"+
			"stated on stderr. "+integrityHelp)
	ff := addFilterFlags(fs)
	src := addSourceFlags(fs)
	format := outputFlag(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := checkFormat(*format, "text", "json", "csv"); err != nil {
		return fail(e, "stats", "%v", err)
	}
	_, res, code, ok := fetchFiltered(e, "stats", ff, src)
	if !ok {
		return code
	}
	noteRange(e, "stats", res)
	return render(e, "stats", *format, query.Stats(res), &res.Integrity, *format == "json")
}
