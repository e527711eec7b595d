package query

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/snapshot"
	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

// testStore is the scenario written to an audit store with small segments
// (a few records each), so that queries can skip segments.
type testStore struct {
	dir       string
	signer    note.Signer
	verifiers note.Verifiers
}

func newTestStore(t testing.TB) *testStore {
	t.Helper()
	_, _, signer, verifiers, err := scenario.Keys("test")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, scenario.WriteStore(dir, signer, scenario.Records(scenarioTraces(t)), 1, 1500))
	return &testStore{dir: dir, signer: signer, verifiers: verifiers}
}

func (s *testStore) fetch(t testing.TB, f Filter) *Result {
	t.Helper()
	res, err := NewStoreSource(s.dir, s.verifiers).Fetch(context.Background(), f)
	require.NoError(t, err)
	return res
}

func timelineLines(tl *TimelineResult) []string {
	out := []string{}
	for _, c := range tl.Calls {
		out = append(out, c.Line)
	}
	return out
}

func TestStoreTimelineVerified(t *testing.T) {
	st := newTestStore(t)
	res := st.fetch(t, Filter{ConversationID: scenario.SupportConversation})
	assert.True(t, res.Integrity.Checked)
	assert.True(t, res.Integrity.Verified, "%+v", res.Integrity.Findings)
	assert.Empty(t, res.Integrity.Findings)
	assert.Equal(t, scenario.SupportTimeline, timelineLines(Timeline(scenario.SupportConversation, res)))
	assert.Less(t, res.Integrity.SegmentsRead, res.Integrity.SegmentsTotal, "a one-conversation query must skip segments")
	assert.Greater(t, res.Integrity.SegmentsTotal, 5)
	for _, r := range res.Records {
		assert.NotEmpty(t, r.ChainID)
		assert.NotEmpty(t, r.Hash)
	}

	all := st.fetch(t, Filter{})
	assert.True(t, all.Integrity.Verified)
	assert.Len(t, all.Records, scenario.CallCount)
	assert.Equal(t, all.Integrity.SegmentsTotal, all.Integrity.SegmentsRead)
}

func TestStoreUnknownConversation(t *testing.T) {
	st := newTestStore(t)
	res := st.fetch(t, Filter{ConversationID: "no-such-conversation"})
	assert.True(t, res.Integrity.Verified)
	assert.Empty(t, res.Records)
	assert.NotNil(t, res.Records)
	tl := Timeline("no-such-conversation", res)
	assert.Equal(t, 0, tl.Count)
	assert.NotNil(t, tl.Calls)
}

func TestStoreWithoutVerifier(t *testing.T) {
	st := newTestStore(t)
	res, err := NewStoreSource(st.dir, nil).Fetch(context.Background(), Filter{ConversationID: scenario.SupportConversation})
	require.NoError(t, err)
	assert.False(t, res.Integrity.Checked)
	assert.False(t, res.Integrity.Verified)
	assert.False(t, res.Integrity.Failed())
	assert.Contains(t, res.Integrity.Summary, "no verifier")
	assert.Equal(t, scenario.SupportTimeline, timelineLines(Timeline(scenario.SupportConversation, res)))
}

func TestStoreUnreadable(t *testing.T) {
	st := newTestStore(t)
	for name, dir := range map[string]string{
		"missing":   filepath.Join(t.TempDir(), "nope"),
		"empty":     t.TempDir(),
		"chain dir": filepath.Join(st.dir, "general"),
		"a file":    writeFile(t, "f", []byte("x")),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewStoreSource(dir, st.verifiers).Fetch(context.Background(), Filter{})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// segmentsOf lists a chain's segment files in order.
func segmentsOf(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	require.NoError(t, err)
	return m
}

// segmentWith returns the sealed (not last) segment of the healthcare
// chain that holds a line containing needle.
func segmentWith(t testing.TB, chainDir, needle string) string {
	t.Helper()
	segs := segmentsOf(t, chainDir)
	for _, s := range segs[:len(segs)-1] {
		b, err := os.ReadFile(s)
		require.NoError(t, err)
		if strings.Contains(string(b), needle) {
			return s
		}
	}
	t.Fatalf("no sealed segment holds %q", needle)
	return ""
}

func rewrite(t testing.TB, path string, fn func(string) string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	out := fn(string(b))
	require.NotEqual(t, string(b), out, "tampering changed nothing in %s", path)
	require.NoError(t, os.WriteFile(path, []byte(out), 0o600))
}

func sealOf(seg string) string    { return strings.TrimSuffix(seg, ".jsonl") + ".seal" }
func summaryOf(seg string) string { return strings.TrimSuffix(seg, ".jsonl") + ".summary.json" }

// rehashFrom re-hashes the records of one segment from line i on, so that
// the hash chain inside the file is consistent again after an edit, as an
// attacker without the key would do.
func rehash(t testing.TB, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []byte
	prev := ""
	for i, line := range lines(string(b)) {
		var r auditlog.Record
		require.NoError(t, auditlog.DecodeRecord([]byte(line), &r))
		if i > 0 {
			r.PrevHash = prev
		}
		r.Hash = r.ComputeHash()
		prev = r.Hash
		out = append(r.AppendCanonical(out, true), '\n')
	}
	require.NoError(t, os.WriteFile(path, out, 0o600))
}

// signWithOtherKey signs the note in path again, with a new key in place
// of the store's.
func signWithOtherKey(t *testing.T, path string) {
	t.Helper()
	_, _, other, _, err := scenario.Keys("test")
	require.NoError(t, err)
	msg, err := os.ReadFile(path)
	require.NoError(t, err)
	text := string(msg[:strings.Index(string(msg), "\n\n")+1])
	signed, err := note.Sign(&note.Note{Text: text}, other)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, signed, 0o600))
}

func TestStoreTamper(t *testing.T) {
	const care = "healthcare"
	cases := []struct {
		name   string
		filter Filter
		tamper func(t *testing.T, st *testStore, chain string)
		kind   string
		// segment is a substring of the finding's Segment, "" for any.
		segment string
	}{
		{
			name:   "modified field in a read segment",
			filter: Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}},
			tamper: func(t *testing.T, st *testStore, chain string) {
				seg := segmentWith(t, chain, `"page":3`)
				rewrite(t, seg, func(s string) string { return strings.Replace(s, `"user_id":"eve"`, `"user_id":"bob"`, 1) })
			},
			kind: auditlog.KindModified,
		},
		{
			name:   "modified and re-hashed segment",
			filter: Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}},
			tamper: func(t *testing.T, st *testStore, chain string) {
				seg := segmentWith(t, chain, `"page":3`)
				rewrite(t, seg, func(s string) string { return strings.Replace(s, `"user_id":"eve"`, `"user_id":"bob"`, 1) })
				rehash(t, seg)
			},
			kind: auditlog.KindSealMismatch,
		},
		{
			name:   "summary edited to hide a subject",
			filter: Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}},
			tamper: func(t *testing.T, st *testStore, chain string) {
				seg := segmentWith(t, chain, `"page":3`)
				rewrite(t, summaryOf(seg), func(s string) string { return strings.ReplaceAll(s, scenario.BurstPatient, "P-0000") })
			},
			kind: auditlog.KindSummaryInvalid,
		},
		{
			name:   "segment removed with its seal and summary",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				seg := segmentWith(t, chain, `"page":3`)
				for _, p := range []string{seg, sealOf(seg), summaryOf(seg)} {
					require.NoError(t, os.Remove(p))
				}
			},
			kind: auditlog.KindSegmentMissing,
		},
		{
			name:   "segment removed, seal left",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				require.NoError(t, os.Remove(segmentWith(t, chain, `"page":3`)))
			},
			kind: auditlog.KindSegmentMissing,
		},
		{
			name:   "seal removed",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				require.NoError(t, os.Remove(sealOf(segmentWith(t, chain, `"page":3`))))
			},
			kind: auditlog.KindSealMissing,
		},
		{
			name:   "seal text forged",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				rewrite(t, sealOf(segmentWith(t, chain, `"page":3`)), func(s string) string {
					return strings.Replace(s, "count ", "count 1", 1)
				})
			},
			kind: auditlog.KindSealInvalid,
		},
		{
			name:   "seal signed by another key",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				signWithOtherKey(t, sealOf(segmentWith(t, chain, `"page":3`)))
			},
			kind: auditlog.KindSealInvalid,
		},
		{
			name:   "two sealed segments swapped",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				segs := segmentsOf(t, chain)
				a, b := segs[1], segs[2]
				for _, pair := range [][2]string{{a, b}, {sealOf(a), sealOf(b)}, {summaryOf(a), summaryOf(b)}} {
					tmp := pair[0] + ".x"
					require.NoError(t, os.Rename(pair[0], tmp))
					require.NoError(t, os.Rename(pair[1], pair[0]))
					require.NoError(t, os.Rename(tmp, pair[1]))
				}
			},
			kind: auditlog.KindSegmentName,
		},
		{
			name:   "segment renamed",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				seg := segmentsOf(t, chain)[1]
				require.NoError(t, os.Rename(seg, filepath.Join(chain, "old.jsonl")))
			},
			kind: auditlog.KindSegmentName,
		},
		{
			name:   "tail truncated",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				segs := segmentsOf(t, chain)
				last := segs[len(segs)-1]
				require.NoError(t, os.Remove(last))
				os.Remove(sealOf(last))
				os.Remove(summaryOf(last))
			},
			kind: auditlog.KindTruncated,
		},
		{
			name:   "active segment edited and re-hashed",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				segs := segmentsOf(t, chain)
				last := segs[len(segs)-1]
				_, err := os.Stat(sealOf(last))
				require.True(t, os.IsNotExist(err), "the fixture must leave an active segment (stat of its seal: %v)", err)
				rewrite(t, last, func(s string) string { return strings.Replace(s, `"status":"ok"`, `"status":"no"`, 1) })
				rehash(t, last)
			},
			kind: auditlog.KindCheckpointMismatch,
		},
		{
			name:   "hash member of the newest record altered",
			filter: Filter{},
			tamper: func(t *testing.T, st *testStore, chain string) {
				segs := segmentsOf(t, chain)
				last := segs[len(segs)-1]
				b, err := os.ReadFile(last)
				require.NoError(t, err)
				l := lines(string(b))
				var r auditlog.Record
				require.NoError(t, auditlog.DecodeRecord([]byte(l[len(l)-1]), &r))
				l[len(l)-1] = strings.Replace(l[len(l)-1], r.Hash, strings.Repeat("ab", 32), 1)
				require.NoError(t, os.WriteFile(last, []byte(strings.Join(l, "\n")+"\n"), 0o600))
			},
			kind: auditlog.KindModified,
		},
		{
			name:   "checkpoint forged",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				rewrite(t, filepath.Join(chain, "checkpoint"), func(s string) string {
					l := strings.SplitN(s, "\n", 3)
					return l[0] + "\n1" + l[1] + "\n" + l[2]
				})
			},
			kind: auditlog.KindCheckpointForged,
		},
		{
			name:   "checkpoint by unknown key",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				signWithOtherKey(t, filepath.Join(chain, "checkpoint"))
			},
			kind: auditlog.KindCheckpointUnknownKey,
		},
		{
			// The signed history holds a newer checkpoint than the
			// latest: verify reports the rollback, and so must a query,
			// instead of checking the records against the older one
			// alone (which a record rewritten after it would pass).
			name:   "latest checkpoint rolled back to an older signed one",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				hist, err := os.ReadDir(filepath.Join(chain, "checkpoints"))
				require.NoError(t, err)
				require.Greater(t, len(hist), 1)
				older, err := os.ReadFile(filepath.Join(chain, "checkpoints", hist[len(hist)-2].Name()))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(chain, "checkpoint"), older, 0o600))
				rep, err := auditlog.Verify(st.dir, st.verifiers)
				require.NoError(t, err)
				require.False(t, rep.OK(), "verify fails: so must the query")
			},
			kind: auditlog.KindCheckpointInconsistent,
		},
		{
			name:   "garbage appended to a sealed segment",
			filter: Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}},
			tamper: func(t *testing.T, st *testStore, chain string) {
				rewrite(t, segmentWith(t, chain, `"page":3`), func(s string) string { return s + "garbage" })
			},
			kind: auditlog.KindTrailingGarbage,
		},
		{
			name:   "record deleted from a read segment",
			filter: Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}},
			tamper: func(t *testing.T, st *testStore, chain string) {
				seg := segmentWith(t, chain, `"page":3`)
				rewrite(t, seg, func(s string) string {
					l := lines(s)
					require.Greater(t, len(l), 1, "segment needs two records")
					return strings.Join(l[1:], "\n") + "\n"
				})
			},
			kind: auditlog.KindSealMismatch,
		},
		{
			name:   "records reordered",
			filter: Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}},
			tamper: func(t *testing.T, st *testStore, chain string) {
				seg := segmentWith(t, chain, `"page":3`)
				rewrite(t, seg, func(s string) string {
					l := lines(s)
					require.Greater(t, len(l), 1, "segment needs two records")
					l[0], l[1] = l[1], l[0]
					return strings.Join(l, "\n") + "\n"
				})
			},
			kind: auditlog.KindOutOfOrder,
		},
		{
			name:   "junk in the checkpoint history",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				require.NoError(t, os.WriteFile(filepath.Join(chain, auditlog.CheckpointsDir, "foo"), []byte("junk\n"), 0o600))
			},
			kind: auditlog.KindCheckpointForged,
		},
		{
			name:   "checkpoint filed in the history under another name",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				b, err := os.ReadFile(filepath.Join(chain, auditlog.CheckpointFile))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(chain, auditlog.CheckpointsDir, "latest-copy"), b, 0o600))
			},
			kind: auditlog.KindCheckpointInconsistent,
		},
		{
			name:   "tree.hashes emptied",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				require.NoError(t, os.Truncate(filepath.Join(chain, auditlog.TreeFile), 0))
			},
			kind: auditlog.KindTreeMismatch,
		},
		{
			name:   "a hash of the signed frontier changed in tree.hashes",
			filter: Filter{ConversationID: scenario.SupportConversation},
			tamper: func(t *testing.T, st *testStore, chain string) {
				// The last stored hash of a tree of N leaves is the root of
				// its rightmost complete subtree: part of its frontier.
				msg, err := os.ReadFile(filepath.Join(chain, auditlog.CheckpointFile))
				require.NoError(t, err)
				cp, err := auditlog.OpenCheckpoint(msg, st.verifiers)
				require.NoError(t, err)
				flipByte(t, filepath.Join(chain, auditlog.TreeFile), (tlog.StoredHashCount(int64(cp.Size))-1)*tlog.HashSize)
			},
			kind: auditlog.KindTreeMismatch,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newTestStore(t)
			// The support conversation lives in the general chain: an
			// answer about it must still fail when the healthcare chain
			// is tampered with structurally, since calls of one
			// conversation may be in any chain.
			chain := filepath.Join(st.dir, care)
			before := st.fetch(t, c.filter)
			require.True(t, before.Integrity.Verified, "%v", before.Integrity.Findings)
			c.tamper(t, st, chain)
			res := st.fetch(t, c.filter)
			assert.True(t, res.Integrity.Checked)
			assert.False(t, res.Integrity.Verified)
			assert.True(t, res.Integrity.Failed())
			var kinds []string
			found := false
			for _, f := range res.Integrity.Findings {
				kinds = append(kinds, f.Kind+" "+f.Chain+"/"+f.Segment)
				if f.Kind == c.kind && f.Chain == care {
					found = true
				}
			}
			assert.True(t, found, "want a %s finding in chain %s, got %v", c.kind, care, kinds)
			assert.Contains(t, res.Integrity.Summary, "NOT verified")
		})
	}
}

// flipByte changes the byte at off in the file at path.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Less(t, off, int64(len(b)))
	b[off] ^= 0xff
	require.NoError(t, os.WriteFile(path, b, 0o600))
}

// TestStoreVerifiedSaysWhat: a verified answer says what it covers and
// what only otelaudit verify checks, since a damage there (a leaf hash of
// tree.hashes that no signed frontier uses) leaves the query's own proof
// intact.
func TestStoreVerifiedSaysWhat(t *testing.T) {
	st := newTestStore(t)
	flipByte(t, filepath.Join(st.dir, "healthcare", auditlog.TreeFile), 3*tlog.HashSize) // the leaf of seq 2
	res := st.fetch(t, Filter{ConversationID: scenario.SupportConversation})
	require.True(t, res.Integrity.Verified, "%v", res.Integrity.Findings)
	assert.Contains(t, res.Integrity.Summary, "otelaudit verify alone checks the segments not read, every earlier checkpoint and each hash of the tree.hashes index")
	var text bytes.Buffer
	require.NoError(t, Render(&text, FormatText, Report(Subject{Type: "patient", ID: "P-1001"}, time.Time{}, time.Time{}, res)))
	assert.Contains(t, text.String(), "Integrity verified: yes (verified: ")
	assert.Contains(t, text.String(), "otelaudit verify alone checks")
}

// TestStoreReadWhileWriting reads a store again and again while a writer
// appends, seals segments and checkpoints on its own ticker: every answer
// must verify, and no acknowledged record may go missing from a later one.
func TestStoreReadWhileWriting(t *testing.T) {
	_, _, signer, verifiers, err := scenario.Keys("live")
	require.NoError(t, err)
	dir := t.TempDir()
	st, err := auditlog.Open(dir, auditlog.WithOrigin(scenario.Origin), auditlog.WithSigner(signer),
		auditlog.WithSegmentMaxBytes(4000), auditlog.WithCheckpointInterval(3*time.Millisecond), auditlog.WithDedupWindow(0))
	require.NoError(t, err)
	base := scenario.Records(scenarioTraces(t))
	// Seed so that the store exists before the first read.
	first := base[0]
	_, err = st.Append(context.Background(), []*auditlog.Record{&first})
	require.NoError(t, err)
	require.NoError(t, st.Checkpoint())

	var acked atomic.Int64
	acked.Store(1)
	done := make(chan error, 1)
	go func() {
		for i := 1; i < 120; i++ {
			r := base[i%len(base)]
			r.SpanID = fmt.Sprintf("%016x", i+1)
			if _, err := st.Append(context.Background(), []*auditlog.Record{&r}); err != nil {
				done <- err
				return
			}
			acked.Add(1)
		}
		done <- st.Close()
	}()
	src := NewStoreSource(dir, verifiers)
	reads := 0
	for finished := false; !finished; reads++ {
		select {
		case err := <-done:
			require.NoError(t, err)
			finished = true
		default:
		}
		before := acked.Load()
		res, err := src.Fetch(context.Background(), Filter{})
		require.NoError(t, err)
		require.True(t, res.Integrity.Verified, "read %d: %v", reads, res.Integrity.Findings)
		require.GreaterOrEqual(t, int64(len(res.Records)), before, "read %d lost acknowledged records", reads)
	}
	res, err := src.Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	assert.True(t, res.Integrity.Verified)
	assert.Len(t, res.Records, 120)
	assert.Zero(t, res.Integrity.UnsignedRecords, "Close checkpoints everything")
	t.Logf("%d verified reads during the writes", reads)
}

// TestStoreUnsignedTail: records appended after the latest checkpoint are
// returned and verified as a hash chain, and counted as not yet signed.
func TestStoreUnsignedTail(t *testing.T) {
	_, _, signer, verifiers, err := scenario.Keys("tail")
	require.NoError(t, err)
	dir := t.TempDir()
	st, err := auditlog.Open(dir, auditlog.WithOrigin(scenario.Origin), auditlog.WithSigner(signer), auditlog.WithDedupWindow(0))
	require.NoError(t, err)
	defer st.Close()
	recs := scenario.Records(scenarioTraces(t))[:4] // the general chain
	for i := range recs {
		if i == 3 {
			require.NoError(t, st.Checkpoint())
		}
		_, err := st.Append(context.Background(), []*auditlog.Record{&recs[i]})
		require.NoError(t, err)
	}
	res, err := NewStoreSource(dir, verifiers).Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	assert.True(t, res.Integrity.Verified, "%v", res.Integrity.Findings)
	assert.Len(t, res.Records, 4)
	assert.Equal(t, uint64(1), res.Integrity.UnsignedRecords)
	assert.Contains(t, res.Integrity.Summary, "1 newest records are hash-chained but not yet covered")

	// Removing the latest checkpoint falls back to the history.
	require.NoError(t, os.Remove(filepath.Join(dir, "general", "checkpoint")))
	res, err = NewStoreSource(dir, verifiers).Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	assert.True(t, res.Integrity.Verified, "%v", res.Integrity.Findings)
}

// TestStoreNonCanonicalOnce: a line the scanners refuse (an escape in its
// timestamp) is decoded and checked by the full decoder; a non-canonical
// record that matches the filter is reported once, not once per check.
func TestStoreNonCanonicalOnce(t *testing.T) {
	st := newTestStore(t)
	seg := segmentWith(t, filepath.Join(st.dir, "healthcare"), `"page":3`)
	var seq uint64
	rewrite(t, seg, func(s string) string {
		l := lines(s)
		for i, line := range l {
			if strings.Contains(line, `"page":3`) {
				var r auditlog.Record
				require.NoError(t, auditlog.DecodeRecord([]byte(line), &r))
				seq = r.Seq
				l[i] = strings.Replace(line, `"timestamp":"2`, `"timestamp":"\u0032`, 1)
			}
		}
		return strings.Join(l, "\n") + "\n"
	})
	res := st.fetch(t, Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}})
	var nonCanonical []Finding
	for _, f := range res.Integrity.Findings {
		if f.Kind == auditlog.KindNonCanonical {
			nonCanonical = append(nonCanonical, f)
		}
	}
	require.Len(t, nonCanonical, 1, "%v", res.Integrity.Findings)
	assert.Equal(t, int64(seq), nonCanonical[0].Seq)
	assert.False(t, res.Integrity.Verified)
}

// TestStoreReadWhileWritingBatches is TestStoreReadWhileWriting with
// batches large enough to be written in parts and segments sealed every
// batch or two: a read may meet a write in flight, a seal written while it
// reads, or a checkpoint written between its reads, and must still verify.
func TestStoreReadWhileWritingBatches(t *testing.T) {
	_, _, signer, verifiers, err := scenario.Keys("live")
	require.NoError(t, err)
	dir := t.TempDir()
	st, err := auditlog.Open(dir, auditlog.WithOrigin(scenario.Origin), auditlog.WithSigner(signer),
		auditlog.WithSegmentMaxBytes(1<<20), auditlog.WithCheckpointInterval(5*time.Millisecond), auditlog.WithDedupWindow(0))
	require.NoError(t, err)
	base := scenario.Records(scenarioTraces(t))
	batch := func(n int) []*auditlog.Record {
		recs := make([]*auditlog.Record, 500)
		for i := range recs {
			r := base[(n*500+i)%len(base)]
			r.SpanID = fmt.Sprintf("%016x", n*500+i+1)
			recs[i] = &r
		}
		return recs
	}
	_, err = st.Append(context.Background(), batch(0))
	require.NoError(t, err)
	require.NoError(t, st.Checkpoint())

	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		for n := 1; ; n++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := st.Append(context.Background(), batch(n)); err != nil {
				done <- err
				return
			}
		}
	}()
	src := NewStoreSource(dir, verifiers)
	reads := 0
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); reads++ {
		res, err := src.Fetch(context.Background(), Filter{})
		if err == nil && !res.Integrity.Verified {
			err = fmt.Errorf("read %d: %v", reads, res.Integrity.Findings)
		}
		if err != nil {
			close(stop)
			<-done
			t.Fatal(err)
		}
	}
	close(stop)
	require.NoError(t, <-done)
	require.NoError(t, st.Close())
	t.Logf("%d verified reads during the writes", reads)
}

// TestStorePartialLastLine appends part of a record to the active segment
// of each chain: while a writer holds the store, that is a write in flight,
// left out; once none does, it is trailing garbage, as verify reports it.
// Either way the records before it are all returned.
func TestStorePartialLastLine(t *testing.T) {
	st := newTestStore(t)
	clean := st.fetch(t, Filter{})
	require.True(t, clean.Integrity.Verified, clean.Integrity.Summary)

	w, err := auditlog.Open(st.dir, auditlog.WithOrigin(scenario.Origin), auditlog.WithSigner(st.signer), auditlog.WithDedupWindow(0))
	require.NoError(t, err)
	defer w.Close()
	chains, err := os.ReadDir(st.dir)
	require.NoError(t, err)
	appended := 0
	for _, c := range chains {
		if !c.IsDir() {
			continue
		}
		segs, err := auditlog.SegmentFiles(st.dir, c.Name())
		require.NoError(t, err)
		if len(segs) == 0 {
			continue
		}
		f, err := os.OpenFile(filepath.Join(st.dir, c.Name(), segs[len(segs)-1]), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString(`{"agent":{"id":"","na`)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		appended++
	}
	require.NotZero(t, appended)

	live := st.fetch(t, Filter{})
	assert.True(t, live.Integrity.Verified, "with a writer: %+v", live.Integrity.Findings)
	assert.Len(t, live.Records, len(clean.Records))

	// Closing the writer would complete nothing: it has not written.
	require.NoError(t, w.Close())
	stopped := st.fetch(t, Filter{})
	assert.False(t, stopped.Integrity.Verified)
	assert.Len(t, stopped.Records, len(clean.Records))
	require.Len(t, stopped.Integrity.Findings, appended)
	for _, f := range stopped.Integrity.Findings {
		assert.Equal(t, auditlog.KindTrailingGarbage, f.Kind)
		assert.Contains(t, f.Detail, "no writer holds the store")
	}
	rep, err := auditlog.Verify(st.dir, st.verifiers)
	require.NoError(t, err)
	assert.False(t, rep.OK(), "verify agrees")
}

// TestStoreInterruptedPrune puts back the segments a prune deleted, as a
// prune killed after writing its marker leaves them: a query, with or
// without keys, returns what the prune kept, as verify passes over them.
func TestStoreInterruptedPrune(t *testing.T) {
	st := newTestStore(t)
	saved := snapshot.Take(t, st.dir)
	all := st.fetch(t, Filter{})
	res, err := auditlog.Prune(st.dir, auditlog.PruneOptions{Now: time.Date(2045, 1, 1, 0, 0, 0, 0, time.UTC), Signer: st.signer})
	require.NoError(t, err)
	pruned := st.fetch(t, Filter{})
	require.True(t, pruned.Integrity.Verified, pruned.Integrity.Summary)
	require.Less(t, len(pruned.Records), len(all.Records))
	unkeyed, err := NewStoreSource(st.dir, nil).Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	require.Len(t, unkeyed.Records, len(pruned.Records))

	require.NotEmpty(t, saved.RestoreDeleted(t), "prune result %+v", res)

	left := st.fetch(t, Filter{})
	hashes := func(res *Result) []string {
		out := []string{}
		for _, r := range res.Records {
			out = append(out, r.Hash)
		}
		return out
	}
	assert.True(t, left.Integrity.Verified, "%+v", left.Integrity.Findings)
	assert.Equal(t, hashes(pruned), hashes(left))
	assert.Equal(t, pruned.Integrity.SegmentsTotal, left.Integrity.SegmentsTotal)
	unkeyed, err = NewStoreSource(st.dir, nil).Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	assert.Empty(t, unkeyed.Integrity.Findings)
	assert.Equal(t, hashes(pruned), hashes(unkeyed))

	rep, err := auditlog.Verify(st.dir, st.verifiers)
	require.NoError(t, err)
	assert.True(t, rep.OK(), "verify agrees")
}

// TestStoreTimeBoundsBeyondRFC3339 asks the store for ranges whose bounds
// lie outside the years RFC 3339 can write (0000–9999): the store's
// pre-selection must not compare them as record timestamps, which would
// sort "10000-…" before "2026-…" and skip every segment.
func TestStoreTimeBoundsBeyondRFC3339(t *testing.T) {
	st := newTestStore(t)
	far := time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Date(-1, 12, 31, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		f    Filter
		want int
	}{
		{"until year 10000", Filter{Until: far}, scenario.CallCount},
		{"since year -1", Filter{Since: before}, scenario.CallCount},
		{"since year -1 until year 10000", Filter{Since: before, Until: far}, scenario.CallCount},
		{"since year 10000", Filter{Since: far}, 0},
		{"until year -1", Filter{Until: before}, 0},
		{"subject until year 10000", Filter{Subject: Subject{Type: "patient", ID: "P-1001"}, Until: far}, 4},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := st.fetch(t, c.f)
			assert.True(t, res.Integrity.Verified, "%+v", res.Integrity.Findings)
			assert.Len(t, res.Records, c.want)
		})
	}
}
