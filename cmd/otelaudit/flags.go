package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// cmdFlags is a subcommand's flag set with its help text.
type cmdFlags struct {
	*flag.FlagSet
	help func()
}

// flagSet returns a flag set that reports errors in one line instead of
// printing its usage and exiting; --help prints the usage.
func flagSet(e *env, name, args, summary string) *cmdFlags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &cmdFlags{FlagSet: fs, help: func() {
		w := e.stderr
		fmt.Fprintf(w, "usage: otelaudit %s %s\n\n%s\n\nflags:\n", name, args, summary)
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}}
}

// parse parses args; it returns an exit code and false when the command
// should stop (help was asked for, or the flags were bad).
func parse(e *env, fs *cmdFlags, args []string) (int, bool) {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.help()
		return exitOK, false
	case err != nil:
		return fail(e, fs.Name(), "%v", err), false
	case fs.NArg() > 0:
		return fail(e, fs.Name(), "unexpected argument %q", fs.Arg(0)), false
	}
	return 0, true
}

// fail prints a one-line reason and returns exitUsage.
func fail(e *env, cmd, format string, args ...any) int {
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")
	fmt.Fprintf(e.stderr, "otelaudit %s: %s\n", cmd, msg)
	return exitUsage
}

func dirFlag(fs *cmdFlags) *string {
	return fs.String("dir", "", "audit store directory (required)")
}

func verifierFlag(fs *cmdFlags) *string {
	return fs.String("verifier", "", "file with the note verifier key(s) that sign checkpoints, one per line")
}

func signerFlag(fs *cmdFlags) *string {
	return fs.String("signer", "", "file with the note signer key")
}

// formatFlag declares --format with the allowed values, the first being
// the default.
func formatFlag(fs *cmdFlags, allowed ...string) *string {
	return fs.String("format", allowed[0], "output format: "+strings.Join(allowed, ", "))
}

func checkFormat(format string, allowed ...string) error {
	if !slices.Contains(allowed, format) {
		return fmt.Errorf("--format %q is not one of %s", format, strings.Join(allowed, ", "))
	}
	return nil
}

func required(name, value string) error {
	if value == "" {
		return fmt.Errorf("--%s is required", name)
	}
	return nil
}

// byteOrderMark is what some editors put at the start of a UTF-8 file.
const byteOrderMark = "\uFEFF"

// loadVerifiers reads note verifier keys, one per non-empty line, after
// a byte order mark if the file starts with one.
func loadVerifiers(path string) (note.Verifiers, error) {
	list, err := loadVerifierList(path)
	if err != nil {
		return nil, err
	}
	return note.VerifierList(list...), nil
}

// loadVerifierList reads note verifier keys as loadVerifiers does.
func loadVerifierList(path string) ([]note.Verifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var list []note.Verifier
	for _, line := range strings.Split(strings.TrimPrefix(string(data), byteOrderMark), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := note.NewVerifier(line)
		if err != nil {
			return nil, fmt.Errorf("%s: not a note verifier key: %w", path, err)
		}
		list = append(list, v)
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s holds no verifier key", path)
	}
	return list, nil
}

// loadSigner reads a note signer key, with white space and a byte order
// mark around it.
func loadSigner(path string) (note.Signer, error) {
	s, _, err := loadSignerKey(path)
	return s, err
}

// loadSignerKey reads a note signer key as loadSigner does and returns
// also the verifier of its public key, so that what the signer signed can
// be opened as note.Open opens any note, not only compared with a new
// signature.
func loadSignerKey(path string) (note.Signer, note.Verifier, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	skey := strings.TrimSpace(strings.TrimPrefix(string(data), byteOrderMark))
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: not a note signer key: %w", path, err)
	}
	v, err := signerVerifier(skey)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, v, nil
}

// signerVerifier derives the verifier of a note signer key
// ("PRIVATE+KEY+name+hash+base64(alg || seed)", which note.NewSigner has
// accepted): the Ed25519 public key of the seed, under the same name.
func signerVerifier(skey string) (note.Verifier, error) {
	f := strings.SplitN(skey, "+", 5)
	key, err := base64.StdEncoding.DecodeString(f[len(f)-1])
	if len(f) != 5 || err != nil || len(key) != 1+ed25519.SeedSize || key[0] != 1 {
		return nil, errors.New("not an Ed25519 note signer key")
	}
	pub := ed25519.NewKeyFromSeed(key[1:]).Public().(ed25519.PublicKey)
	vkey, err := note.NewEd25519VerifierKey(f[2], pub)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}

// parseTime accepts RFC 3339 or a plain date (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor a date (YYYY-MM-DD)", s)
}
