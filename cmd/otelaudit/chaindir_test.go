package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCopiedChainDirectory: a chain directory copied under another chain
// name doubled every answer of the query commands, with integrity
// "verified: yes", and verify passed. Now both fail on it, naming both
// directories.
func TestCopiedChainDirectory(t *testing.T) {
	dir, verifier := scenarioStore(t)
	chains, _ := os.ReadDir(dir)
	var chain string
	for _, c := range chains {
		if c.IsDir() {
			chain = c.Name()
			break
		}
	}
	if err := os.CopyFS(filepath.Join(dir, chain+"-copy"), os.DirFS(filepath.Join(dir, chain))); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI("verify", "--dir", dir, "--verifier", verifier)
	if code != exitFinding || !strings.Contains(out, "chain="+chain+" segment= seq=-1 kind=chain_duplicate") ||
		!strings.Contains(out, "is also in directory "+chain+"-copy") {
		t.Errorf("verify = %d\n%s", code, out)
	}
	for _, cmd := range [][]string{{"stats"}, {"calls"}, {"anomalies"}, {"report", "--subject", "patient/P-1001"}} {
		code, out, errs := runCLI(append(cmd, "--dir", dir, "--verifier", verifier)...)
		if code != exitFinding || !strings.Contains(out+errs, "chain_duplicate") && !strings.Contains(out+errs, "NOT verified") {
			t.Errorf("%s = %d, want %d with integrity not verified\n%s\n%s", cmd[0], code, exitFinding, out, errs)
		}
	}
}
