package main

import "github.com/otelaudit/otelaudit/query"

var callsCommand = command{
	name:    "calls",
	summary: "tool calls filtered by user, tool, subject, failure and time",
	run:     runCalls,
}

// filterFlags are the record filters shared by calls, stats and export.
type filterFlags struct {
	user, tool, subject, conversation *string
	failed                            *bool
	times                             *timeFlags
}

func addFilterFlags(fs *cmdFlags) *filterFlags {
	return &filterFlags{
		user:         fs.String("user", "", "only calls made for this user.id"),
		tool:         fs.String("tool", "", "only calls of this tool"),
		subject:      fs.String("subject", "", "only calls that touched this subject, TYPE/ID (e.g. patient/P-1001)"),
		conversation: fs.String("conversation", "", "only calls of this conversation"),
		failed:       fs.Bool("failed", false, "only failed calls"),
		times:        addTimeFlags(fs, "since", "until"),
	}
}

func (ff *filterFlags) filter() (query.Filter, error) {
	f := query.Filter{UserID: *ff.user, Tool: *ff.tool, ConversationID: *ff.conversation, FailedOnly: *ff.failed}
	if *ff.subject != "" {
		s, err := query.ParseSubject(*ff.subject)
		if err != nil {
			return f, err
		}
		f.Subject = s
	}
	var err error
	f.Since, f.Until, err = ff.times.parse()
	return f, err
}

func runCalls(e *env, args []string) int {
	fs := flagSet(e, "calls", "(--dir DIR --verifier FILE | --jaeger URL | --otlp-json FILE) [--user U] [--tool T] [--subject TYPE/ID] [--failed] [--since T] [--until T]",
		"Lists the tool calls that pass every filter, oldest first. JSON output holds the\n"+
			"full audit records. For text and CSV, integrity that failed or was not checked\n"+
			"is stated on stderr. "+integrityHelp)
	ff := addFilterFlags(fs)
	src := addSourceFlags(fs)
	format := outputFlag(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := checkFormat(*format, "text", "json", "csv"); err != nil {
		return fail(e, "calls", "%v", err)
	}
	f, res, code, ok := fetchFiltered(e, "calls", ff, src)
	if !ok {
		return code
	}
	noteRange(e, "calls", res)
	return render(e, "calls", *format, query.Calls(f, res), &res.Integrity, *format == "json")
}
