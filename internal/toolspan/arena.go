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
	arenaErrors  = 64
)

// arena hands out the memory of record strings, payloads, string slices,
// turn numbers and errors from blocks, so that mapping a batch makes a
// few dozen allocations instead of several per span. Unless reset, blocks
// are never reused: a piece stays valid, and keeps its block alive, as long as
// anything refers to it. Every piece is capped at its length, so appending
// to one copies it rather than writing over its neighbour.
//
// An arena that keeps its blocks (see Mapper.Reset) remembers every block
// it has started, and reset hands them out again from the first: every
// piece handed out before the reset may then be overwritten.
//
// The nil arena allocates every piece on its own, as Map always did.
type arena struct {
	free []byte // the unused rest of the current byte block
	strs []string
	ints []int64
	errs []auditlog.Error

	scratchBuf []byte // see scratch

	keep bool // remember blocks, for reset
	// The blocks started since the arena was made, in order, and how many
	// of each the pieces since the last reset have taken: reset hands
	// out the rest again before making new ones.
	byteBlocks blockList[byte]
	strBlocks  blockList[string]
	intBlocks  blockList[int64]
	errBlocks  blockList[auditlog.Error]
}

// blockList remembers the blocks of one kind that a keeping arena has
// started.
type blockList[T any] struct {
	all  [][]T
	used int
}

// next returns a block of size elements: a remembered one that the
// pieces since the last reset have not taken yet, else a new one, which
// a keeping arena remembers.
func (l *blockList[T]) next(keep bool, size int) []T {
	if l.used < len(l.all) {
		b := l.all[l.used]
		l.used++
		return b
	}
	b := make([]T, size)
	if keep {
		l.all = append(l.all, b)
		l.used++
	}
	return b
}

// Reset keeps at most maxKeptBytes of byte blocks (and proportionally few
// string and integer blocks), so that one huge batch does not pin its
// memory for the life of a pooled Mapper: a 1,000-span batch of typical
// tool calls takes about 400 KiB.
const maxKeptBytes = 4 << 20

// reset makes every block the arena has kept available again, dropping
// the current blocks' unused rest. Every piece handed out before may be
// overwritten afterwards. Blocks beyond maxKeptBytes are let go; string
// and error blocks are cleared so that they do not pin the strings (often
// views of span data) that they held.
func (a *arena) reset() {
	a.free, a.strs, a.ints, a.errs = nil, nil, nil, nil
	a.byteBlocks.reset(maxKeptBytes / arenaBytes)
	for _, b := range a.strBlocks.all[:a.strBlocks.used] {
		clear(b)
	}
	for _, b := range a.errBlocks.all[:a.errBlocks.used] {
		clear(b)
	}
	a.strBlocks.reset(maxKeptBytes / arenaBytes)
	a.intBlocks.reset(maxKeptBytes / arenaBytes)
	a.errBlocks.reset(maxKeptBytes / arenaBytes)
}

func (l *blockList[T]) reset(max int) {
	if len(l.all) > max {
		clear(l.all[max:])
		l.all = l.all[:max]
	}
	l.used = 0
}

// bytes returns n bytes (n > 0).
func (a *arena) bytes(n int) []byte {
	if a == nil || n > arenaBytes/4 {
		return make([]byte, n)
	}
	if len(a.free) < n {
		a.free = a.byteBlocks.next(a.keep, arenaBytes)
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
		a.strs = a.strBlocks.next(a.keep, arenaStrings)[:0]
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
		a.ints = a.intBlocks.next(a.keep, arenaInts)[:0]
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
	// is still correct) all but impossible. (build's steps, written out:
	// this runs for nearly every payload.)
	if len(a.free) < 2*len(raw)+16 {
		a.free = a.byteBlocks.next(a.keep, arenaBytes)
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

// build returns what f appends to the empty slice it is given: the
// arena's memory when room, the most f is expected to append, is at most
// half a block, else nil. Should f append more than room, it may spill
// into a slice of its own, which is still correct.
func (a *arena) build(room int, f func(dst []byte) []byte) []byte {
	if a == nil || room > arenaBytes/2 {
		return f(nil)
	}
	if len(a.free) < room {
		a.free = a.byteBlocks.next(a.keep, arenaBytes)
	}
	out := f(a.free[:0])
	if len(out) > 0 && len(out) <= len(a.free) && &out[0] == &a.free[0] {
		a.free = a.free[len(out):]
		return out[:len(out):len(out)]
	}
	return out
}

// maxScratchBytes bounds the scratch buffer an arena keeps.
const maxScratchBytes = 128 << 10

// scratch returns an empty buffer for a value that is needed only until
// the next call (nil for the nil arena); done hands it back.
func (a *arena) scratch() []byte {
	if a == nil {
		return nil
	}
	return a.scratchBuf[:0]
}

// done keeps b, a buffer from scratch, for the next call, unless it grew
// beyond maxScratchBytes.
func (a *arena) done(b []byte) {
	if a != nil && cap(b) <= maxScratchBytes {
		a.scratchBuf = b[:0]
	}
}

// error returns a pointer to a zero auditlog.Error.
func (a *arena) error() *auditlog.Error {
	if a == nil {
		return new(auditlog.Error)
	}
	if len(a.errs) == cap(a.errs) {
		a.errs = a.errBlocks.next(a.keep, arenaErrors)[:0]
	}
	a.errs = append(a.errs, auditlog.Error{})
	return &a.errs[len(a.errs)-1]
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
// several allocations per span. The records a Mapper from NewMapper
// returns stay valid as long as they are referenced; each keeps the blocks
// it uses alive, so such a Mapper suits records that are written and
// dropped together, such as a batch. A Mapper from NewReusingMapper goes
// further and hands the same blocks out again after Reset, for a caller
// that knows when nothing refers to a batch's records any more. The zero
// Mapper is not ready to use: call NewMapper or NewReusingMapper. Not safe
// for concurrent use.
type Mapper struct {
	opts Options
	a    arena
}

// NewMapper returns a Mapper that maps with opts and never reuses memory.
func NewMapper(opts Options) *Mapper { return &Mapper{opts: opts} }

// NewReusingMapper returns a Mapper that maps with opts and keeps the
// blocks it takes (up to a few MiB; more are let go at Reset), so that
// after Reset the next batch's records take no new memory. Its records
// are valid only until the next Reset.
func NewReusingMapper(opts Options) *Mapper {
	return &Mapper{opts: opts, a: arena{keep: true}}
}

// Reset ends the life of every record the Mapper has mapped, and of every
// string FormatTime has returned: a Mapper from NewReusingMapper writes
// the next records over their memory, so the caller must first make sure
// that nothing refers to them any more (anything kept must have been
// copied). On a Mapper from NewMapper, Reset only starts new blocks, and
// earlier records stay valid.
func (m *Mapper) Reset() { m.a.reset() }

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

// FormatUnixNano is FormatTime of time.Unix(0, ns), with the Mapper's
// memory: for ns >= 0 (years 1970 to 2262, where span timestamps are)
// without building a time.Time, whose calendar conversion costs more.
func (m *Mapper) FormatUnixNano(ns int64) string {
	if ns < 0 {
		return formatTime(&m.a, time.Unix(0, ns))
	}
	var b [len(auditlog.TimeFormat)]byte
	putUnixNano(b[:], ns)
	return m.a.string(b[:])
}
