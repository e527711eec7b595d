package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

var keygenCommand = command{
	name:    "keygen",
	summary: "write a note signer key (0600) and its verifier key",
	run:     runKeygen,
}

func runKeygen(e *env, args []string) int {
	fs := flagSet(e, "keygen", "--name NAME --signer FILE --verifier FILE",
		"Generates an Ed25519 key pair in golang.org/x/mod/sumdb/note format. The signer\nkey signs checkpoints, seals and prune markers; give the verifier key to auditors.\nExisting files are never overwritten.")
	name := fs.String("name", "", "key name, e.g. example.com/otelaudit: no spaces or '+' (required)")
	signer := fs.String("signer", "", "file to write the note signer key to, mode 0600 (required)")
	verifier := fs.String("verifier", "", "file to write the note verifier key to, for auditors and otelaudit verify (required)")
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	for _, f := range []struct{ n, v string }{{"name", *name}, {"signer", *signer}, {"verifier", *verifier}} {
		if err := required(f.n, f.v); err != nil {
			return fail(e, "keygen", "%v", err)
		}
	}
	if err := checkKeyName(*name); err != nil {
		return fail(e, "keygen", "%v", err)
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, *name)
	if err != nil {
		return fail(e, "keygen", "%v", err)
	}
	// What is written must read back, as verify and prune will read it.
	if _, err := note.NewSigner(skey); err != nil {
		return fail(e, "keygen", "--name %q: the signer key does not read back: %v", *name, err)
	}
	if _, err := note.NewVerifier(vkey); err != nil {
		return fail(e, "keygen", "--name %q: the verifier key does not read back: %v", *name, err)
	}
	if err := writeNew(*signer, skey+"\n", 0o600); err != nil {
		return fail(e, "keygen", "%v", err)
	}
	if err := writeNew(*verifier, vkey+"\n", 0o644); err != nil {
		os.Remove(*signer)
		return fail(e, "keygen", "%v", err)
	}
	fmt.Fprintf(e.stdout, "signer key: %s\nverifier key: %s (%s)\n", *signer, *verifier, vkey)
	return exitOK
}

// checkKeyName applies golang.org/x/mod/sumdb/note's rules for a key
// name, which note.GenerateKey does not check: a key named otherwise is
// written but never read back ("malformed verifier id").
func checkKeyName(name string) error {
	if !utf8.ValidString(name) || strings.IndexFunc(name, unicode.IsSpace) >= 0 || strings.Contains(name, "+") {
		return fmt.Errorf("--name %q: a key name must be valid UTF-8 with no spaces and no '+'", name)
	}
	return nil
}

// writeNew creates path with data, failing if it exists.
func writeNew(path, data string, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
