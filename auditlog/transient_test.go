package auditlog

import (
	"context"
	"path/filepath"
	"testing"
)

// TestTransientHashes appends with WithTransientHashes the way the
// exporter does: writers that reuse their record objects for every part,
// transactions of parts of different sizes over two chains, several
// writers at once (so that a transaction stages while the one before is
// being fsynced) and small segments (so that seals fall between and
// behind them). Right after each part its records carry their own hashes;
// in the end the store verifies in full, every chain link and seal
// included, with each span once.
func TestTransientHashes(t *testing.T) {
	dir := t.TempDir()
	k := newTestKeys(t, "test")
	s := openTestStore(t, dir, k, WithTransientHashes(), WithSegmentMaxBytes(16<<10))
	const writers, txns = 3, 25
	parts := []int{7, 1, 33, 12}
	runWriters(t, writers, func(w int) error {
		recs := make([]*Record, 33)
		for i := range recs {
			recs[i] = new(Record)
		}
		next := w * 1_000_000
		for range txns {
			tx, err := s.Begin(context.Background())
			if err != nil {
				return err
			}
			for _, n := range parts {
				part := recs[:n]
				for i, r := range part {
					*r = *testRecord(next, []string{"general", "financial"}[(next+i)%2])
					next++
				}
				if err := tx.Append(part); err != nil {
					tx.Abort()
					return err
				}
				for _, r := range part {
					if r.Hash != r.ComputeHash() {
						t.Errorf("record %s: hash %s after its part, want %s", r.SpanID, r.Hash, r.ComputeHash())
					}
				}
			}
			if _, err := tx.Commit(); err != nil {
				return err
			}
		}
		return nil
	})
	for _, chain := range []string{"general", "financial"} {
		seals, err := filepath.Glob(filepath.Join(dir, chain, "*"+SealExt))
		if err != nil || len(seals) < 10 {
			t.Fatalf("chain %s has %d sealed segments (%v): too few seals to test", chain, len(seals), err)
		}
	}
	closeVerifiedOnce(t, s, dir, k, writers*txns*(7+1+33+12))
}
