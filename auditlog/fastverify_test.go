package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// verifyLeafOnly makes Verify report its leaf-only pass as it is.
func verifyLeafOnly() VerifyOption { return func(o *verifyOptions) { o.leafOnly = true } }

// verifyThreeWays runs the default verification, the full one and the
// leaf-only pass alone, and fails unless the first two report exactly the
// same and the leaf-only pass finds something wherever they do.
func verifyThreeWays(t *testing.T, dir string, v note.Verifiers, opts ...VerifyOption) *Report {
	t.Helper()
	def, err := Verify(dir, v, opts...)
	if err != nil {
		t.Fatal(err)
	}
	full, err := Verify(dir, v, append(slices.Clone(opts), VerifyFull())...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(def, full) {
		t.Fatalf("default and full verification differ:\ndefault %+v\n%s\nfull %+v\n%s", def.Chains, findingsText(def), full.Chains, findingsText(full))
	}
	leaf, err := Verify(dir, v, append(slices.Clone(opts), verifyLeafOnly())...)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range full.Chains {
		if chainFindings(full, c.Chain) > 0 && chainFindings(leaf, c.Chain) == 0 {
			t.Fatalf("the leaf-only pass finds nothing in chain %s, the full check finds:\n%s", c.Chain, findingsText(full))
		}
	}
	if full.OK() != leaf.OK() {
		t.Fatalf("leaf-only pass OK=%v, full check OK=%v:\n%s", leaf.OK(), full.OK(), findingsText(full))
	}
	return def
}

func chainFindings(r *Report, chain string) int {
	n := 0
	for _, f := range r.Findings {
		if f.Chain == chain {
			n++
		}
	}
	return n
}

// TestVerifyLeafPathAgrees runs every tampering case of SPEC §5 through
// the three verifications: the default (leaf-only pass, then the full check
// of chains with findings) must report exactly what the full check reports.
func TestVerifyLeafPathAgrees(t *testing.T) {
	k := newTestKeys(t, "test")
	for _, tt := range tamperCases() {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			f := &fixture{t: t, dir: dir, k: k, segs: segs}
			var opts []VerifyOption
			if tt.opts != nil {
				opts = tt.opts(f)
			}
			kind, _, _ := tt.tamper(f)
			rep := verifyThreeWays(t, dir, k.verifiers, opts...)
			if (kind == "") != rep.OK() {
				t.Fatalf("want findings %v, got:\n%s", kind != "", findingsText(rep))
			}
		})
	}
}

// TestVerifyLeafPathRandomMutations changes one byte of a random line of
// a small signed store, many times over: verification must fail, and the
// default and full verifications must locate the same findings.
func TestVerifyLeafPathRandomMutations(t *testing.T) {
	k := newTestKeys(t, "test")
	src := buildTamperStore(t, k)
	rounds := 60
	if testing.Short() {
		rounds = 20
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for range rounds {
		mutateAndVerify(t, k, src, rng.Uint64(), rng.Uint64(), byte(rng.Uint32()))
	}
}

// FuzzVerifyMutation is TestVerifyLeafPathRandomMutations driven by the
// fuzzer: which line, which byte, what value.
func FuzzVerifyMutation(f *testing.F) {
	k := newTestKeys(f, "test")
	src := buildTamperStore(f, k)
	f.Add(uint64(0), uint64(0), byte('x'))
	f.Add(uint64(5), uint64(300), byte('0'))
	f.Add(uint64(17), uint64(1<<40), byte('\n'))
	f.Add(uint64(59), uint64(12), byte(' '))
	f.Fuzz(func(t *testing.T, line, off uint64, b byte) {
		mutateAndVerify(t, k, src, line, off, b)
	})
}

// mutateAndVerify copies the store in src, sets byte off (modulo the line
// length, newline included) of line number line (modulo the number of
// lines) of chain "general" to b, and verifies the copy three ways.
func mutateAndVerify(t *testing.T, k testKeys, src string, line, off uint64, b byte) {
	t.Helper()
	dir := copyStore(t, src)
	chainDir := filepath.Join(dir, "general")
	segs, err := listSegments(chainDir)
	if err != nil {
		t.Fatal(err)
	}
	type loc struct {
		seg        string
		start, end int // the line with its newline
	}
	var lines []loc
	files := map[string][]byte{}
	for _, s := range segs {
		data, err := os.ReadFile(filepath.Join(chainDir, s))
		if err != nil {
			t.Fatal(err)
		}
		files[s] = data
		for start := 0; start < len(data); {
			end := start + bytes.IndexByte(data[start:], '\n') + 1
			lines = append(lines, loc{s, start, end})
			start = end
		}
	}
	l := lines[line%uint64(len(lines))]
	data := files[l.seg]
	at := l.start + int(off%uint64(l.end-l.start))
	if data[at] == b {
		return // no change
	}
	data[at] = b
	if err := os.WriteFile(filepath.Join(chainDir, l.seg), data, 0o600); err != nil {
		t.Fatal(err)
	}
	rep := verifyThreeWays(t, dir, k.verifiers)
	if rep.OK() {
		t.Fatalf("byte %d of %s set to %q: verification passes", at, l.seg, b)
	}
}

func copyStore(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestVerifyLeafPathWriterArithmetic is what only the full check sees: a
// store whose signer wrote, and signed, a wrong record hash. The leaf-only
// pass proves the bytes are the signed ones; the full check also
// re-derives the hash.
func TestVerifyLeafPathWriterArithmetic(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	chainDir := filepath.Join(dir, "general")
	segs, _ := listSegments(chainDir)
	// Give record 1 of the second segment (not the segment's first record,
	// which is always checked in full) a wrong hash, repeat it as the next
	// record's prev_hash, and re-sign everything from there as a writer
	// with that bug would have.
	f := &fixture{t: t, dir: dir, k: k, segs: segs}
	ls := f.lines(segs[1])
	var r1, r2 Record
	if err := DecodeRecord(bytes.TrimSuffix(ls[1], []byte("\n")), &r1); err != nil {
		t.Fatal(err)
	}
	if err := DecodeRecord(bytes.TrimSuffix(ls[2], []byte("\n")), &r2); err != nil {
		t.Fatal(err)
	}
	r1.Hash = strings.Repeat("ab", 32)
	r2.PrevHash = r1.Hash
	ls[1] = append(r1.AppendCanonical(nil, true), '\n')
	ls[2] = append(r2.AppendCanonical(nil, true), '\n')
	f.writeLines(segs[1], ls)
	resignChain(t, dir, "general", k.signer)

	def, err := Verify(dir, k.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	if !def.OK() {
		t.Fatalf("default verification:\n%s", findingsText(def))
	}
	full, err := Verify(dir, k.verifiers, VerifyFull())
	if err != nil {
		t.Fatal(err)
	}
	want := Finding{Chain: "general", Segment: segs[1], Seq: f.first(1) + 1, Kind: KindModified}
	if !slices.ContainsFunc(full.Findings, func(g Finding) bool {
		return g.Chain == want.Chain && g.Segment == want.Segment && g.Seq == want.Seq && g.Kind == want.Kind
	}) {
		t.Fatalf("full verification, want %v:\n%s", want, findingsText(full))
	}
}

// resignChain rewrites a chain's seals, summaries, seal index, tree file
// and checkpoints (every one, at the sizes present) from its records, as a
// writer would have signed them.
func resignChain(t *testing.T, dir, chain string, signer note.Signer) {
	t.Helper()
	chainDir := filepath.Join(dir, chain)
	segs, _ := listSegments(chainDir)
	var front frontier
	var tree []byte
	idx := SealIndex{Seals: map[string]string{}}
	sizes := map[uint64]bool{}
	entries, _ := os.ReadDir(filepath.Join(chainDir, CheckpointsDir))
	for _, e := range entries {
		n, _ := parseUint(e.Name())
		sizes[n] = true
	}
	signCP := func(id string) {
		msg, err := SignCheckpoint(Checkpoint{Origin: id, Size: uint64(front.n), Root: front.root()}, signer)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(chainDir, CheckpointsDir, historyName(uint64(front.n))), msg, 0o600)
		os.WriteFile(filepath.Join(chainDir, CheckpointFile), msg, 0o600)
	}
	var id string
	for _, s := range segs {
		data, _ := os.ReadFile(filepath.Join(chainDir, s))
		first, _ := parseSegmentName(s)
		b := newSummaryBuilder("", s, first)
		for line := range bytes.SplitSeq(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			var r Record
			if err := DecodeRecord(line, &r); err != nil {
				t.Fatal(err)
			}
			id = r.ChainID
			b.s.Chain = id
			b.add(&r, len(line)+1)
			for _, h := range front.push(tlog.RecordHash(r.AppendCanonical(nil, false)), nil) {
				tree = append(tree, h[:]...)
			}
			if sizes[uint64(front.n)] {
				signCP(id)
			}
		}
		if _, err := os.Stat(filepath.Join(chainDir, sealName(s))); err != nil {
			continue
		}
		sum := b.summary()
		canon, _ := sum.Canonical()
		seal := sealFor(sum, canon)
		h := sha256.Sum256(data)
		seal.SegmentBytes, seal.SegmentSHA256 = int64(len(data)), hex.EncodeToString(h[:])
		msg, err := note.Sign(&note.Note{Text: string(seal.Text())}, signer)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(chainDir, summaryName(s)), canon, 0o600)
		os.WriteFile(filepath.Join(chainDir, sealName(s)), msg, 0o600)
		idx.Seals[s] = fileSHA256(msg)
	}
	idx.Chain = id
	msg, err := note.Sign(&note.Note{Text: string(idx.Text())}, signer)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(chainDir, SealIndexFile), msg, 0o600)
	os.WriteFile(filepath.Join(chainDir, TreeFile), tree, 0o600)
	signCP(id)
}

func parseUint(s string) (uint64, bool) {
	var n uint64
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, s != ""
}

// TestSealSegmentDigest checks what the writer puts in v2 seals and the
// seal index, including for a segment that was active when the store was
// reopened (its digest then covers bytes written by two processes).
func TestSealSegmentDigest(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(6<<10))
	appendOK(t, s, testRecords(0, 3, "general"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, k, WithSegmentMaxBytes(6<<10))
	for i := 3; i < 40; i += 3 {
		appendOK(t, s, testRecords(i, 3, "general"))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	chainDir := filepath.Join(dir, "general")
	segs, _ := listSegments(chainDir)
	msg, err := os.ReadFile(filepath.Join(chainDir, SealIndexFile))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := OpenSealIndex(msg, k.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	sealed := 0
	for _, sg := range segs {
		msg, err := os.ReadFile(filepath.Join(chainDir, sealName(sg)))
		if os.IsNotExist(err) {
			continue
		}
		sealed++
		seal, err := OpenSeal(msg, k.verifiers)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(filepath.Join(chainDir, sg))
		if want := recordsDigestOf(t, data); seal.RecordsSHA256 != want || seal.SegmentSHA256 != "" || seal.SegmentBytes != int64(len(data)) || !seal.Proves(data) {
			t.Errorf("%s: seal digest %s (%d bytes), file's %s (%d bytes)", sg, seal.RecordsSHA256, seal.SegmentBytes, want, len(data))
		}
		if got, ok := idx.Seal(sg, msg); !ok || got != seal {
			t.Errorf("%s: seal index does not vouch for the seal (%v)", sg, ok)
		}
	}
	if sealed < 3 || len(idx.Seals) != sealed || idx.Chain != testOrigin+"/general" {
		t.Fatalf("%d sealed segments, index %+v", sealed, idx)
	}
	rep := verifyThreeWays(t, dir, k.verifiers)
	if !rep.OK() {
		t.Fatalf("findings:\n%s", findingsText(rep))
	}
}

// TestSealFormats round-trips v1, v2 and v3 seal texts and rejects
// malformed digests.
func TestSealFormats(t *testing.T) {
	v1 := Seal{Chain: "o/general", Segment: SegmentName(0), FirstSeq: 0, Count: 3, FirstPrevHash: ZeroHash, LastHash: strings.Repeat("1", 64), SummarySHA256: strings.Repeat("2", 64)}
	v2 := v1
	v2.SegmentBytes, v2.SegmentSHA256 = 1234, strings.Repeat("3", 64)
	v3 := v1
	v3.SegmentBytes, v3.RecordsSHA256 = 1234, strings.Repeat("4", 64)
	for _, s := range []Seal{v1, v2, v3} {
		got, err := ParseSeal(s.Text())
		if err != nil || got != s {
			t.Fatalf("round trip of\n%s: %+v %v", s.Text(), got, err)
		}
	}
	if !strings.HasPrefix(string(v1.Text()), "otelaudit seal v1\n") || !strings.HasPrefix(string(v2.Text()), "otelaudit seal v2\n") ||
		!strings.HasPrefix(string(v3.Text()), "otelaudit seal v3\n") || !strings.HasSuffix(string(v3.Text()), "\nsegment_bytes 1234\nsegment_records_sha256 "+v3.RecordsSHA256+"\n") {
		t.Fatalf("headers:\n%s\n%s\n%s", v1.Text(), v2.Text(), v3.Text())
	}
	for name, text := range map[string]string{
		"v2 without digest":      strings.Replace(string(v2.Text()), "segment_sha256 "+v2.SegmentSHA256+"\n", "", 1),
		"v1 with digest":         strings.Replace(string(v2.Text()), "seal v2", "seal v1", 1),
		"uppercase digest":       strings.Replace(string(v2.Text()), v2.SegmentSHA256, strings.Repeat("A", 64), 1),
		"short digest":           strings.Replace(string(v2.Text()), v2.SegmentSHA256, "abc", 1),
		"negative size":          strings.Replace(string(v2.Text()), "segment_bytes 1234", "segment_bytes -1", 1),
		"size not a number":      strings.Replace(string(v2.Text()), "segment_bytes 1234", "segment_bytes 12x", 1),
		"repeated key":           string(v2.Text()) + "count 3\n",
		"unknown header":         strings.Replace(string(v3.Text()), "seal v3", "seal v4", 1),
		"v3 with file digest":    strings.Replace(string(v2.Text()), "seal v2", "seal v3", 1),
		"v2 with records digest": strings.Replace(string(v3.Text()), "seal v3", "seal v2", 1),
		"v3 without size":        strings.Replace(string(v3.Text()), "segment_bytes 1234\n", "", 1),
		"v3 uppercase digest":    strings.Replace(string(v3.Text()), v3.RecordsSHA256, strings.Repeat("A", 64), 1),
		"v3 both digests":        string(v3.Text()) + "segment_sha256 " + v2.SegmentSHA256 + "\n",
	} {
		if _, err := ParseSeal([]byte(text)); err == nil {
			t.Errorf("%s: ParseSeal accepts\n%s", name, text)
		}
	}
	idx := SealIndex{Chain: "o/general", Seals: map[string]string{SegmentName(0): strings.Repeat("a", 64), SegmentName(9): strings.Repeat("b", 64)}}
	got, err := ParseSealIndex(idx.Text())
	if err != nil || !reflect.DeepEqual(got, idx) {
		t.Fatalf("seal index round trip: %+v %v", got, err)
	}
	for name, text := range map[string]string{
		"bad line":    string(idx.Text()) + "x\n",
		"no chain":    "otelaudit seal index v1\n",
		"duplicated":  string(idx.Text()) + SegmentName(0) + " " + strings.Repeat("c", 64) + "\n",
		"bad segment": strings.Replace(string(idx.Text()), SegmentName(9), "9.jsonl", 1),
		"bad hash":    strings.Replace(string(idx.Text()), strings.Repeat("b", 64), strings.Repeat("B", 64), 1),
	} {
		if _, err := ParseSealIndex([]byte(text)); err == nil {
			t.Errorf("index %s: ParseSealIndex accepts\n%s", name, text)
		}
	}
}

// TestVerifySealDigestAndIndex tampers with what v2 and v3 seals and the
// seal index add, and checks that stores written before them (v1 seals and
// no index, v2 seals) still verify.
func TestVerifySealDigestAndIndex(t *testing.T) {
	k := newTestKeys(t, "test")
	// resign rewrites the seal of segment i of chain general with edit
	// applied, and the seal index, signed by the real key.
	resign := func(t *testing.T, f *fixture, i int, edit func(*Seal)) {
		p := f.path("general", sealName(f.segs[i]))
		msg, _ := os.ReadFile(p)
		seal, err := OpenSeal(msg, k.verifiers)
		if err != nil {
			t.Fatal(err)
		}
		edit(&seal)
		out, err := note.Sign(&note.Note{Text: string(seal.Text())}, k.signer)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, out, 0o600)
		// The seal index follows, as the writer's would.
		ip := f.path("general", SealIndexFile)
		msg, _ = os.ReadFile(ip)
		idx, err := OpenSealIndex(msg, k.verifiers)
		if err != nil {
			t.Fatal(err)
		}
		idx.Seals[f.segs[i]] = fileSHA256(out)
		out, _ = note.Sign(&note.Note{Text: string(idx.Text())}, k.signer)
		os.WriteFile(ip, out, 0o600)
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, f *fixture)
		// kind and file are the full check's finding (kind "" for none;
		// file names the seal index or a segment's file by its index in
		// f.segs and extension); fastOK says that the default
		// verification passes, where the full check's arithmetic on
		// signed data is all that differs; allSame that the default and
		// full checks report the same.
		kind, file string
		fastOK     bool
		allSame    bool
	}{
		{
			name: "old store: v1 seals and no seal index",
			tamper: func(t *testing.T, f *fixture) {
				for i := range f.segs[:len(f.segs)-1] {
					resign(t, f, i, func(s *Seal) { s.RecordsSHA256, s.SegmentBytes = "", 0 })
				}
				os.Remove(f.path("general", SealIndexFile))
			},
			allSame: true,
		},
		{
			name: "v2 store: seals with file digests",
			tamper: func(t *testing.T, f *fixture) {
				for i := range f.segs[:len(f.segs)-1] {
					resign(t, f, i, func(s *Seal) { s.RecordsSHA256, s.SegmentSHA256 = "", f.fileSHA256(i) })
				}
			},
			allSame: true,
		},
		{
			name: "v2 seal with a wrong file digest, signed",
			tamper: func(t *testing.T, f *fixture) {
				resign(t, f, 1, func(s *Seal) { s.RecordsSHA256, s.SegmentSHA256 = "", strings.Repeat("0", 64) })
			},
			kind: KindSealMismatch, file: "1.jsonl",
			fastOK: true,
		},
		{
			name: "seal with a wrong records digest, signed",
			tamper: func(t *testing.T, f *fixture) {
				resign(t, f, 1, func(s *Seal) { s.RecordsSHA256 = strings.Repeat("0", 64) })
			},
			kind: KindSealMismatch, file: "1.jsonl",
			allSame: true,
		},
		{
			name: "seal with a wrong file size, signed",
			tamper: func(t *testing.T, f *fixture) {
				resign(t, f, 1, func(s *Seal) { s.SegmentBytes++ })
			},
			kind: KindSealMismatch, file: "1.jsonl",
			allSame: true,
		},
		{
			name: "seal digest edited without the key",
			tamper: func(t *testing.T, f *fixture) {
				p := f.path("general", sealName(f.segs[1]))
				msg, _ := os.ReadFile(p)
				i := bytes.Index(msg, []byte("segment_records_sha256 ")) + len("segment_records_sha256 ")
				msg[i] ^= 1
				os.WriteFile(p, msg, 0o600)
			},
			kind: KindSealInvalid, file: "1.seal",
			allSame: true,
		},
		{
			name: "seal index edited without the key",
			tamper: func(t *testing.T, f *fixture) {
				p := f.path("general", SealIndexFile)
				msg, _ := os.ReadFile(p)
				os.WriteFile(p, bytes.Replace(msg, []byte(".jsonl "), []byte(".jsonl 0"), 1), 0o600)
			},
			kind: KindSealInvalid, file: SealIndexFile,
			allSame: true,
		},
		{
			name: "seal index listing another seal, signed",
			tamper: func(t *testing.T, f *fixture) {
				p := f.path("general", SealIndexFile)
				msg, _ := os.ReadFile(p)
				idx, err := OpenSealIndex(msg, k.verifiers)
				if err != nil {
					t.Fatal(err)
				}
				idx.Seals[f.segs[0]] = strings.Repeat("e", 64)
				out, _ := note.Sign(&note.Note{Text: string(idx.Text())}, k.signer)
				os.WriteFile(p, out, 0o600)
			},
			kind: KindSealMismatch, file: SealIndexFile,
			allSame: true,
		},
		{
			name: "seal index of another chain",
			tamper: func(t *testing.T, f *fixture) {
				data, _ := os.ReadFile(f.path("healthcare", SealIndexFile))
				os.WriteFile(f.path("general", SealIndexFile), data, 0o600)
			},
			kind: KindSealMismatch, file: SealIndexFile,
			allSame: true,
		},
		{
			name: "bytes appended to a sealed segment",
			tamper: func(t *testing.T, f *fixture) {
				fh, _ := os.OpenFile(f.path("general", f.segs[0]), os.O_APPEND|os.O_WRONLY, 0)
				fh.WriteString("{}\n")
				fh.Close()
			},
			kind: KindTrailingGarbage, file: "0.jsonl",
			allSame: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			segs, _ := listSegments(filepath.Join(dir, "general"))
			f := &fixture{t: t, dir: dir, k: k, segs: segs}
			tt.tamper(t, f)
			var def *Report
			if tt.allSame {
				def = verifyThreeWays(t, dir, k.verifiers)
			} else {
				var err error
				if def, err = Verify(dir, k.verifiers); err != nil {
					t.Fatal(err)
				}
			}
			full, err := Verify(dir, k.verifiers, VerifyFull())
			if err != nil {
				t.Fatal(err)
			}
			if tt.kind == "" {
				if !full.OK() || !def.OK() {
					t.Fatalf("findings:\n%s", findingsText(full))
				}
				return
			}
			if tt.fastOK != def.OK() {
				t.Fatalf("default verification OK=%v, want %v:\n%s", def.OK(), tt.fastOK, findingsText(def))
			}
			file := tt.file
			if i, ext, ok := strings.Cut(file, "."); ok && len(i) == 1 {
				file = strings.TrimSuffix(segs[i[0]-'0'], SegmentExt) + "." + ext
			}
			for _, g := range full.Findings {
				if g.Chain == "general" && g.Kind == tt.kind && g.Segment == file {
					return
				}
			}
			t.Fatalf("want %s in %s; got:\n%s", tt.kind, file, findingsText(full))
		})
	}
}

// TestVerifyTreeFile checks the streaming comparison with tree.hashes.
func TestVerifyTreeFile(t *testing.T) {
	k := newTestKeys(t, "test")
	for name, tc := range map[string]struct {
		edit func([]byte) []byte
		want string
	}{
		// Stored hash 40 is the node over seqs 20 and 21: named by them.
		"changed":   {func(b []byte) []byte { b[40*32] ^= 1; return b }, "its hash of seqs 20..21 (a level-1 subtree) does not match"},
		"truncated": {func(b []byte) []byte { return b[:len(b)/2] }, "tree file has"},
		"intact":    {func(b []byte) []byte { return b }, ""},
	} {
		t.Run(name, func(t *testing.T) {
			dir := buildTamperStore(t, k)
			p := filepath.Join(dir, "general", TreeFile)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, tc.edit(data), 0o600)
			rep := verifyThreeWays(t, dir, k.verifiers)
			if tc.want == "" {
				if !rep.OK() {
					t.Fatalf("findings:\n%s", findingsText(rep))
				}
				return
			}
			if len(rep.Findings) != 1 || rep.Findings[0].Kind != KindTreeMismatch || !strings.Contains(rep.Findings[0].Detail, tc.want) {
				t.Fatalf("want one %s finding %q:\n%s", KindTreeMismatch, tc.want, findingsText(rep))
			}
		})
	}
}

// TestVerifyForgedHugeSeq: a record re-hashed with a seq near 2⁶⁴ must be
// reported, not make the verifier allocate for every seq up to it.
func TestVerifyForgedHugeSeq(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	segs, _ := listSegments(filepath.Join(dir, "general"))
	f := &fixture{t: t, dir: dir, k: k, segs: segs}
	ls := f.lines(segs[1])
	var r Record
	if err := DecodeRecord(bytes.TrimSuffix(ls[1], []byte("\n")), &r); err != nil {
		t.Fatal(err)
	}
	r.Seq = 1<<63 + 5
	r.Hash = r.ComputeHash()
	ls[1] = append(r.AppendCanonical(nil, true), '\n')
	f.writeLines(segs[1], ls)
	rep := verifyThreeWays(t, dir, k.verifiers)
	if !slices.ContainsFunc(rep.Findings, func(g Finding) bool { return g.Kind == KindDeleted && g.Segment == segs[1] }) {
		t.Fatalf("findings:\n%s", findingsText(rep))
	}
}

// TestMatchRecordShape holds the shape match to the canonical one on the
// writer's output: same fields, same hash member.
func TestMatchRecordShape(t *testing.T) {
	for i, r := range writerShapes() {
		line := r.AppendCanonical(nil, true)
		var canon, shape recordFields
		if !matchRecord(line, &canon) || !matchRecordShape(line, &shape) {
			t.Fatalf("shape %d: not matched", i)
		}
		if canon != shape {
			t.Fatalf("shape %d: canonical %+v\nshape %+v", i, canon, shape)
		}
	}
}

// FuzzMatchRecordShape: wherever the canonical match succeeds the shape
// match finds the same fields; elsewhere it must not panic, and the
// covered scan must agree with the full scan on what the line is.
func FuzzMatchRecordShape(f *testing.F) {
	for _, r := range writerShapes()[:10] {
		f.Add(r.AppendCanonical(nil, true))
	}
	r := sampleRecord()
	r.Hash = r.ComputeHash()
	good := r.AppendCanonical(nil, true)
	f.Add(bytes.Replace(good, []byte(`"hash":"`), []byte(`"hash":"\u0030`), 1))
	f.Add(bytes.Replace(good, []byte(`"arguments":{`), []byte(`"arguments":{"error":null,"hash":"x","model":1,`), 1))
	f.Fuzz(func(t *testing.T, line []byte) {
		var canon, shape recordFields
		okC, okS := matchRecord(line, &canon), matchRecordShape(line, &shape)
		if okC && (!okS || canon != shape) {
			t.Fatalf("canonical %+v\nshape %v %+v\n%s", canon, okS, shape, line)
		}
		// Seal.Proves stops at the hash member: wherever the whole
		// template finds it, the head finds it too.
		var head recordFields
		if okS && (!matchHashMember(line, &head) || head.hashMember != shape.hashMember || head.hash != shape.hash) {
			t.Fatalf("head %+v, shape %+v\n%s", head, shape, line)
		}
		// scanCovered takes the leaf where scan takes both digests; for
		// the fields they read they must agree.
		var a, b lineScanner
		var la, lb lineInfo
		ea := a.scanCovered(line, &la, 1<<62)
		eb := b.scan(line, &lb)
		if (ea == nil) != (eb == nil) {
			if ea == nil && okS && !okC {
				return // a shape the canonical check refuses: bound by the leaf
			}
			t.Fatalf("covered scan %v, scan %v\n%s", ea, eb, line)
		}
		if ea == nil && (la.leaf != lb.leaf || la.seq != lb.seq || la.prev != lb.prev || la.chainID != lb.chainID) {
			if okS && !okC {
				return
			}
			t.Fatalf("covered scan %+v\nscan %+v\n%s", la, lb, line)
		}
	})
}

// TestVerifyLargerStore runs the three verifications on a store with
// payloads of every shape and several segments, untouched.
func TestVerifyLargerStore(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(32<<10))
	shapes := writerShapes()
	for i := 0; i < 300; i += 10 {
		recs := testRecords(i, 10, "general")
		for j, r := range recs {
			w := shapes[(i+j)%len(shapes)]
			r.Arguments, r.ResultSummary, r.Error, r.UserID = w.Arguments, w.ResultSummary, w.Error, w.UserID
			if (i+j)%7 == 0 {
				r.Arguments = json.RawMessage(`{"note":"quote \" backslash \\ done","n":[1,2,{"hash":"` + strings.Repeat("a", 64) + `"}]}`)
			}
		}
		appendOK(t, s, recs)
	}
	appendOK(t, s, testRecords(300, 5, "general"))
	if err := s.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	appendOK(t, s, testRecords(305, 5, "general")) // an unsigned tail
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep := verifyThreeWays(t, dir, k.verifiers)
	if !rep.OK() || rep.Records != 310 {
		t.Fatalf("records %d, findings:\n%s", rep.Records, findingsText(rep))
	}
}

// TestVerifyLeafPathLineEdits edits a covered record's line so that its
// bytes around the hash member stay the signed ones: an escaped hash,
// the member moved elsewhere, into a nested object or the payload. Each
// must fail verification, the same way in both modes.
func TestVerifyLeafPathLineEdits(t *testing.T) {
	k := newTestKeys(t, "test")
	tests := []struct {
		name string
		edit func(line, member string) string // member is `,"hash":"…"`
	}{
		{"escaped hash digit", func(line, member string) string {
			h := member[len(`,"hash":"`) : len(member)-1]
			return strings.Replace(line, member, `,"hash":"\u00`+hex.EncodeToString([]byte{h[0]})+h[1:]+`"`, 1)
		}},
		{"uppercase hash", func(line, member string) string {
			return strings.Replace(line, member, strings.ToUpper(member[:len(member)-1])+`"`, 1)
		}},
		{"member moved into attribution", func(line, member string) string {
			line = strings.Replace(line, member, "", 1)
			return strings.Replace(line, `,"model":"gpt-4o","tool"`, member+`,"model":"gpt-4o","tool"`, 1)
		}},
		{"member moved into the arguments", func(line, member string) string {
			line = strings.Replace(line, member, "", 1)
			return strings.Replace(line, `,"q":"x"}`, member+`,"q":"x"}`, 1)
		}},
		{"member moved to the end", func(line, member string) string {
			line = strings.Replace(line, member, "", 1)
			return strings.TrimSuffix(line, "}") + member + "}"
		}},
		{"member moved before error", func(line, member string) string {
			line = strings.Replace(line, member, "", 1)
			return strings.Replace(line, `,"error":`, member+`,"error":`, 1)
		}},
		{"member repeated", func(line, member string) string {
			return strings.Replace(line, member, member+member, 1)
		}},
		{"space after the member name", func(line, member string) string {
			return strings.Replace(line, member, strings.Replace(member, `":"`, `": "`, 1), 1)
		}},
	}
	for _, tt := range tests {
		// In a sealed segment and in the active one, which has no seal
		// or summary whose byte count would change.
		for _, which := range []string{"sealed", "active"} {
			t.Run(tt.name+"/"+which, func(t *testing.T) {
				lineEdit(t, k, which == "active", tt.edit)
			})
		}
	}
}

func lineEdit(t *testing.T, k testKeys, active bool, edit func(line, member string) string) {
	dir := buildTamperStore(t, k)
	segs, _ := listSegments(filepath.Join(dir, "general"))
	f := &fixture{t: t, dir: dir, k: k, segs: segs}
	si := 1
	if active {
		si = len(segs) - 1
	}
	ls := f.lines(segs[si])
	if len(ls) < 4 {
		t.Fatalf("segment %s has %d records", segs[si], len(ls))
	}
	line := strings.TrimSuffix(string(ls[2]), "\n")
	var r Record
	if err := DecodeRecord([]byte(line), &r); err != nil {
		t.Fatal(err)
	}
	member := `,"hash":"` + r.Hash + `"`
	edited := edit(line, member)
	if edited == line || !strings.Contains(line, `,"q":"x"}`) || !strings.Contains(line, `,"model":"gpt-4o","tool"`) {
		t.Fatalf("edit did nothing or the record changed shape:\n%s", line)
	}
	ls[2] = []byte(edited + "\n")
	f.writeLines(segs[si], ls)
	rep := verifyThreeWays(t, dir, k.verifiers)
	if !slices.ContainsFunc(rep.Findings, func(g Finding) bool { return g.Segment == segs[si] && g.Seq == f.first(si)+2 }) {
		t.Fatalf("no finding at seq %d of %s:\n%s", f.first(si)+2, segs[si], findingsText(rep))
	}
}

// TestPythonVerifierSegmentDigest: scripts/verify_chain.py checks the
// digests of v3 and v2 seals (it cannot check their signatures: a seal
// edited by hand stands in for one signed with a wrong digest).
func TestPythonVerifierSegmentDigest(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed")
	}
	k := newTestKeys(t, "test")
	script := filepath.Join("scripts", "verify_chain.py")
	// run returns the script's output, failing the test unless it exits
	// with want.
	run := func(t *testing.T, dir string, want int) string {
		out, err := exec.Command(py, script, dir, "general").CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Fatalf("exit status %d, want %d:\n%s", code, want, out)
		}
		return string(out)
	}
	// editSeal rewrites the text of the seal of segment 1 in place,
	// keeping its (now wrong) signature.
	editSeal := func(t *testing.T, dir string, edit func(text string, data []byte) string) string {
		segs, _ := listSegments(filepath.Join(dir, "general"))
		p := filepath.Join(dir, "general", sealName(segs[1]))
		msg, _ := os.ReadFile(p)
		data, _ := os.ReadFile(filepath.Join(dir, "general", segs[1]))
		text, sig, _ := strings.Cut(string(msg), "\n\n")
		os.WriteFile(p, []byte(edit(text+"\n", data)+"\n"+sig), 0o600)
		return segs[1]
	}
	flipDigest := func(key string) func(string, []byte) string {
		return func(text string, _ []byte) string {
			i := strings.Index(text, key+" ") + len(key) + 1
			return text[:i] + string(text[i]^1) + text[i+1:]
		}
	}
	// toV2 turns a v3 seal text into the v2 text of the same segment,
	// with its file's SHA-256 flipped or not.
	toV2 := func(flip bool) func(string, []byte) string {
		return func(text string, data []byte) string {
			text = strings.Replace(text, "seal v3", "seal v2", 1)
			text = text[:strings.Index(text, "segment_records_sha256 ")]
			sum := []byte(fileSHA256(data))
			if flip {
				sum[0] ^= 1
			}
			return text + "segment_sha256 " + string(sum) + "\n"
		}
	}

	dir := buildTamperStore(t, k)
	run(t, dir, 0)
	seg := editSeal(t, dir, flipDigest("segment_records_sha256"))
	if out := run(t, dir, 1); !strings.Contains(out, "FAIL chain=general "+seg+": records do not match the size and digest in its seal") {
		t.Fatalf("edited v3 seal digest:\n%s", out)
	}

	dir = buildTamperStore(t, k)
	editSeal(t, dir, toV2(false))
	run(t, dir, 0)
	seg = editSeal(t, dir, flipDigest("segment_sha256"))
	if out := run(t, dir, 1); !strings.Contains(out, "FAIL chain=general "+seg+": file does not match the size and SHA-256 in its seal") {
		t.Fatalf("edited v2 seal digest:\n%s", out)
	}
}
