package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestKeygenName: keygen refuses a name golang.org/x/mod/sumdb/note
// cannot read back (it wrote keys that verify and prune then rejected
// with "malformed verifier id"), and writes nothing for it.
func TestKeygenName(t *testing.T) {
	tests := []struct {
		name    string
		code    int
		wantErr string
	}{
		{name: "example.com/otelaudit", code: 0},
		{name: "bad name", code: 2, wantErr: `--name "bad name": a key name must be valid UTF-8 with no spaces and no '+'`},
		{name: "bad+name", code: 2, wantErr: `--name "bad+name"`},
		{name: "tab\tname", code: 2, wantErr: `--name "tab\tname"`},
		{name: "nbsp\u00a0name", code: 2, wantErr: `--name "nbsp\u00a0name"`},
		{name: "bad\xffutf8", code: 2, wantErr: "valid UTF-8"},
		{name: "", code: 2, wantErr: "--name is required"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		s, v := filepath.Join(dir, "s"), filepath.Join(dir, "v")
		code, _, errs := runCLI("keygen", "--name", tt.name, "--signer", s, "--verifier", v)
		if code != tt.code || !strings.Contains(errs, tt.wantErr) {
			t.Errorf("keygen --name %q = %d %q; want %d and %q", tt.name, code, errs, tt.code, tt.wantErr)
			continue
		}
		if code != 0 {
			if _, err := os.Stat(s); !os.IsNotExist(err) {
				t.Errorf("keygen --name %q failed but wrote %s", tt.name, s)
			}
			continue
		}
		if _, err := loadVerifiers(v); err != nil {
			t.Errorf("keygen --name %q: verifier does not load: %v", tt.name, err)
		}
		if _, err := loadSigner(s); err != nil {
			t.Errorf("keygen --name %q: signer does not load: %v", tt.name, err)
		}
	}
}

// TestHelpCommand: "otelaudit help CMD" prints CMD's help, as CMD --help
// does (it printed the list of commands), and keygen's help says that
// its -signer and -verifier are files it writes.
func TestHelpCommand(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		want    []string
		notWant string
	}{
		{args: []string{"help", "verify"}, want: []string{"usage: otelaudit verify", "-since-checkpoint"}, notWant: "commands:"},
		{args: []string{"help", "keygen"}, want: []string{"usage: otelaudit keygen", "file to write the note signer key to", "file to write the note verifier key to"}, notWant: "that sign checkpoints, one per line"},
		{args: []string{"help"}, want: []string{"commands:", "otelaudit help COMMAND"}},
		{args: []string{"help", "nosuch"}, code: 2, want: []string{`unknown command "nosuch"`}},
		{args: []string{"help", "verify", "prune"}, code: 2, want: []string{`unexpected argument "prune"`}},
	}
	for _, tt := range tests {
		code, out, errs := runCLI(tt.args...)
		if code != tt.code || out != "" {
			t.Errorf("otelaudit %v = %d, stdout %q; want %d", tt.args, code, out, tt.code)
		}
		for _, w := range tt.want {
			if !strings.Contains(errs, w) {
				t.Errorf("otelaudit %v: stderr lacks %q:\n%s", tt.args, w, errs)
			}
		}
		if tt.notWant != "" && strings.Contains(errs, tt.notWant) {
			t.Errorf("otelaudit %v: stderr has %q:\n%s", tt.args, tt.notWant, errs)
		}
	}
}
