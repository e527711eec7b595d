package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"

	"github.com/otelaudit/otelaudit/processor/auditredactionprocessor"
)

var pseudonymCommand = command{
	name:    "pseudonym",
	summary: "the pseudonym auditredaction gives a value, to look a person up in the records",
	run:     runPseudonym,
}

// minHMACKey is the shortest hmac_key auditredaction accepts.
const minHMACKey = 32

func runPseudonym(e *env, args []string) int {
	fs := flagSet(e, "pseudonym", "--hmac-key-file FILE [--value VALUE]...",
		"Prints, one per line, the pseudonym (hmac-sha256:<hex>) the auditredaction processor\n"+
			"gives each value under a PII key when its hmac_key is the key in FILE (the file's\n"+
			"content without a final newline), an e-mail address case-folded first. Values come\n"+
			"from --value, or else one per line from stdin, which keeps them out of the process\n"+
			"list and the shell's history. An empty value (a blank line) gives an empty line:\n"+
			"the processor leaves empty values as they are. Use the output with calls --user,\n"+
			"report --subject, …")
	keyFile := fs.String("hmac-key-file", "", "file holding the processor's hmac_key (required)")
	var values []string
	fs.Func("value", "a value to pseudonymise (repeatable; default: lines of stdin)", func(s string) error {
		values = append(values, s)
		return nil
	})
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	if err := required("hmac-key-file", *keyFile); err != nil {
		return fail(e, "pseudonym", "%v", err)
	}
	key, err := os.ReadFile(*keyFile)
	if err != nil {
		return fail(e, "pseudonym", "%v", err)
	}
	key = bytes.TrimSuffix(bytes.TrimSuffix(key, []byte("\n")), []byte("\r"))
	if len(key) < minHMACKey {
		return fail(e, "pseudonym", "%s holds %d bytes: an hmac_key has at least %d", *keyFile, len(key), minHMACKey)
	}
	w := bufio.NewWriter(e.stdout)
	print := func(v string) {
		if v == "" {
			// The processor leaves an empty value empty: no record holds
			// a pseudonym of "". The blank line keeps the lines aligned.
			fmt.Fprintln(w)
			return
		}
		fmt.Fprintln(w, auditredactionprocessor.Pseudonym(key, v))
	}
	if len(values) > 0 {
		for _, v := range values {
			print(v)
		}
	} else {
		sc := bufio.NewScanner(e.stdin)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			print(string(bytes.TrimSuffix(sc.Bytes(), []byte("\r"))))
		}
		if err := sc.Err(); err != nil {
			return fail(e, "pseudonym", "reading stdin: %v", err)
		}
	}
	if err := w.Flush(); err != nil {
		return fail(e, "pseudonym", "%v", err)
	}
	return exitOK
}
