package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyInputFiles: a --since-checkpoint file that is no checkpoint
// is exit 2 naming it (it was exit 1, "kind=rollback" with no chain), and
// key files may start with a UTF-8 byte order mark and hold white space
// around their keys (a BOM gave "invalid verifier hash").
func TestVerifyInputFiles(t *testing.T) {
	dir, signer, verifier := newStore(t, 20)
	tmp := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	vkey, _ := os.ReadFile(verifier)
	skey, _ := os.ReadFile(signer)
	cp, _ := os.ReadFile(filepath.Join(dir, "general", "checkpoint"))
	garbage := write("garbage", "not a checkpoint\x00\x01")
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{name: "garbage since-checkpoint", args: []string{"verify", "--verifier", verifier, "--since-checkpoint", garbage}, code: 2, stderr: "--since-checkpoint " + garbage + ": not a signed note"},
		{name: "checkpoint text without signatures", args: []string{"verify", "--verifier", verifier, "--since-checkpoint", write("text", strings.SplitAfter(string(cp), "\n\n")[0])}, code: 2, stderr: "not a signed note"},
		{name: "saved checkpoint", args: []string{"verify", "--verifier", verifier, "--since-checkpoint", write("cp", string(cp))}, stdout: "OK: 20 records"},
		{name: "verifier with BOM and CRLF", args: []string{"verify", "--verifier", write("v-bom", "\uFEFF"+strings.TrimSpace(string(vkey))+"\r\n\r\n")}, stdout: "OK: 20 records"},
		{name: "verifier with BOM and spaces", args: []string{"verify", "--verifier", write("v-bom2", "\uFEFF  \n\t"+strings.TrimSpace(string(vkey))+"  ")}, stdout: "OK: 20 records"},
		{name: "signer with BOM", args: []string{"prune", "--dry-run", "--signer", write("s-bom", "\uFEFF"+strings.TrimSpace(string(skey))+"\r\n")}, stdout: "chain general"},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(append(tt.args, "--dir", dir)...)
		if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) || (code == 2 && strings.Count(errs, "\n") != 1) {
			t.Errorf("%s: %d, stdout %q, stderr %q; want %d, %q, %q", tt.name, code, out, errs, tt.code, tt.stdout, tt.stderr)
		}
	}
}
