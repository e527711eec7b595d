package auditlog

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// recordsDigestOf computes a v3 seal's records digest of a segment file
// the slow way, record by record from its decoded form, as a reader in
// another language would (scripts/verify_chain.py does the same).
func recordsDigestOf(t *testing.T, data []byte) string {
	t.Helper()
	h := sha256.New()
	for line := range bytes.Lines(data) {
		var r Record
		if err := DecodeRecord(bytes.TrimSuffix(line, []byte("\n")), &r); err != nil {
			t.Fatal(err)
		}
		leaf := tlog.RecordHash(r.AppendCanonical(nil, false))
		sum, err := hex.DecodeString(r.Hash)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(leaf[:])
		h.Write(sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fileSHA256 is the hex SHA-256 of segment i of chain general.
func (f *fixture) fileSHA256(i int) string {
	data, err := os.ReadFile(f.path("general", f.segs[i]))
	if err != nil {
		f.t.Fatal(err)
	}
	return fileSHA256(data)
}

// sealedSegment returns the verified seal of segment seg of the chain in
// chainDir and the segment file's bytes.
func sealedSegment(tb testing.TB, k testKeys, chainDir, seg string) (Seal, []byte) {
	tb.Helper()
	msg, err := os.ReadFile(filepath.Join(chainDir, sealName(seg)))
	if err != nil {
		tb.Fatal(err)
	}
	seal, err := OpenSeal(msg, k.verifiers)
	if err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(chainDir, seg))
	if err != nil {
		tb.Fatal(err)
	}
	return seal, data
}

// TestSealProves checks that a v3 seal proves its segment file and nothing
// else of its size: in particular not the same records with a hash member
// moved or spelled differently, which carry the same leaf and record
// hashes, so that only the line's structure tells them apart.
func TestSealProves(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := buildTamperStore(t, k)
	chainDir := filepath.Join(dir, "general")
	segs, _ := listSegments(chainDir)
	v3, data := sealedSegment(t, k, chainDir, segs[1])
	if v3.RecordsSHA256 != recordsDigestOf(t, data) || v3.SegmentBytes != int64(len(data)) {
		t.Fatalf("seal %+v does not describe the %d-byte segment", v3, len(data))
	}
	v2 := v3
	v2.RecordsSHA256, v2.SegmentSHA256 = "", fileSHA256(data)
	v1 := v3
	v1.RecordsSHA256, v1.SegmentBytes = "", 0
	if !v3.Proves(data) || !v2.Proves(data) || v1.Proves(data) {
		t.Fatalf("untouched file: v3 %v, v2 %v, v1 %v; want true, true, false", v3.Proves(data), v2.Proves(data), v1.Proves(data))
	}

	lines := bytes.SplitAfter(data, []byte("\n"))
	lines = lines[:len(lines)-1]
	var r Record
	if err := DecodeRecord(bytes.TrimSuffix(lines[0], []byte("\n")), &r); err != nil {
		t.Fatal(err)
	}
	member := `,"hash":"` + r.Hash + `"`
	join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
	editLine0 := func(edit func(string) string) []byte {
		l := edit(string(lines[0]))
		if l == string(lines[0]) || len(l) != len(lines[0]) {
			t.Fatalf("edit changed nothing or the size:\n%s", l)
		}
		return join(append([][]byte{[]byte(l)}, lines[1:]...)...)
	}
	for name, tampered := range map[string][]byte{
		"a byte of a value flipped": editLine0(func(l string) string {
			i := strings.Index(l, `"tool_name":"`) + len(`"tool_name":"`)
			return l[:i] + string(l[i]^1) + l[i+1:]
		}),
		"hash member in upper case": editLine0(func(l string) string {
			return strings.Replace(l, member, `,"hash":"`+strings.ToUpper(r.Hash)+`"`, 1)
		}),
		"hash member moved after model": editLine0(func(l string) string {
			l = strings.Replace(l, member, "", 1)
			i := strings.Index(l, `,"operation":`)
			return l[:i] + member + l[i:]
		}),
		"hash member moved to the end": editLine0(func(l string) string {
			l = strings.Replace(l, member, "", 1)
			return l[:len(l)-2] + member + "}\n"
		}),
		"a newline before the hash member": editLine0(func(l string) string {
			i := strings.Index(l, `"chain_id":"`) + len(`"chain_id":"`)
			return l[:i] + "\n" + l[i+1:]
		}),
		"lines swapped":                 join(append([][]byte{lines[1], lines[0]}, lines[2:]...)...),
		"last newline moved":            append([]byte("\n"), data[:len(data)-1]...),
		"a line dropped":                join(lines[1:]...),
		"a line repeated":               join(append([][]byte{lines[0]}, lines...)...),
		"last line without its newline": data[:len(data)-1],
	} {
		if bytes.Equal(tampered, data) {
			t.Fatalf("%s: no change", name)
		}
		if v3.Proves(tampered) || v2.Proves(tampered) {
			t.Errorf("%s: proven (v3 %v, v2 %v)", name, v3.Proves(tampered), v2.Proves(tampered))
		}
		// With the seal's size made to fit, the digest alone decides.
		sized := v3
		sized.SegmentBytes = int64(len(tampered))
		if sized.Proves(tampered) {
			t.Errorf("%s: proven by the records digest", name)
		}
	}
}

// TestDecodeLowerHex holds decodeLowerHex to hex.DecodeString on lowercase
// digits and to refusal on anything else.
func TestDecodeLowerHex(t *testing.T) {
	good := "00ff10a9bcdef0123456789abcdef0123456789abcdef0123456789abcdef012"
	for name, tc := range map[string]struct {
		in string
		ok bool
	}{
		"lowercase":    {good, true},
		"upper case":   {strings.ToUpper(good), false},
		"one upper":    {good[:63] + "F", false},
		"not hex":      {good[:10] + "g" + good[11:], false},
		"space":        {good[:5] + " " + good[6:], false},
		"high byte":    {good[:5] + "\xe9" + good[6:], false},
		"short":        {good[:62], false},
		"long":         {good + "00", false},
		"all zeros":    {strings.Repeat("0", 64), true},
		"all nines/fs": {strings.Repeat("9f", 32), true},
	} {
		var got [sha256.Size]byte
		ok := decodeLowerHex(&got, []byte(tc.in))
		if ok != tc.ok {
			t.Errorf("%s: ok %v, want %v", name, ok, tc.ok)
			continue
		}
		if ok {
			want, err := hex.DecodeString(tc.in)
			if err != nil || !bytes.Equal(got[:], want) {
				t.Errorf("%s: %x, want %x (%v)", name, got, want, err)
			}
		}
	}
}

// FuzzSealProves changes a sealed segment file at random — a byte
// replaced, inserted or removed, or two ranges swapped — and gives the
// seal the new size, so that only the records digest can tell: the seal
// must prove the file exactly when it is unchanged.
func FuzzSealProves(f *testing.F) {
	k := newTestKeys(f, "test")
	dir := f.TempDir()
	s := openTestStore(f, dir, k, WithSegmentMaxBytes(4<<10))
	for i := 0; i < 12; i += 3 {
		appendOK(f, s, testRecords(i, 3, "general"))
	}
	if err := s.Close(); err != nil {
		f.Fatal(err)
	}
	chainDir := filepath.Join(dir, "general")
	segs, _ := listSegments(chainDir)
	seal, orig := sealedSegment(f, k, chainDir, segs[0])
	if !seal.Proves(orig) {
		f.Fatal("the untouched segment is not proven")
	}
	f.Add(uint8(0), uint16(10), uint16(0), byte('x'))
	f.Add(uint8(1), uint16(200), uint16(0), byte('\n'))
	f.Add(uint8(2), uint16(300), uint16(0), byte(0))
	f.Add(uint8(3), uint16(0), uint16(700), byte(60))
	f.Fuzz(func(t *testing.T, op uint8, at, at2 uint16, b byte) {
		data := bytes.Clone(orig)
		i, j := int(at)%len(data), int(at2)%len(data)
		switch op % 4 {
		case 0:
			data[i] = b
		case 1:
			data = slices.Insert(data, i, b)
		case 2:
			data = slices.Delete(data, i, i+1)
		case 3:
			// Swap two ranges of n bytes, as moving text around would.
			n := max(1, int(b))
			if i > j {
				i, j = j, i
			}
			if j < i+n || j+n > len(data) {
				return
			}
			x := bytes.Clone(data[i : i+n])
			copy(data[i:], data[j:j+n])
			copy(data[j:], x)
		}
		sized := seal
		sized.SegmentBytes = int64(len(data))
		if got, want := sized.Proves(data), bytes.Equal(data, orig); got != want {
			t.Fatalf("op %d at %d/%d (%q): proven %v, want %v", op%4, i, j, b, got, want)
		}
	})
}
