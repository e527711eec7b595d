package query

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/mod/sumdb/note"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

// toV1Store rewrites every seal of the store in dir as the v1 seal an
// older writer signed (no segment digest) and removes the seal indexes:
// the store format before segment digests.
func toV1Store(t *testing.T, dir string, signer note.Signer, verifiers note.Verifiers) {
	t.Helper()
	resignSeals(t, dir, signer, verifiers, "otelaudit seal v1\n", func(s *auditlog.Seal, _ []byte) {
		s.RecordsSHA256, s.SegmentSHA256, s.SegmentBytes = "", "", 0
	})
}

// toV2Store rewrites every seal of the store in dir as the v2 seal an
// older writer signed, with the SHA-256 of its segment file, and removes
// the seal indexes.
func toV2Store(t *testing.T, dir string, signer note.Signer, verifiers note.Verifiers) {
	t.Helper()
	resignSeals(t, dir, signer, verifiers, "otelaudit seal v2\n", func(s *auditlog.Seal, segment []byte) {
		sum := sha256.Sum256(segment)
		s.RecordsSHA256, s.SegmentSHA256 = "", hex.EncodeToString(sum[:])
	})
}

// resignSeals applies edit to every seal of the store in dir (given the
// bytes of its segment), signs it again, checks that it now starts with
// header, and removes the seal indexes, which list the seals as they were.
func resignSeals(t *testing.T, dir string, signer note.Signer, verifiers note.Verifiers, header string, edit func(s *auditlog.Seal, segment []byte)) {
	t.Helper()
	seals, err := filepath.Glob(filepath.Join(dir, "*", "*.seal"))
	require.NoError(t, err)
	require.NotEmpty(t, seals)
	for _, p := range seals {
		msg, err := os.ReadFile(p)
		require.NoError(t, err)
		seal, err := auditlog.OpenSeal(msg, verifiers)
		require.NoError(t, err)
		data, err := os.ReadFile(filepath.Join(filepath.Dir(p), seal.Segment))
		require.NoError(t, err)
		edit(&seal, data)
		out, err := note.Sign(&note.Note{Text: string(seal.Text())}, signer)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(out), header))
		require.NoError(t, os.WriteFile(p, out, 0o600))
	}
	idx, _ := filepath.Glob(filepath.Join(dir, "*", auditlog.SealIndexFile))
	require.NotEmpty(t, idx)
	for _, p := range idx {
		require.NoError(t, os.Remove(p))
	}
}

// queryFilters are filters of every kind the store source narrows by.
func queryFilters() map[string]Filter {
	since := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	return map[string]Filter{
		"all":                  {},
		"conversation":         {ConversationID: scenario.CareConversation},
		"other conversation":   {ConversationID: scenario.SupportConversation},
		"unknown conversation": {ConversationID: "conv-none"},
		"subject":              {Subject: Subject{Type: "patient", ID: scenario.BurstPatient}},
		"report subject":       {Subject: Subject{Type: "patient", ID: scenario.ReportPatient}},
		"user":                 {UserID: scenario.SpreadUser},
		"tool":                 {Tool: "access_patient_record"},
		"failed":               {FailedOnly: true},
		"since":                {Since: since},
		"user and failed":      {UserID: scenario.BurstUser, FailedOnly: true},
	}
}

// TestStoreProvenMatchesLineByLine answers the same questions from a
// store whose seals carry segment digests (sealed segments proven by one
// hash, only candidate lines decoded) and from the same store in the
// older format (every line of every read segment re-verified): the
// answers must be identical and verified.
func TestStoreProvenMatchesLineByLine(t *testing.T) {
	st := newTestStore(t)
	before := map[string]*Result{}
	for name, f := range queryFilters() {
		before[name] = st.fetch(t, f)
	}
	toV1Store(t, st.dir, st.signer, st.verifiers)
	for name, f := range queryFilters() {
		t.Run(name, func(t *testing.T) {
			v2, v1 := before[name], st.fetch(t, f)
			require.True(t, v2.Integrity.Verified, "%v", v2.Integrity.Findings)
			require.True(t, v1.Integrity.Verified, "%v", v1.Integrity.Findings)
			assert.Equal(t, v1.Records, v2.Records)
			assert.Equal(t, v1.Integrity.SegmentsRead, v2.Integrity.SegmentsRead)
			assert.Equal(t, v1.Integrity.RecordsVerified, v2.Integrity.RecordsVerified)
		})
	}
	assert.NotEmpty(t, before["conversation"].Records)
	assert.NotEmpty(t, before["subject"].Records)
	assert.Empty(t, before["unknown conversation"].Records)
}

// TestStoreReadsProvenSegments checks, from the inside, that a sealed
// segment with a digest is proven by it (and not re-verified line by
// line), and that one whose file differs falls back to the line check.
func TestStoreReadsProvenSegments(t *testing.T) {
	st := newTestStore(t)
	scan := func(f Filter) *chainScan {
		cs := &chainScan{src: NewStoreSource(st.dir, st.verifiers), name: "healthcare", dir: filepath.Join(st.dir, "healthcare"), filter: &f, verifying: true}
		cs.prepare()
		require.NotNil(t, cs.sealIdx)
		for _, s := range cs.segs {
			cs.openSeal(s)
		}
		cs.plan()
		require.Empty(t, cs.findings)
		return cs
	}
	cs := scan(Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}})
	var sealed *segInfo
	for _, s := range cs.segs {
		if s.read && s.seal != nil {
			sealed = s
			break
		}
	}
	require.NotNil(t, sealed, "no sealed segment to read")
	res := cs.readSegment(sealed, false)
	assert.True(t, res.proven)
	assert.Empty(t, res.findings)
	assert.Equal(t, sealed.seal.Count, res.count)
	assert.NotEmpty(t, res.recs)

	// Flip a byte of a line that does not match: the digest fails, the
	// line check finds the record.
	p := filepath.Join(cs.dir, sealed.name)
	data, err := os.ReadFile(p)
	require.NoError(t, err)
	i := bytes.Index(data, []byte(`"operation":"execute_tool"`))
	require.Positive(t, i)
	data[i+len(`"operation":"`)] = 'E'
	require.NoError(t, os.WriteFile(p, data, 0o600))
	res = cs.readSegment(sealed, false)
	assert.False(t, res.proven)
	var kinds []string
	for _, f := range res.findings {
		kinds = append(kinds, f.Kind)
	}
	assert.Contains(t, kinds, auditlog.KindSealMismatch)
	assert.Contains(t, kinds, auditlog.KindModified)
}

// TestStoreProvenNeedleInPayload: a record whose payload holds the text of
// another conversation's member must not be returned for it, and a value
// with escapes must still be found.
func TestStoreProvenNeedleInPayload(t *testing.T) {
	_, _, signer, verifiers, err := scenario.Keys("test")
	require.NoError(t, err)
	recs := scenario.Records(scenarioTraces(t))
	odd := `conv "quoted" \ back`
	for i := range recs {
		switch i % 5 {
		case 1:
			recs[i].Arguments = json.RawMessage(`{"note":{"conversation_id":"` + scenario.CareConversation + `"}}`)
		case 2:
			recs[i].ConversationID = odd
		}
	}
	want := map[string]int{}
	for _, r := range recs {
		want[r.ConversationID]++
	}
	dir := t.TempDir()
	require.NoError(t, scenario.WriteStore(dir, signer, recs, 1, 1500))
	src := NewStoreSource(dir, verifiers)
	for _, conv := range []string{scenario.CareConversation, odd} {
		res, err := src.Fetch(context.Background(), Filter{ConversationID: conv})
		require.NoError(t, err)
		require.True(t, res.Integrity.Verified, "%v", res.Integrity.Findings)
		assert.Len(t, res.Records, want[conv], conv)
		for _, r := range res.Records {
			assert.Equal(t, conv, r.ConversationID)
		}
	}
}

// modifyUser returns a tamper that converts the store with toFormat (nil:
// leave it as written) and then changes a user id in the read segment
// holding page 3.
func modifyUser(toFormat func(*testing.T, string, note.Signer, note.Verifiers)) func(*testing.T, *testStore, string) {
	return func(t *testing.T, st *testStore, chain string) {
		if toFormat != nil {
			toFormat(t, st.dir, st.signer, st.verifiers)
		}
		seg := segmentWith(t, chain, `"page":3`)
		rewrite(t, seg, func(s string) string { return strings.Replace(s, `"user_id":"eve"`, `"user_id":"bob"`, 1) })
	}
}

// TestStoreSealDigestAndIndexTamper tampers with what segment digests and
// the seal index add; an answer from the tampered chain must say integrity
// is NOT verified, with the finding located.
func TestStoreSealDigestAndIndexTamper(t *testing.T) {
	const care = "healthcare"
	subject := Filter{Subject: Subject{Type: "patient", ID: scenario.BurstPatient}}
	resignSeal := func(t *testing.T, st *testStore, seg string, edit func(*auditlog.Seal)) {
		msg, err := os.ReadFile(sealOf(seg))
		require.NoError(t, err)
		seal, err := auditlog.OpenSeal(msg, st.verifiers)
		require.NoError(t, err)
		edit(&seal)
		out, err := note.Sign(&note.Note{Text: string(seal.Text())}, st.signer)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(sealOf(seg), out, 0o600))
	}
	cases := []struct {
		name     string
		tamper   func(t *testing.T, st *testStore, chain string)
		kind     string // "" for an answer that must still verify
		file     string // a substring of the finding's Segment
		wantRecs bool   // the records are still returned
	}{
		{
			name: "seal signed with a wrong records digest",
			tamper: func(t *testing.T, st *testStore, chain string) {
				resignSeal(t, st, segmentWith(t, chain, `"page":3`), func(s *auditlog.Seal) { s.RecordsSHA256 = strings.Repeat("0", 64) })
			},
			kind: auditlog.KindSealMismatch, file: ".jsonl", wantRecs: true,
		},
		{
			name: "v2 format: untouched",
			tamper: func(t *testing.T, st *testStore, chain string) {
				toV2Store(t, st.dir, st.signer, st.verifiers)
			},
			wantRecs: true,
		},
		{
			name: "v2 format: seal signed with a wrong file digest",
			tamper: func(t *testing.T, st *testStore, chain string) {
				toV2Store(t, st.dir, st.signer, st.verifiers)
				resignSeal(t, st, segmentWith(t, chain, `"page":3`), func(s *auditlog.Seal) { s.SegmentSHA256 = strings.Repeat("0", 64) })
			},
			kind: auditlog.KindSealMismatch, file: ".jsonl", wantRecs: true,
		},
		{
			name:   "v2 format: a field modified in a read segment",
			tamper: modifyUser(toV2Store),
			kind:   auditlog.KindModified, file: ".jsonl",
		},
		{
			name:   "a field modified in a read segment",
			tamper: modifyUser(nil),
			kind:   auditlog.KindModified, file: ".jsonl",
		},
		{
			name: "seal signed with a wrong segment size",
			tamper: func(t *testing.T, st *testStore, chain string) {
				resignSeal(t, st, segmentWith(t, chain, `"page":3`), func(s *auditlog.Seal) { s.SegmentBytes-- })
			},
			kind: auditlog.KindSealMismatch, file: ".jsonl", wantRecs: true,
		},
		{
			name: "seal index edited",
			tamper: func(t *testing.T, st *testStore, chain string) {
				rewrite(t, filepath.Join(chain, auditlog.SealIndexFile), func(s string) string { return strings.Replace(s, ".jsonl ", ".jsonl 0", 1) })
			},
			kind: auditlog.KindSealInvalid, file: auditlog.SealIndexFile, wantRecs: true,
		},
		{
			name: "seal index of the other chain",
			tamper: func(t *testing.T, st *testStore, chain string) {
				data, err := os.ReadFile(filepath.Join(st.dir, "general", auditlog.SealIndexFile))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(chain, auditlog.SealIndexFile), data, 0o600))
			},
			kind: auditlog.KindSealMismatch, file: auditlog.SealIndexFile, wantRecs: true,
		},
		{
			name: "seal index removed",
			tamper: func(t *testing.T, st *testStore, chain string) {
				require.NoError(t, os.Remove(filepath.Join(chain, auditlog.SealIndexFile)))
			},
			wantRecs: true,
		},
		{
			name:   "old format: a field modified in a read segment",
			tamper: modifyUser(toV1Store),
			kind:   auditlog.KindModified, file: ".jsonl",
		},
		{
			name: "old format: untouched",
			tamper: func(t *testing.T, st *testStore, chain string) {
				toV1Store(t, st.dir, st.signer, st.verifiers)
			},
			wantRecs: true,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newTestStore(t)
			before := st.fetch(t, subject)
			require.True(t, before.Integrity.Verified, "%v", before.Integrity.Findings)
			c.tamper(t, st, filepath.Join(st.dir, care))
			res := st.fetch(t, subject)
			if c.wantRecs {
				assert.Equal(t, before.Records, res.Records)
			}
			if c.kind == "" {
				assert.True(t, res.Integrity.Verified, "%v", res.Integrity.Findings)
				return
			}
			assert.False(t, res.Integrity.Verified)
			assert.Contains(t, res.Integrity.Summary, "NOT verified")
			var got []string
			for _, f := range res.Integrity.Findings {
				got = append(got, f.Kind+" "+f.Chain+"/"+f.Segment)
				if f.Kind == c.kind && f.Chain == care && strings.Contains(f.Segment, c.file) {
					return
				}
			}
			t.Fatalf("want a %s finding on %s in chain %s, got %v", c.kind, c.file, care, got)
		})
	}
}
