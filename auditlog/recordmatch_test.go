package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// writerShapes returns records that exercise every optional part of the
// writer's output: null and present error, turn number, paths and roles;
// payloads of every JSON kind; escapes, controls and non-ASCII text;
// numbers in every ECMAScript form.
func writerShapes() []*Record {
	var out []*Record
	add := func(edit func(r *Record)) {
		r := sampleRecord()
		edit(r)
		r.Hash = r.ComputeHash()
		out = append(out, r)
	}
	add(func(*Record) {})
	add(func(r *Record) { r.Error, r.TurnNumber, r.UserRoles, r.Redaction.Paths = nil, nil, nil, nil })
	add(func(r *Record) { r.UserRoles, r.Redaction.Paths = []string{}, []string{""} })
	add(func(r *Record) { r.Arguments, r.ResultSummary = nil, json.RawMessage(`"plain text"`) })
	add(func(r *Record) {
		r.Arguments = json.RawMessage(`[1,-0.5,1e+21,true,null,{"b":[],"a":{}}]`)
		r.ResultSummary = json.RawMessage(`{"b":2,"a":1}`) // canonicalized on the way
	})
	add(func(r *Record) {
		r.ToolName, r.UserID = "tab\there \"quoted\" \\ back", "ctl\x01\x1f\x7f"
		r.Subject = Subject{Type: "pätient", ID: "😀\u2028\ue000"}
		r.Session.UserAgent = "\xff invalid"
	})
	add(func(r *Record) { r.DurationMS = 23.456789 })
	add(func(r *Record) { r.DurationMS = 1.0 / 3 })
	add(func(r *Record) { r.DurationMS = 1e-7 })
	add(func(r *Record) { r.DurationMS = 1e22 })
	add(func(r *Record) { r.DurationMS = math.NaN() })
	add(func(r *Record) { n := int64(-1 << 60); r.TurnNumber = &n })
	add(func(r *Record) { r.Seq = maxSafeInteger })
	add(func(r *Record) { r.Redaction.Count = -3 })
	add(func(r *Record) {
		r.Arguments = json.RawMessage(`{"big":"` + strings.Repeat("x", 3*segmentChunk/2) + `"}`)
	})
	return out
}

// scanBoth scans line with the fast path (when it applies) and with the
// general one, and fails unless both give the same verdict and fields.
func scanBoth(t *testing.T, line []byte) (lineInfo, error) {
	t.Helper()
	var fast, slow lineScanner
	var lf, ls lineInfo
	ef := fast.scan(line, &lf)
	es := slow.scanSlow(line, &ls)
	if (ef == nil) != (es == nil) {
		t.Fatalf("fast path error %v, general path error %v\n%s", ef, es, line)
	}
	if ef != nil {
		return lf, ef
	}
	if lf != ls {
		t.Fatalf("fast path %+v\ngeneral path %+v\n%.300s", lf, ls, line)
	}
	if fast.conv != slow.conv || fast.ts != slow.ts || fast.retain != slow.retain || fast.user != slow.user ||
		fast.tool != slow.tool || fast.subj != slow.subj {
		t.Fatalf("summary fields differ:\nfast %q %q %q %q %q %v\nslow %q %q %q %q %q %v", fast.conv, fast.ts, fast.retain, fast.user,
			fast.tool, fast.subj, slow.conv, slow.ts, slow.retain, slow.user, slow.tool, slow.subj)
	}
	return lf, nil
}

func TestMatchRecordAcceptsWriterOutput(t *testing.T) {
	for i, r := range writerShapes() {
		line := r.AppendCanonical(nil, true)
		var f recordFields
		if !matchRecord(line, &f) {
			t.Errorf("shape %d: the fast path refuses the writer's own output:\n%.400s", i, line)
			continue
		}
		li, err := scanBoth(t, line)
		if err != nil || li.status != lineOK {
			t.Errorf("shape %d: %v %q", i, err, li.detail)
			continue
		}
		body := r.AppendCanonical(nil, false)
		if want := tlog.RecordHash(body); li.leaf != want {
			t.Errorf("shape %d: leaf hash %x, want %x", i, li.leaf, want)
		}
		if li.hash != r.Hash || li.seq != r.Seq || li.prev != r.PrevHash || li.chainID != r.ChainID {
			t.Errorf("shape %d: fields %+v", i, li)
		}
	}
}

// TestScanPathsAgree mutates writer output in the ways tampering and
// hand-editing do and checks that the fast path either declines or agrees
// with the general path, and that the general path classifies the line.
func TestScanPathsAgree(t *testing.T) {
	good := sampleRecord()
	good.Hash = good.ComputeHash()
	line := string(good.AppendCanonical(nil, true))
	tests := []struct {
		name   string
		line   string
		status uint8 // want, when there is no error
		err    bool
	}{
		{"intact", line, lineOK, false},
		{"modified value", strings.Replace(line, `"seq":7`, `"seq":8`, 1), lineModified, false},
		{"modified payload", strings.Replace(line, `"P-1001"`, `"P-1002"`, 1), lineModified, false},
		{"space added", strings.Replace(line, `"seq":7`, `"seq": 7`, 1), lineNonCanonical, false},
		{"escaped letter", strings.Replace(line, `"operation":"execute_tool"`, `"operation":"\u0065xecute_tool"`, 1), lineNonCanonical, false},
		{"number form", strings.Replace(line, `"duration_ms":12.5`, `"duration_ms":1.25e1`, 1), lineNonCanonical, false},
		{"members swapped", strings.Replace(line, `{"id":"agent-1","name":"care-bot"}`, `{"name":"care-bot","id":"agent-1"}`, 1), lineNonCanonical, false},
		{"uppercase hash", strings.Replace(line, good.Hash, strings.ToUpper(good.Hash), 1), lineModified, false},
		{"extra nested member", strings.Replace(line, `"name":"care-bot"}`, `"name":"care-bot","x":1}`, 1), lineModified, false},
		{"extra subject member", strings.Replace(line, `"subject":{"id"`, `"subject":{"a":1,"id"`, 1), 0, true},
		{"wrong type", strings.Replace(line, `"success":false`, `"success":"false"`, 1), lineModified, false},
		{"missing member", strings.Replace(line, `"purpose":"treatment",`, ``, 1), 0, true},
		{"extra member", strings.Replace(line, `"v":1}`, `"v":1,"w":2}`, 1), 0, true},
		{"seq not a number", strings.Replace(line, `"seq":7`, `"seq":"7"`, 1), 0, true},
		{"truncated", line[:len(line)/2], 0, true},
		{"trailing garbage", line + "x", 0, true},
		{"not an object", `[1,2]`, 0, true},
		{"empty", ``, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			li, err := scanBoth(t, []byte(tt.line))
			if (err != nil) != tt.err {
				t.Fatalf("error %v, want error %v", err, tt.err)
			}
			if err == nil && li.status != tt.status {
				t.Fatalf("status %d (%s), want %d", li.status, li.detail, tt.status)
			}
			var f recordFields
			if matchRecord([]byte(tt.line), &f) && !canonicalByReencoding([]byte(tt.line)) {
				t.Fatalf("the fast path accepts a line that is not canonical")
			}
		})
	}
}

func TestRecordHasher(t *testing.T) {
	text := []byte(strings.Repeat(`{"a":"0123456789"},`, 100))
	var h recordHasher
	for _, cut := range []int{0, 1, 63, 64, 65, 1000, len(text)} {
		for round := 0; round < 2; round++ { // reused state
			leaf := h.hash(text[:cut], text[cut:])
			sum := sha256.Sum256(text)
			if !h.matches(hex.EncodeToString(sum[:])) {
				t.Fatalf("cut %d: record hash %s, want %x", cut, h.hex, sum)
			}
			if want := tlog.RecordHash(text); leaf != want {
				t.Fatalf("cut %d: leaf %x, want %x", cut, leaf, want)
			}
		}
	}
}

// TestVerifySegmentFileChunks checks the streaming reader against scanning
// the whole file at once: lines that straddle read chunks, a line longer
// than a chunk, and a last line without its newline.
func TestVerifySegmentFileChunks(t *testing.T) {
	var data []byte
	prev := ZeroHash
	for i := range 600 {
		r := testRecord(i, "general")
		if i == 300 {
			r.Arguments = json.RawMessage(`{"big":"` + strings.Repeat("y", 2*segmentChunk) + `"}`)
		}
		r.ChainID, r.Seq, r.PrevHash = testOrigin+"/general", uint64(i), prev
		r.Hash = r.ComputeHash()
		prev = r.Hash
		data = r.AppendCanonical(data, true)
		data = append(data, '\n')
	}
	for _, tail := range []string{"", `{"agent":`} {
		path := filepath.Join(t.TempDir(), SegmentName(0))
		if err := os.WriteFile(path, append(bytes.Clone(data), tail...), 0o600); err != nil {
			t.Fatal(err)
		}
		got := verifySegmentFile(path)
		if got.err != nil {
			t.Fatal(got.err)
		}
		var sc lineScanner
		var want []lineInfo
		for line := range bytes.SplitSeq(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			var li lineInfo
			if err := sc.scan(line, &li); err != nil {
				t.Fatal(err)
			}
			want = append(want, li)
		}
		if tail != "" {
			want = append(want, lineInfo{status: lineGarbage, detail: "9 bytes without a final newline"})
		}
		if len(got.lines) != len(want) {
			t.Fatalf("tail %q: %d lines, want %d", tail, len(got.lines), len(want))
		}
		for i := range want {
			if got.lines[i] != want[i] {
				t.Fatalf("tail %q: line %d: %+v, want %+v", tail, i, got.lines[i], want[i])
			}
		}
		if s := got.summary.summary(); s.Count != 600 || s.LastHash != prev {
			t.Fatalf("summary %+v", s)
		}
		// The same segment with the file's digest taken beside the
		// records' (VerifyFull), and with the lines a checkpoint covers
		// proven by leaves taken two at a time: the same leaves and
		// fields, and the file's SHA-256.
		fileSum := sha256.Sum256(append(bytes.Clone(data), tail...))
		for _, job := range []segmentJob{{hashFile: true}, {cover: 1 << 62}, {cover: 1 << 62, hashFile: true}, {cover: 301}} {
			job.name, job.path = filepath.Base(path), path
			res := verifySegment(&job)
			if res.err != nil {
				t.Fatal(res.err)
			}
			if job.hashFile && res.sha256 != hex.EncodeToString(fileSum[:]) {
				t.Errorf("tail %q, cover %d: file digest %s, want %x", tail, job.cover, res.sha256, fileSum)
			}
			if len(res.lines) != len(want) {
				t.Fatalf("tail %q, cover %d: %d lines, want %d", tail, job.cover, len(res.lines), len(want))
			}
			for i, w := range want {
				g := res.lines[i]
				if g.leaf != w.leaf || g.seq != w.seq || g.prev != w.prev || g.hash != w.hash || g.status != w.status {
					t.Fatalf("tail %q, cover %d, hash file %v: line %d: %+v, want %+v", tail, job.cover, job.hashFile, i, g, w)
				}
			}
		}
	}
}

func TestRecordKeyIndexes(t *testing.T) {
	for k, want := range map[int]string{kChainID: "chain_id", kConversationID: "conversation_id", kHash: "hash",
		kPrevHash: "prev_hash", kRetention: "retention", kSeq: "seq", kSubject: "subject", kTimestamp: "timestamp",
		kToolName: "tool_name", kUserID: "user_id"} {
		if recordKeys[k] != want {
			t.Errorf("recordKeys[%d] = %q, want %q", k, recordKeys[k], want)
		}
	}
	for i, key := range recordKeys {
		if got := recordMemberIndex([]byte(key)); got != i {
			t.Errorf("recordMemberIndex(%q) = %d, want %d", key, got, i)
		}
	}
	if got := recordMemberIndex([]byte("hashes")); got != -1 {
		t.Errorf("recordMemberIndex of an unknown name = %d", got)
	}
	// recordKeys is the writer's member order.
	line := sampleRecord().AppendCanonical(nil, true)
	pos := 0
	for _, key := range recordKeys {
		i := bytes.Index(line[pos:], []byte(`"`+key+`":`))
		if i < 0 {
			t.Fatalf("member %q not found after offset %d", key, pos)
		}
		pos += i
	}
}

// verifySegmentFile reads one segment and checks each line in full.
func verifySegmentFile(path string) *segmentResult {
	return verifySegment(&segmentJob{name: filepath.Base(path), path: path})
}
