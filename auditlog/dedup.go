package auditlog

import (
	"hash/maphash"
	"unsafe"
)

// dedupKey identifies a span by a 128-bit hash of (trace_id, span_id): two
// independent 64-bit hashes, so that a collision, which would drop a real
// record, is out of reach (about 1e-27 at a million keys). The zero key
// marks an empty slot of a keyTable and is never produced by key.
type dedupKey [2]uint64

// dedupSet remembers the last window keys in insertion order. Not safe for
// concurrent use; the Store serialises access.
//
// It is an open-addressing table (keyTable) plus a ring of the keys in
// insertion order, which names the key to forget when the window is full.
// A Go map did the same job at several times the cost per record: keys
// are already uniform hashes, so the table indexes by them directly and
// compares 16 bytes per probe.
type dedupSet struct {
	seed1, seed2 maphash.Seed
	keys         keyTable
	ring         []dedupKey
	next         int
	touched      uint64 // keeps admit's loads ahead of use from being dropped
}

// newDedupSet returns the set of a window of n keys, nil when n <= 0.
//
// Its ring and table take their full size at once (48 MB at the default
// window), which the set reaches after a window of spans anyway. What goes
// is the doubling on the way there, which copied both five times and left
// tens of megabytes of garbage, and so garbage collections, in the
// exporter's first million spans. The cost: the ring's pages are touched
// in order as keys arrive, but the table's at random, so its 32 MB would
// be resident after some thousands of keys instead of after a million;
// init faults them in at once (populate), so they are resident from Open
// (size the window with WithDedupWindow where that matters).
func newDedupSet(n int) *dedupSet {
	if n <= 0 {
		return nil
	}
	d := &dedupSet{
		seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(),
		ring: make([]dedupKey, 0, n),
	}
	// The ring is touched in order, a page at a time as keys arrive: in
	// huge pages that is one fault per 2 MiB instead of 512, which a
	// fresh exporter pays in its first million spans (about 0.3 % of
	// their CPU time in the paired benchmark's profile).
	adviseHugeSlice(d.ring)
	d.keys.init(n)
	return d
}

// adviseHugeSlice is adviseHugePages of the memory of s up to its capacity.
func adviseHugeSlice[T any](s []T) { adviseHugePages(sliceBytes(s)) }

// sliceBytes is the memory of s up to its capacity.
func sliceBytes[T any](s []T) []byte {
	var zero T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), cap(s)*int(unsafe.Sizeof(zero)))
}

// key returns the key of a record and whether it has one: records without
// a trace or span id cannot be recognised when redelivered.
func (d *dedupSet) key(r *Record) (dedupKey, bool) {
	if r.TraceID == "" || r.SpanID == "" {
		return dedupKey{}, false
	}
	// The hash of trace_id, 0, span_id: the ids are hex, so one small
	// buffer holds them, and maphash.Bytes hashes it in one call
	// (equivalent to writing the pieces to a maphash.Hash).
	var buf [64]byte
	var k dedupKey
	if n := len(r.TraceID) + 1 + len(r.SpanID); n <= len(buf) {
		copy(buf[copy(buf[:], r.TraceID)+1:], r.SpanID)
		k = dedupKey{maphash.Bytes(d.seed1, buf[:n]), maphash.Bytes(d.seed2, buf[:n])}
	} else {
		var h maphash.Hash
		for i, seed := range [2]maphash.Seed{d.seed1, d.seed2} {
			h.SetSeed(seed) // also resets
			h.WriteString(r.TraceID)
			h.WriteByte(0)
			h.WriteString(r.SpanID)
			k[i] = h.Sum64()
		}
	}
	if k == (dedupKey{}) {
		k[0] = 1 // the zero key means an empty slot
	}
	return k, true
}

// add remembers k, forgetting the oldest key once the window is full.
func (d *dedupSet) add(k dedupKey, window int) {
	if d.keys.contains(k) {
		return
	}
	d.push(k, window)
	d.keys.insert(k)
}

// dedupUndo records what enqueue changed, so that undo can reverse it.
type dedupUndo struct {
	k, evicted dedupKey
	next       int  // d.next before the change
	appended   bool // the ring grew (nothing was evicted)
}

// admit looks up each of keys (zero: no key) and puts the new ones in the
// set, each at once, so that a repeat later in keys is found like any
// other; only then do they join the window's order, forgetting the
// oldest. It appends to dup whether each key was there already, and to
// log what it changed, for undo.
//
// The table is far larger than the caches, so each key's slot, and each
// evicted key's, is a miss to memory. admit loads them all first, in a
// loop of independent loads that the processor overlaps, instead of one
// miss at a time behind each probe's compares.
func (d *dedupSet) admit(keys []dedupKey, dup []bool, window int, log []dedupUndo) ([]bool, []dedupUndo) {
	d.touched += d.keys.touch(keys)
	if len(d.ring) == window {
		j := d.next
		for range min(len(keys), window) {
			d.touched += d.keys.touchKey(d.ring[j])
			if j++; j == window {
				j = 0
			}
		}
	}
	for _, k := range keys {
		dup = append(dup, k != (dedupKey{}) && !d.keys.insert(k))
	}
	for i, k := range keys {
		if k != (dedupKey{}) && !dup[i] {
			log = d.enqueue(k, window, log)
		}
	}
	return dup, log
}

// enqueue makes k, already in the key table, the newest key of the
// window, forgetting the oldest once the window is full, and appends to
// log what it changed.
func (d *dedupSet) enqueue(k dedupKey, window int, log []dedupUndo) []dedupUndo {
	return append(log, d.push(k, window))
}

// push makes k the newest key of the ring, taking the key it evicts out
// of the key table once the window is full, and returns what it changed.
func (d *dedupSet) push(k dedupKey, window int) dedupUndo {
	u := dedupUndo{k: k, next: d.next, appended: len(d.ring) < window}
	if u.appended {
		d.ring = append(d.ring, k)
	} else {
		u.evicted = d.ring[d.next]
		d.keys.remove(u.evicted)
		d.ring[d.next] = k
		d.next = (d.next + 1) % window
	}
	return u
}

// undo reverses the enqueues of log, newest first, and takes their keys
// out of the key table: the set is left as it was before the keys were
// inserted and enqueued.
func (d *dedupSet) undo(log []dedupUndo) {
	for i := len(log) - 1; i >= 0; i-- {
		u := log[i]
		if u.appended {
			d.ring = d.ring[:len(d.ring)-1]
			continue
		}
		d.next = u.next
		d.ring[d.next] = u.evicted
		d.keys.insert(u.evicted)
	}
	for _, u := range log {
		d.keys.remove(u.k)
	}
}

// keyTable is a set of non-zero dedupKeys: linear probing on the first
// word of the key (a uniform hash), at most 3/4 full, deletion by
// backward shift so that no tombstones build up under the FIFO churn of
// the dedup window. Not safe for concurrent use.
type keyTable struct {
	slots []dedupKey // length a power of two; the zero key is an empty slot
	n     int
}

// tableSize is the number of slots a keyTable holds n keys in.
func tableSize(n int) int {
	size := 8
	for size*3/4 < n {
		size *= 2
	}
	return size
}

// init sizes an empty table for n keys.
func (t *keyTable) init(n int) {
	t.slots = make([]dedupKey, tableSize(n))
	t.n = 0
	adviseHugeSlice(t.slots)
	_ = populate(sliceBytes(t.slots)) // an optimisation only; see populate
}

func (t *keyTable) contains(k dedupKey) bool {
	mask := uint64(len(t.slots) - 1)
	for i := k[0] & mask; ; i = (i + 1) & mask {
		switch t.slots[i] {
		case k:
			return true
		case dedupKey{}:
			return false
		}
	}
}

// touch loads the home slot of each of keys and returns a value that
// depends on them all (see dedupSet.admit).
func (t *keyTable) touch(keys []dedupKey) uint64 {
	mask := uint64(len(t.slots) - 1)
	var sum uint64
	for _, k := range keys {
		sum += t.slots[k[0]&mask][0]
	}
	return sum
}

// touchKey is touch of one key, for its removal: that also reads the
// slots after it, up to the end of its probe run, which may be on the
// next cache line (four slots to a line).
func (t *keyTable) touchKey(k dedupKey) uint64 {
	mask := uint64(len(t.slots) - 1)
	i := k[0] & mask
	return t.slots[i][0] + t.slots[(i|3+1)&mask][0]
}

// insert adds k, which must not be zero; it reports false if k was there.
func (t *keyTable) insert(k dedupKey) bool {
	if (t.n+1)*4 > len(t.slots)*3 {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for i := k[0] & mask; ; i = (i + 1) & mask {
		switch t.slots[i] {
		case k:
			return false
		case dedupKey{}:
			t.slots[i] = k
			t.n++
			return true
		}
	}
}

// remove deletes k if present, shifting later members of its probe run
// back so that every key stays reachable from its home slot.
func (t *keyTable) remove(k dedupKey) {
	mask := uint64(len(t.slots) - 1)
	i := k[0] & mask
	for t.slots[i] != k {
		if t.slots[i] == (dedupKey{}) {
			return
		}
		i = (i + 1) & mask
	}
	for j := (i + 1) & mask; t.slots[j] != (dedupKey{}); j = (j + 1) & mask {
		// The key at j may fill the hole at i unless its home slot lies
		// cyclically in (i, j]: then moving it would put it before its home.
		home := t.slots[j][0] & mask
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = dedupKey{}
	t.n--
}

func (t *keyTable) grow() {
	old := t.slots
	t.slots = make([]dedupKey, 2*len(old))
	mask := uint64(len(t.slots) - 1)
	for _, k := range old {
		if k == (dedupKey{}) {
			continue
		}
		i := k[0] & mask
		for t.slots[i] != (dedupKey{}) {
			i = (i + 1) & mask
		}
		t.slots[i] = k
	}
}
