package main

import "github.com/otelaudit/otelaudit/query"

var anomaliesCommand = command{
	name:    "anomalies",
	summary: "access bursts on one subject, break-glass use, users touching many subjects",
	run:     runAnomalies,
}

func runAnomalies(e *env, args []string) int {
	fs := flagSet(e, "anomalies", "(--dir DIR --verifier FILE | --jaeger URL | --otlp-json FILE) [--since T] [--until T] [thresholds]",
		"Reports (1) a subject accessed at least --burst-threshold times within\n"+
			"--burst-window (a subject's type in any case), (2) every break-glass access,\n"+
			"(3) a user (for calls without one, the agent or model) touching at least\n"+
			"--spread-threshold distinct subjects within --spread-window (0: the whole range).\n"+
			"Overlapping windows merge into one finding. Exit 0 whether or not anomalies are\n"+
			"found. For text and CSV, integrity that failed or was not checked is stated on\n"+
			"stderr. "+integrityHelp)
	tf := addTimeFlags(fs, "since", "until")
	burstN := fs.Int("burst-threshold", query.DefaultBurstThreshold, "accesses to one subject that make a burst (0 disables)")
	burstW := fs.Duration("burst-window", query.DefaultBurstWindow, "window of a burst")
	spreadN := fs.Int("spread-threshold", query.DefaultSpreadThreshold, "distinct subjects per initiator (the user, else the agent or model) that make a finding (0 disables)")
	spreadW := fs.Duration("spread-window", query.DefaultSpreadWindow, "window of the spread rule; 0 means the whole range")
	src := addSourceFlags(fs)
	format := outputFlag(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := checkFormat(*format, "text", "json", "csv"); err != nil {
		return fail(e, "anomalies", "%v", err)
	}
	switch {
	case *burstN < 0 || *spreadN < 0:
		return fail(e, "anomalies", "thresholds must not be negative")
	case *burstW <= 0 && *burstN > 0:
		return fail(e, "anomalies", "--burst-window %s must be positive", *burstW)
	case *spreadW < 0:
		return fail(e, "anomalies", "--spread-window %s must not be negative", *spreadW)
	}
	since, until, err := tf.parse()
	if err != nil {
		return fail(e, "anomalies", "%v", err)
	}
	s, err := src.source()
	if err != nil {
		return fail(e, "anomalies", "%v", err)
	}
	res, err := fetch(e, "anomalies", s, query.Filter{Since: since, Until: until})
	if err != nil {
		return fail(e, "anomalies", "%v", err)
	}
	out := query.Anomalies(res, query.WithBurst(*burstN, *burstW), query.WithSpread(*spreadN, *spreadW))
	noteRange(e, "anomalies", res)
	return render(e, "anomalies", *format, out, &res.Integrity, *format == "json")
}
