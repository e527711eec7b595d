package auditlog

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// txnBatch is a batch for two chains whose later parts repeat a record of
// an earlier part and one already stored.
func txnBatch() [][]*Record {
	return [][]*Record{
		append(testRecords(100, 30, "general"), testRecords(200, 10, "healthcare")...),
		append(testRecords(130, 30, "general"), testRecord(105, "general")),  // repeats part 1
		append(testRecords(210, 20, "healthcare"), testRecord(3, "general")), // repeats a stored record
	}
}

func flatten(parts [][]*Record) []*Record {
	var all []*Record
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// storeFiles returns the content of every segment and summary file of the
// store at dir, by path, leaving out empty files: a transaction that
// fails after opening a chain's first segment leaves it empty, as a
// crash there would, and Open takes it as it is.
func storeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for _, pattern := range []string{"*/*.jsonl", "*/*.summary.json"} {
		names, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 {
				continue
			}
			rel, _ := filepath.Rel(dir, n)
			files[rel] = b
		}
	}
	return files
}

// stagedTxn begins a transaction on s and stages every part of txnBatch.
func stagedTxn(t *testing.T, s *Store) *Txn {
	t.Helper()
	txn, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range txnBatch() {
		if err := txn.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	return txn
}

// TestTxnMatchesAppend writes the same batch as one Append and as a
// transaction of three parts: the results, and every segment and summary
// byte, are the same, and both stores verify.
func TestTxnMatchesAppend(t *testing.T) {
	k := newTestKeys(t, "test")
	var results [2]AppendResult
	var files [2]map[string][]byte
	for i, inParts := range []bool{false, true} {
		dir := t.TempDir()
		s := openTestStore(t, dir, k, WithSegmentMaxBytes(8<<10))
		appendOK(t, s, testRecords(0, 10, "general"))
		if inParts {
			var err error
			results[i], err = stagedTxn(t, s).Commit()
			if err != nil {
				t.Fatal(err)
			}
		} else {
			results[i] = appendOK(t, s, flatten(txnBatch()))
		}
		// The next batch seals the segments the transaction filled.
		appendOK(t, s, testRecords(1000, 5, "general"))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if rep, err := Verify(dir, k.verifiers, VerifyFull()); err != nil || !rep.OK() {
			t.Fatalf("verify: %v\n%s", err, findingsText(rep))
		}
		files[i] = storeFiles(t, dir)
	}
	if want := (AppendResult{Written: 90, Duplicates: 2}); results[0] != want || results[1] != want {
		t.Fatalf("results: one append %+v, in parts %+v, want %+v", results[0], results[1], want)
	}
	sameFiles(t, files, "one append", "three parts")
}

// sameFiles checks that two stores' files (storeFiles), at least four,
// are the same byte for byte; a and b name the ways they were written.
func sameFiles(t *testing.T, files [2]map[string][]byte, a, b string) {
	t.Helper()
	if len(files[0]) < 4 || len(files[0]) != len(files[1]) {
		t.Fatalf("files: %s %d, %s %d", a, len(files[0]), b, len(files[1]))
	}
	for name, data := range files[0] {
		if !bytes.Equal(data, files[1][name]) {
			t.Errorf("%s differs between %s and %s", name, a, b)
		}
	}
}

// TestTxnFailureWritesNothing fails a transaction in each way it can fail:
// nothing of it is on disk afterwards, the dedup window has forgotten its
// records (so that the whole batch is written when retried), and the
// store verifies.
func TestTxnFailureWritesNothing(t *testing.T) {
	bad := testRecord(300, "general")
	bad.Retention.Class = "no/such chain"
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, s *Store, fs *failingSyncs) error
		want error
	}{
		{name: "invalid record in a later part", want: ErrInvalidRecord, run: func(t *testing.T, s *Store, _ *failingSyncs) error {
			txn, err := s.Begin(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			parts := txnBatch()
			if err := txn.Append(parts[0]); err != nil {
				t.Fatal(err)
			}
			if err := txn.Append([]*Record{bad}); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("part with an invalid record: %v", err)
			}
			if err := txn.Append(parts[2]); !errors.Is(err, ErrInvalidRecord) {
				t.Fatalf("part after the failure: %v, want the failure again", err)
			}
			res, err := txn.Commit()
			if res.Written != 0 {
				t.Fatalf("commit of a failed transaction wrote %d", res.Written)
			}
			return err
		}},
		{name: "fsync fails at commit", want: syscall.EIO, run: func(t *testing.T, s *Store, fs *failingSyncs) error {
			txn := stagedTxn(t, s)
			fs.arm("general", 1) // healthcare sorts after general: neither is durable
			res, err := txn.Commit()
			if res.Written != 0 {
				t.Fatalf("commit whose first fsync failed wrote %d", res.Written)
			}
			return err
		}},
		{name: "write fails at commit", want: syscall.ENOSPC, run: func(t *testing.T, s *Store, fs *failingSyncs) error {
			txn := stagedTxn(t, s)
			// general's text is written whole, healthcare's in part.
			fs.armWrite("healthcare", 100)
			res, err := txn.Commit()
			if res.Written != 0 {
				t.Fatalf("commit whose write failed wrote %d", res.Written)
			}
			return err
		}},
		{name: "abort", want: nil, run: func(t *testing.T, s *Store, _ *failingSyncs) error {
			txn := stagedTxn(t, s)
			txn.Abort()
			txn.Abort() // twice is harmless
			if err := txn.Append(txnBatch()[0]); !errors.Is(err, errTxnDone) {
				t.Fatalf("append after abort: %v", err)
			}
			if _, err := txn.Commit(); !errors.Is(err, errTxnDone) {
				t.Fatalf("commit after abort: %v", err)
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestKeys(t, "test")
			dir := t.TempDir()
			fs := &failingSyncs{}
			s := openTestStore(t, dir, k, withSyncFile(fs.sync), withWriteFile(fs.write))
			appendOK(t, s, testRecords(0, 10, "general"))
			before := storeFiles(t, dir)

			if err := tc.run(t, s, fs); !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			after := storeFiles(t, dir)
			if len(after) != len(before) {
				t.Fatalf("the failed transaction left files: %d before, %d after", len(before), len(after))
			}
			for name, b := range before {
				if !bytes.Equal(b, after[name]) {
					t.Fatalf("the failed transaction changed %s", name)
				}
			}
			// Nothing of it is remembered as written.
			if res := appendOK(t, s, flatten(txnBatch())); res != (AppendResult{Written: 90, Duplicates: 2}) {
				t.Fatalf("retry: %+v, want 90 written and 2 duplicates", res)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if rep, err := Verify(dir, k.verifiers, VerifyFull()); err != nil || !rep.OK() || rep.Records != 100 {
				t.Fatalf("verify: %v, %d records\n%s", err, rep.Records, findingsText(rep))
			}
		})
	}
}

// TestTxnLifecycle covers Begin's refusals and the calls a committed
// transaction refuses; a committed transaction's deferred Abort does
// nothing (and in particular does not unlock the store twice).
func TestTxnLifecycle(t *testing.T) {
	k := newTestKeys(t, "test")
	s := openTestStore(t, t.TempDir(), k)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Begin(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("begin with a done context: %v", err)
	}
	txn, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := txn.Append(testRecords(0, 3, "general")); err != nil {
		t.Fatal(err)
	}
	if res, err := txn.Commit(); err != nil || res.Written != 3 {
		t.Fatalf("commit: %+v %v", res, err)
	}
	txn.Abort()
	if err := txn.Append(testRecords(3, 1, "general")); !errors.Is(err, errTxnDone) {
		t.Fatalf("append after commit: %v", err)
	}
	if _, err := txn.Commit(); !errors.Is(err, errTxnDone) {
		t.Fatalf("commit twice: %v", err)
	}
	// The store is unlocked: an empty transaction and an append go through.
	empty, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res, err := empty.Commit(); err != nil || res != (AppendResult{}) {
		t.Fatalf("empty transaction: %+v %v", res, err)
	}
	appendOK(t, s, testRecords(3, 1, "general"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("begin on a closed store: %v", err)
	}
}

// TestTxnWritesAtCommit checks when a transaction's text reaches the
// file through the page cache (TestDirectStoreWrites has the direct
// writes'): a small one's at Commit, in one write per chain; a huge one's
// also before, once it holds earlyWriteBytes, which Abort cuts back like
// the rest. Both stores verify with every committed record.
func TestTxnWritesAtCommit(t *testing.T) {
	k := newTestKeys(t, "test")
	dir := t.TempDir()
	var writes []int // of segments, in bytes
	s := openTestStore(t, dir, k, WithSegmentMaxBytes(1<<30), withBufferedWrites(), withWriteFile(func(f *os.File, b []byte, off int64) (int, error) {
		if filepath.Ext(f.Name()) == ".jsonl" {
			writes = append(writes, len(b))
		}
		return plainWrite(f, b, off)
	}))
	appendOK(t, s, testRecords(0, 10, "general"))
	size := func() int64 {
		t.Helper()
		segs, err := filepath.Glob(filepath.Join(dir, "general", "*.jsonl"))
		if err != nil || len(segs) != 1 {
			t.Fatalf("segments %v, %v", segs, err)
		}
		fi, err := os.Stat(segs[0])
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()

	writes = nil
	txn, err := s.Begin(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := txn.Append(testRecords(100+i*50, 50, "general")); err != nil {
			t.Fatal(err)
		}
	}
	if got := size(); got != before || len(writes) != 0 {
		t.Fatalf("staged 150 records: file %d bytes (was %d), %d writes; want nothing written yet", got, before, len(writes))
	}
	if res, err := txn.Commit(); err != nil || res.Written != 150 {
		t.Fatalf("commit: %+v, %v", res, err)
	}
	if len(writes) != 1 || size() != before+int64(writes[0]) {
		t.Fatalf("commit made writes of %v bytes; file %d bytes, was %d; want one write of the whole text", writes, size(), before)
	}

	// Huge: written early, in parts of at least earlyWriteBytes.
	huge := func() (*Txn, int) {
		t.Helper()
		txn, err := s.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for len(writes) == 0 {
			if err := txn.Append(testRecords(10_000+n, 500, "general")); err != nil {
				t.Fatal(err)
			}
			if n += 500; n > 200_000 {
				t.Fatal("200,000 records staged and nothing written")
			}
		}
		return txn, n
	}
	before = size()
	writes = nil
	txn, _ = huge()
	if writes[0] < earlyWriteBytes || size() != before+int64(writes[0]) {
		t.Fatalf("early write of %d bytes (want ≥ %d); file grew by %d", writes[0], earlyWriteBytes, size()-before)
	}
	txn.Abort()
	if got := size(); got != before {
		t.Fatalf("abort left the file at %d bytes, was %d", got, before)
	}
	writes = nil
	txn, n := huge()
	if err := txn.Append(testRecords(300_000, 10, "general")); err != nil {
		t.Fatal(err)
	}
	n += 10
	if res, err := txn.Commit(); err != nil || res.Written != n {
		t.Fatalf("huge commit: %+v, %v; want %d written", res, err, n)
	}
	if len(writes) != 2 {
		t.Fatalf("huge commit made %d writes, want the early one and the rest", len(writes))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if rep, err := Verify(dir, k.verifiers, VerifyFull()); err != nil || !rep.OK() || rep.Records != 160+uint64(n) {
		t.Fatalf("verify: %v, %d records, want %d\n%s", err, rep.Records, 160+n, findingsText(rep))
	}
}
