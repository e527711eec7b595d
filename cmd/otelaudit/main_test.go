package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/snapshot"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

// newStore generates keys with keygen and writes a store of n records.
func newStore(t *testing.T, n int) (dir, signer, verifier string) {
	t.Helper()
	tmp := t.TempDir()
	signer, verifier = filepath.Join(tmp, "signer.key"), filepath.Join(tmp, "verifier.key")
	if code, _, errs := runCLI("keygen", "--name", "test.example/audit", "--signer", signer, "--verifier", verifier); code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	dir = filepath.Join(tmp, "store")
	st := openStore(t, dir, signer)
	recs := make([]*auditlog.Record, n)
	for i := range recs {
		recs[i] = searchRecord(i, time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC))
	}
	for i := 0; i < n; i += 2 {
		if _, err := st.Append(context.Background(), recs[i:min(i+2, n)]); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, signer, verifier
}

// openStore opens the store in dir as newStore does, signing with the key
// in signerFile.
func openStore(t *testing.T, dir, signerFile string) *auditlog.Store {
	t.Helper()
	s, err := loadSigner(signerFile)
	if err != nil {
		t.Fatal(err)
	}
	st, err := auditlog.Open(dir, auditlog.WithOrigin("test.example/gw"), auditlog.WithSigner(s), auditlog.WithSegmentMaxBytes(2048))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// searchRecord is record i of a test store, of a call at ts, kept 90 days.
func searchRecord(i int, ts time.Time) *auditlog.Record {
	return &auditlog.Record{
		Timestamp: ts.Format(auditlog.TimeFormat), TraceID: fmt.Sprintf("%032x", i+1), SpanID: fmt.Sprintf("%016x", i+1),
		ToolName: "search", Operation: "execute_tool", Success: true,
		Retention: auditlog.Retention{Class: "general", Days: 90, RetainUntil: ts.AddDate(0, 0, 90).Format(auditlog.TimeFormat)},
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	s, v := filepath.Join(dir, "s"), filepath.Join(dir, "v")
	code, out, _ := runCLI("keygen", "--name", "k", "--signer", s, "--verifier", v)
	if code != 0 || !strings.Contains(out, "verifier key") {
		t.Fatalf("keygen = %d %q", code, out)
	}
	st, _ := os.Stat(s)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("signer mode %v", st.Mode().Perm())
	}
	if _, err := loadVerifiers(v); err != nil {
		t.Fatal(err)
	}
	// Never overwrites.
	if code, _, errs := runCLI("keygen", "--name", "k", "--signer", s, "--verifier", v+"2"); code != 2 || !strings.Contains(errs, "exists") {
		t.Fatalf("keygen over existing = %d %q", code, errs)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args    []string
		code    int
		wantErr string
	}{
		{nil, 2, "usage: otelaudit"},
		{[]string{"--help"}, 0, "commands:"},
		{[]string{"nope"}, 2, `unknown command "nope"`},
		{[]string{"verify", "--help"}, 0, "--since-checkpoint"},
		{[]string{"prune", "--help"}, 0, "--dry-run"},
		{[]string{"cat", "--help"}, 0, "--dir"},
		{[]string{"keygen", "--help"}, 0, "--name"},
		{[]string{"verify"}, 2, "--dir is required"},
		{[]string{"verify", "--dir", "x"}, 2, "--verifier is required"},
		{[]string{"verify", "--dir", "x", "--verifier", "/nonexistent"}, 2, "no such file"},
		{[]string{"verify", "--bogus"}, 2, "flag provided but not defined"},
		{[]string{"verify", "--dir", "x", "--verifier", "v", "--format", "xml"}, 2, `--format "xml"`},
		{[]string{"prune", "--dir", "x"}, 2, "--signer is required"},
		{[]string{"prune", "--dir", "x", "--dry-run", "--now", "soon"}, 2, "neither RFC 3339 nor a date"},
		{[]string{"cat", "--dir", "/nonexistent"}, 2, "no such file"},
		{[]string{"keygen", "--name", "k"}, 2, "--signer is required"},
	}
	for _, tt := range tests {
		code, _, errs := runCLI(tt.args...)
		if code != tt.code || !strings.Contains(errs, tt.wantErr) {
			t.Errorf("otelaudit %v = %d %q; want %d and %q", tt.args, code, errs, tt.code, tt.wantErr)
		}
		if code == 2 && len(tt.args) > 1 && strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("otelaudit %v: reason is not one line: %q", tt.args, errs)
		}
	}
}

func TestVerifyCommand(t *testing.T) {
	dir, _, verifier := newStore(t, 20)
	code, out, errs := runCLI("verify", "--dir", dir, "--verifier", verifier)
	if code != 0 || !strings.Contains(out, "OK: 20 records in 1 chains, 0 problems") {
		t.Fatalf("verify intact = %d\n%s%s", code, out, errs)
	}
	code, out, _ = runCLI("verify", "--dir", dir, "--verifier", verifier, "--format", "json")
	var rep struct {
		OK      bool `json:"ok"`
		Records int  `json:"records"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.OK || rep.Records != 20 {
		t.Fatalf("json = %d %s", code, out)
	}
	// A saved checkpoint that the store still contains passes.
	cp := filepath.Join(t.TempDir(), "cp")
	data, _ := os.ReadFile(filepath.Join(dir, "general", "checkpoint"))
	os.WriteFile(cp, data, 0o600)
	if code, out, _ := runCLI("verify", "--dir", dir, "--verifier", verifier, "--since-checkpoint", cp); code != 0 {
		t.Fatalf("since-checkpoint = %d\n%s", code, out)
	}

	// Tamper with one record.
	segs, _ := auditlog.SegmentFiles(dir, "general")
	p := filepath.Join(dir, "general", segs[1])
	seg, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(seg, []byte(`"tool_name":"search"`), []byte(`"tool_name":"delete"`), 1), 0o600)
	code, out, _ = runCLI("verify", "--dir", dir, "--verifier", verifier)
	first, _ := segmentFirst(segs[1])
	want := fmt.Sprintf("FAIL chain=general segment=%s seq=%d kind=modified", segs[1], first)
	if code != 1 || !strings.Contains(out, want) || !strings.Contains(out, "FAILED") {
		t.Fatalf("verify tampered = %d, want line %q in\n%s", code, want, out)
	}
	code, out, _ = runCLI("verify", "--dir", dir, "--verifier", verifier, "--format", "csv")
	if code != 1 || !strings.HasPrefix(out, "chain,segment,seq,kind,detail\n") || !strings.Contains(out, ",modified,") {
		t.Fatalf("csv = %d\n%s", code, out)
	}
	// A different key: every checkpoint is from an unknown key.
	tmp := t.TempDir()
	runCLI("keygen", "--name", "other", "--signer", filepath.Join(tmp, "s"), "--verifier", filepath.Join(tmp, "v"))
	code, out, _ = runCLI("verify", "--dir", dir, "--verifier", filepath.Join(tmp, "v"))
	if code != 1 || !strings.Contains(out, "kind=checkpoint_unknown_key") {
		t.Fatalf("unknown key = %d\n%s", code, out)
	}
}

// TestVerifyRequireSigned removes a closed store's checkpoints: the
// active segment's records are then signed by nothing, counted as such,
// and a problem only with --require-signed.
func TestVerifyRequireSigned(t *testing.T) {
	dir, _, verifier := newStore(t, 20)
	if code, out, errs := runCLI("verify", "--dir", dir, "--verifier", verifier, "--require-signed"); code != 0 || errs != "" {
		t.Fatalf("closed store, --require-signed = %d\n%s%s", code, out, errs)
	}
	for _, p := range []string{"checkpoint", "checkpoints"} {
		if err := os.RemoveAll(filepath.Join(dir, "general", p)); err != nil {
			t.Fatal(err)
		}
	}
	segs, _ := auditlog.SegmentFiles(dir, "general")
	active := segs[len(segs)-1]
	first, _ := segmentFirst(active)
	unsigned := fmt.Sprintf("note: chain general: records %d..19 are signed by no checkpoint or seal yet", first)
	code, out, errs := runCLI("verify", "--dir", dir, "--verifier", verifier)
	if code != 0 || !strings.Contains(errs, unsigned) || !strings.Contains(out, "OK: 20 records in 1 chains, 0 problems\n") {
		t.Fatalf("without checkpoints = %d, want %q on stderr:\n%s%s", code, unsigned, out, errs)
	}
	code, out, _ = runCLI("verify", "--dir", dir, "--verifier", verifier, "--require-signed")
	want := fmt.Sprintf("FAIL chain=general segment=%s seq=%d kind=unsigned", active, first)
	if code != 1 || !strings.Contains(out, want) {
		t.Fatalf("without checkpoints, --require-signed = %d, want %q in\n%s", code, want, out)
	}
	code, out, _ = runCLI("verify", "--dir", dir, "--verifier", verifier, "--format", "json")
	var rep struct {
		Chains []struct {
			UnsignedRecords int64 `json:"unsigned_records"`
		} `json:"chains"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Chains) != 1 || rep.Chains[0].UnsignedRecords != 20-first {
		t.Fatalf("json = %d\n%s", code, out)
	}
}

func segmentFirst(seg string) (int64, error) {
	var n int64
	_, err := fmt.Sscanf(seg, "%020d.jsonl", &n)
	return n, err
}

func TestPruneAndCatCommands(t *testing.T) {
	dir, signer, verifier := newStore(t, 20)
	code, out, _ := runCLI("cat", "--dir", dir)
	if code != 0 || strings.Count(out, "\n") != 20 {
		t.Fatalf("cat = %d, %d lines", code, strings.Count(out, "\n"))
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var r auditlog.Record
		if err := auditlog.DecodeRecord([]byte(line), &r); err != nil || r.Hash != r.ComputeHash() {
			t.Fatalf("cat line does not decode: %v", err)
		}
	}
	code, out, _ = runCLI("prune", "--dir", dir, "--dry-run", "--now", "2030-01-01")
	if code != 0 || !strings.Contains(out, "would remove") {
		t.Fatalf("dry run = %d %s", code, out)
	}
	// A prune as of a later date than the clock's is refused: it would
	// remove records before their retain_until.
	code, _, errs := runCLI("prune", "--dir", dir, "--signer", signer, "--now", "2030-01-01T00:00:00Z")
	if code != 2 || !strings.Contains(errs, "is later than the clock") {
		t.Fatalf("prune with a future --now = %d %s", code, errs)
	}
	if segs, _ := auditlog.SegmentFiles(dir, "general"); len(segs) < 2 {
		t.Fatalf("the refused prune removed segments: %v", segs)
	}
	// The records expired on 2026-04-01.
	code, out, errs = runCLI("prune", "--dir", dir, "--signer", signer)
	if code != 0 || !strings.Contains(out, "removed") {
		t.Fatalf("prune = %d %s %s", code, out, errs)
	}
	if code, out, _ := runCLI("verify", "--dir", dir, "--verifier", verifier); code != 0 {
		t.Fatalf("verify after prune = %d\n%s", code, out)
	}
	code, out, _ = runCLI("cat", "--dir", dir, "--chain", "general")
	if code != 0 || strings.Count(out, "\n") >= 20 || strings.Count(out, "\n") == 0 {
		t.Fatalf("cat after prune = %d, %d lines", code, strings.Count(out, "\n"))
	}
}

// TestCatLiveStore reads a store its writer holds, whose last segment ends
// in a partial line as a write in flight leaves it: cat prints the records
// before it. Once the writer is gone, the partial line is an error.
func TestCatLiveStore(t *testing.T) {
	dir, signer, _ := newStore(t, 20)
	st := openStore(t, dir, signer)
	defer st.Close()
	segs, _ := auditlog.SegmentFiles(dir, "general")
	f, err := os.OpenFile(filepath.Join(dir, "general", segs[len(segs)-1]), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"agent":{"id":"","na`)
	f.Close()
	code, out, errs := runCLI("cat", "--dir", dir)
	if code != 0 || strings.Count(out, "\n") != 20 {
		t.Fatalf("cat of a live store = %d, %d lines\n%s", code, strings.Count(out, "\n"), errs)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI("cat", "--dir", dir)
	if code != 2 || !strings.Contains(errs, "incomplete line without newline") {
		t.Fatalf("cat of a closed store with a partial line = %d\n%s", code, errs)
	}
}

// TestKeyRotation changes a store's signing key between two runs of its
// writer, as an operator rotating keys does: a verifier file with both
// verifier keys proves every checkpoint and seal; one with the new key
// alone reports the old key's as unknown.
func TestKeyRotation(t *testing.T) {
	dir, _, oldVerifier := newStore(t, 20)
	tmp := t.TempDir()
	newSigner, newVerifier := filepath.Join(tmp, "signer.key"), filepath.Join(tmp, "verifier.key")
	if code, _, errs := runCLI("keygen", "--name", "test.example/audit", "--signer", newSigner, "--verifier", newVerifier); code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	st := openStore(t, dir, newSigner)
	for i := 20; i < 30; i++ {
		r := searchRecord(i, time.Date(2026, 1, 2, 0, 0, i, 0, time.UTC))
		if _, err := st.Append(context.Background(), []*auditlog.Record{r}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	both := filepath.Join(tmp, "verifiers")
	a, _ := os.ReadFile(oldVerifier)
	b, _ := os.ReadFile(newVerifier)
	if err := os.WriteFile(both, append(append(a, '\n'), b...), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI("verify", "--dir", dir, "--verifier", both, "--require-signed"); code != 0 || !strings.Contains(out, "OK: 30 records") {
		t.Fatalf("verify with both keys = %d\n%s", code, out)
	}
	code, out, _ := runCLI("verify", "--dir", dir, "--verifier", newVerifier)
	if code != 1 || !strings.Contains(out, "kind=checkpoint_unknown_key") && !strings.Contains(out, "kind=seal_invalid") {
		t.Fatalf("verify with the new key alone = %d\n%s", code, out)
	}
}

// TestInterruptedPrune puts back the segments a prune deleted, as a prune
// killed after writing its marker leaves them: cat, export jsonl, calls
// and verify all see the store the prune left, not the pruned records.
func TestInterruptedPrune(t *testing.T) {
	dir, signer, verifier := newStore(t, 40)
	saved := snapshot.Take(t, dir)
	if code, out, errs := runCLI("prune", "--dir", dir, "--signer", signer); code != 0 {
		t.Fatalf("prune = %d\n%s%s", code, out, errs)
	}
	_, kept, _ := runCLI("cat", "--dir", dir)
	_, keptCalls, _ := runCLI("calls", "--dir", dir, "--verifier", verifier, "--format", "csv")
	if n := strings.Count(kept, "\n"); n == 0 || n >= 40 {
		t.Fatalf("the prune kept %d of 40 records", n)
	}
	if len(saved.RestoreDeleted(t)) == 0 {
		t.Fatal("the prune deleted nothing")
	}
	for _, args := range [][]string{{"cat", "--dir", dir}, {"export", "--format", "jsonl", "--dir", dir}} {
		code, out, errs := runCLI(args...)
		if code != 0 || out != kept {
			t.Errorf("%s with the leftovers = %d, %d lines (want %d)\n%s", args[0], code, strings.Count(out, "\n"), strings.Count(kept, "\n"), errs)
		}
	}
	if code, out, errs := runCLI("calls", "--dir", dir, "--verifier", verifier, "--format", "csv"); code != 0 || out != keptCalls {
		t.Errorf("calls with the leftovers = %d, %d lines (want %d)\n%s", code, strings.Count(out, "\n"), strings.Count(keptCalls, "\n"), errs)
	}
	if code, out, errs := runCLI("verify", "--dir", dir, "--verifier", verifier, "--require-signed"); code != 0 {
		t.Errorf("verify with the leftovers = %d\n%s%s", code, out, errs)
	}
}

// TestCatDamagedStore appends a bad line to a segment: cat and export
// jsonl write every record before it, each line whole, then fail with one
// line. The store is large enough (over 64 KiB) that a buffered copy cut
// at the error would end mid-record.
func TestCatDamagedStore(t *testing.T) {
	dir, _, _ := newStore(t, 100)
	segs, _ := auditlog.SegmentFiles(dir, "general")
	_, all, _ := runCLI("cat", "--dir", dir)
	if len(all) <= 1<<16 {
		t.Fatalf("store of %d bytes: want more than 64 KiB", len(all))
	}
	for _, at := range []int{len(segs) - 1, len(segs) / 2, 0} {
		t.Run(segs[at], func(t *testing.T) {
			dir, _, _ := newStore(t, 100)
			p := filepath.Join(dir, "general", segs[at])
			before, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			// The records of the segments before this one and of this one.
			var want strings.Builder
			for _, s := range segs[:at+1] {
				data, _ := os.ReadFile(filepath.Join(dir, "general", s))
				want.Write(data)
			}
			f, _ := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			f.WriteString("{\"not\":\"a record\"}\n")
			f.Close()
			badLine := strings.Count(string(before), "\n") + 1
			for _, args := range [][]string{
				{"cat", "--dir", dir},
				{"cat", "--dir", dir, "--chain", "general"},
				{"export", "--format", "jsonl", "--dir", dir},
			} {
				code, out, errs := runCLI(args...)
				if code != exitUsage || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, fmt.Sprintf("%s: line %d:", segs[at], badLine)) {
					t.Errorf("%v = %d, stderr %q", args, code, errs)
				}
				if out != want.String() {
					t.Errorf("%v wrote %d bytes (%d lines), want the %d bytes (%d lines) before the bad line", args,
						len(out), strings.Count(out, "\n"), want.Len(), strings.Count(want.String(), "\n"))
				}
			}
		})
	}
}
