package main

import "github.com/otelaudit/otelaudit/query"

var timelineCommand = command{
	name:    "timeline",
	summary: "one conversation's tool calls in order: [Turn N] ✅/❌ tool(args) → result [ms]",
	run:     runTimeline,
}

func runTimeline(e *env, args []string) int {
	fs := flagSet(e, "timeline", "--conversation ID (--dir DIR --verifier FILE | --jaeger URL | --otlp-json FILE) [flags]",
		"Prints the conversation's tool calls, one line each, ordered by turn and then start\n"+
			"time. Every source gives the same lines. An unknown conversation prints nothing.\n"+
			"For text and CSV, integrity that failed or was not checked is stated on stderr.\n"+
			integrityHelp)
	conv := fs.String("conversation", "", "conversation id, gen_ai.conversation.id (required)")
	src := addSourceFlags(fs)
	tf := addTimeFlags(fs, "since", "until")
	format := outputFlag(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := required("conversation", *conv); err != nil {
		return fail(e, "timeline", "%v", err)
	}
	if err := checkFormat(*format, "text", "json", "csv"); err != nil {
		return fail(e, "timeline", "%v", err)
	}
	since, until, err := tf.parse()
	if err != nil {
		return fail(e, "timeline", "%v", err)
	}
	s, err := src.source()
	if err != nil {
		return fail(e, "timeline", "%v", err)
	}
	res, err := fetch(e, "timeline", s, query.Filter{ConversationID: *conv, Since: since, Until: until})
	if err != nil {
		return fail(e, "timeline", "%v", err)
	}
	noteRange(e, "timeline", res)
	tl := query.Timeline(*conv, res)
	return render(e, "timeline", *format, tl, &res.Integrity, *format == "json")
}
