package auditlog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestKeyTableMatchesMap drives keyTable and a Go map with the same random
// inserts, removals and lookups, on keys crowded into few home slots so
// that probe runs wrap around the table and backward-shift deletion has
// work to do.
func TestKeyTableMatchesMap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		homes uint64 // distinct values of the key's first word
		top   bool   // homes at the end of the table, so runs wrap around
		ops   int
	}{
		{name: "crowded", homes: 5, ops: 20_000},
		{name: "wrapping", homes: 7, top: true, ops: 50_000},
		{name: "spread", homes: 1 << 62, ops: 100_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			var tab keyTable
			tab.init(4)
			model := map[dedupKey]bool{}
			var live []dedupKey
			newKey := func() dedupKey {
				// Never zero: the first word is not.
				if tc.top {
					return dedupKey{^rng.Uint64N(tc.homes), rng.Uint64N(64)}
				}
				return dedupKey{rng.Uint64N(tc.homes) + 1, rng.Uint64N(64)}
			}
			for op := 0; op < tc.ops; op++ {
				switch r := rng.IntN(10); {
				case r < 5 || len(live) == 0:
					k := newKey()
					if rng.IntN(4) == 0 && len(live) > 0 {
						k = live[rng.IntN(len(live))] // insert of a present key
					}
					if got, want := tab.insert(k), !model[k]; got != want {
						t.Fatalf("op %d: insert(%v) = %v, want %v", op, k, got, want)
					}
					if !model[k] {
						model[k] = true
						live = append(live, k)
					}
				case r < 8:
					i := rng.IntN(len(live))
					k := live[i]
					tab.remove(k)
					delete(model, k)
					live[i] = live[len(live)-1]
					live = live[:len(live)-1]
					if absent := newKey(); !model[absent] {
						tab.remove(absent) // removing an absent key changes nothing
					}
				default:
					k := newKey()
					if rng.IntN(2) == 0 && len(live) > 0 {
						k = live[rng.IntN(len(live))]
					}
					if got := tab.contains(k); got != model[k] {
						t.Fatalf("op %d: contains(%v) = %v, want %v", op, k, got, model[k])
					}
				}
				if tab.n != len(model) {
					t.Fatalf("op %d: table holds %d keys, want %d", op, tab.n, len(model))
				}
			}
			for _, k := range live {
				if !tab.contains(k) {
					t.Fatalf("key %v lost", k)
				}
			}
			occupied := 0
			for _, k := range tab.slots {
				if k != (dedupKey{}) {
					occupied++
				}
			}
			if occupied != len(model) {
				t.Fatalf("%d occupied slots for %d keys", occupied, len(model))
			}
		})
	}
}

// TestDedupSetWindow checks that the set remembers exactly the last window
// keys added, in insertion order, across many evictions.
func TestDedupSetWindow(t *testing.T) {
	for _, window := range []int{1, 3, 100, 5000} {
		t.Run(fmt.Sprint(window), func(t *testing.T) {
			d := newDedupSet(window)
			rec := func(i int) *Record {
				return &Record{TraceID: fmt.Sprintf("%032x", i/3), SpanID: fmt.Sprintf("%016x", i)}
			}
			const n = 12_000
			keys := make([]dedupKey, n)
			for i := range n {
				k, ok := d.key(rec(i))
				if !ok || k == (dedupKey{}) {
					t.Fatalf("record %d: key %v, %v", i, k, ok)
				}
				keys[i] = k
				d.add(k, window)
				d.add(k, window) // adding again changes nothing
				if i%997 == 0 || i == n-1 {
					for j := 0; j <= i; j++ {
						if got, want := d.keys.contains(keys[j]), j > i-window; got != want {
							t.Fatalf("after %d adds: contains(key %d) = %v, want %v", i+1, j, got, want)
						}
					}
				}
			}
		})
	}
}

// TestDedupKey checks that a key depends on both ids, including ids too
// long for the one-call path, and that records without ids have none.
func TestDedupKey(t *testing.T) {
	d := newDedupSet(10)
	long := fmt.Sprintf("%080x", 7)
	seen := map[dedupKey]string{}
	for _, ids := range [][2]string{
		{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"},
		{"0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203332"},
		{"0af7651916cd43dd8448eb211c80319d", "b7ad6b7169203331"},
		{"0af7651916cd43dd8448eb211c80319cb", "7ad6b7169203331"},
		{long, "b7ad6b7169203331"},
		{long, long},
		{"a", long},
	} {
		r := &Record{TraceID: ids[0], SpanID: ids[1]}
		k, ok := d.key(r)
		if !ok {
			t.Fatalf("%v: no key", ids)
		}
		if again, _ := d.key(&Record{TraceID: ids[0], SpanID: ids[1]}); again != k {
			t.Fatalf("%v: key not stable", ids)
		}
		if prev, dup := seen[k]; dup {
			t.Fatalf("%v and %s share a key", ids, prev)
		}
		seen[k] = fmt.Sprint(ids)
	}
	for _, r := range []*Record{{}, {TraceID: "0af7651916cd43dd8448eb211c80319c"}, {SpanID: "b7ad6b7169203331"}} {
		if _, ok := d.key(r); ok {
			t.Fatalf("record %+v without both ids has a key", r)
		}
	}
}

// TestAppendDedupWindowEviction writes more records than the dedup window
// holds: redelivered records inside the window are skipped, those evicted
// from it are written again, and duplicates within one batch are skipped.
func TestAppendDedupWindowEviction(t *testing.T) {
	k := newTestKeys(t, "dedup")
	s := openTestStore(t, t.TempDir(), k, WithDedupWindow(100))
	defer s.Close()
	for i := 0; i < 300; i += 50 {
		if res := appendOK(t, s, testRecords(i, 50, "general")); res.Written != 50 || res.Duplicates != 0 {
			t.Fatalf("batch at %d: %+v", i, res)
		}
	}
	// The window holds records 200..299.
	batch := append(testRecords(150, 100, "general"), testRecords(150, 1, "general")...)
	res, err := s.Append(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if res.Written != 50 || res.Duplicates != 51 {
		t.Fatalf("redelivery of 150..249 plus one repeat: %+v, want 50 written (150..199) and 51 duplicates", res)
	}
}

// TestDedupUndo admits batches of keys, repeats and evictions included,
// into windows of several sizes, checks which it found to be duplicates,
// and undoes them: the set must be exactly as before, slot for slot of the
// ring.
func TestDedupUndo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, window := range []int{1, 2, 7, 64} {
		d := newDedupSet(window)
		var added []dedupKey
		newKey := func() dedupKey { return dedupKey{rng.Uint64N(1<<20) + 1, rng.Uint64N(4)} }
		for round := range 200 {
			// Some committed history first.
			for range rng.IntN(2 * window) {
				k := newKey()
				d.add(k, window)
				added = append(added, k)
			}
			ring := append([]dedupKey(nil), d.ring...)
			next, n := d.next, d.keys.n
			var members []dedupKey
			for _, k := range d.keys.slots {
				if k != (dedupKey{}) {
					members = append(members, k)
				}
			}
			// A batch as Append handles it, then its undo.
			var batch []dedupKey
			for range rng.IntN(3 * window) {
				k := newKey()
				if rng.IntN(4) == 0 && len(added) > 0 {
					k = added[rng.IntN(len(added))] // maybe still in the window
				}
				batch = append(batch, k)
			}
			dup, log := d.admit(batch, nil, window, nil)
			seen := map[dedupKey]bool{}
			for _, k := range members {
				seen[k] = true
			}
			for i, k := range batch {
				if dup[i] != seen[k] {
					t.Fatalf("window %d round %d: key %d %v: duplicate %v, want %v", window, round, i, k, dup[i], seen[k])
				}
				seen[k] = true
			}
			d.undo(log)
			if fmt.Sprint(d.ring) != fmt.Sprint(ring) || d.next != next || d.keys.n != n {
				t.Fatalf("window %d round %d: ring %v next %d n %d, want %v %d %d", window, round, d.ring, d.next, d.keys.n, ring, next, n)
			}
			for _, k := range members {
				if !d.keys.contains(k) {
					t.Fatalf("window %d round %d: key %v lost", window, round, k)
				}
			}
		}
	}
}

// TestAppendFailedBatchIsNotRemembered sends a batch that Append refuses
// (an invalid retention class in the middle): none of its records counts
// as written, so delivering the valid ones again writes them.
func TestAppendFailedBatchIsNotRemembered(t *testing.T) {
	k := newTestKeys(t, "dedup")
	s := openTestStore(t, t.TempDir(), k, WithDedupWindow(10))
	defer s.Close()
	appendOK(t, s, testRecords(0, 10, "general"))
	batch := append(testRecords(10, 5, "general"), testRecords(0, 3, "general")...) // 3 duplicates
	bad := testRecord(99, "no spaces allowed")
	if _, err := s.Append(context.Background(), append(batch, bad)); err == nil {
		t.Fatal("a batch with an invalid class was accepted")
	}
	res := appendOK(t, s, batch)
	if res.Written != 5 || res.Duplicates != 3 {
		t.Fatalf("after the refused batch: %+v, want 5 written and 3 duplicates", res)
	}
	// The window (10) now holds 5..14: 0..4 were forgotten.
	res = appendOK(t, s, testRecords(3, 4, "general"))
	if res.Written != 2 || res.Duplicates != 2 {
		t.Fatalf("records 3..6: %+v, want 3 and 4 written again, 5 and 6 duplicates", res)
	}
}
