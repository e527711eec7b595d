package main

import (
	"crypto/rand"
	"fmt"
	"os"

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
	name := fs.String("name", "", "key name, e.g. example.com/otelaudit (required)")
	signer := signerFlag(fs)
	verifier := verifierFlag(fs)
	if code, ok := parse(e, fs, args); !ok {
		return code
	}
	for _, f := range []struct{ n, v string }{{"name", *name}, {"signer", *signer}, {"verifier", *verifier}} {
		if err := required(f.n, f.v); err != nil {
			return fail(e, "keygen", "%v", err)
		}
	}
	skey, vkey, err := note.GenerateKey(rand.Reader, *name)
	if err != nil {
		return fail(e, "keygen", "%v", err)
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
