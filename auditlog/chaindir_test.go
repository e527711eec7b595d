package auditlog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyChainDirectories moves whole chain directories: copied under
// another chain name, swapped, renamed. Each verified clean before: every
// chain checked only itself, and matched a directory to its chain by the
// checkpoints' origin or else its first record.
func TestVerifyChainDirectories(t *testing.T) {
	k := newTestKeys(t, "test")
	type want struct {
		chain, segment, kind string
		seq                  int64
		detail               string // a part of it
	}
	cases := []struct {
		name string
		// move changes the store in dir, and may return a saved
		// checkpoint (read before it moved anything) to verify against.
		move  func(t *testing.T, dir string) []byte
		wants []want
	}{
		{
			name: "chain directory copied",
			move: func(t *testing.T, dir string) []byte {
				if err := os.CopyFS(filepath.Join(dir, "general.1"), os.DirFS(filepath.Join(dir, "general"))); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			wants: []want{
				{"general", "", KindChainDuplicate, -1, "also in directory general.1"},
				{"general.1", "", KindChainDuplicate, -1, "also in directory general:"},
				{"general.1", SegmentName(0), KindChainName, 0, `holds chain "example.com/otelaudit/test/general"`},
			},
		},
		{
			name: "chain directories swapped",
			move: func(t *testing.T, dir string) []byte {
				saved, _ := os.ReadFile(filepath.Join(dir, "general", CheckpointFile))
				g, h, tmp := filepath.Join(dir, "general"), filepath.Join(dir, "healthcare"), filepath.Join(dir, "tmp")
				for _, mv := range [][2]string{{g, tmp}, {h, g}, {tmp, h}} {
					if err := os.Rename(mv[0], mv[1]); err != nil {
						t.Fatal(err)
					}
				}
				return saved
			},
			wants: []want{
				{"general", SegmentName(0), KindChainName, 0, `directory "general" holds chain "example.com/otelaudit/test/healthcare"`},
				{"healthcare", SegmentName(0), KindChainName, 0, `directory "healthcare" holds chain "example.com/otelaudit/test/general"`},
				{"", "since-checkpoint", KindRollback, 60, "records are in directory healthcare"},
			},
		},
		{
			name: "chain directory renamed",
			move: func(t *testing.T, dir string) []byte {
				if err := os.Rename(filepath.Join(dir, "healthcare"), filepath.Join(dir, "financial")); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			wants: []want{{"financial", SegmentName(0), KindChainName, 0, `holds chain "example.com/otelaudit/test/healthcare"`}},
		},
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			var opts []VerifyOption
			if saved := tt.move(t, dir); saved != nil {
				opts = append(opts, SinceCheckpoint(saved))
			}
			rep, err := Verify(dir, k.verifiers, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Findings) != len(tt.wants) {
				t.Errorf("want %d findings, got:\n%s", len(tt.wants), findingsText(rep))
			}
		next:
			for _, w := range tt.wants {
				for _, f := range rep.Findings {
					if f.Chain == w.chain && f.Segment == w.segment && f.Kind == w.kind && f.Seq == w.seq && strings.Contains(f.Detail, w.detail) {
						continue next
					}
				}
				t.Errorf("want chain=%s segment=%s seq=%d kind=%s (%q); got:\n%s", w.chain, w.segment, w.seq, w.kind, w.detail, findingsText(rep))
			}
		})
	}
}
