package auditlog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/mod/sumdb/tlog"
)

const testOrigin = "example.com/otelaudit/test"

func openTestStore(t testing.TB, dir string, k testKeys, opts ...Option) *Store {
	t.Helper()
	s, err := Open(dir, append([]Option{WithOrigin(testOrigin), WithSigner(k.signer)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func appendOK(t testing.TB, s *Store, recs []*Record) AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), recs)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return res
}

// readChain returns every record of a chain, in file order.
func readChain(t testing.TB, dir, chain string) []Record {
	t.Helper()
	segs, err := listSegments(filepath.Join(dir, chain))
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	for _, sname := range segs {
		err := ReadSegmentFile(filepath.Join(dir, chain, sname), func(r *Record, _ []byte) error {
			out = append(out, *r)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestStoreAppendChainsAndReopen(t *testing.T) {
	dir := t.TempDir()
	k := newTestKeys(t, "test")
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(4096))
	batch := append(testRecords(0, 30, "general"), testRecords(30, 20, "healthcare")...)
	batch = append(batch, testRecord(3, "general")) // duplicate within the batch
	res := appendOK(t, s, batch)
	if res.Written != 50 || res.Duplicates != 1 {
		t.Fatalf("result = %+v, want 50 written, 1 duplicate", res)
	}
	if batch[29].Seq != 29 || batch[30].Seq != 0 || batch[30].ChainID != testOrigin+"/healthcare" {
		t.Fatalf("seq/chain not filled: %d %d %q", batch[29].Seq, batch[30].Seq, batch[30].ChainID)
	}
	if batch[1].PrevHash != batch[0].Hash || batch[0].PrevHash != ZeroHash || batch[0].Hash != batch[0].ComputeHash() {
		t.Fatal("hash chain not filled")
	}
	for i := 0; i < 5; i++ {
		appendOK(t, s, testRecords(100+i*20, 20, "general"))
	}
	if res := appendOK(t, s, testRecords(100, 5, "general")); res.Duplicates != 5 || res.Written != 0 {
		t.Fatalf("redelivery: %+v", res)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Append(context.Background(), testRecords(0, 1, "x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}

	// Reopen: positions, dedup window and Merkle state survive.
	s = openTestStore(t, dir, k, WithSegmentMaxBytes(4096))
	// Span ids 30..49 went to healthcare: redelivered to another class
	// they are still duplicates.
	again := append(testRecords(0, 40, "general"), testRecords(200, 10, "general")...)
	if res := appendOK(t, s, again); res.Written != 10 || res.Duplicates != 40 {
		t.Fatalf("after reopen: %+v, want 10 new and 40 duplicates", res)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	recs := readChain(t, dir, "general")
	if len(recs) != 140 {
		t.Fatalf("general has %d records, want 140", len(recs))
	}
	var hashes []tlog.Hash
	prev := ZeroHash
	for i, r := range recs {
		if r.Seq != uint64(i) || r.PrevHash != prev || r.Hash != r.ComputeHash() {
			t.Fatalf("record %d broken: seq %d", i, r.Seq)
		}
		prev = r.Hash
		leaf := tlog.RecordHash(r.AppendCanonical(nil, false))
		st, err := tlog.StoredHashes(int64(i), r.AppendCanonical(nil, false), tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(idx))
			for j, x := range idx {
				out[j] = hashes[x]
			}
			return out, nil
		}))
		if err != nil || st[0] != leaf {
			t.Fatal(err)
		}
		hashes = append(hashes, st...)
	}
	// The tree file holds exactly tlog's stored hashes.
	tree, err := os.ReadFile(filepath.Join(dir, "general", TreeFile))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(tree)) != tlog.StoredHashCount(140)*tlog.HashSize {
		t.Fatalf("tree file has %d bytes, want %d", len(tree), tlog.StoredHashCount(140)*tlog.HashSize)
	}
	for i, h := range hashes {
		if string(tree[i*32:i*32+32]) != string(h[:]) {
			t.Fatalf("tree hash %d differs", i)
		}
	}
	// The latest checkpoint is signed and commits to tlog's root.
	msg, err := os.ReadFile(filepath.Join(dir, "general", CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := OpenCheckpoint(msg, k.verifiers)
	if err != nil {
		t.Fatal(err)
	}
	root, err := tlog.TreeHash(140, tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for j, x := range idx {
			out[j] = hashes[x]
		}
		return out, nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cp.Origin != testOrigin+"/general" || cp.Size != 140 || cp.Root != root {
		t.Fatalf("checkpoint = %+v, want size 140 root %v", cp, root)
	}
	// Rotation sealed several segments, each with summary and seal.
	segs, _ := listSegments(filepath.Join(dir, "general"))
	if len(segs) < 3 {
		t.Fatalf("only %d segments with max_bytes 4096", len(segs))
	}
	for _, sg := range segs[:len(segs)-1] {
		for _, f := range []string{sealName(sg), summaryName(sg)} {
			st, err := os.Stat(filepath.Join(dir, "general", f))
			if err != nil {
				t.Fatalf("sealed segment %s: %v", sg, err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v", f, st.Mode().Perm())
			}
		}
	}
	st, _ := os.Stat(filepath.Join(dir, "general"))
	if st.Mode().Perm() != 0o700 {
		t.Errorf("chain dir mode %v", st.Mode().Perm())
	}
}

func TestOpenValidates(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	tests := []struct {
		opts    []Option
		wantErr string
	}{
		{[]Option{WithSigner(k.signer)}, "origin is required"},
		{[]Option{WithOrigin("a\nb"), WithSigner(k.signer)}, "one line"},
		{[]Option{WithOrigin("o")}, "signer is required"},
		{[]Option{WithOrigin("o"), WithSigner(k.signer), WithDefaultChain("../x")}, "not a valid chain name"},
		{[]Option{WithOrigin("o"), WithSigner(k.signer), WithDefaultChain("legal_hold")}, `"legal_hold" is reserved`},
		// Not allocated: it would take 4.8 TB.
		{[]Option{WithOrigin("o"), WithSigner(k.signer), WithDedupWindow(100_000_000_000)}, "dedup window 100000000000 is above the maximum, 16777216"},
	}
	for _, tt := range tests {
		if _, err := Open(dir, tt.opts...); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("Open error = %v, want %q", err, tt.wantErr)
		}
	}
	s := openTestStore(t, dir, k)
	defer s.Close()
	if _, err := Open(dir, WithOrigin(testOrigin), WithSigner(k.signer)); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second Open = %v, want lock error", err)
	}
	_, err := s.Append(context.Background(), []*Record{testRecord(1, "../etc")})
	if !errors.Is(err, ErrInvalidRecord) {
		t.Fatalf("bad class: %v", err)
	}
	// A class named like an entry of the store's root would make its
	// chain directory collide with it (STORE/legal_hold holds the legal
	// holds of every chain).
	for _, class := range []string{"legal_hold", "LEGAL_HOLD"} {
		_, err = s.Append(context.Background(), []*Record{testRecord(2, class)})
		if !errors.Is(err, ErrInvalidRecord) || !strings.Contains(err.Error(), "is reserved") {
			t.Errorf("class %q: %v, want ErrInvalidRecord, reserved", class, err)
		}
		if _, err := os.Stat(filepath.Join(dir, class)); !os.IsNotExist(err) {
			t.Errorf("class %q: the store made %s (%v)", class, filepath.Join(dir, class), err)
		}
	}
}

func TestStoreOriginMismatch(t *testing.T) {
	dir := t.TempDir()
	k := newTestKeys(t, "test")
	s := openTestStore(t, dir, k)
	appendOK(t, s, testRecords(0, 3, "general"))
	s.Close()
	_, err := Open(dir, WithOrigin("other.example/x"), WithSigner(k.signer))
	if err == nil || !strings.Contains(err.Error(), "written with origin") {
		t.Fatalf("Open with another origin = %v", err)
	}
}

func TestCheckpointInterval(t *testing.T) {
	dir := t.TempDir()
	k := newTestKeys(t, "test")
	s := openTestStore(t, dir, k, WithCheckpointInterval(10*time.Millisecond))
	defer s.Close()
	appendOK(t, s, testRecords(0, 3, "general"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		msg, err := os.ReadFile(filepath.Join(dir, "general", CheckpointFile))
		if err == nil {
			cp, err := OpenCheckpoint(msg, k.verifiers)
			if err != nil {
				t.Fatal(err)
			}
			if cp.Size == 3 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint written by the ticker")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestConcurrentAppend appends from several goroutines, with redeliveries
// and checkpoints racing, and checks that every record is stored once.
func TestConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	k := newTestKeys(t, "test")
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(16<<10), WithCheckpointInterval(time.Millisecond))
	const workers, batches, size = 4, 10, 25
	errs := make(chan error, workers+1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				errs <- nil
				return
			default:
				if err := s.Checkpoint(); err != nil {
					errs <- err
					return
				}
			}
		}
	}()
	for w := 0; w < workers; w++ {
		go func() {
			for b := 0; b < batches; b++ {
				// Every batch is sent twice, by two workers.
				from := ((w/2)*batches + b) * size
				class := []string{"general", "healthcare"}[b%2]
				if _, err := s.Append(context.Background(), testRecords(from, size, class)); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir, k.verifiers)
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v\n%s", err, findingsText(rep))
	}
	if want := uint64(workers / 2 * batches * size); rep.Records != want {
		t.Fatalf("%d records stored, want %d (each exactly once)", rep.Records, want)
	}
}

func TestAppendHonoursContext(t *testing.T) {
	k := newTestKeys(t, "test")
	s := openTestStore(t, t.TempDir(), k)
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Append(ctx, testRecords(0, 1, "general")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a cancelled context = %v", err)
	}
}

// TestOpenTightensDirectories opens a store whose root and chain
// directory were left open to other users (by hand, by a umask, by a
// provisioning tool): Open takes group and other permissions away (SPEC
// §4: directories 0700) and logs a warning naming each path and its mode.
// Before, they kept their modes with no word.
func TestOpenTightensDirectories(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix modes")
	}
	k := newTestKeys(t, "test")
	dir := filepath.Join(t.TempDir(), "store")
	s := openTestStore(t, dir, k)
	appendOK(t, s, testRecords(0, 3, "general"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	chainDir := filepath.Join(dir, "general")
	for path, mode := range map[string]os.FileMode{dir: 0o755, chainDir: 0o777 | os.ModeSetgid} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
	}
	core, logs := observer.New(zap.WarnLevel)
	s = openTestStore(t, dir, k, WithLogger(zap.New(core)))
	for path, want := range map[string]os.FileMode{dir: 0o700, chainDir: 0o700 | os.ModeSetgid} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode() &^ os.ModeDir; got != want {
			t.Errorf("%s: mode %v, want %v", path, got, want)
		}
	}
	got := map[string]string{}
	for _, e := range logs.All() {
		f := e.ContextMap()
		got[fmt.Sprint(f["path"])] = fmt.Sprint(f["mode_before"])
	}
	if want := map[string]string{dir: "0755", chainDir: "0777"}; !maps.Equal(got, want) {
		t.Errorf("warnings (path: mode before) %v, want %v", got, want)
	}
	// Once private, they draw no warning.
	s.Close()
	logs.TakeAll()
	s = openTestStore(t, dir, k, WithLogger(zap.New(core)))
	if n := logs.Len(); n != 0 {
		t.Errorf("%d warnings for private directories: %v", n, logs.All())
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
