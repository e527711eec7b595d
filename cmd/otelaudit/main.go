// Command otelaudit manages and queries otelaudit audit stores: key
// generation, verification, retention and reading records back.
//
// Every subcommand takes --help, exits 0 on success, 1 when it found a
// problem (verify, reconcile, or a store that fails its integrity check),
// and 2 on bad usage or unreadable input, with a one-line reason on
// stderr.
package main

import (
	"fmt"
	"io"
	"os"
)

// Exit codes (SPEC §6).
const (
	exitOK      = 0
	exitFinding = 1
	exitUsage   = 2
)

// command is one subcommand. Each lives in its own file and is listed in
// commands.
type command struct {
	name    string
	summary string
	run     func(env *env, args []string) int
}

// commands is the subcommand table, in the order help lists them.
func commands() []command {
	return []command{
		keygenCommand,
		verifyCommand,
		pruneCommand,
		catCommand,
		timelineCommand,
		callsCommand,
		statsCommand,
		reportCommand,
		anomaliesCommand,
		exportCommand,
		reconcileCommand,
		pseudonymCommand,
	}
}

// env is what a subcommand reads and writes; tests substitute buffers.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func main() {
	os.Exit(run(os.Args[1:], &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}))
}

func run(args []string, e *env) int {
	if len(args) > 1 && args[0] == "help" {
		// help CMD is CMD --help.
		if len(args) > 2 {
			fmt.Fprintf(e.stderr, "otelaudit help: unexpected argument %q (usage: otelaudit help [COMMAND])\n", args[2])
			return exitUsage
		}
		args = []string{args[1], "--help"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(e, args[1:])
		}
	}
	fmt.Fprintf(e.stderr, "otelaudit: unknown command %q (see otelaudit --help)\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: otelaudit COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun otelaudit COMMAND --help (or otelaudit help COMMAND) for a command's flags.")
}
