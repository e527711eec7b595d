package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPseudonymCommand(t *testing.T) {
	const key = "k3y-0123456789abcdef0123456789abcdef"
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "hmac.key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := func(v string) string {
		m := hmac.New(sha256.New, []byte(key))
		m.Write([]byte(v))
		return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	}
	// Flags, and an e-mail address folded as the processor folds it.
	code, out, errs := runCLI("pseudonym", "--hmac-key-file", keyFile, "--value", "Maria Garcia", "--value", "Jane.Doe@Example.COM")
	if code != 0 || out != want("Maria Garcia")+"\n"+want("jane.doe@example.com")+"\n" {
		t.Fatalf("pseudonym --value = %d %q %s", code, out, errs)
	}
	// Stdin, one value a line, CRLF or not.
	var stdout, stderr bytes.Buffer
	code = run([]string{"pseudonym", "--hmac-key-file", keyFile}, &env{stdin: strings.NewReader("1961-03-14\r\nP-1001\n"), stdout: &stdout, stderr: &stderr})
	if code != 0 || stdout.String() != want("1961-03-14")+"\n"+want("P-1001")+"\n" {
		t.Fatalf("pseudonym from stdin = %d %q %s", code, stdout.String(), stderr.String())
	}

	// An empty value stays empty, as the processor leaves it: a blank
	// line gives a blank line, so that output line i answers input line i.
	stdout.Reset()
	code = run([]string{"pseudonym", "--hmac-key-file", keyFile}, &env{stdin: strings.NewReader("a\n\r\n\nb\n"), stdout: &stdout, stderr: &stderr})
	if code != 0 || stdout.String() != want("a")+"\n\n\n"+want("b")+"\n" {
		t.Fatalf("pseudonym of blank lines = %d %q %s", code, stdout.String(), stderr.String())
	}
	if code, out, errs := runCLI("pseudonym", "--hmac-key-file", keyFile, "--value", ""); code != 0 || out != "\n" {
		t.Fatalf("pseudonym --value '' = %d %q %s", code, out, errs)
	}

	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte("too short\n"), 0o600)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"pseudonym", "--value", "x"}, "--hmac-key-file is required"},
		{[]string{"pseudonym", "--hmac-key-file", filepath.Join(dir, "missing"), "--value", "x"}, "no such file"},
		{[]string{"pseudonym", "--hmac-key-file", short, "--value", "x"}, "holds 9 bytes: an hmac_key has at least 32"},
	} {
		if code, _, errs := runCLI(c.args...); code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v = %d %q, want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
