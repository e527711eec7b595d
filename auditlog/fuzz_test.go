package auditlog

import (
	"bytes"
	"testing"
)

// FuzzDecodeRecord feeds arbitrary lines to the two record parsers: they
// must not panic, must agree on what is a canonical, correctly hashed
// record, and a decoded record must re-encode to a line that decodes to
// the same encoding. With records of a kilobyte, Go's input minimiser
// dominates a short run: use -fuzzminimizetime=1x.
func FuzzDecodeRecord(f *testing.F) {
	r := sampleRecord()
	r.Hash = r.ComputeHash()
	good := r.AppendCanonical(nil, true)
	f.Add(good)
	f.Add(bytes.Replace(good, []byte(`"seq":7`), []byte(`"seq":8`), 1))
	f.Add(bytes.Replace(good, []byte(`{"agent"`), []byte(`{ "agent"`), 1))
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"arguments":{"b":1,"a":2}}`))
	for _, r := range writerShapes()[:10] {
		f.Add(r.AppendCanonical(nil, true))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var rec Record
		decErr := DecodeRecord(line, &rec)
		var sc, slow lineScanner
		var li, sli lineInfo
		scanErr := sc.scan(line, &li)
		// The fast path must agree with the general one on every line.
		slowErr := slow.scanSlow(line, &sli)
		if (scanErr == nil) != (slowErr == nil) || scanErr == nil && li != sli {
			t.Fatalf("fast path %+v %v, general path %+v %v\n%s", li, scanErr, sli, slowErr, line)
		}
		if scanErr == nil && (sc.conv != slow.conv || sc.ts != slow.ts || sc.retain != slow.retain ||
			sc.user != slow.user || sc.tool != slow.tool || sc.subj != slow.subj) {
			t.Fatalf("summary fields differ between the paths\n%s", line)
		}
		var f recordFields
		if matchRecord(line, &f) && !canonicalByReencoding(line) {
			t.Fatalf("fast path accepts a line that is not canonical:\n%s", line)
		}
		if decErr != nil {
			return
		}
		enc := rec.AppendCanonical(nil, true)
		var again Record
		if err := DecodeRecord(enc, &again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v\n%s", err, enc)
		}
		if enc2 := again.AppendCanonical(nil, true); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
		exact := bytes.Equal(enc, line) && rec.Hash == rec.ComputeHash() && isLowerHex64(rec.Hash)
		if exact && (scanErr != nil || li.status != lineOK) {
			t.Fatalf("scanner rejects a canonical record: %v %q\n%s", scanErr, li.detail, line)
		}
		if scanErr == nil && li.status == lineOK && !exact {
			t.Fatalf("scanner accepts a line that is not exactly a canonical record:\n%s", line)
		}
	})
}

func isLowerHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
