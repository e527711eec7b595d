package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelaudit/otelaudit/internal/snapshot"
)

func TestPolicyClassify(t *testing.T) {
	p := DefaultPolicy()
	p.Classes[0].Tools = append(p.Classes[0].Tools, "billing_*")
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tool, subject, class string
		days                 int
	}{
		{"charge_payment", "", "financial", 2555},
		{"billing_export", "", "financial", 2555},
		{"access_patient_record", "", "healthcare", 2190},
		{"search_docs", "patient", "healthcare", 2190},
		{"search_docs", "Patient", "healthcare", 2190}, // a type spelled otherwise must not shorten retention
		{"search_docs", "PATIENT", "healthcare", 2190},
		{"Charge_Payment", "", "general", 365}, // tool names are case-sensitive
		{"search_docs", "customer", "general", 365},
		{"", "", "general", 365},
	}
	for _, tt := range tests {
		if c, d := p.Classify(tt.tool, tt.subject); c != tt.class || d != tt.days {
			t.Errorf("Classify(%q, %q) = %s, %d; want %s, %d", tt.tool, tt.subject, c, d, tt.class, tt.days)
		}
	}
	ts := time.Date(2026, 2, 3, 4, 5, 6, 7, time.UTC)
	if r := p.Retention("charge_payment", "", ts); r.RetainUntil != "2033-02-01T04:05:06.000000007Z" || r.Days != 2555 {
		t.Errorf("Retention = %+v", r)
	}
	bad := &Policy{DefaultClass: "nope", Classes: []Class{{Name: "a/b", Days: 0, Tools: []string{"["}}, {Name: "legal_hold", Days: 1}, {Name: "forever", Days: 3_000_000}}}
	err := bad.Validate()
	for _, want := range []string{`"a/b"`, `"a/b": days must be 1 to 365000, got 0`, `"forever": days must be 1 to 365000, got 3000000`, `tool pattern "["`, `default_class "nope"`, `"legal_hold" is reserved`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %v lacks %s", err, want)
		}
	}
}

func TestPrune(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k) // records from 2026-01-02, kept 365 days
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	segs, _ := listSegments(filepath.Join(dir, "general"))

	// Not yet expired: nothing to do.
	res, err := Prune(dir, PruneOptions{Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Signer: k.signer})
	if err != nil || len(res[0].Segments) != 0 || !strings.Contains(res[0].StoppedAt, "not expired") {
		t.Fatalf("early prune = %+v, %v", res, err)
	}
	// A legal hold on a subject in the third segment stops there.
	var held string
	ReadSegmentFile(filepath.Join(dir, "general", segs[2]), func(r *Record, _ []byte) error {
		held = r.Subject.Type + "/" + r.Subject.ID
		return nil
	})
	os.WriteFile(filepath.Join(dir, "general", legalHoldFile), []byte("# case 42\nsubject "+held+"\n"), 0o600)
	res, err = Prune(dir, PruneOptions{Now: later, DryRun: true})
	if err != nil || len(res[0].Segments) != 2 || !strings.Contains(res[0].StoppedAt, "legal hold") {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if left, _ := listSegments(filepath.Join(dir, "general")); len(left) != len(segs) {
		t.Fatal("dry run removed segments")
	}
	res, err = Prune(dir, PruneOptions{Now: later, Signer: k.signer, Chains: []string{"general"}})
	if err != nil || len(res) != 1 || len(res[0].Segments) != 2 || res[0].Cut != uint64(res[0].Records) {
		t.Fatalf("prune = %+v, %v", res, err)
	}
	rep, err := Verify(dir, k.verifiers)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after prune: %v\n%s", err, findingsText(rep))
	}
	if rep.Chains[0].FirstSeq != res[0].Cut {
		t.Fatalf("first seq %d, want cut %d", rep.Chains[0].FirstSeq, res[0].Cut)
	}

	// Lift the hold: the rest goes, except the active segment, once the
	// hold the last prune recorded is released.
	os.Remove(filepath.Join(dir, "general", legalHoldFile))
	if _, err = Prune(dir, PruneOptions{Now: later, Signer: k.signer}); !errors.Is(err, ErrLegalHoldRemoved) {
		t.Fatalf("prune after the hold file was removed: %v", err)
	}
	res, err = Prune(dir, PruneOptions{Now: later, Signer: k.signer, ReleaseHolds: []string{"subject " + held}})
	if err != nil || len(res[0].Segments) != len(segs)-3 || res[0].StoppedAt != "active segment" {
		t.Fatalf("second prune = %+v, %v", res, err)
	}
	// The writer resumes after a prune, and everything verifies.
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(8<<10))
	appendOK(t, s, testRecords(1000, 30, "general"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err = Verify(dir, k.verifiers)
	if err != nil || !rep.OK() || rep.Chains[0].Size != 90 {
		t.Fatalf("verify after prune and append: %v %+v\n%s", err, rep.Chains, findingsText(rep))
	}

	// A forged marker is caught.
	msg, _ := os.ReadFile(filepath.Join(dir, "general", PruneFile))
	os.WriteFile(filepath.Join(dir, "general", PruneFile), []byte(strings.Replace(string(msg), "cut ", "cut 1", 1)), 0o600)
	rep, _ = Verify(dir, k.verifiers)
	found := false
	for _, f := range rep.Findings {
		found = found || f.Kind == KindPruneMarker
	}
	if !found {
		t.Fatalf("forged prune marker not reported:\n%s", findingsText(rep))
	}
}

func TestPruneRejectsBadHoldFile(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	os.WriteFile(filepath.Join(dir, legalHoldFile), []byte("patient P-1\n"), 0o600)
	if _, err := Prune(dir, PruneOptions{Signer: k.signer}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad legal_hold accepted: %v", err)
	}
	if _, err := Prune(dir, PruneOptions{}); err == nil || !strings.Contains(err.Error(), "signer") {
		t.Fatalf("prune without signer: %v", err)
	}
}

// TestPruneRefusesTamperedSegment holds Prune to what it promises: the
// segments it would remove are checked first, so that a tampered one is
// reported rather than removed with the evidence.
func TestPruneRefusesTamperedSegment(t *testing.T) {
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		tamper func(line []byte) []byte
	}{
		{"edited record", func(line []byte) []byte {
			return bytes.Replace(line, []byte(`"purpose":"treatment"`), []byte(`"purpose":"marketing"`), 1)
		}},
		{"rewritten record with a fresh hash", func(line []byte) []byte {
			var r Record
			if err := DecodeRecord(line, &r); err != nil {
				t.Fatal(err)
			}
			r.UserID = "mallory"
			r.Hash = r.ComputeHash()
			return append(r.AppendCanonical(nil, true), '\n')
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestKeys(t, "test")
			dir := buildTamperStore(t, k)
			chainDir := filepath.Join(dir, "general")
			segs, err := listSegments(chainDir)
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(chainDir, segs[0])
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			lines := bytes.SplitAfter(data, []byte("\n"))
			lines[1] = tc.tamper(lines[1])
			if err := os.WriteFile(p, bytes.Join(lines, nil), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err = Prune(dir, PruneOptions{Now: later, Signer: k.signer, Chains: []string{"general"}})
			if err == nil || !strings.Contains(err.Error(), "segment "+segs[0]+" fails verification at seq ") {
				t.Fatalf("Prune of a tampered segment: %v", err)
			}
			if left, _ := listSegments(chainDir); len(left) != len(segs) {
				t.Fatalf("%d of %d segments left", len(left), len(segs))
			}
			if _, err := os.Stat(filepath.Join(chainDir, PruneFile)); !os.IsNotExist(err) {
				t.Fatalf("prune marker written: %v", err)
			}
		})
	}
}

// TestPruneWaitsForReaders holds HoldPrunes as a reader does: a prune
// waits until it is released, and then removes its segments; a reader
// holds it again only once that prune has finished, and then verifies the
// pruned store.
func TestPruneWaitsForReaders(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	release, err := HoldPrunes(dir)
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		res []ChainPrune
		err error
	}
	pruned := make(chan result, 1)
	go func() {
		res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer})
		pruned <- result{res, err}
	}()
	select {
	case r := <-pruned:
		t.Fatalf("prune ran while a reader held the store: %+v, %v", r.res, r.err)
	case <-time.After(200 * time.Millisecond):
	}
	segs, _ := listSegments(filepath.Join(dir, "general"))
	release()
	r := <-pruned
	if r.err != nil || len(r.res) == 0 || len(r.res[0].Segments) == 0 {
		t.Fatalf("prune after the reader let go = %+v, %v", r.res, r.err)
	}
	after, _ := listSegments(filepath.Join(dir, "general"))
	if len(after) >= len(segs) {
		t.Fatalf("segments before %d, after %d", len(segs), len(after))
	}
	rep, err := Verify(dir, k.verifiers)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after the prune: %v\n%s", err, findingsText(rep))
	}
}

// TestConcurrentPrunes starts two prunes of one store at once: one waits
// for the other, so together they remove exactly what one prune would,
// each segment once, and the store verifies from the cut.
func TestConcurrentPrunes(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	plan, err := Prune(dir, PruneOptions{Now: later, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, c := range plan {
		for _, s := range c.Segments {
			want[c.Chain+"/"+s] = true
		}
	}
	if len(want) == 0 {
		t.Fatal("the test store has nothing to prune")
	}

	results := make([][]ChainPrune, 2)
	errs := make([]error, 2)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = Prune(dir, PruneOptions{Now: later, Signer: k.signer})
		}()
	}
	close(start)
	wg.Wait()

	got := map[string]int{}
	for i := range results {
		if errs[i] != nil {
			t.Fatalf("prune %d: %v", i, errs[i])
		}
		for _, c := range results[i] {
			for _, s := range c.Segments {
				got[c.Chain+"/"+s]++
			}
		}
	}
	for s, n := range got {
		if n != 1 || !want[s] {
			t.Errorf("segment %s pruned %d times (planned: %v)", s, n, want[s])
		}
	}
	if len(got) != len(want) {
		t.Errorf("pruned %d segments, the plan had %d", len(got), len(want))
	}
	for s := range want {
		chain, seg, _ := strings.Cut(s, "/")
		if _, err := os.Stat(filepath.Join(dir, chain, seg)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there: %v", s, err)
		}
	}
	rep, err := Verify(dir, k.verifiers)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after two prunes: %v\n%s", err, findingsText(rep))
	}
}

// TestPruneInterrupted puts back what a prune deleted, as a prune killed
// after writing its marker leaves it: the store verifies, its marker names
// every segment left behind (ReadPruneMarker, Pruned), the writer resumes,
// and the next prune deletes them.
func TestPruneInterrupted(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	saved := snapshot.Take(t, dir)
	if m, err := ReadPruneMarker(filepath.Join(dir, "general")); m != nil || err != nil {
		t.Fatalf("marker of a chain never pruned = %+v, %v", m, err)
	}
	res, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer})
	if err != nil {
		t.Fatal(err)
	}
	back := saved.RestoreDeleted(t)
	leftovers := 0
	for _, c := range res {
		m, err := ReadPruneMarker(filepath.Join(dir, c.Chain))
		if err != nil || m == nil || m.Cut != c.Cut {
			t.Fatalf("marker of %s = %+v, %v", c.Chain, m, err)
		}
		for _, s := range c.Segments {
			if !m.Pruned(s) {
				t.Errorf("%s/%s: not named pruned", c.Chain, s)
			}
			leftovers++
		}
		segs, _ := listSegments(filepath.Join(dir, c.Chain))
		if m.Pruned(segs[len(segs)-1]) {
			t.Errorf("%s: the active segment named pruned", c.Chain)
		}
	}
	if leftovers == 0 || len(back) < leftovers {
		t.Fatalf("put back %d files for %d pruned segments", len(back), leftovers)
	}
	rep, err := Verify(dir, k.verifiers, RequireSigned())
	if err != nil || !rep.OK() {
		t.Fatalf("verify with the leftovers: %v\n%s", err, findingsText(rep))
	}

	s := openTestStore(t, dir, k, WithSegmentMaxBytes(8<<10))
	appendOK(t, s, testRecords(1000, 5, "general"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := Prune(dir, PruneOptions{Now: later, Signer: k.signer})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range back {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after the next prune (%+v): %v", p, again, err)
		}
	}
	rep, err = Verify(dir, k.verifiers, RequireSigned())
	if err != nil || !rep.OK() {
		t.Fatalf("verify after the next prune: %v\n%s", err, findingsText(rep))
	}
}

// TestPruneDryRunChangesNothing: a dry run creates no file, not even the
// prune lock on a store that lacks it (it created .prune.lock before),
// and still waits for a prune in progress where the lock exists.
func TestPruneDryRunChangesNothing(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Remove(filepath.Join(dir, pruneLockFile)); err != nil {
		t.Fatal(err)
	}
	before := treeListing(t, dir)
	res, err := Prune(dir, PruneOptions{Now: later, DryRun: true})
	if err != nil || len(res) != 2 || len(res[0].Segments) == 0 {
		t.Fatalf("dry run = %+v, %v", res, err)
	}
	if after := treeListing(t, dir); after != before {
		t.Fatalf("a dry run changed the store:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Where the lock exists, a dry run waits for the prune holding it.
	lock, err := os.OpenFile(filepath.Join(dir, pruneLockFile), os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := lockWait(lock, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := Prune(dir, PruneOptions{Now: later, DryRun: true})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("dry run ran while a prune held the store: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	lock.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestPruneJSONLists: what Prune returns encodes its lists as JSON
// arrays, never null, also when there is nothing to prune.
func TestPruneJSONLists(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	res, err := Prune(dir, PruneOptions{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), DryRun: true, Chains: []string{"general"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if want := `[{"chain":"general","segments":[],`; !strings.HasPrefix(string(b), want) {
		t.Errorf("JSON %s; want it to start %s", b, want)
	}
}

// treeListing lists every file under dir with its size and mode.
func treeListing(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %v %d\n", p, info.Mode(), info.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPruneKeepsUnusableRetention writes, into the first segment of a
// chain, one record whose retention tag cannot say when it expires, and
// prunes long after the others expired: the record's segment is kept, and
// the result says which record and why. Each tag is one that an exporter
// wrote (five-digit and negative years from huge days, retain_until equal
// to the write time from days that overflowed, 1677 timestamps from span
// starts after 2262) or a malformed one; as text, each sorted before the
// prune's time, and prune removed it.
func TestPruneKeepsUnusableRetention(t *testing.T) {
	k := newTestKeys(t, "test")
	later := time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		tag  func(r *Record)
		want string // "": the record expires like the others
	}{
		{"valid tag", func(r *Record) {}, ""},
		{"retain_until with an offset", func(r *Record) {
			r.Retention.RetainUntil = "2027-01-02T05:04:07+02:00"
		}, ""},
		{"five-digit year", func(r *Record) {
			r.Retention.Days, r.Retention.RetainUntil = 3_000_000, "10240-08-18T03:04:07.000000000Z"
		}, `retain_until "10240-08-18T03:04:07.000000000Z" is not an RFC 3339 time`},
		{"negative year", func(r *Record) {
			r.Retention.Days, r.Retention.RetainUntil = 1_000_000_000_000_000, "-184863237254-02-20T03:04:07.000000000Z"
		}, `retain_until "-184863237254-02-20T03:04:07.000000000Z" is not an RFC 3339 time`},
		{"days that overflowed to the write time", func(r *Record) {
			r.Retention.Days, r.Retention.RetainUntil = 4611686018427387904, r.Timestamp
		}, "retention days 4611686018427388000 are not 1 to 365000"}, // 2^62 as JCS writes it
		{"no retain_until", func(r *Record) { r.Retention.RetainUntil = "" }, `retain_until "" is not an RFC 3339 time`},
		{"month 13", func(r *Record) { r.Retention.RetainUntil = "2026-13-01T00:00:00.000000000Z" }, "is not an RFC 3339 time"},
		{"retain_until short of its days", func(r *Record) {
			r.Retention.RetainUntil = "2026-01-03T03:04:07.000000000Z"
		}, `is earlier than timestamp "2026-01-02T03:04:07.000000000Z" plus 365 days`},
		{"timestamp from a start after 2262 read as negative", func(r *Record) {
			r.Timestamp, r.Retention.Days, r.Retention.RetainUntil = "1677-09-21T00:12:43.145224197Z", 2190, "1683-09-20T00:12:43.145224197Z"
		}, `timestamp "1677-09-21T00:12:43.145224197Z" is before 1970`},
		{"timestamp not a time", func(r *Record) { r.Timestamp = "yesterday" }, `timestamp "yesterday" is not an RFC 3339 time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openTestStore(t, dir, k, WithSegmentMaxBytes(8<<10))
			recs := testRecords(0, 40, "general")
			tt.tag(recs[2])
			for i := 0; i < len(recs); i += 4 { // a segment is sealed between appends
				appendOK(t, s, recs[i:i+4])
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			res, err := Prune(dir, PruneOptions{Now: later, DryRun: true})
			if err != nil || len(res) != 1 {
				t.Fatalf("prune = %+v, %v", res, err)
			}
			if tt.want == "" {
				if len(res[0].Segments) == 0 || res[0].StoppedAt != "active segment" {
					t.Fatalf("valid tags: prune = %+v, want every sealed segment", res[0])
				}
				return
			}
			if len(res[0].Segments) != 0 {
				t.Errorf("segments %v would be pruned, with seq 2's tag unusable", res[0].Segments)
			}
			if !strings.Contains(res[0].StoppedAt, "kept, retention tag unusable: seq 2: ") || !strings.Contains(res[0].StoppedAt, tt.want) {
				t.Errorf("stopped at %q, want seq 2 and %q", res[0].StoppedAt, tt.want)
			}
		})
	}
}
