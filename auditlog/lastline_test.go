package auditlog

import (
	"bytes"
	"path/filepath"
	"testing"
)

// TestVerifyDamagedLastLineOfMiddleSegment damages one record of a sealed
// segment that another follows. The last record was called trailing
// garbage, and its seq a segment missing before the next segment; it is
// now what the same damage is anywhere else: malformed and deleted, in
// its own segment.
func TestVerifyDamagedLastLineOfMiddleSegment(t *testing.T) {
	k := newTestKeys(t, "test")
	damages := []struct {
		name   string
		damage func(line []byte) []byte
	}{
		{"NUL after the record", func(l []byte) []byte {
			return append(bytes.TrimSuffix(l, []byte("\n")), 0, '\n')
		}},
		{"hash member twice", func(l []byte) []byte {
			i := bytes.Index(l, []byte(`,"hash":"`))
			return append(append(append([]byte{}, l[:i+75]...), l[i:i+75]...), l[i+75:]...)
		}},
	}
	for _, d := range damages {
		for _, where := range []string{"middle", "last"} {
			t.Run(d.name+"/"+where, func(t *testing.T) {
				dir := buildTamperStore(t, k)
				segs, _ := listSegments(filepath.Join(dir, "general"))
				f := &fixture{t: t, dir: dir, k: k, segs: segs}
				ls := f.lines(segs[1])
				i := 1
				if where == "last" {
					i = len(ls) - 1
				}
				ls[i] = d.damage(ls[i])
				f.writeLines(segs[1], ls)
				rep, err := Verify(dir, k.verifiers)
				if err != nil {
					t.Fatal(err)
				}
				seq := f.first(1) + int64(i)
				found := map[string]bool{}
				for _, fd := range rep.Findings {
					switch fd.Kind {
					case KindMalformed, KindDeleted:
						found[fd.Kind] = found[fd.Kind] || fd.Segment == segs[1] && fd.Seq == seq
					case KindTrailingGarbage, KindSegmentMissing:
						t.Errorf("unexpected %s", fd)
					}
				}
				if !found[KindMalformed] || !found[KindDeleted] {
					t.Errorf("want malformed and deleted at segment %s seq %d; got:\n%s", segs[1], seq, findingsText(rep))
				}
			})
		}
	}
}
