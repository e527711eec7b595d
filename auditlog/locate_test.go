package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// placedRecord is a record of chain "general" and the segment it is in.
type placedRecord struct {
	seg string
	r   *Record
}

// loadChain decodes every record of chain "general", in order.
func (f *fixture) loadChain() []placedRecord {
	var out []placedRecord
	for _, seg := range f.segs {
		for _, line := range f.lines(seg) {
			r := new(Record)
			if err := DecodeRecord(line[:len(line)-1], r); err != nil {
				f.t.Fatal(err)
			}
			out = append(out, placedRecord{seg, r})
		}
	}
	return out
}

// rewriteChain renumbers recs from seq 0, recomputes every prev_hash and
// hash, and writes them back into their segments: what someone who can
// write the files but not sign does to hide a change.
func (f *fixture) rewriteChain(recs []placedRecord) {
	prev := ZeroHash
	by := map[string][][]byte{}
	for i, p := range recs {
		p.r.Seq, p.r.PrevHash = uint64(i), prev
		p.r.Hash = p.r.ComputeHash()
		prev = p.r.Hash
		by[p.seg] = append(by[p.seg], append(p.r.AppendCanonical(nil, true), '\n'))
	}
	for _, seg := range f.segs {
		f.writeLines(seg, by[seg])
	}
}

// TestVerifyLocatesRewrites rewrites records with every later hash
// recomputed — a field changed, records swapped, one inserted, one
// deleted and the rest renumbered, a tail changed and cut shorter than the
// checkpoint — and checks that Verify names the first record that differs
// from what the signed checkpoints commit to, by seq and segment (a
// modified finding, and the checkpoint findings at that seq), that
// tree_mismatch gives that record's seq rather than a tlog storage index,
// and that records no checkpoint signs any more are counted as unsigned.
// Before, the findings gave only each checkpoint's size (or, for a tail
// rewritten and cut, a truncation at its end, with nothing unsigned), and
// tree_mismatch a storage index that read like a seq.
func TestVerifyLocatesRewrites(t *testing.T) {
	k := newTestKeys(t, "test")
	cases := []struct {
		name string
		// edit changes the records and returns the seq that first
		// differs.
		edit func(f *fixture, recs []placedRecord) ([]placedRecord, int)
		// truncated: the chain ends below the checkpoint.
		truncated bool
	}{
		{name: "field changed in a sealed segment", edit: func(f *fixture, recs []placedRecord) ([]placedRecord, int) {
			recs[9].r.UserID = "mallory"
			return recs, 9
		}},
		{name: "records swapped", edit: func(f *fixture, recs []placedRecord) ([]placedRecord, int) {
			recs[22].r, recs[23].r = recs[23].r, recs[22].r
			return recs, 22
		}},
		{name: "record inserted", edit: func(f *fixture, recs []placedRecord) ([]placedRecord, int) {
			n := *recs[30].r
			n.UserID, n.SpanID = "mallory", "ffffffffffffffff"
			return append(recs[:30:30], append([]placedRecord{{recs[30].seg, &n}}, recs[30:]...)...), 30
		}},
		{name: "record deleted, later ones renumbered", edit: func(f *fixture, recs []placedRecord) ([]placedRecord, int) {
			return append(recs[:41:41], recs[42:]...), 41
		}, truncated: true},
		{name: "tail of the last segment changed and cut", edit: func(f *fixture, recs []placedRecord) ([]placedRecord, int) {
			n := len(recs)
			recs[n-4].r.UserID = "mallory"
			return recs[:n-1], n - 4
		}, truncated: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			f := &fixture{t: t, dir: dir, k: k, segs: segs}
			recs, seq := tc.edit(f, f.loadChain())
			f.rewriteChain(recs)
			var segment string
			for _, p := range recs[seq : seq+1] {
				segment = p.seg
			}
			rep := verifyThreeWays(t, dir, k.verifiers)
			var located, checkpoint, truncated bool
			for _, fd := range rep.Findings {
				if fd.Chain != "general" {
					continue
				}
				switch fd.Kind {
				case KindModified:
					located = located || fd.Segment == segment && fd.Seq == int64(seq)
				case KindCheckpointMismatch, KindCheckpointInconsistent:
					checkpoint = true
					if fd.Seq != int64(seq) {
						t.Errorf("%s: seq %d, want %d", fd, fd.Seq, seq)
					}
				case KindTreeMismatch:
					if fd.Seq != int64(seq) || !strings.Contains(fd.Detail, "seq ") {
						t.Errorf("%s: want seq %d, named as a seq", fd, seq)
					}
				case KindTruncated:
					truncated = true
				}
			}
			if !located {
				t.Errorf("no %s finding at segment %s seq %d:\n%s", KindModified, segment, seq, findingsText(rep))
			}
			if !tc.truncated && !checkpoint {
				t.Errorf("no checkpoint finding:\n%s", findingsText(rep))
			}
			if tc.truncated != truncated {
				t.Errorf("truncated finding %v, want %v:\n%s", truncated, tc.truncated, findingsText(rep))
			}
			// Records from the last segment's first on are signed by no
			// checkpoint any more (the seal of the segment before signs
			// the earlier ones, or they are reported as differing).
			c := rep.Chains[0]
			if c.UnsignedRecords == 0 {
				t.Errorf("unsigned records 0, want those from the changed segment on; chain %+v", c)
			}
			t.Logf("findings:\n%s", findingsText(rep))
		})
	}
}

// TestVerifyRewriteWithTreeFile: when tree.hashes was rewritten along with
// the records, it proves nothing, and the mismatch is reported at the
// checkpoint's size with the range of seqs the first difference lies in,
// never at a seq it cannot name.
func TestVerifyRewriteWithTreeFile(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	segs, _ := listSegments(filepath.Join(dir, "general"))
	f := &fixture{t: t, dir: dir, k: k, segs: segs}
	recs := f.loadChain()
	recs[9].r.UserID = "mallory"
	f.rewriteChain(recs)
	// The tree file as the records give it.
	var front frontier
	var tree []byte
	var stored []tlog.Hash
	for _, p := range recs {
		stored = front.push(tlog.RecordHash(p.r.AppendCanonical(nil, false)), stored[:0])
		for _, h := range stored {
			tree = append(tree, h[:]...)
		}
	}
	if err := os.WriteFile(f.path("general", TreeFile), tree, 0o600); err != nil {
		t.Fatal(err)
	}
	rep := verifyThreeWays(t, dir, k.verifiers)
	found := false
	for _, fd := range rep.Findings {
		switch fd.Kind {
		case KindModified:
			t.Errorf("a record is named though nothing shows it: %s", fd)
		case KindCheckpointMismatch:
			found = true
			if fd.Seq != 60 || !strings.Contains(fd.Detail, "one of seqs") {
				t.Errorf("%s: want seq 60 (the checkpoint's size) and the range", fd)
			}
		}
	}
	if !found {
		t.Fatalf("no %s finding:\n%s", KindCheckpointMismatch, findingsText(rep))
	}
}
