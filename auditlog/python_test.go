package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
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
	// The marker states a hold and a release (v2 lines the script must
	// pass over).
	holds := filepath.Join(dir, "healthcare", legalHoldFile)
	os.WriteFile(holds, []byte("user u-held\nuser u-gone\n"), 0o600)
	if _, err := Prune(dir, PruneOptions{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Signer: k.signer, Chains: []string{"healthcare"}}); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(holds, []byte("user u-held\n"), 0o600)
	if _, err := Prune(dir, PruneOptions{Now: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC), Signer: k.signer, Chains: []string{"healthcare"}, ReleaseHolds: []string{"user u-gone"}}); err != nil {
		t.Fatal(err)
	}
	if m, err := ReadPruneMarker(filepath.Join(dir, "healthcare")); err != nil || m == nil || len(m.Holds) != 1 || len(m.Releases) != 1 {
		t.Fatalf("marker %+v, %v: want a hold and a release", m, err)
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

// TestPythonVerifierBindings holds scripts/verify_chain.py to what the
// README says it checks beyond hashes and links, and to verify's rule for
// the leftovers of an interrupted prune: each case failed before (a false
// alarm, or a change the script passed).
func TestPythonVerifierBindings(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required: the README's stdlib-only verifier is checked here")
	}
	k := newTestKeys(t, "test")
	script, _ := filepath.Abs(filepath.Join("scripts", "verify_chain.py"))
	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   string // in the output; exit 1 unless it starts with "OK"
	}{
		{"interrupted prune leaves a segment below the cut", func(t *testing.T, dir string) {
			segs, _ := listSegments(filepath.Join(dir, "general"))
			left, _ := os.ReadFile(filepath.Join(dir, "general", segs[0]))
			if _, err := Prune(dir, PruneOptions{Now: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), Signer: k.signer, Chains: []string{"general"}}); err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "general", segs[0]), left, 0o600)
		}, "OK chain=general"},
		{"chain directories swapped", func(t *testing.T, dir string) {
			g, h, tmp := filepath.Join(dir, "general"), filepath.Join(dir, "healthcare"), filepath.Join(dir, "tmp")
			os.Rename(g, tmp)
			os.Rename(h, g)
			os.Rename(tmp, h)
		}, `chain_id 'example.com/otelaudit/test/healthcare' is not this directory's chain`},
		{"segment renamed", func(t *testing.T, dir string) {
			segs, _ := listSegments(filepath.Join(dir, "general"))
			os.Rename(filepath.Join(dir, "general", segs[1]), filepath.Join(dir, "general", "00000000000000000001.jsonl"))
		}, "00000000000000000001.jsonl: segment is not named for its first seq"},
		{"latest checkpoint removed, a history one contradicts", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "general", CheckpointFile))
			hist, _ := os.ReadDir(filepath.Join(dir, "general", CheckpointsDir))
			p := filepath.Join(dir, "general", CheckpointsDir, hist[0].Name())
			msg, _ := os.ReadFile(p)
			cp, _ := OpenCheckpoint(msg, k.verifiers)
			cp.Root[0] ^= 1
			os.WriteFile(p, signCP(t, k, cp), 0o600)
		}, "origin or Merkle root of the first"},
		{"seq true where 1 belongs, hash recomputed, no checkpoints", func(t *testing.T, dir string) {
			// Python's true == 1: a type check tells them apart.
			c := filepath.Join(dir, "general")
			segs, _ := listSegments(c)
			for _, s := range segs[1:] {
				os.Remove(filepath.Join(c, s))
			}
			os.RemoveAll(filepath.Join(c, CheckpointsDir))
			os.Remove(filepath.Join(c, CheckpointFile))
			os.Remove(filepath.Join(c, sealName(segs[0])))
			data, _ := os.ReadFile(filepath.Join(c, segs[0]))
			lines := bytes.SplitAfter(data, []byte("\n"))
			var rl RecordLine
			line := bytes.TrimSuffix(lines[1], []byte("\n"))
			if !ScanRecordLine(line, &rl) {
				t.Fatal("record 1 does not scan")
			}
			// "hash" sorts before "seq": the member stays where it was.
			line = bytes.Replace(line, []byte(`"seq":1,`), []byte(`"seq":true,`), 1)
			body := append(append([]byte{}, line[:rl.HashStart]...), line[rl.HashEnd:]...)
			sum := sha256.Sum256(body)
			line = append(append(append(append([]byte{}, line[:rl.HashStart]...), `,"hash":"`...), hex.EncodeToString(sum[:])+`"`...), line[rl.HashEnd:]...)
			os.WriteFile(filepath.Join(c, segs[0]), append(append(lines[0], line...), '\n'), 0o600)
		}, "seq 1: found seq True"},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			tt.tamper(t, dir)
			out, err := exec.Command(py, script, dir, "general").CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			wantCode := 1
			if strings.HasPrefix(tt.want, "OK") {
				wantCode = 0
			}
			if code != wantCode || !strings.Contains(string(out), tt.want) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, wantCode, tt.want, out)
			}
		})
	}
}
