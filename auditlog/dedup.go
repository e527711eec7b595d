package auditlog

import "hash/maphash"

// dedupKey identifies a span by a 128-bit hash of (trace_id, span_id): two
// independent 64-bit hashes, so that a collision, which would drop a real
// record, is out of reach (about 1e-27 at a million keys).
type dedupKey [2]uint64

// dedupSet remembers the last n keys in insertion order. Not safe for
// concurrent use; the Store serialises access.
type dedupSet struct {
	seed1, seed2 maphash.Seed
	keys         map[dedupKey]struct{}
	ring         []dedupKey
	next         int
}

func newDedupSet(n int) *dedupSet {
	if n <= 0 {
		return nil
	}
	return &dedupSet{
		seed1: maphash.MakeSeed(), seed2: maphash.MakeSeed(),
		keys: make(map[dedupKey]struct{}, min(n, 1<<16)),
		ring: make([]dedupKey, 0, min(n, 1<<16)),
	}
}

// key returns the key of a record and whether it has one: records without
// a trace or span id cannot be recognised when redelivered.
func (d *dedupSet) key(r *Record) (dedupKey, bool) {
	if r.TraceID == "" || r.SpanID == "" {
		return dedupKey{}, false
	}
	var h maphash.Hash
	h.SetSeed(d.seed1)
	h.WriteString(r.TraceID)
	h.WriteByte(0)
	h.WriteString(r.SpanID)
	k1 := h.Sum64()
	h.SetSeed(d.seed2) // also resets
	h.WriteString(r.TraceID)
	h.WriteByte(0)
	h.WriteString(r.SpanID)
	return dedupKey{k1, h.Sum64()}, true
}

func (d *dedupSet) contains(k dedupKey) bool {
	_, ok := d.keys[k]
	return ok
}

// add remembers k, forgetting the oldest key once the window is full.
func (d *dedupSet) add(k dedupKey, window int) {
	if _, ok := d.keys[k]; ok {
		return
	}
	d.addNew(k, window)
}

// addNew is add for a key known not to be in the set (Append checked).
func (d *dedupSet) addNew(k dedupKey, window int) {
	if len(d.ring) < window {
		d.ring = append(d.ring, k)
	} else {
		delete(d.keys, d.ring[d.next])
		d.ring[d.next] = k
		d.next = (d.next + 1) % window
	}
	d.keys[k] = struct{}{}
}
