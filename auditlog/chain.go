package auditlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unsafe"

	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// chain is the writer state of one chain directory. All methods run with
// the Store's mutex held.
type chain struct {
	opts *options
	log  *zap.Logger
	name string
	id   string
	dir  string

	// Active segment; seg is nil when there is none (new chain, or the
	// last segment was sealed) and the next batch creates one.
	seg      *os.File
	segName  string
	segSize  int64
	segStart time.Time
	// reserved is where the segment's preallocated disk space ends (see
	// reserve); noReserve is set where the file system has none.
	reserved  int64
	noReserve bool
	// direct writes the active segment's text without the page cache
	// (see directWriter); nil where the file system cannot, or with
	// withBufferedWrites.
	direct *directWriter
	segSum *summaryBuilder
	// segDigest is the digest of the active segment's durable records,
	// for its seal (see recordsDigest).
	segDigest *recordsDigest

	// sealIdx lists the chain's seals (segment → SHA-256 of the seal
	// text) for the seal index; nil until the first seal after Open.
	sealIdx map[string]string

	next     uint64 // seq of the next record
	prevHash string // hash of record next-1
	front    frontier

	// tree holds the tlog stored hashes of every record, for inclusion
	// and consistency proofs; it is fsynced before each checkpoint.
	tree        *os.File
	treeHashes  int64  // hashes on disk
	treePending []byte // hashes not yet written

	cpSize   uint64 // size of the latest checkpoint on disk
	cpExists bool

	// broken is set when a failed write could not be rolled back; the
	// next append reloads the chain from disk first.
	broken error

	// txn is what the staging transaction has written on the chain;
	// flight what the transaction whose fsync is running wrote before it.
	txn, flight chainTxn

	tmp    []byte      // scratch for reload
	stored []tlog.Hash // the batch's tlog stored hashes
	leaves []tlog.Hash // the batch's leaf hashes
	hexes  []byte      // the part's hex hashes, with WithTransientHashes
	nodes  []tlog.Hash // scratch of frontier.pushLeaves
	hasher recordHasher
}

func (c *chain) path(name string) string { return filepath.Join(c.dir, name) }

// loadChain opens (creating if needed) the chain directory name of the
// store at storeDir, repairs a torn tail and restores the writer state.
func loadChain(storeDir, name string, opts *options) (*chain, error) {
	c := &chain{
		opts: opts,
		log:  opts.logger.With(zap.String("chain", name)),
		name: name,
		id:   opts.origin + "/" + name,
		dir:  filepath.Join(storeDir, name),
	}
	if err := mkdirSynced(c.dir); err != nil {
		return nil, err
	}
	removeTemps(c.dir)
	removeTemps(c.path(CheckpointsDir))

	// The latest checkpoint and prune marker are our own; signatures are
	// the verifier's business.
	var cp *Checkpoint
	if msg, err := os.ReadFile(c.path(CheckpointFile)); err == nil {
		text, err := noteText(msg)
		if err == nil {
			var p Checkpoint
			if p, err = ParseCheckpoint(text); err == nil {
				cp = &p
			}
		}
		if err != nil {
			return nil, fmt.Errorf("chain %q: unreadable checkpoint: %w", name, err)
		}
		if cp.Origin != c.id {
			return nil, fmt.Errorf("chain %q was written with origin %q, not %q", name, strings.TrimSuffix(cp.Origin, "/"+name), opts.origin)
		}
		c.cpSize, c.cpExists = cp.Size, true
	} else if !os.IsNotExist(err) {
		return nil, err
	}
	marker, err := ReadPruneMarker(c.dir)
	if err != nil {
		return nil, fmt.Errorf("chain %q: unreadable prune marker: %w", name, err)
	}

	segs, err := c.segments()
	if err != nil {
		return nil, err
	}
	// State at the start of the last segment (or of the chain).
	c.next, c.prevHash = 0, ZeroHash
	if marker != nil {
		c.next, c.prevHash = marker.Cut, marker.LastHash
	}
	if len(segs) > 1 {
		prev := segs[len(segs)-2]
		seal, err := c.readSeal(prev)
		if err != nil {
			return nil, fmt.Errorf("chain %q: segment %s is not the last one but has no valid seal: %w (run otelaudit verify)", name, prev, err)
		}
		c.next, c.prevHash = seal.FirstSeq+seal.Count, seal.LastHash
	}
	if len(segs) > 0 {
		if err := c.openLast(segs[len(segs)-1]); err != nil {
			return nil, err
		}
	}
	if err := c.loadTree(segs, cp, marker); err != nil {
		c.closeFiles()
		return nil, err
	}
	return c, nil
}

// segments lists the segment files whose names are well formed.
func (c *chain) segments() ([]string, error) {
	names, err := listSegments(c.dir)
	if err != nil {
		return nil, err
	}
	out := names[:0]
	for _, n := range names {
		if _, ok := parseSegmentName(n); ok {
			out = append(out, n)
		} else {
			c.log.Warn("ignoring segment file with a malformed name", zap.String("file", n))
		}
	}
	return out, nil
}

func (c *chain) readSeal(segment string) (Seal, error) {
	msg, err := os.ReadFile(c.path(sealName(segment)))
	if err != nil {
		return Seal{}, err
	}
	text, err := noteText(msg)
	if err != nil {
		return Seal{}, err
	}
	s, err := ParseSeal(text)
	if err != nil {
		return Seal{}, err
	}
	if s.Segment != segment || s.Chain != c.id {
		return Seal{}, fmt.Errorf("seal names segment %s of chain %s", s.Segment, s.Chain)
	}
	return s, nil
}

// openLast restores the state of the last segment: a sealed one ends the
// chain's files; an active one is scanned, its torn tail cut, and opened
// for appending.
func (c *chain) openLast(name string) error {
	first, _ := parseSegmentName(name)
	path := c.path(name)
	if seal, err := c.readSeal(name); err == nil {
		if seal.FirstSeq != c.next || first != c.next {
			return fmt.Errorf("chain %q: sealed segment %s starts at seq %d, expected %d (run otelaudit verify)", c.name, name, seal.FirstSeq, c.next)
		}
		c.next, c.prevHash = seal.FirstSeq+seal.Count, seal.LastHash
		// A summary written before a crash cut the seal short is stale.
		return nil
	}
	_ = os.Remove(c.path(summaryName(name))) // stale: the segment is not sealed
	// Before the segment is read: an earlier writer's direct writes may
	// still be landing in it (see lockDirect).
	direct, err := c.openDirect(path)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok && direct != nil {
			direct.Close()
		}
	}()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(data) == 0 && first != c.next {
		// Created by a crash-interrupted rotation that never wrote to it.
		c.log.Warn("removing empty segment with unexpected name", zap.String("segment", name))
		if err := os.Remove(path); err != nil {
			return err
		}
		return syncDir(c.dir)
	}
	if first != c.next {
		return fmt.Errorf("chain %q: segment %s should start at seq %d (run otelaudit verify)", c.name, name, c.next)
	}
	sum := newSummaryBuilder(c.id, name, first)
	digest := newRecordsDigest()
	var rec Record
	off := 0
	var cutErr error
	for off < len(data) {
		nl := bytes.IndexByte(data[off:], '\n')
		if nl < 0 {
			cutErr = errors.New("incomplete last line")
			break
		}
		line := data[off : off+nl]
		leaf, err := c.checkNext(line, &rec)
		if err != nil {
			cutErr = err
			break
		}
		digest.add(leaf, c.hasher.sum)
		digest.commit()
		sum.add(&rec, nl+1)
		c.next, c.prevHash = rec.Seq+1, rec.Hash
		if sum.s.Count == 1 {
			c.segStart = parseTimeOr(rec.Timestamp, c.opts.clock())
		}
		off += nl + 1
	}
	if cutErr != nil {
		// Only a crash-torn tail is cut: if a valid record follows the bad
		// bytes, they are not a torn write but damage to keep as evidence.
		if c.validRecordAfter(data[off:]) {
			return fmt.Errorf("chain %q: segment %s has a bad record at seq %d (%v) followed by valid ones; refusing to repair (run otelaudit verify)", c.name, name, c.next, cutErr)
		}
		c.log.Warn("cutting torn tail of segment",
			zap.String("segment", name), zap.Int("offset", off), zap.Int("bytes", len(data)-off),
			zap.Uint64("resume_seq", c.next), zap.NamedError("reason", cutErr))
		if err := os.Truncate(path, int64(off)); err != nil {
			return fmt.Errorf("chain %q: cutting torn tail of %s: %w", c.name, name, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, fileMode)
	if err != nil {
		return err
	}
	if cutErr != nil {
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
	}
	c.seg, c.segName, c.segSize, c.segSum = f, name, int64(off), sum
	c.segDigest = digest
	if direct != nil {
		c.direct, ok = newDirectWriter(direct, int64(off)), true
	}
	if sum.s.Count == 0 {
		c.segStart = c.opts.clock()
	}
	return nil
}

// hashMemberLen is the length of the hash member of a canonical record,
// `,"hash":"` and 64 hex digits and `"`.
const hashMemberLen = len(`,"hash":"`) + len(ZeroHash) + len(`"`)

// checkNext decodes line into rec and checks that it is the canonical,
// correctly hashed record that must come next in this chain. It returns
// the record's leaf hash; its record hash is left in c.hasher.sum.
func (c *chain) checkNext(line []byte, rec *Record) (tlog.Hash, error) {
	if err := DecodeRecord(line, rec); err != nil {
		return tlog.Hash{}, err
	}
	enc, hashAt := rec.encode(c.tmp[:0], true, false)
	c.tmp = enc
	if !bytes.Equal(enc, line) {
		return tlog.Hash{}, errors.New("record is not in canonical form")
	}
	leaf := c.hasher.hash(enc[:hashAt], enc[hashAt+hashMemberLen:])
	switch {
	case !c.hasher.matches(rec.Hash):
		return leaf, errors.New("hash does not match content")
	case rec.ChainID != c.id:
		return leaf, fmt.Errorf("chain_id %q", rec.ChainID)
	case rec.Seq != c.next:
		return leaf, fmt.Errorf("seq %d", rec.Seq)
	case rec.PrevHash != c.prevHash:
		return leaf, errors.New("prev_hash does not link")
	}
	return leaf, nil
}

func (c *chain) validRecordAfter(data []byte) bool {
	var rec Record
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			return false
		}
		if DecodeRecord(data[:nl], &rec) == nil && rec.ChainID == c.id && rec.ComputeHash() == rec.Hash {
			return true
		}
		data = data[nl+1:]
	}
	return false
}

func parseTimeOr(s string, def time.Time) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.After(def) {
		return def
	}
	return t
}

func removeTemps(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// loadTree restores the Merkle frontier for c.next records from the tree
// file, trusting it only up to the latest checkpoint (the part fsynced
// before that checkpoint was written, and checked against its root), and
// re-hashes later records from the segments.
func (c *chain) loadTree(segs []string, cp *Checkpoint, marker *PruneMarker) error {
	f, err := os.OpenFile(c.path(TreeFile), os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return err
	}
	c.tree = f
	st, err := f.Stat()
	if err != nil {
		return err
	}
	have := treeSizeForHashCount(st.Size() / tlog.HashSize)
	var n0 int64
	if cp != nil && int64(cp.Size) <= have && cp.Size <= c.next {
		fr, err := readFrontier(c.tree, int64(cp.Size))
		if err == nil && fr.root() == cp.Root {
			n0, c.front = int64(cp.Size), fr
		} else {
			c.log.Warn("tree file does not match the latest checkpoint; rebuilding it from the records")
		}
	}
	var cut int64
	if marker != nil {
		cut = int64(marker.Cut)
	}
	if n0 < cut {
		// The records before the cut are gone; continue from the
		// marker's frontier. Their stored hashes, if lost, stay lost.
		c.front = frontier{n: cut, hashes: append([]tlog.Hash(nil), marker.Frontier...)}
		n0 = cut
		if have < cut {
			c.log.Warn("tree file lacks hashes before the prune cut; inclusion proofs for the pruned range are unavailable")
			c.tree.Close()
			c.tree = nil
		}
	}
	if c.tree != nil {
		c.treeHashes = tlog.StoredHashCount(n0)
		if err := c.tree.Truncate(c.treeHashes * tlog.HashSize); err != nil {
			return err
		}
	}
	if uint64(n0) == c.next {
		return c.checkCheckpoint(cp)
	}
	// Re-hash records n0..next-1.
	var rec Record
	for i, name := range segs {
		if i+1 < len(segs) {
			if nextFirst, _ := parseSegmentName(segs[i+1]); nextFirst <= uint64(n0) {
				continue
			}
		}
		data, err := os.ReadFile(c.path(name))
		if err != nil {
			return err
		}
		for len(data) > 0 {
			nl := bytes.IndexByte(data, '\n')
			if nl < 0 {
				break
			}
			line := data[:nl]
			data = data[nl+1:]
			if err := DecodeRecord(line, &rec); err != nil {
				return fmt.Errorf("chain %q: segment %s: %w (run otelaudit verify)", c.name, name, err)
			}
			if int64(rec.Seq) < c.front.n {
				continue
			}
			if int64(rec.Seq) != c.front.n {
				return fmt.Errorf("chain %q: segment %s: seq %d where %d was expected (run otelaudit verify)", c.name, name, rec.Seq, c.front.n)
			}
			if cp != nil && int64(cp.Size) == c.front.n && c.front.root() != cp.Root {
				return fmt.Errorf("chain %q: records do not match checkpoint of size %d (run otelaudit verify)", c.name, cp.Size)
			}
			c.tmp = rec.AppendCanonical(c.tmp[:0], false)
			c.stored = c.front.push(c.hasher.leafOnly(c.tmp, nil), c.stored[:0])
			c.queueTree(c.stored)
			if err := c.writeTreeIfDue(c.opts.writeBusy); err != nil {
				return err
			}
		}
	}
	if err := c.writeTree(nil, c.opts.writeBusy); err != nil {
		return err
	}
	if uint64(c.front.n) != c.next {
		return fmt.Errorf("chain %q: found %d records, expected %d (run otelaudit verify)", c.name, c.front.n, c.next)
	}
	return c.checkCheckpoint(cp)
}

func (c *chain) checkCheckpoint(cp *Checkpoint) error {
	if cp == nil {
		return nil
	}
	if cp.Size > c.next {
		return fmt.Errorf("chain %q has %d records but its checkpoint covers %d: records were lost or removed (run otelaudit verify)", c.name, c.next, cp.Size)
	}
	if cp.Size == c.next && c.front.root() != cp.Root {
		return fmt.Errorf("chain %q: records do not match its checkpoint (run otelaudit verify)", c.name)
	}
	return nil
}

// treeWriteBytes is how many bytes of stored hashes a chain collects
// before it writes them to the tree file (see queueTree); the buffer
// holds a little more from the start, so that it does not grow on the way
// (a batch of 1,000 records adds about 64 kB).
const (
	treeWriteBytes = 1 << 20
	treePendingCap = treeWriteBytes + 256<<10
	maxKeptTreeCap = 4 * treePendingCap
)

// queueTree adds stored hashes to those the tree file is owed.
//
// They are written once treeWriteBytes have collected, and before every
// checkpoint and seal (syncTree), not after every batch: readers take
// from the tree file only what a checkpoint or a seal covers, and Open
// rebuilds whatever follows the latest checkpoint from the records
// anyway. A batch of 1,000 records owes about 64 kB; writing it on its
// own took a system call, through the store's io_uring after an idle
// wait, for each batch.
func (c *chain) queueTree(hashes []tlog.Hash) {
	if c.tree == nil {
		return
	}
	if c.treePending == nil {
		c.treePending = make([]byte, 0, treePendingCap)
	}
	for _, h := range hashes {
		c.treePending = append(c.treePending, h[:]...)
	}
}

// writeTreeIfDue writes the hashes the tree file is owed once
// treeWriteBytes of them have collected (see queueTree).
func (c *chain) writeTreeIfDue(write writeFunc) error {
	if len(c.treePending) < treeWriteBytes {
		return nil
	}
	return c.writeTree(nil, write)
}

// writeTree queues stored hashes (see queueTree) and writes all that are
// owed to the tree file with write (one of the options' writers). Hashes
// that cannot be written (a full disk) are kept in memory and retried
// with the next write; a checkpoint is only written once they are all on
// disk.
func (c *chain) writeTree(hashes []tlog.Hash, write writeFunc) error {
	if c.tree == nil {
		return nil
	}
	c.queueTree(hashes)
	if len(c.treePending) == 0 {
		return nil
	}
	if _, err := write(c.tree, c.treePending, c.treeHashes*tlog.HashSize); err != nil {
		return fmt.Errorf("chain %q: writing tree file: %w", c.name, err)
	}
	c.treeHashes += int64(len(c.treePending) / tlog.HashSize)
	c.treePending = c.treePending[:0]
	if cap(c.treePending) > maxKeptTreeCap {
		c.treePending = nil // grown by a backlog (a full disk): let it go
	}
	return nil
}

// chainTxn is what a transaction (see Txn) has staged on a chain: the
// records are encoded but not fsynced, so the chain's durable state
// (segSize, next, prevHash, front) has not moved yet. A chain has two: the
// transaction staging (txn) and the one whose fsync is running (flight),
// whose records come first in the file.
//
// Where the file system takes direct writes, every part's text goes to
// the chain's directWriter instead, and what follows is about the page
// cache. A part staged while a flight's fsync runs is written at once, with
// write(2): its CPU work overlaps the disk's, and the process is busy.
// Otherwise the records' text stays in memory until Commit writes it, in
// one write per chain through the store's io_uring: the staging follows
// an idle wait for the fsync before, after which a system call per part
// woke Go's scheduler monitor, whose polling then cost 7 % of the CPU time
// (see ring). A transaction writes its text early too once it holds
// earlyWriteBytes, to bound the memory a huge one takes. The flight's text
// is always in the file first: it was written before its handoff, and a
// transaction's text written at once precedes its deferred text, as a
// flight cannot start while it stages.
type chainTxn struct {
	active bool
	now    time.Time   // when the transaction first touched the chain
	bytes  int64       // bytes staged, written or not
	text   []byte      // the staged records' text not yet written
	pairs  int         // bytes added to segDigest's pending pairs
	next   uint64      // seq of the next record, after the staged ones
	prev   string      // hash of the last staged record
	front  frontier    // Merkle frontier with the staged records
	stored []tlog.Hash // tlog stored hashes of the staged records
}

// reset empties t, keeping its stored hashes' and text's memory for the
// next transaction (unless one huge transaction made the text large).
func (t *chainTxn) reset() {
	text := t.text[:0]
	if cap(text) > maxKeptText {
		text = nil
	}
	*t = chainTxn{stored: t.stored[:0], text: text}
}

// earlyWriteBytes is how much text a transaction with no flight before it
// holds before it writes it (see chainTxn); maxKeptText is the most a
// chain keeps between transactions, two buffers of it.
const (
	earlyWriteBytes = 8 << 20
	maxKeptText     = 2 * earlyWriteBytes
)

// mustWait reports whether the staging transaction has to wait for the
// flight's fsync before it starts on the chain: a chain to reload from
// disk, or a segment to seal, needs every write durable first.
func (c *chain) mustWait() bool {
	if c.txn.active || !c.flight.active {
		return false
	}
	if c.broken != nil {
		return true
	}
	return c.sealDue(c.opts.clock(), c.segSize+c.flight.bytes)
}

// sealDue reports whether the active segment, size bytes long, is full or
// old enough to seal before the next write.
func (c *chain) sealDue(now time.Time, size int64) bool {
	return c.seg != nil && c.segSum.s.Count > 0 &&
		(size >= c.opts.segmentMaxBytes || now.Sub(c.segStart) >= c.opts.segmentMaxAge)
}

// stage encodes, hashes and writes recs (already deduplicated, all of
// this chain) after what the chain holds and what the transactions in
// flight and staging wrote before, without fsync. The first stage of a
// transaction seals a full segment and opens the next; the caller has
// waited for the flight then (see mustWait). On error the caller must
// abortStaged.
func (c *chain) stage(recs []*Record) error {
	if !c.txn.active {
		if c.flight.active {
			// Staged behind the flight, from the state it will leave.
			f := &c.flight
			c.txn = chainTxn{active: true, now: c.opts.clock(), next: f.next, prev: f.prev, front: f.front.clone(), stored: c.txn.stored[:0], text: c.txn.text[:0]}
		} else {
			if c.broken != nil {
				if err := c.reload(); err != nil {
					return err
				}
			}
			now := c.opts.clock()
			if c.sealDue(now, c.segSize) {
				if err := c.seal(); err != nil {
					return err
				}
			}
			if c.seg == nil {
				if err := c.createSegment(now); err != nil {
					return err
				}
			}
			c.txn = chainTxn{active: true, now: now, next: c.next, prev: c.prevHash, front: c.front.clone(), stored: c.txn.stored[:0], text: c.txn.text[:0]}
		}
	}
	t := &c.txn

	buf := t.text
	// With direct writes, the records are encoded straight into the
	// direct writer's buffer where it can take them (see
	// directWriter.spare): copying them there took 3 % of the
	// exporter's CPU time in profiles, one batch at a time.
	inDirect := false
	if c.direct != nil && len(buf) == 0 {
		if b := c.direct.spare(c.stagedEnd()); b != nil {
			buf, inDirect = b, true
		}
	}
	staged := len(buf)
	leaves := c.leaves[:0]
	prev := t.prev
	// The part's hashes share one block of memory, carved into strings:
	// the chain's own, reused for the next part, where the writer does
	// not keep them (WithTransientHashes).
	var hashes []byte
	if n := len(recs) * len(ZeroHash); c.opts.transientHashes {
		c.hexes = slices.Grow(c.hexes[:0], n)[:n]
		hashes = c.hexes
	} else {
		hashes = make([]byte, n)
	}
	pending := len(c.segDigest.pending)
	for i, r := range recs {
		r.V = FormatVersion
		r.ChainID = c.id
		r.Seq = t.next + uint64(i)
		r.PrevHash = prev
		if r.Retention.Class == "" {
			r.Retention.Class = c.name
		}
		// Encode straight into the write buffer with a placeholder hash,
		// hash the text around the member in place, and fill it in.
		start := len(buf)
		var hashAt int
		r.Hash = ZeroHash
		buf, hashAt = r.encode(buf, true, c.opts.canonicalPayloads)
		leaf := c.hasher.hash(buf[start:hashAt], buf[hashAt+hashMemberLen:])
		leaves = append(leaves, leaf)
		c.segDigest.add(leaf, c.hasher.sum)
		hexHash := hashes[i*len(ZeroHash) : (i+1)*len(ZeroHash)]
		copy(hexHash, c.hasher.hex[:])
		copy(buf[hashAt+len(`,"hash":"`):], hexHash)
		r.Hash = unsafe.String(&hexHash[0], len(hexHash))
		prev = r.Hash
		buf = append(buf, '\n')
	}
	if c.opts.transientHashes {
		// The chain keeps the last hash (the next part's prev_hash) past
		// the part: its own copy.
		prev = strings.Clone(prev)
	}
	t.pairs += len(c.segDigest.pending) - pending
	// The Merkle tree's new subtrees, a level at a time.
	t.stored = t.front.pushLeaves(leaves, t.stored, &c.nodes)
	if !inDirect {
		t.text = buf
	}
	c.leaves = leaves
	t.bytes += int64(len(buf) - staged)
	t.next += uint64(len(recs))
	t.prev = prev
	// The seal's summary takes what it keeps; should the transaction
	// fail, the chain is reloaded from disk, summary included.
	for _, r := range recs {
		c.segSum.add(r, 0)
	}

	// The write is Commit's, with the fsync (see chainTxn). (Writing a
	// part in chunks as it is encoded, with sync_file_range to start
	// their writeback early, was measured: no shorter fsync here, and
	// more kernel time.)
	switch {
	case inDirect:
		c.reserve(int64(len(buf) - staged))
		if err := c.direct.took(buf, c.seg, c.opts.writeDirect); err != nil {
			return fmt.Errorf("chain %q: writing records up to seq %d: %w", c.name, t.next-1, err)
		}
		return nil
	case c.direct != nil, c.flight.active:
		// With direct writes: into the direct writer's buffer while the
		// text is in the cache; the disk takes it 256 KiB at a time.
		return c.writeStaged(c.opts.writeBusy, false)
	case len(t.text) >= earlyWriteBytes:
		return c.writeStaged(c.opts.writeIdle, false)
	}
	return nil
}

// writeStaged writes the staging transaction's text that is not in the
// file yet with write. With a directWriter, the text goes to it instead:
// it submits the text 256 KiB at a time, and with final (at Commit) writes the
// rest and waits until all of it is in the file. On error the caller must
// abortStaged.
func (c *chain) writeStaged(write writeFunc, final bool) error {
	t := &c.txn
	if len(t.text) > 0 {
		c.reserve(int64(len(t.text)))
		var err error
		if c.direct != nil {
			at := c.stagedEnd() - int64(len(t.text))
			err = c.direct.write(t.text, at, c.seg, c.opts.writeDirect)
		} else {
			_, err = write(c.seg, t.text, -1)
		}
		if err != nil {
			return fmt.Errorf("chain %q: writing records up to seq %d: %w", c.name, t.next-1, err)
		}
		t.text = t.text[:0]
	}
	if final && c.direct != nil {
		// The tail goes through the ring even when the store is busy:
		// its kernel worker writes it while the mapping goroutines keep
		// the processor. With write(2) for the head and the tail, four
		// requests in flight took 12 % more CPU time (six alternated
		// runs).
		if err := c.direct.flush(c.seg, c.opts.writeDirect, c.opts.writeIdle); err != nil {
			return fmt.Errorf("chain %q: writing records up to seq %d: %w", c.name, t.next-1, err)
		}
	}
	return nil
}

// openDirect opens the segment at path for direct writes (see
// directWriter), once an earlier writer's direct writes in flight have
// completed (see lockDirect), or returns nil where segments are written
// through the page cache.
func (c *chain) openDirect(path string) (*os.File, error) {
	if c.opts.bufferedWrites {
		return nil, nil
	}
	f, err := openDirect(path)
	if err != nil {
		if !errors.Is(err, errors.ErrUnsupported) {
			c.log.Debug("direct writes unavailable; writing through the page cache", zap.String("segment", path), zap.Error(err))
		}
		return nil, nil
	}
	if err := lockDirect(f, c.opts.directLockWait); err != nil {
		f.Close()
		return nil, fmt.Errorf("chain %q: %w", c.name, err)
	}
	return f, nil
}

// closeDirect closes the active segment's direct descriptor, if any.
func (c *chain) closeDirect() error {
	if c.direct == nil {
		return nil
	}
	err := c.direct.close()
	c.direct = nil
	return err
}

// stagedEnd is the active segment's size once the flight's text and the
// staging transaction's, written or not, are in it.
func (c *chain) stagedEnd() int64 { return c.segSize + c.flight.bytes + c.txn.bytes }

// reserveBytes is how much disk space reserve allocates at a time.
const reserveBytes = 8 << 20

// reserve preallocates the active segment's disk space for a write of n
// bytes at its end, reserveBytes at a time, up to the segment's maximum
// size. Writing into allocated space costs the kernel less than growing
// a file: blocks are allocated once per reservation instead of reserved
// page by page as they are written and allocated when they are written
// back, which the fsync does in this process: 1 % of the exporter's CPU
// time on a quiet host, up to 9 % on a busy one (see the README). The
// segment holds fewer, longer extents too.
//
// The space lies beyond the file's size, so no reader sees it: seal and
// rollback truncate the file to its size, which frees what was not
// written, and a crash leaves at most reserveBytes allocated past the end
// of the active segment, which its next writes use. A failed reservation
// only costs the saving (a full disk fails the write that needs the
// space, as before): it is tried again at the next write, unless the
// file system cannot preallocate.
func (c *chain) reserve(n int64) {
	end := c.stagedEnd() // after the write
	if c.noReserve || end <= c.reserved {
		return
	}
	from := max(c.reserved, end-n)
	size := max(end-from, min(reserveBytes, c.opts.segmentMaxBytes-from))
	switch err := preallocate(c.seg, from, size); {
	case err == nil:
		c.reserved = from + size
	case errors.Is(err, errors.ErrUnsupported):
		c.noReserve = true
	}
}

// stagedFile is the file the staging transaction's fsync is for: the
// active segment, or nil when the transaction staged nothing here.
func (c *chain) stagedFile() *os.File {
	if !c.txn.active {
		return nil
	}
	return c.seg
}

// handoff makes the staging transaction, all written, the flight, whose
// fsync the caller runs next (outside the store's lock), and returns the
// file to fsync (stagedFile). There must be no flight.
func (c *chain) handoff() *os.File {
	f := c.stagedFile()
	if f != nil {
		c.txn, c.flight = c.flight, c.txn
		c.txn.reset()
	}
	return f
}

// commitFlight moves the chain's durable state past the flight, whose
// fsync succeeded, and writes its stored hashes to the tree file with
// write.
func (c *chain) commitFlight(write writeFunc) {
	t := &c.flight
	if !t.active {
		return
	}
	// Durable: only now do the records count for the seal.
	c.segDigest.commitFirst(t.pairs)
	c.segSum.s.Bytes += t.bytes
	if c.segSize == 0 {
		c.segStart = t.now
	}
	c.segSize += t.bytes
	c.next = t.next
	c.prevHash = t.prev
	c.front = t.front
	c.queueTree(t.stored)
	if err := c.writeTreeIfDue(write); err != nil {
		// The records are durable; the tree catches up on a later write.
		c.log.Warn("tree file write failed; will retry", zap.Error(err))
	}
	t.reset()
}

// abortFlight cuts the flight, whose fsync failed, back to the last
// durable size. The staging transaction, written after it, must have
// been aborted first. The in-memory state the flight staged is not
// unpicked: the chain is reloaded from disk before its next write.
func (c *chain) abortFlight(cause error) {
	if !c.flight.active {
		return
	}
	c.flight.reset()
	c.segDigest.discardFrom(0)
	c.rollback()
	if c.broken == nil {
		c.broken = cause
	}
}

// abortStaged cuts what the staging transaction wrote back to where the
// flight, if any, ends. Its in-memory state (the seal's summary among
// it) is not unpicked: the chain is reloaded from disk before its next
// write, once no flight is left.
func (c *chain) abortStaged(cause error) {
	if !c.txn.active {
		return
	}
	c.txn.reset()
	c.segDigest.discardFrom(c.flight.pairs)
	c.rollback()
	if c.broken == nil {
		c.broken = cause
	}
}

// rollback cuts a failed write back to the last durable size and what
// the flight, if any, wrote after it. If even that fails the chain is
// marked broken and reloaded from disk before the next write.
func (c *chain) rollback() {
	if c.direct != nil {
		// Before the cut: a write still in flight would land after it.
		c.direct.desync()
	}
	err := c.seg.Truncate(c.segSize + c.flight.bytes)
	c.reserved = 0 // the cut freed it
	// With a flight, its fsync (running outside the store's lock) or the
	// next one makes the cut durable; a second fsync of the file at the
	// same time could take the write-back error that the flight's must
	// report. Should the cut be lost in a crash, the records it cut are
	// whole and were never acknowledged: the retried batch finds them
	// duplicates.
	if err == nil && !c.flight.active {
		err = c.opts.syncFile(c.seg)
	}
	if err != nil {
		c.log.Error("rolling back a failed write failed; the chain will be reloaded before the next write", zap.Error(err))
		c.broken = err
	}
}

// reload closes the chain's files and restores its state from disk, as
// Open does, cutting whatever a failed write left behind.
func (c *chain) reload() error {
	c.closeFiles()
	fresh, err := loadChain(filepath.Dir(c.dir), c.name, c.opts)
	if err != nil {
		return fmt.Errorf("chain %q: recovering after %v: %w", c.name, c.broken, err)
	}
	*c = *fresh
	return nil
}

func (c *chain) createSegment(now time.Time) error {
	name := SegmentName(c.next)
	f, err := os.OpenFile(c.path(name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, fileMode)
	if err != nil {
		return fmt.Errorf("chain %q: creating segment %s: %w", c.name, name, err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != 0 {
		f.Close()
		if err == nil {
			err = errors.New("file exists and is not empty")
		}
		return fmt.Errorf("chain %q: creating segment %s: %w", c.name, name, err)
	}
	if err := syncDir(c.dir); err != nil {
		f.Close()
		return fmt.Errorf("chain %q: creating segment %s: %w", c.name, name, err)
	}
	direct, err := c.openDirect(c.path(name))
	if err != nil {
		f.Close()
		return err
	}
	c.seg, c.segName, c.segSize, c.segStart = f, name, 0, now
	c.direct = nil
	if direct != nil {
		c.direct = newDirectWriter(direct, 0)
	}
	c.segSum = newSummaryBuilder(c.id, name, c.next)
	c.segDigest = newRecordsDigest()
	return nil
}

// seal closes the active segment: summary, signed seal, checkpoint. Once
// the seal is on disk the segment is closed even if the checkpoint fails.
func (c *chain) seal() error {
	if c.seg == nil || c.segSum.s.Count == 0 {
		return nil
	}
	if err := c.syncTree(); err != nil {
		return err
	}
	sum := c.segSum.summary()
	canon, err := sum.Canonical()
	if err != nil {
		return err
	}
	seal := sealFor(sum, canon)
	seal.SegmentBytes = c.segSize
	seal.RecordsSHA256 = c.segDigest.sum()
	signed, err := note.Sign(&note.Note{Text: string(seal.Text())}, c.opts.signer)
	if err != nil {
		return fmt.Errorf("chain %q: signing seal: %w", c.name, err)
	}
	if err := writeFileAtomic(c.path(summaryName(c.segName)), canon); err != nil {
		return fmt.Errorf("chain %q: writing summary of %s: %w", c.name, c.segName, err)
	}
	if err := writeFileAtomic(c.path(sealName(c.segName)), signed); err != nil {
		return fmt.Errorf("chain %q: writing seal of %s: %w", c.name, c.segName, err)
	}
	c.log.Debug("sealed segment", zap.String("segment", c.segName), zap.Uint64("records", sum.Count))
	if err := c.writeSealIndex(c.segName, signed); err != nil {
		// The index only saves readers work; they check seals it does
		// not list one by one. The next seal writes it again.
		c.log.Warn("writing the seal index failed", zap.Error(err))
	}
	if c.reserved > c.segSize {
		// Frees the reserved space the segment did not take.
		if err := c.seg.Truncate(c.segSize); err != nil {
			c.log.Warn("freeing the sealed segment's unused preallocated space failed", zap.String("segment", c.segName), zap.Error(err))
		}
	}
	c.closeDirect()
	c.seg.Close()
	c.seg, c.segSum, c.segDigest, c.reserved = nil, nil, nil, 0
	return c.checkpoint()
}

// writeSealIndex adds the seal of segment, whose file holds signed, to
// the chain's signed seal index and rewrites it.
func (c *chain) writeSealIndex(segment string, signed []byte) error {
	if c.sealIdx == nil {
		entries, err := readSealIndexEntries(c.dir, c.id)
		if err != nil {
			return err
		}
		c.sealIdx = entries
	}
	c.sealIdx[segment] = fileSHA256(signed)
	signed, err := note.Sign(&note.Note{Text: string(SealIndex{Chain: c.id, Seals: c.sealIdx}.Text())}, c.opts.signer)
	if err != nil {
		return err
	}
	return writeFileAtomic(c.path(SealIndexFile), signed)
}

func (c *chain) syncTree() error {
	if c.tree == nil {
		return nil
	}
	if err := c.writeTree(nil, c.opts.writeBusy); err != nil {
		return err
	}
	if err := c.opts.syncFile(c.tree); err != nil {
		return fmt.Errorf("chain %q: syncing tree file: %w", c.name, err)
	}
	return nil
}

// checkpoint writes a signed checkpoint if records were added since the
// last one: first into checkpoints/, then as the latest.
func (c *chain) checkpoint() error {
	if c.next == 0 || (c.cpExists && c.cpSize == c.next) {
		return nil
	}
	if err := c.syncTree(); err != nil {
		return err
	}
	signed, err := SignCheckpoint(Checkpoint{Origin: c.id, Size: c.next, Root: c.front.root()}, c.opts.signer)
	if err != nil {
		return fmt.Errorf("chain %q: signing checkpoint: %w", c.name, err)
	}
	if err := mkdirSynced(c.path(CheckpointsDir)); err != nil {
		return fmt.Errorf("chain %q: %w", c.name, err)
	}
	if err := writeFileAtomic(filepath.Join(c.path(CheckpointsDir), historyName(c.next)), signed); err != nil {
		return fmt.Errorf("chain %q: writing checkpoint: %w", c.name, err)
	}
	if err := writeFileAtomic(c.path(CheckpointFile), signed); err != nil {
		return fmt.Errorf("chain %q: writing checkpoint: %w", c.name, err)
	}
	c.cpSize, c.cpExists = c.next, true
	return nil
}

func (c *chain) closeFiles() error {
	var errs []error
	if c.seg != nil {
		errs = append(errs, c.closeDirect(), c.seg.Close())
		c.seg = nil
	}
	if c.tree != nil {
		// What the tree file is still owed (see queueTree), so that the
		// next Open has less to rebuild.
		errs = append(errs, c.writeTree(nil, c.opts.writeBusy), c.tree.Sync(), c.tree.Close())
		c.tree = nil
	}
	return errors.Join(errs...)
}
