package toolspan

import (
	"strings"
	"time"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
)

// Sizes of the blocks an arena carves pieces from. A typical record takes
// about 350 bytes, one string slice and one integer.
const (
	arenaBytes   = 32 << 10
	arenaStrings = 256
	arenaInts    = 256
)

// arena hands out the memory of record strings, payloads, string slices and
// turn numbers from blocks, so that mapping a batch makes a few dozen
// allocations instead of several per span. Blocks are never reused: a piece
// stays valid, and keeps its block alive, as long as anything refers to it.
// Every piece is capped at its length, so appending to one copies it rather
// than writing over its neighbour.
//
// The nil arena allocates every piece on its own, as Map always did.
type arena struct {
	free []byte // the unused rest of the current byte block
	strs []string
	ints []int64
}

// bytes returns n bytes (n > 0).
func (a *arena) bytes(n int) []byte {
	if a == nil || n > arenaBytes/4 {
		return make([]byte, n)
	}
	if len(a.free) < n {
		a.free = make([]byte, arenaBytes)
	}
	b := a.free[:n:n]
	a.free = a.free[n:]
	return b
}

// string returns a copy of b.
func (a *arena) string(b []byte) string {
	if a == nil || len(b) == 0 {
		return string(b)
	}
	c := a.bytes(len(b))
	copy(c, b)
	return unsafe.String(&c[0], len(c))
}

// strings returns an empty slice with room for n strings.
func (a *arena) strings(n int) []string {
	if a == nil || n > arenaStrings/4 {
		return make([]string, 0, n)
	}
	if cap(a.strs)-len(a.strs) < n {
		a.strs = make([]string, 0, arenaStrings)
	}
	s := a.strs[len(a.strs) : len(a.strs) : len(a.strs)+n]
	a.strs = a.strs[:len(a.strs)+n]
	return s
}

// int64 returns a pointer to a copy of v.
func (a *arena) int64(v int64) *int64 {
	if a == nil {
		p := new(int64) // not &v: that would move v to the heap on every path
		*p = v
		return p
	}
	if len(a.ints) == cap(a.ints) {
		a.ints = make([]int64, 0, arenaInts)
	}
	a.ints = append(a.ints, v)
	return &a.ints[len(a.ints)-1]
}

// canonical returns the canonical form of raw (see
// auditlog.CanonicalizeJSON), written into the arena when it fits.
func (a *arena) canonical(raw []byte) ([]byte, error) {
	if a == nil || len(raw) > arenaBytes/4 {
		return auditlog.CanonicalizeJSON(raw)
	}
	// Canonical JSON is rarely longer than its source: room for twice
	// the source makes spilling out of the block (into a new slice, which
	// is still correct) all but impossible.
	if len(a.free) < 2*len(raw)+16 {
		a.free = make([]byte, arenaBytes)
	}
	out, err := auditlog.AppendCanonicalJSON(a.free[:0], raw)
	if err != nil {
		return nil, err
	}
	if len(out) > 0 && len(out) <= len(a.free) && &out[0] == &a.free[0] {
		a.free = a.free[len(out):]
		return out[:len(out):len(out)], nil
	}
	return out, nil
}

// join returns the elements of ss joined by sep, as strings.Join does.
func (a *arena) join(ss []string, sep string) string {
	switch len(ss) {
	case 0:
		return ""
	case 1:
		return ss[0]
	}
	if a == nil {
		return strings.Join(ss, sep)
	}
	n := len(sep) * (len(ss) - 1)
	for _, s := range ss {
		n += len(s)
	}
	b := a.bytes(n)[:0]
	for i, s := range ss {
		if i > 0 {
			b = append(b, sep...)
		}
		b = append(b, s...)
	}
	return unsafe.String(&b[0], len(b))
}

// A Mapper maps the spans of a batch as Map does, taking the memory of
// the records' strings and payloads from shared blocks instead of making
// several allocations per span. The records it returns stay valid as long
// as they are referenced; each keeps the blocks it uses alive, so a Mapper
// suits records that are written and dropped together, such as the
// exporter's batches. The zero Mapper is not ready to use: call
// NewMapper. Not safe for concurrent use.
type Mapper struct {
	opts Options
	a    arena
}

// NewMapper returns a Mapper that maps with opts.
func NewMapper(opts Options) *Mapper { return &Mapper{opts: opts} }

// Map is Map with the Mapper's options and memory.
func (m *Mapper) Map(res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) (auditlog.Record, bool) {
	var r auditlog.Record
	ok := mapSpan(&r, res, scope, span, m.opts, &m.a)
	return r, ok
}

// MapInto is Map writing the record into *r, which it overwrites whole
// (with the zero Record when it returns false), sparing the copies of a
// large struct when records are kept in a slice.
func (m *Mapper) MapInto(r *auditlog.Record, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span) bool {
	return mapSpan(r, res, scope, span, m.opts, &m.a)
}

// FormatTime is FormatTime with the Mapper's memory.
func (m *Mapper) FormatTime(t time.Time) string { return formatTime(&m.a, t) }
