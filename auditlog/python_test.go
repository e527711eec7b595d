package auditlog

import (
	"bytes"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPythonVerifier runs scripts/verify_chain.py, which uses only the
// Python standard library, against a store with awkward values (numbers in
// exponent form, escapes, non-BMP characters, unsorted payloads) and a
// pruned chain, then against a tampered copy.
func TestPythonVerifier(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		// A skip would let the README's claim go unchecked; .ci/run
		// installs python3, and so must anyone running make test.
		t.Fatal("python3 is required: the README's stdlib-only verifier is checked here")
	}
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	if _, err := Prune(dir, PruneOptions{Now: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), Signer: k.signer, Chains: []string{"healthcare"}}); err != nil {
		t.Fatal(err)
	}
	s := openTestStore(t, dir, k)
	odd := testRecords(900, 6, "general")
	odd[0].DurationMS = 1e-7
	odd[1].DurationMS = 1.5e21
	odd[2].DurationMS = 123456.789
	odd[3].DurationMS = math.Nextafter(0.1, 1)
	odd[4].UserID = "ünïcødé 😀 \u2028 \x01 \"quoted\" <tag> &amp;"
	odd[5].Arguments = []byte(`{"z":[1.0,2e3,-0,1E-7],"\ue000":1,"😀":2,"a":{"y":null,"x":"\u00e9"}}`)
	appendOK(t, s, odd)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join("scripts", "verify_chain.py")
	out, err := exec.Command(py, script, dir).CombinedOutput()
	if err != nil {
		t.Fatalf("verify_chain.py on an intact store: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK chain=general records up to seq 65, checkpoint") ||
		!strings.Contains(string(out), "OK chain=healthcare") || !strings.Contains(string(out), "root matches") {
		t.Fatalf("unexpected output:\n%s", out)
	}

	// Tamper: the script must fail and say where.
	segs, _ := listSegments(filepath.Join(dir, "general"))
	p := filepath.Join(dir, "general", segs[0])
	data, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(data, []byte(`"purpose":"treatment"`), []byte(`"purpose":"marketing"`), 1), 0o600)
	out, err = exec.Command(py, script, dir, "general").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("tampered store: err %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "FAIL chain=general "+segs[0]+" seq 0: content does not match its hash") {
		t.Fatalf("unexpected output:\n%s", out)
	}
}
