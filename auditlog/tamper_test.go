package auditlog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// buildTamperStore writes a closed store with several sealed segments in
// chain "general" (60 records) and some in "healthcare" (20 records).
func buildTamperStore(t testing.TB, k testKeys) string {
	t.Helper()
	dir := t.TempDir()
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(8<<10))
	for i := 0; i < 60; i += 4 {
		appendOK(t, s, testRecords(i, 4, "general"))
	}
	for i := 100; i < 120; i += 5 {
		appendOK(t, s, testRecords(i, 5, "healthcare"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

type fixture struct {
	t    *testing.T
	dir  string
	k    testKeys
	segs []string // segments of "general"
}

func (f *fixture) path(parts ...string) string {
	return filepath.Join(append([]string{f.dir}, parts...)...)
}

func (f *fixture) first(i int) int64 {
	n, _ := parseSegmentName(f.segs[i])
	return int64(n)
}

func (f *fixture) lines(seg string) [][]byte {
	data, err := os.ReadFile(f.path("general", seg))
	if err != nil {
		f.t.Fatal(err)
	}
	return bytes.SplitAfter(data, []byte("\n"))[:bytes.Count(data, []byte("\n"))]
}

func (f *fixture) writeLines(seg string, lines [][]byte) {
	if err := os.WriteFile(f.path("general", seg), bytes.Join(lines, nil), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) signCheckpoint(signer note.Signer, cp Checkpoint) []byte {
	msg, err := SignCheckpoint(cp, signer)
	if err != nil {
		f.t.Fatal(err)
	}
	return msg
}

func (f *fixture) latest() Checkpoint {
	msg, err := os.ReadFile(f.path("general", CheckpointFile))
	if err != nil {
		f.t.Fatal(err)
	}
	cp, err := OpenCheckpoint(msg, f.k.verifiers)
	if err != nil {
		f.t.Fatal(err)
	}
	return cp
}

// tamperCase changes a store built by buildTamperStore.
type tamperCase struct {
	name string
	// tamper changes the store and returns the expected finding's
	// kind, segment and seq (chain is "general").
	tamper func(f *fixture) (kind, segment string, seq int64)
	opts   func(f *fixture) []VerifyOption
}

// tamperCases are the tampering cases of SPEC §5, one per kind of change.
func tamperCases() []tamperCase {
	return []tamperCase{
		{name: "untouched", tamper: func(*fixture) (string, string, int64) { return "", "", 0 }},
		{name: "modified field", tamper: func(f *fixture) (string, string, int64) {
			ls := f.lines(f.segs[1])
			ls[2] = bytes.Replace(ls[2], []byte(`"user_id":"user-`), []byte(`"user_id":"mallory-`), 1)
			f.writeLines(f.segs[1], ls)
			return KindModified, f.segs[1], f.first(1) + 2
		}},
		{name: "modified field with recomputed hash", tamper: func(f *fixture) (string, string, int64) {
			ls := f.lines(f.segs[1])
			var r Record
			if err := DecodeRecord(ls[2], &r); err != nil {
				f.t.Fatal(err)
			}
			r.UserID = "mallory"
			r.Hash = r.ComputeHash()
			ls[2] = append(r.AppendCanonical(nil, true), '\n')
			f.writeLines(f.segs[1], ls)
			return KindChainBreak, f.segs[1], f.first(1) + 3
		}},
		{name: "last record of a sealed segment rewritten with a fresh hash", tamper: func(f *fixture) (string, string, int64) {
			// Count and links within the segment still hold: its seal's
			// last_hash is what contradicts it.
			ls := f.lines(f.segs[1])
			last := len(ls) - 1
			var r Record
			if err := DecodeRecord(ls[last], &r); err != nil {
				f.t.Fatal(err)
			}
			r.UserID = "mallory"
			r.Hash = r.ComputeHash()
			ls[last] = append(r.AppendCanonical(nil, true), '\n')
			f.writeLines(f.segs[1], ls)
			return KindSealMismatch, f.segs[1], f.first(2) - 1
		}},
		{name: "trailing space on a sealed line", tamper: func(f *fixture) (string, string, int64) {
			// Noncanonical, and the file no longer has the size its seal
			// signs: that is a seal_mismatch too.
			ls := f.lines(f.segs[1])
			ls[2] = append(bytes.TrimSuffix(ls[2], []byte("\n")), " \n"...)
			f.writeLines(f.segs[1], ls)
			return KindSealMismatch, f.segs[1], -1
		}},
		{name: "deleted record", tamper: func(f *fixture) (string, string, int64) {
			ls := f.lines(f.segs[1])
			f.writeLines(f.segs[1], append(ls[:2:2], ls[3:]...))
			return KindDeleted, f.segs[1], f.first(1) + 2
		}},
		{name: "inserted record", tamper: func(f *fixture) (string, string, int64) {
			ls := f.lines(f.segs[1])
			out := append([][]byte{}, ls[:4]...)
			out = append(out, ls[1])
			out = append(out, ls[4:]...)
			f.writeLines(f.segs[1], out)
			return KindDuplicate, f.segs[1], f.first(1) + 1
		}},
		{name: "reordered records", tamper: func(f *fixture) (string, string, int64) {
			ls := f.lines(f.segs[1])
			ls[2], ls[3] = ls[3], ls[2]
			f.writeLines(f.segs[1], ls)
			return KindOutOfOrder, f.segs[1], f.first(1) + 3
		}},
		{name: "tail truncated below checkpoint", tamper: func(f *fixture) (string, string, int64) {
			last := f.segs[len(f.segs)-1]
			ls := f.lines(last)
			f.writeLines(last, ls[:len(ls)-2])
			return KindTruncated, last, 58
		}},
		{name: "removed segment", tamper: func(f *fixture) (string, string, int64) {
			for _, p := range []string{f.segs[1], sealName(f.segs[1]), summaryName(f.segs[1])} {
				if err := os.Remove(f.path("general", p)); err != nil {
					f.t.Fatal(err)
				}
			}
			return KindSegmentMissing, f.segs[2], f.first(1)
		}},
		{name: "renamed segment", tamper: func(f *fixture) (string, string, int64) {
			to := SegmentName(uint64(f.first(1) + 1))
			if err := os.Rename(f.path("general", f.segs[1]), f.path("general", to)); err != nil {
				f.t.Fatal(err)
			}
			return KindSegmentName, to, f.first(1)
		}},
		{name: "renamed segment to another extension", tamper: func(f *fixture) (string, string, int64) {
			if err := os.Rename(f.path("general", f.segs[1]), f.path("general", f.segs[1]+".bak")); err != nil {
				f.t.Fatal(err)
			}
			return KindSegmentMissing, f.segs[2], f.first(1)
		}},
		{name: "swapped segments", tamper: func(f *fixture) (string, string, int64) {
			a, b := f.path("general", f.segs[1]), f.path("general", f.segs[2])
			tmp := a + ".x"
			for _, mv := range [][2]string{{a, tmp}, {b, a}, {tmp, b}} {
				if err := os.Rename(mv[0], mv[1]); err != nil {
					f.t.Fatal(err)
				}
			}
			return KindSegmentName, f.segs[1], f.first(2)
		}},
		{name: "duplicated segment", tamper: func(f *fixture) (string, string, int64) {
			data, _ := os.ReadFile(f.path("general", f.segs[1]))
			to := SegmentName(uint64(f.first(1) + 1))
			if err := os.WriteFile(f.path("general", to), data, 0o600); err != nil {
				f.t.Fatal(err)
			}
			return KindSegmentName, to, f.first(1)
		}},
		{name: "segment from another chain", tamper: func(f *fixture) (string, string, int64) {
			hsegs, _ := listSegments(f.path("healthcare"))
			data, _ := os.ReadFile(f.path("healthcare", hsegs[0]))
			to := SegmentName(60)
			if err := os.WriteFile(f.path("general", to), data, 0o600); err != nil {
				f.t.Fatal(err)
			}
			return KindForeign, to, 0
		}},
		{name: "segment from another chain in place of one", tamper: func(f *fixture) (string, string, int64) {
			hsegs, _ := listSegments(f.path("healthcare"))
			data, _ := os.ReadFile(f.path("healthcare", hsegs[0]))
			if err := os.WriteFile(f.path("general", f.segs[1]), data, 0o600); err != nil {
				f.t.Fatal(err)
			}
			return KindForeign, f.segs[1], 0
		}},
		{name: "forged checkpoint", tamper: func(f *fixture) (string, string, int64) {
			msg, _ := os.ReadFile(f.path("general", CheckpointFile))
			lines := strings.SplitN(string(msg), "\n", 4)
			lines[1] = "1000"
			if err := os.WriteFile(f.path("general", CheckpointFile), []byte(strings.Join(lines, "\n")), 0o600); err != nil {
				f.t.Fatal(err)
			}
			return KindCheckpointForged, CheckpointFile, -1
		}},
		{name: "checkpoint signed by unknown key", tamper: func(f *fixture) (string, string, int64) {
			cp := f.latest()
			cp.Size = 1000
			other := newTestKeys(f.t, "test")
			if err := os.WriteFile(f.path("general", CheckpointFile), f.signCheckpoint(other.signer, cp), 0o600); err != nil {
				f.t.Fatal(err)
			}
			return KindCheckpointUnknownKey, CheckpointFile, -1
		}},
		{name: "latest checkpoint rolled back to an earlier one", tamper: func(f *fixture) (string, string, int64) {
			hist, _ := os.ReadDir(f.path("general", CheckpointsDir))
			older, _ := os.ReadFile(f.path("general", CheckpointsDir, hist[0].Name()))
			if err := os.WriteFile(f.path("general", CheckpointFile), older, 0o600); err != nil {
				f.t.Fatal(err)
			}
			cp, _ := OpenCheckpoint(older, f.k.verifiers)
			return KindCheckpointInconsistent, CheckpointFile, int64(cp.Size)
		}},
		{name: "checkpoint inconsistent with the records and the others", tamper: func(f *fixture) (string, string, int64) {
			hist, _ := os.ReadDir(f.path("general", CheckpointsDir))
			file := f.path("general", CheckpointsDir, hist[1].Name())
			msg, _ := os.ReadFile(file)
			cp, _ := OpenCheckpoint(msg, f.k.verifiers)
			cp.Root[0] ^= 1 // signed with the real key: a split view
			if err := os.WriteFile(file, f.signCheckpoint(f.k.signer, cp), 0o600); err != nil {
				f.t.Fatal(err)
			}
			return KindCheckpointInconsistent, CheckpointsDir + "/" + hist[1].Name(), int64(cp.Size)
		}},
		{name: "trailing garbage", tamper: func(f *fixture) (string, string, int64) {
			last := f.segs[len(f.segs)-1]
			fh, _ := os.OpenFile(f.path("general", last), os.O_APPEND|os.O_WRONLY, 0)
			fh.WriteString(`{"v":1,"seq":60,"garb`)
			fh.Close()
			return KindTrailingGarbage, last, 60
		}},
		{name: "summary altered", tamper: func(f *fixture) (string, string, int64) {
			p := f.path("general", summaryName(f.segs[0]))
			data, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(data, []byte(`"user-1"`), []byte(`"user-9"`), 1), 0o600)
			return KindSummaryInvalid, summaryName(f.segs[0]), -1
		}},
		{name: "seal removed", tamper: func(f *fixture) (string, string, int64) {
			os.Remove(f.path("general", sealName(f.segs[2])))
			return KindSealMissing, f.segs[2], -1
		}},
		{name: "whole history rolled back (since-checkpoint)",
			tamper: func(f *fixture) (string, string, int64) {
				// Roll the chain back to its first two segments, deleting
				// the later checkpoints too: self-consistent, but behind
				// the checkpoint a monitor saved.
				for _, sg := range f.segs[2:] {
					for _, p := range []string{sg, sealName(sg), summaryName(sg)} {
						os.Remove(f.path("general", p))
					}
				}
				n := uint64(f.first(2))
				hist, _ := os.ReadDir(f.path("general", CheckpointsDir))
				for _, h := range hist {
					if h.Name() != historyName(n) {
						os.Remove(f.path("general", CheckpointsDir, h.Name()))
					}
				}
				msg, _ := os.ReadFile(f.path("general", CheckpointsDir, historyName(n)))
				os.WriteFile(f.path("general", CheckpointFile), msg, 0o600)
				os.Remove(f.path("general", sealName(f.segs[1])))
				return KindRollback, f.segs[1], int64(n)
			},
			opts: func(f *fixture) []VerifyOption {
				msg, _ := os.ReadFile(f.path("general", CheckpointFile))
				return []VerifyOption{SinceCheckpoint(msg)}
			},
		},
	}
}

func TestVerifyDetectsTampering(t *testing.T) {
	k := newTestKeys(t, "test")
	for _, tt := range tamperCases() {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			if len(segs) < 4 {
				t.Fatalf("want at least 4 segments, have %d", len(segs))
			}
			f := &fixture{t: t, dir: dir, k: k, segs: segs}
			var opts []VerifyOption
			if tt.opts != nil {
				opts = tt.opts(f) // saved before tampering
			}
			kind, segment, seq := tt.tamper(f)
			rep, err := Verify(dir, k.verifiers, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if kind == "" {
				if !rep.OK() {
					t.Fatalf("untouched store has findings: %v", rep.Findings)
				}
				if rep.Records != 80 || len(rep.Chains) != 2 || rep.Chains[0].Checkpoints == 0 {
					t.Fatalf("report = %+v", rep)
				}
				return
			}
			for _, fd := range rep.Findings {
				if fd.Chain == "general" && fd.Kind == kind && fd.Segment == segment && fd.Seq == seq {
					t.Logf("findings:\n%s", findingsText(rep))
					return
				}
			}
			t.Fatalf("want finding chain=general segment=%s seq=%d kind=%s; got:\n%s", segment, seq, kind, findingsText(rep))
		})
	}
}

func findingsText(r *Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

// TestVerifyUnsignedRecords verifies a live store: the records no
// checkpoint or seal signs are counted, and are a finding only with
// RequireSigned.
func TestVerifyUnsignedRecords(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	s := openTestStore(t, dir, k)
	defer s.Close()
	check := func(when string, size, cp, unsigned uint64) {
		t.Helper()
		rep, err := Verify(dir, k.verifiers)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			t.Fatalf("%s: findings %v", when, rep.Findings)
		}
		if c := rep.Chains[0]; c.Size != size || c.CheckpointSize != cp || c.UnsignedRecords != unsigned {
			t.Errorf("%s: size %d, checkpoint %d, unsigned %d; want %d, %d, %d", when, c.Size, c.CheckpointSize, c.UnsignedRecords, size, cp, unsigned)
		}
		rep, err = Verify(dir, k.verifiers, RequireSigned())
		if err != nil {
			t.Fatal(err)
		}
		if unsigned == 0 {
			if !rep.OK() {
				t.Errorf("%s, RequireSigned: findings %v", when, rep.Findings)
			}
			return
		}
		want := Finding{Chain: "general", Segment: SegmentName(0), Seq: int64(size - unsigned), Kind: KindUnsigned}
		if len(rep.Findings) != 1 || rep.Findings[0].Chain != want.Chain || rep.Findings[0].Segment != want.Segment ||
			rep.Findings[0].Seq != want.Seq || rep.Findings[0].Kind != want.Kind {
			t.Errorf("%s, RequireSigned: findings %v, want one like %v", when, rep.Findings, want)
		}
	}
	appendOK(t, s, testRecords(0, 5, "general"))
	check("before the first checkpoint", 5, 0, 5)
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	check("after it", 5, 5, 0)
	appendOK(t, s, testRecords(5, 3, "general"))
	check("after more records", 8, 5, 3)
}

// TestVerifyRequireSigned strips a closed store's chain of its
// checkpoints and rewrites its active segment with fresh hashes: every
// link holds and the seals sign only the sealed segments, so plain Verify
// passes and counts the rewritten records as unsigned; RequireSigned
// reports them, from the active segment's first record.
func TestVerifyRequireSigned(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	segs, _ := listSegments(filepath.Join(dir, "general"))
	f := &fixture{t: t, dir: dir, k: k, segs: segs}
	rep, err := Verify(dir, k.verifiers, RequireSigned())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Chains[0].UnsignedRecords != 0 {
		t.Fatalf("closed store: findings %v, unsigned %d", rep.Findings, rep.Chains[0].UnsignedRecords)
	}

	last := segs[len(segs)-1]
	ls := f.lines(last)
	prev := ""
	for i, l := range ls {
		var r Record
		if err := DecodeRecord(l, &r); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			r.PrevHash = prev
		}
		if i == 1 {
			r.UserID = "mallory"
		}
		r.Hash = r.ComputeHash()
		prev = r.Hash
		ls[i] = append(r.AppendCanonical(nil, true), '\n')
	}
	f.writeLines(last, ls)
	for _, p := range []string{CheckpointFile, CheckpointsDir, TreeFile} {
		if err := os.RemoveAll(f.path("general", p)); err != nil {
			t.Fatal(err)
		}
	}

	rep, err = Verify(dir, k.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Chains[0]
	if !rep.OK() || c.UnsignedRecords != uint64(len(ls)) {
		t.Fatalf("stripped chain, plain Verify: findings %v, unsigned %d, want none and %d", rep.Findings, c.UnsignedRecords, len(ls))
	}
	rep, err = Verify(dir, k.verifiers, RequireSigned())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != KindUnsigned || rep.Findings[0].Segment != last || rep.Findings[0].Seq != f.first(len(segs)-1) {
		t.Fatalf("stripped chain, RequireSigned: findings %v, want one %s in %s at seq %d", rep.Findings, KindUnsigned, last, f.first(len(segs)-1))
	}
}

// TestVerifyChainRemoved deletes a chain's directory: Verify checks the
// chains it finds, and only a checkpoint of the removed chain saved
// beforehand reveals it.
func TestVerifyChainRemoved(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	saved, err := os.ReadFile(filepath.Join(dir, "healthcare", CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "healthcare")); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, k.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || len(rep.Chains) != 1 {
		t.Fatalf("without a saved checkpoint: findings %v, %d chains", rep.Findings, len(rep.Chains))
	}
	rep, err = Verify(dir, k.verifiers, SinceCheckpoint(saved))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != KindRollback || rep.Findings[0].Segment != "since-checkpoint" ||
		!strings.Contains(rep.Findings[0].Detail, "/healthcare") {
		t.Fatalf("with the removed chain's saved checkpoint: findings %v", rep.Findings)
	}
}

// TestVerifyWhileWriting verifies a store again and again while its
// writer appends batches large enough to be written in parts: a partial
// line at the end of the active segment is a write in flight, not
// trailing garbage, while the writer holds the store. Once it is closed,
// a partial line there is trailing garbage again.
func TestVerifyWhileWriting(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	s := openTestStore(t, dir, k, WithCheckpointInterval(20*time.Millisecond), WithSegmentMaxBytes(2<<20))
	appendOK(t, s, testRecords(0, 10, "general"))
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		next := 10
		for {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := s.Append(context.Background(), testRecords(next, 2000, "general")); err != nil {
				done <- err
				return
			}
			next += 2000
		}
	}()
	var reads, inFlight int
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); reads++ {
		rep, err := Verify(dir, k.verifiers)
		if err != nil {
			t.Fatal(err)
		}
		if !rep.OK() {
			close(stop)
			<-done
			t.Fatalf("read %d of a live store: %v", reads, rep.Findings)
		}
		if rep.Chains[0].InFlightBytes > 0 {
			inFlight++
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d verified reads, %d with a write in flight", reads, inFlight)

	// Closed, the store is not being written: a partial line is garbage.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs, _ := listSegments(filepath.Join(dir, "general"))
	fh, err := os.OpenFile(filepath.Join(dir, "general", segs[len(segs)-1]), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(`{"agent":{"id":"","name":""},"argu`)
	fh.Close()
	rep, err := Verify(dir, k.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Findings) != 1 || rep.Findings[0].Kind != KindTrailingGarbage || rep.Chains[0].InFlightBytes != 0 {
		t.Fatalf("closed store with a partial line: findings %v, in flight %d", rep.Findings, rep.Chains[0].InFlightBytes)
	}
}

// TestVerifyEmptyStraySegment: an empty file added to a chain with a
// segment's name gave only seal_missing on the real active segment
// ("followed by another but has no seal"), never naming the file. It is
// now segment_name at that file, and the active segment before it is
// still the active one.
func TestVerifyEmptyStraySegment(t *testing.T) {
	k := newTestKeys(t, "test")
	tests := []struct {
		name  string
		stray func(segs []string) string // the empty file to add
		want  []string                   // "kind segment" of every finding of general
	}{
		{name: "after the active segment", stray: func([]string) string { return SegmentName(99) },
			want: []string{KindSegmentName + " " + SegmentName(99)}},
		{name: "between sealed segments", stray: func(segs []string) string { n, _ := parseSegmentName(segs[1]); return SegmentName(n + 1) },
			want: []string{KindSegmentName + " " + SegmentName(9)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			if _, err := os.Stat(filepath.Join(dir, "general", sealName(segs[len(segs)-1]))); err == nil {
				t.Fatal("the active segment is sealed: the case proves nothing")
			}
			if err := os.WriteFile(filepath.Join(dir, "general", tt.stray(segs)), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err := Verify(dir, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range rep.Findings {
				if f.Chain == "general" {
					got = append(got, f.Kind+" "+f.Segment)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findings %q, want %q:\n%s", got, tt.want, findingsText(rep))
			}
		})
	}
}

// TestVerifySeqBeyondExactJSON: a seq edited to 9223372036854775807 was
// read through its canonical form, the double 9223372036854776000: the
// finding's seq turned negative and the range of unsigned records ended at
// a seq no record has. A seq past 2^53, where JSON numbers stop being
// exact, is now a malformed line, and every seq reported is one the chain
// can have.
func TestVerifySeqBeyondExactJSON(t *testing.T) {
	k := newTestKeys(t, "test")
	for _, seq := range []string{"9223372036854775807", "9007199254740993", "18446744073709551615"} {
		t.Run(seq, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			f := &fixture{t: t, dir: dir, k: k, segs: segs}
			ls := f.lines(segs[1])
			want := fmt.Appendf(nil, `"seq":%d,`, f.first(1)+2)
			ls[2] = bytes.Replace(ls[2], want, []byte(`"seq":`+seq+`,`), 1)
			f.writeLines(segs[1], ls)
			rep, err := Verify(dir, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, fd := range rep.Findings {
				if fd.Seq < -1 || fd.Seq > 120 || strings.Contains(fd.Detail, "9223372036854776000") {
					t.Errorf("finding outside the chain: %s", fd)
				}
				found = found || fd.Segment == segs[1] && fd.Kind == KindMalformed && strings.Contains(fd.Detail, "beyond 2^53")
			}
			if !found {
				t.Errorf("want %s at %s saying beyond 2^53; got:\n%s", KindMalformed, segs[1], findingsText(rep))
			}
			for _, c := range rep.Chains {
				if c.Size > 120 {
					t.Errorf("chain %s size %d", c.Chain, c.Size)
				}
			}
		})
	}
}
