package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelaudit/otelaudit/auditlog"
)

// TestVerifyFullFlag: --full gives the same verdict and findings as the
// default on an intact and on a tampered store.
func TestVerifyFullFlag(t *testing.T) {
	if code, _, out := runCLI("verify", "--help"); code != 0 || !strings.Contains(out, "-full") {
		t.Fatalf("verify --help = %d, no --full in\n%s", code, out)
	}
	dir, _, verifier := newStore(t, 20)
	for _, args := range [][]string{nil, {"--full"}} {
		code, out, errs := runCLI(append([]string{"verify", "--dir", dir, "--verifier", verifier}, args...)...)
		if code != 0 || !strings.Contains(out, "OK: 20 records in 1 chains, 0 problems") {
			t.Fatalf("verify %v intact = %d\n%s%s", args, code, out, errs)
		}
	}
	segs, _ := auditlog.SegmentFiles(dir, "general")
	p := filepath.Join(dir, "general", segs[1])
	seg, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(seg, []byte(`"tool_name":"search"`), []byte(`"tool_name":"delete"`), 1), 0o600)
	code, def, _ := runCLI("verify", "--dir", dir, "--verifier", verifier, "--format", "csv")
	codeFull, full, _ := runCLI("verify", "--dir", dir, "--verifier", verifier, "--format", "csv", "--full")
	if code != 1 || codeFull != 1 || def != full || !strings.Contains(def, ",modified,") {
		t.Fatalf("tampered: default %d\n%s\n--full %d\n%s", code, def, codeFull, full)
	}
}
