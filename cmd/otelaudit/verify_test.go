package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/otelaudit/otelaudit/auditlog"
)

// TestVerifyCheckpointSummary: with one modified record, the chain's line
// counts the checkpoints that failed apart from those that matched (it
// read "N checkpoints matched" counting the failed ones too), in text and
// JSON.
func TestVerifyCheckpointSummary(t *testing.T) {
	dir, _, verifier := newStore(t, 20)
	var clean struct {
		Chains []auditlog.ChainReport `json:"chains"`
	}
	_, out, _ := runCLI("verify", "--dir", dir, "--verifier", verifier, "--format", "json")
	if err := json.Unmarshal([]byte(out), &clean); err != nil || len(clean.Chains) != 1 {
		t.Fatalf("json %q: %v", out, err)
	}
	all := clean.Chains[0].Checkpoints
	segs, _ := auditlog.SegmentFiles(dir, "general")
	p := filepath.Join(dir, "general", segs[1])
	seg, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(seg, []byte(`"tool_name":"search"`), []byte(`"tool_name":"delete"`), 1), 0o600)

	code, out, _ := runCLI("verify", "--dir", dir, "--verifier", verifier)
	failed := strings.Count(out, "kind=checkpoint_")
	want := fmt.Sprintf("%d checkpoints matched, %d did not\n", all-failed, failed)
	if code != exitFinding || failed == 0 || !strings.Contains(out, want) {
		t.Errorf("verify = %d; want %q in\n%s", code, want, out)
	}
	var rep struct {
		Chains []auditlog.ChainReport `json:"chains"`
	}
	_, out, _ = runCLI("verify", "--dir", dir, "--verifier", verifier, "--format", "json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Chains) != 1 {
		t.Fatalf("json %q: %v", out, err)
	}
	if c := rep.Chains[0]; c.Checkpoints != all-failed || c.CheckpointsFailed != failed || !strings.Contains(out, `"checkpoints_failed": `) {
		t.Errorf("json: checkpoints %d, failed %d; want %d, %d", c.Checkpoints, c.CheckpointsFailed, all-failed, failed)
	}
}
