package auditlog

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// patternReader serves head, then n bytes of fill, then tail, without
// ever holding the fill in memory, and records the largest buffer it was
// asked to fill: what the reader's caller holds at once.
type patternReader struct {
	head, tail []byte
	fill       byte
	n          int64
	maxBuf     int
}

func (r *patternReader) Read(p []byte) (int, error) {
	r.maxBuf = max(r.maxBuf, len(p))
	total := 0
	for len(p) > 0 {
		switch {
		case len(r.head) > 0:
			c := copy(p, r.head)
			r.head, p, total = r.head[c:], p[c:], total+c
		case r.n > 0:
			c := int(min(int64(len(p)), r.n))
			if r.fill == 0 {
				clear(p[:c])
			} else {
				for i := range p[:c] {
					p[i] = r.fill
				}
			}
			r.n, p, total = r.n-int64(c), p[c:], total+c
		case len(r.tail) > 0:
			c := copy(p, r.tail)
			r.tail, p, total = r.tail[c:], p[c:], total+c
		default:
			if total == 0 {
				return 0, io.EOF
			}
			return total, nil
		}
	}
	return total, nil
}

// segmentLines returns the lines of n valid records from seq from.
func segmentLines(from, n int) []byte {
	var data []byte
	prev := ZeroHash
	for i := range from + n {
		r := testRecord(i, "general")
		r.ChainID, r.Seq, r.PrevHash = testOrigin+"/general", uint64(i), prev
		r.Hash = r.ComputeHash()
		prev = r.Hash
		if i >= from {
			data = r.AppendCanonical(data, true)
			data = append(data, '\n')
		}
	}
	return data
}

// TestScanSegmentBoundedMemory feeds the segment scanner lines far longer
// than any record, without a newline and with one, and checks that it
// never holds more than MaxRecordBytes of the segment at once (the
// largest buffer it reads into) and allocates accordingly, while still
// reporting each such line, and the records after one, in place. Before,
// the buffer doubled until the line fit: 256 MiB of zeros took 512 MiB of
// buffer and 1.8 GB of memory in all.
func TestScanSegmentBoundedMemory(t *testing.T) {
	records := segmentLines(0, 3)
	after := segmentLines(3, 2)
	cases := []struct {
		name       string
		fill       byte
		n          int64
		tail       []byte
		wantLines  int    // lines in the result
		wantBad    int    // index of the long line
		wantStatus uint8  // its status
		wantDetail string // in its detail
	}{
		{name: "zero-filled tail", n: 256 << 20, wantLines: 4, wantBad: 3, wantStatus: lineGarbage, wantDetail: "268435456 zero bytes"},
		{name: "zero-filled tail shorter than a chunk", n: 1000, wantLines: 4, wantBad: 3, wantStatus: lineGarbage, wantDetail: "1000 bytes without a final newline"},
		{name: "long line at the end", fill: 'x', n: 3 * MaxRecordBytes, wantLines: 4, wantBad: 3, wantStatus: lineGarbage, wantDetail: "longer than any record"},
		{name: "long line with a newline, records after it", fill: 'x', n: MaxRecordBytes, tail: append([]byte("\n"), after...), wantLines: 6, wantBad: 3, wantStatus: lineMalformed, wantDetail: "a line of 16777216 bytes, longer than any record"},
		{name: "zeros with a newline, records after it", n: 64 << 20, tail: append([]byte("\n"), after...), wantLines: 6, wantBad: 3, wantStatus: lineMalformed, wantDetail: "67108864 zero bytes"},
		{name: "line just below the bound is buffered", fill: ' ', n: MaxRecordBytes - 2, tail: []byte("{\n"), wantLines: 4, wantBad: 3, wantStatus: lineGarbage, wantDetail: "line 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &patternReader{head: records, fill: tc.fill, n: tc.n, tail: tc.tail}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res := scanSegment(&segmentJob{name: SegmentName(0)}, r, int64(len(records))+tc.n+int64(len(tc.tail)))
			runtime.ReadMemStats(&after)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if r.maxBuf > MaxRecordBytes {
				t.Errorf("read into a buffer of %d bytes, more than MaxRecordBytes (%d)", r.maxBuf, MaxRecordBytes)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 3*MaxRecordBytes {
				t.Errorf("allocated %d MiB, want at most %d", alloc>>20, 3*MaxRecordBytes>>20)
			}
			if len(res.lines) != tc.wantLines {
				t.Fatalf("%d lines, want %d: %+v", len(res.lines), tc.wantLines, res.lines)
			}
			for i, li := range res.lines {
				if i == tc.wantBad {
					if li.status != tc.wantStatus {
						t.Errorf("line %d: status %d, want %d (%s)", i+1, li.status, tc.wantStatus, li.detail)
					}
					if tc.wantDetail != "line 4" && !strings.Contains(li.detail, tc.wantDetail) {
						t.Errorf("line %d: detail %q, want it to contain %q", i+1, li.detail, tc.wantDetail)
					}
					continue
				}
				if li.status != lineOK {
					t.Errorf("line %d: status %d (%s), want a good record", i+1, li.status, li.detail)
				}
			}
			if want := int64(len(records)) + tc.n + int64(len(tc.tail)); res.bytes != want {
				t.Errorf("read %d bytes, want %d", res.bytes, want)
			}
		})
	}
}

// TestVerifyLongLines tampers with a store's segment files by adding a
// line longer than any record (inside a sealed segment) and a zero-filled
// tail (a sparse file: no disk is used), and checks that Verify locates
// each by chain, segment and seq.
func TestVerifyLongLines(t *testing.T) {
	k := newTestKeys(t, "test")
	cases := []struct {
		name   string
		tamper func(f *fixture) (kind, segment string, seq int64)
	}{
		{name: "zero-filled tail of the last segment", tamper: func(f *fixture) (string, string, int64) {
			last := f.segs[len(f.segs)-1]
			st, err := os.Stat(f.path("general", last))
			if err != nil {
				f.t.Fatal(err)
			}
			if err := os.Truncate(f.path("general", last), st.Size()+256<<20); err != nil {
				f.t.Fatal(err)
			}
			return KindTrailingGarbage, last, 60
		}},
		{name: "long line inside a sealed segment", tamper: func(f *fixture) (string, string, int64) {
			ls := f.lines(f.segs[1])
			long := append(bytes.Repeat([]byte("x"), MaxRecordBytes+10), '\n')
			f.writeLines(f.segs[1], append(ls[:2:2], append([][]byte{long}, ls[2:]...)...))
			return KindMalformed, f.segs[1], f.first(1) + 2
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			f := &fixture{t: t, dir: dir, k: k, segs: segs}
			kind, segment, seq := tc.tamper(f)
			rep, err := Verify(dir, k.verifiers)
			if err != nil {
				t.Fatal(err)
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

// TestReadSegmentFileBoundedMemory: ReadSegmentFile (otelaudit cat and
// export, prune, the dedup reload at Open) hands over every record before
// a line longer than any record, then fails with ErrLineTooLong, having
// held at most MaxRecordBytes of the file; it read the file whole before.
func TestReadSegmentFileBoundedMemory(t *testing.T) {
	records := segmentLines(0, 3)
	cases := []struct {
		name string
		fill byte
		n    int64
		tail []byte
		want error
	}{
		{name: "zero-filled tail", n: 256 << 20, want: ErrLineTooLong},
		{name: "long line, records after it", fill: 'x', n: MaxRecordBytes, tail: append([]byte("\n"), segmentLines(3, 1)...), want: ErrLineTooLong},
		{name: "short torn tail", fill: 'x', n: 100, want: ErrIncompleteLine},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := &patternReader{head: records, fill: tc.fill, n: tc.n, tail: tc.tail}
			seen := 0
			err := forEachLine(r, func(n int, line []byte, err error) error {
				if err != nil {
					return err
				}
				var rec Record
				if err := DecodeRecord(line, &rec); err != nil {
					t.Fatalf("line %d: %v", n, err)
				}
				seen++
				return nil
			})
			if !errors.Is(err, tc.want) || seen != 3 {
				t.Errorf("error %v after %d records, want %v after 3", err, seen, tc.want)
			}
			if r.maxBuf > MaxRecordBytes {
				t.Errorf("read into a buffer of %d bytes, more than MaxRecordBytes", r.maxBuf)
			}
		})
	}
	// The same through a file, sparse.
	path := filepath.Join(t.TempDir(), SegmentName(0))
	if err := os.WriteFile(path, records, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, int64(len(records))+256<<20); err != nil {
		t.Fatal(err)
	}
	seen := 0
	err := ReadSegmentFile(path, func(*Record, []byte) error { seen++; return nil })
	if !errors.Is(err, ErrLineTooLong) || seen != 3 || !strings.Contains(err.Error(), "line 4") {
		t.Errorf("ReadSegmentFile: %v after %d records, want ErrLineTooLong at line 4 after 3", err, seen)
	}
}
