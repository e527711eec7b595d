package query

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/auditlog"
)

// StoreSource reads an otelaudit audit store and proves what it returns.
//
// It answers a narrow question (one conversation, one subject, one user)
// without reading every segment: each sealed segment has a summary of the
// conversations, subjects, users, tools and time range it holds, committed
// to by a signed seal. Fetch verifies every seal (its signature, or its
// listing in the chain's signed seal index) and that the seals chain
// together; reads only the segments whose summaries may hold a match, plus
// the active segment; proves a sealed segment by the SHA-256 of its file,
// which its seal signs, and decodes only the lines that may match (a
// segment sealed before seals carried that digest, or whose file does not
// match it, is re-verified line by line: hashes, canonical form, sequence,
// hash chain, first and last hash against the seal); and checks the active
// segment against the latest signed checkpoint with the RFC 6962 Merkle
// root. A summary is only trusted once its SHA-256 matches the signed
// seal, so a tampered summary cannot hide a segment.
//
// Without verifier keys nothing can be proven: every segment is read and
// its hash chain checked, and the result says integrity was not checked.
//
// Safe for concurrent use; Fetch reads the directory anew each time. A
// store being written concurrently is read consistently: the checkpoint is
// read before the segments, and a partial line at the end of the active
// segment is left out: a write in flight while a writer holds the store
// (auditlog.WriterHolds), and otherwise a trailing_garbage finding, as
// verify reports it.
type StoreSource struct {
	dir       string
	verifiers note.Verifiers
	workers   int
}

// StoreOption tunes a StoreSource.
type StoreOption func(*StoreSource)

// WithStoreWorkers sets how many seals and segments are verified in
// parallel (default runtime.GOMAXPROCS(0)).
func WithStoreWorkers(n int) StoreOption {
	return func(s *StoreSource) {
		if n > 0 {
			s.workers = n
		}
	}
}

// NewStoreSource returns a source over the store in dir whose seals and
// checkpoints are checked against verifiers (nil: not checked).
func NewStoreSource(dir string, verifiers note.Verifiers, opts ...StoreOption) *StoreSource {
	s := &StoreSource{dir: dir, verifiers: verifiers, workers: runtime.GOMAXPROCS(0)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Kind returns SourceStore.
func (s *StoreSource) Kind() string { return SourceStore }

// Fetch returns the records matching f with their integrity. The error is
// for a store that cannot be read at all (missing or unreadable directory,
// not a store by auditlog.Chains); problems with its content are Findings.
func (s *StoreSource) Fetch(ctx context.Context, f Filter) (*Result, error) {
	// No prune may remove a segment between its listing and its read.
	release, err := auditlog.HoldPrunes(s.dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read audit store: %s", oneLine(err.Error()))
	}
	defer release()
	chains, err := auditlog.Chains(s.dir)
	if errors.Is(err, auditlog.ErrNotAStore) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read audit store: %s", oneLine(err.Error()))
	}
	res := &Result{Source: SourceStore, Records: []auditlog.Record{}}
	in := &res.Integrity
	in.Findings = []Finding{}
	var unsigned uint64
	var live []string
	// Phases run over every chain at once, so that the workers stay busy:
	// small files of every chain, then every seal, then every segment
	// read.
	scans := make([]*chainScan, len(chains))
	var sealJobs []func()
	for i, name := range chains {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cs := &chainScan{src: s, name: name, dir: filepath.Join(s.dir, name), filter: &f, verifying: s.verifiers != nil}
		cs.prepare()
		scans[i] = cs
		if cs.verifying {
			for _, seg := range cs.segs {
				sealJobs = append(sealJobs, func() { cs.openSeal(seg) })
			}
		}
	}
	s.parallel(sealJobs)
	type readJob struct {
		cs  *chainScan
		seg *segInfo
	}
	var reads []readJob
	for _, cs := range scans {
		cs.plan()
		for _, seg := range cs.segs {
			if seg.read {
				reads = append(reads, readJob{cs, seg})
			}
		}
	}
	// Largest first, so that one big segment does not run alone last.
	slices.SortStableFunc(reads, func(a, b readJob) int { return cmp.Compare(b.seg.size, a.seg.size) })
	jobs := make([]func(), len(reads))
	for i, r := range reads {
		jobs[i] = func() { r.seg.res = r.cs.readSegment(r.seg, r.seg == r.cs.lastSeg() && r.seg.seal == nil) }
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.parallel(jobs)
	// Each record is copied once, into a slice of the right size: a
	// record is 744 bytes, and a whole store's records are gigabytes.
	total := 0
	for _, cs := range scans {
		for _, seg := range cs.segs {
			if seg.res != nil {
				total += len(seg.res.recs)
			}
		}
	}
	res.Records = make([]auditlog.Record, 0, total)
	ids := map[string][]string{} // chain id -> directories holding it
	for _, cs := range scans {
		cs.finish()
		if id := cs.chainID(); id != "" {
			ids[id] = append(ids[id], cs.name)
		}
		for _, seg := range cs.segs {
			if seg.res != nil {
				res.Records = append(res.Records, seg.res.recs...)
				seg.res.recs = nil
			}
		}
		in.Findings = append(in.Findings, cs.findings...)
		in.SegmentsRead += cs.segRead
		in.SegmentsTotal += cs.segTotal
		in.RecordsVerified += cs.verified
		unsigned += cs.unsigned
		live = append(live, cs.live...)
	}
	for _, cs := range scans {
		// A copied chain directory proves itself on its own, and its
		// records would be counted twice: as Verify does, say so.
		if d := ids[cs.id]; len(d) > 1 {
			others := slices.DeleteFunc(slices.Clone(d), func(n string) bool { return n == cs.name })
			in.Findings = append(in.Findings, Finding{Chain: cs.name, Seq: -1, Kind: auditlog.KindChainDuplicate,
				Detail: fmt.Sprintf("chain %q is also in directory %s: a chain directory was copied", cs.id, strings.Join(others, ", "))})
		}
	}
	sortRecords(res.Records)
	in.UnsignedRecords = unsigned
	in.Checked = s.verifiers != nil
	in.Verified = in.Checked && len(in.Findings) == 0
	switch {
	case !in.Checked:
		in.Summary = fmt.Sprintf("not checked: no verifier key given; hash chains of %d segments checked, signatures not", in.SegmentsRead)
	case in.Verified:
		in.Summary = fmt.Sprintf("verified: %d of %d segments read and proven (%d records), all seals and the latest checkpoints signed and consistent; "+
			"otelaudit verify alone checks the segments not read, every earlier checkpoint and each hash of the tree.hashes index",
			in.SegmentsRead, in.SegmentsTotal, in.RecordsVerified)
		if unsigned > 0 {
			in.Summary += fmt.Sprintf("; the %d newest records are hash-chained but not yet covered by a signed checkpoint", unsigned)
		}
		in.Live = live
		if len(live) > 0 {
			// As verify's notes say: any process holding the lock has
			// this effect, so on a store believed stopped it is news.
			in.Summary += "; a process holds the store's lock, as a writer does, so these were taken as writes in progress, not findings: " +
				strings.Join(live, ", ") + " (verify a stopped store, with nothing holding its .lock, for a full answer)"
		}
	default:
		in.Summary = fmt.Sprintf("NOT verified: %d finding(s)", len(in.Findings))
	}
	return res, nil
}

// chainScan verifies one chain and collects its matching records.
type chainScan struct {
	src    *StoreSource
	name   string
	dir    string
	filter *Filter

	id       string // chain id, from the checkpoint or the seals
	findings []Finding

	// State carried between the phases of Fetch.
	verifying      bool
	cp             *auditlog.Checkpoint
	sealIdx        *auditlog.SealIndex
	sumNeedles     [][]byte // see mayMatch
	sumRare        []int
	start          position
	markerFrontier []tlog.Hash
	segs           []*segInfo
	active         bool
	activeStart    uint64
	frontier       []tlog.Hash
	frontierN      uint64
	segRead        int
	// live lists what was not a finding because a process held the
	// store's lock, as a writer does (see Integrity.Summary).
	live     []string
	segTotal int
	verified int64
	unsigned uint64
}

func (c *chainScan) add(segment string, seq int64, kind, format string, args ...any) {
	c.findings = append(c.findings, Finding{Chain: c.name, Segment: segment, Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// segInfo is what is known of one segment file before reading it.
type segInfo struct {
	name     string
	first    uint64 // as its name claims
	seal     *auditlog.Seal
	sealBad  bool // a seal file exists but does not verify
	summary  []byte
	sumOK    bool
	size     int64
	read     bool
	leaves   bool // its Merkle leaf hashes are needed
	res      *segResult
	findings []Finding // from its seal and summary
}

// position is a place in the chain: the seq of the next record and the
// hash it must link to.
type position struct {
	seq  uint64
	prev string
}

// prepare reads the chain's small files: the latest checkpoint first
// (records only grow, so every record it covers is on disk when the
// segments are read later), the prune marker, the segment list.
func (c *chainScan) prepare() {
	if c.verifying {
		c.cp = c.readCheckpoint()
		c.sealIdx = c.readSealIndex()
	}
	c.start = position{0, auditlog.ZeroHash}
	var pruned *auditlog.PruneMarker
	if msg, err := auditlog.ReadStoreFile(filepath.Join(c.dir, auditlog.PruneFile), auditlog.MaxPruneMarkerBytes); err == nil {
		if c.verifying {
			m, err := auditlog.OpenPruneMarker(msg, c.src.verifiers)
			if err != nil {
				c.add(auditlog.PruneFile, -1, auditlog.KindPruneMarker, "prune marker does not verify: %s", oneLine(err.Error()))
			} else {
				c.start = position{m.Cut, m.LastHash}
				c.markerFrontier = m.Frontier
				pruned = &m
			}
		} else {
			// Unverified, the marker still names what was pruned.
			pruned, _ = auditlog.ReadPruneMarker(c.dir)
		}
	} else if !os.IsNotExist(err) {
		c.add(auditlog.PruneFile, -1, auditlog.KindPruneMarker, "unreadable: %s", oneLine(err.Error()))
	}
	c.segs = c.listSegments()
	if pruned != nil {
		// A prune writes its marker before it deletes the segments, so
		// one killed in between leaves some behind. Verify passes over
		// them; so does a query, instead of returning pruned records and
		// reporting the segments as duplicated.
		c.segs = slices.DeleteFunc(c.segs, func(s *segInfo) bool { return pruned.Pruned(s.name) })
	}
	c.segTotal = len(c.segs)
}

func (c *chainScan) lastSeg() *segInfo {
	if len(c.segs) == 0 {
		return nil
	}
	return c.segs[len(c.segs)-1]
}

// plan decides, once the seals are open, which segments to read.
func (c *chainScan) plan() {
	segs := c.segs
	for _, s := range segs {
		c.findings = append(c.findings, s.findings...)
	}
	if c.id == "" {
		for _, s := range segs {
			if s.seal != nil {
				c.id = s.seal.Chain
				break
			}
		}
	}
	if !c.verifying {
		// Nothing can be proven: read everything, check the hash chain.
		for _, s := range segs {
			s.read = true
		}
		if len(segs) > 0 {
			c.start = position{segs[0].first, ""}
		}
		return
	}
	c.active = len(segs) > 0 && segs[len(segs)-1].seal == nil && !segs[len(segs)-1].sealBad
	for i, s := range segs {
		switch {
		case c.active && i == len(segs)-1:
			s.read, s.leaves = true, true
		case s.seal == nil || !s.sumOK:
			s.read = true // findings already recorded; read to locate more
		default:
			s.read = c.mayMatch(s.summary)
		}
	}
	// The Merkle frontier where the active segment starts comes from the
	// tree file (or the prune marker); failing both, it is rebuilt from
	// every record since the cut.
	if c.active {
		c.activeStart = segs[len(segs)-1].first
	}
	if c.active && c.cp != nil && c.cp.Size > c.activeStart {
		var ok bool
		switch {
		case c.activeStart == c.start.seq:
			c.frontier, ok = c.markerFrontier, true
		default:
			c.frontier, ok = c.treeFrontier(c.activeStart)
		}
		c.frontierN = c.activeStart
		if !ok {
			for _, s := range segs {
				s.read, s.leaves = true, true
			}
			c.frontier, c.frontierN = c.markerFrontier, c.start.seq
		}
	}
}

// finish checks, once the segments are read, how they join, and the
// checkpoint.
func (c *chainScan) finish() {
	for _, s := range c.segs {
		if s.res == nil {
			continue
		}
		c.segRead++
		c.verified += int64(s.res.count)
		c.findings = append(c.findings, s.res.findings...)
		if s.res.inFlight > 0 {
			c.live = append(c.live, fmt.Sprintf("%d bytes in flight at the end of %s/%s", s.res.inFlight, c.name, s.name))
		}
	}
	end := c.walk()
	cp := c.cp
	if cp == nil {
		if c.verifying && c.active {
			c.unsigned = end.seq - c.activeStart
		}
		return
	}
	switch {
	case cp.Size > end.seq:
		c.add(auditlog.CheckpointFile, int64(end.seq), auditlog.KindTruncated,
			"the chain ends at seq %d but its signed checkpoint covers %d records: records were removed", end.seq, cp.Size)
	case c.active && cp.Size > c.activeStart:
		c.checkRoot(cp)
	}
	if end.seq > cp.Size && c.active {
		c.unsigned = end.seq - max(cp.Size, c.activeStart)
	}
	c.checkTree(cp)
}

// checkTree checks what can be checked cheaply of the chain's tree.hashes
// index against the checkpoint: that it holds every stored hash the
// checkpoint needs (the writer makes them durable before it signs), and
// that the Merkle frontier it gives for the checkpoint's size folds to the
// signed root. The index is derived from the records, which with the
// signed roots are the evidence, but a query that said "verified" of a
// store whose index otelaudit verify rejects (an emptied file, a hash
// changed) would contradict it. The index's other hashes (each leaf
// against its record) are compared only by verify, which reads every
// record; the summary says so.
func (c *chainScan) checkTree(cp *auditlog.Checkpoint) {
	if !c.verifying {
		return
	}
	fh, st, err := auditlog.OpenStoreFile(filepath.Join(c.dir, auditlog.TreeFile))
	if err != nil {
		if !os.IsNotExist(err) {
			c.add(auditlog.TreeFile, -1, auditlog.KindTreeMismatch, "unreadable: %s", oneLine(err.Error()))
		}
		return // verify does without a missing index too
	}
	defer fh.Close()
	need := tlog.StoredHashCount(int64(cp.Size))
	if st.Size() < need*tlog.HashSize {
		c.add(auditlog.TreeFile, -1, auditlog.KindTreeMismatch, "tree file has %d hashes, the latest checkpoint needs %d", st.Size()/tlog.HashSize, need)
		return
	}
	if f, err := auditlog.ReadFrontier(fh, int64(cp.Size)); err != nil || f.Root() != cp.Root {
		c.add(auditlog.TreeFile, -1, auditlog.KindTreeMismatch, "its hashes for the first %d records do not fold to the signed checkpoint root", cp.Size)
	}
}

// chainID returns the chain's id (from its checkpoint, seals or first
// record) and reports a chain_name finding when it does not end in the
// directory's name: the chain id is origin/chain, and a chain's records
// found in another chain's directory were moved there.
func (c *chainScan) chainID() string {
	if c.id == "" {
		for _, s := range c.segs {
			if s.res != nil && len(s.res.recs) > 0 {
				c.id = s.res.recs[0].ChainID
				break
			}
		}
	}
	if c.id != "" && !strings.HasSuffix(c.id, "/"+c.name) {
		seg, seq := "", int64(-1)
		if len(c.segs) > 0 {
			seg, seq = c.segs[0].name, int64(c.segs[0].first)
		}
		c.findings = append(c.findings, Finding{Chain: c.name, Segment: seg, Seq: seq, Kind: auditlog.KindChainName,
			Detail: fmt.Sprintf("directory %q holds chain %q, whose name is not the directory's: chain directories were renamed or swapped", c.name, c.id)})
	}
	return c.id
}

// readCheckpoint returns the checkpoint the chain's records are checked
// against: the newest signed one, whether it is the latest (the file
// checkpoint) or in the chain's checkpoints/ history, the rule
// auditlog.Verify applies. The store files each checkpoint into its
// history first, then as the latest, so a newer one in the history is
// either a write in flight (a writer holds the store) or a latest
// checkpoint rolled back to an older signed one — a finding, as verify
// reports it; either way the records must agree with the newer one, so
// that a rollback cannot hide a record rewritten after the older
// checkpoint. nil (with a finding) when none verifies; nil without one
// when the chain is younger than its first checkpoint (its records are
// counted as not yet signed).
func (c *chainScan) readCheckpoint() *auditlog.Checkpoint {
	var latest *auditlog.Checkpoint
	msg, err := auditlog.ReadStoreFile(filepath.Join(c.dir, auditlog.CheckpointFile), auditlog.MaxNoteBytes)
	switch {
	case err == nil:
		latest = c.openCheckpoint(auditlog.CheckpointFile, msg)
		if latest == nil {
			return nil
		}
	case !os.IsNotExist(err):
		c.add(auditlog.CheckpointFile, -1, auditlog.KindCheckpointForged, "unreadable checkpoint: %s", oneLine(err.Error()))
		return nil
	}
	// History files are named by their size (20 digits): those newer
	// than the latest, newest first, until one verifies. Only names are
	// listed in the usual case, where the newest is the latest.
	entries, _ := os.ReadDir(filepath.Join(c.dir, auditlog.CheckpointsDir))
	var newer []string
	for _, e := range entries {
		size, err := strconv.ParseUint(e.Name(), 10, 64)
		if len(e.Name()) != 20 || err != nil || !e.Type().IsRegular() {
			c.strayCheckpoint(e)
			continue
		}
		if latest != nil && size <= latest.Size {
			continue
		}
		newer = append(newer, e.Name())
	}
	slices.Sort(newer)
	for i := len(newer) - 1; i >= 0; i-- {
		file := auditlog.CheckpointsDir + "/" + newer[i]
		msg, err := auditlog.ReadStoreFile(filepath.Join(c.dir, file), auditlog.MaxNoteBytes)
		if err != nil {
			c.add(file, -1, auditlog.KindCheckpointForged, "unreadable checkpoint: %s", oneLine(err.Error()))
			continue
		}
		cp := c.openCheckpoint(file, msg)
		if cp == nil {
			continue
		}
		if latest == nil {
			return cp // the latest is missing: the newest in the history
		}
		if cp.Size <= latest.Size {
			c.add(file, int64(cp.Size), auditlog.KindCheckpointInconsistent, "checkpoint of size %d is filed as %s", cp.Size, newer[i])
			continue
		}
		switch {
		case auditlog.WriterHolds(c.src.dir):
			c.live = append(c.live, fmt.Sprintf("%s/%s taken as the latest checkpoint, being filed", c.name, file))
		case !c.latestCaughtUp(cp.Size):
			c.add(auditlog.CheckpointFile, int64(latest.Size), auditlog.KindCheckpointInconsistent,
				"latest checkpoint has size %d but %s has size %d: the latest checkpoint was rolled back", latest.Size, file, cp.Size)
		}
		return cp
	}
	return latest
}

// latestCaughtUp reports whether the latest checkpoint, read again, is at
// least size records: a writer that filed it and closed between the first
// read and the lock check (which then finds no writer) is no rollback.
func (c *chainScan) latestCaughtUp(size uint64) bool {
	msg, err := auditlog.ReadStoreFile(filepath.Join(c.dir, auditlog.CheckpointFile), auditlog.MaxNoteBytes)
	if err != nil {
		return false
	}
	cp, err := auditlog.OpenCheckpoint(msg, c.src.verifiers)
	return err == nil && cp.Origin == c.id && cp.Size >= size
}

// strayCheckpoint reports a file of the checkpoints/ history that is not
// named as the store names history checkpoints (its size in 20 digits):
// otelaudit verify opens every history file, and one that is not a signed
// checkpoint (checkpoint_forged) or is filed under another name
// (checkpoint_inconsistent) is a finding there. Such names are rare, so
// opening them costs nothing in the usual case; a file being filed
// (writeFileAtomic's temporary name) is not history.
func (c *chainScan) strayCheckpoint(e os.DirEntry) {
	if strings.HasSuffix(e.Name(), ".tmp") {
		return
	}
	file := auditlog.CheckpointsDir + "/" + e.Name()
	msg, err := auditlog.ReadStoreFile(filepath.Join(c.dir, file), auditlog.MaxNoteBytes)
	if err != nil {
		c.add(file, -1, auditlog.KindCheckpointForged, "unreadable checkpoint: %s", oneLine(err.Error()))
		return
	}
	id := c.id
	if cp := c.openCheckpoint(file, msg); cp != nil {
		c.id = id // a checkpoint filed astray does not name the chain
		c.add(file, int64(cp.Size), auditlog.KindCheckpointInconsistent, "checkpoint of size %d is filed as %s", cp.Size, e.Name())
	}
}

// openCheckpoint verifies the signed checkpoint msg read from file; nil,
// with a finding, when it does not verify.
func (c *chainScan) openCheckpoint(file string, msg []byte) *auditlog.Checkpoint {
	cp, err := auditlog.OpenCheckpoint(msg, c.src.verifiers)
	if err != nil {
		var unknown *note.UnverifiedNoteError
		if errors.As(err, &unknown) {
			c.add(file, -1, auditlog.KindCheckpointUnknownKey, "checkpoint is not signed by a trusted key")
		} else {
			c.add(file, -1, auditlog.KindCheckpointForged, "checkpoint does not verify: %s", oneLine(err.Error()))
		}
		return nil
	}
	c.id = cp.Origin
	return &cp
}

// sealIndexLimit is the size cap of the chain's seal index: it lists at
// most the segments in the directory and those a prune removed, one per
// record below its cut at most (the cut is not known yet: the directory's
// entries stand in for the segments, and every record a prune could have
// removed is bounded by the cap on the marker's own size).
func (c *chainScan) sealIndexLimit() int64 {
	entries, _ := os.ReadDir(c.dir)
	return auditlog.SealIndexLimit(len(entries), auditlog.MaxPruneMarkerBytes/26)
}

// readSealIndex opens the chain's signed seal index, which vouches for the
// seals it lists with one signature; nil (with a finding if it is there
// but does not verify) when there is none to use, and every seal is then
// checked on its own signature.
func (c *chainScan) readSealIndex() *auditlog.SealIndex {
	msg, err := auditlog.ReadStoreFile(filepath.Join(c.dir, auditlog.SealIndexFile), c.sealIndexLimit())
	if os.IsNotExist(err) {
		return nil // written by an older version, or no segment sealed yet
	}
	if err != nil {
		c.add(auditlog.SealIndexFile, -1, auditlog.KindSealInvalid, "unreadable seal index: %s", oneLine(err.Error()))
		return nil
	}
	idx, err := auditlog.OpenSealIndex(msg, c.src.verifiers)
	switch {
	case err != nil:
		c.add(auditlog.SealIndexFile, -1, auditlog.KindSealInvalid, "seal index does not verify: %s", oneLine(err.Error()))
		return nil
	case c.id != "" && idx.Chain != c.id:
		c.add(auditlog.SealIndexFile, -1, auditlog.KindSealMismatch, "seal index is for chain %q, not %q", idx.Chain, c.id)
		return nil
	}
	return &idx
}

// listSegments lists the chain's segment files in name order; files with
// malformed names are findings and are not read.
func (c *chainScan) listSegments() []*segInfo {
	entries, err := os.ReadDir(c.dir)
	if err != nil {
		c.add("", -1, auditlog.KindMalformed, "unreadable chain directory: %s", oneLine(err.Error()))
		return nil
	}
	var segs []*segInfo
	names := map[string]bool{}
	for _, e := range entries {
		name := e.Name()
		names[name] = true
		base, ok := strings.CutSuffix(name, auditlog.SegmentExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		first, err := strconv.ParseUint(base, 10, 64)
		if err != nil || len(base) != 20 {
			c.add(name, -1, auditlog.KindSegmentName, "segment file name is not 20 digits: renamed?")
			continue
		}
		var size int64
		if info, err := e.Info(); err == nil {
			size = info.Size()
		}
		segs = append(segs, &segInfo{name: name, first: first, size: size})
	}
	// A seal without its segment: the segment was removed.
	for name := range names {
		if base, ok := strings.CutSuffix(name, auditlog.SealExt); ok && !names[base+auditlog.SegmentExt] {
			c.add(base+auditlog.SegmentExt, -1, auditlog.KindSegmentMissing, "seal %s remains but its segment is gone", name)
		}
	}
	slices.SortFunc(c.findings, func(a, b Finding) int { return strings.Compare(a.Segment, b.Segment) })
	slices.SortFunc(segs, func(a, b *segInfo) int { return strings.Compare(a.name, b.name) })
	return segs
}

// openSeal verifies one segment's seal and summary; findings are kept on
// the segment, in segment order for the report.
func (c *chainScan) openSeal(s *segInfo) {
	base := strings.TrimSuffix(s.name, auditlog.SegmentExt)
	addf := func(file string, kind, format string, args ...any) {
		s.findings = append(s.findings, Finding{Chain: c.name, Segment: file, Seq: -1, Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	msg, err := auditlog.ReadStoreFile(filepath.Join(c.dir, base+auditlog.SealExt), auditlog.MaxNoteBytes)
	if os.IsNotExist(err) {
		return // an active segment, or a missing seal the walk reports
	}
	if err != nil {
		s.sealBad = true
		addf(base+auditlog.SealExt, auditlog.KindSealInvalid, "unreadable seal: %s", oneLine(err.Error()))
		return
	}
	seal, listed := auditlog.Seal{}, false
	if c.sealIdx != nil {
		seal, listed = c.sealIdx.Seal(s.name, msg)
	}
	if !listed {
		seal, err = auditlog.OpenSeal(msg, c.src.verifiers)
	}
	if err != nil {
		s.sealBad = true
		var unknown *note.UnverifiedNoteError
		if errors.As(err, &unknown) {
			addf(base+auditlog.SealExt, auditlog.KindSealInvalid, "seal is not signed by a trusted key")
		} else {
			addf(base+auditlog.SealExt, auditlog.KindSealInvalid, "seal does not verify: %s", oneLine(err.Error()))
		}
		return
	}
	s.seal = &seal
	// ReadSummary bounds the file by the segment size the signed seal
	// states, not the file's, and hashes before it holds: a sparse
	// summary next to a sparse segment cannot make a query allocate it.
	s.summary, err = auditlog.ReadSummary(filepath.Join(c.dir, base+auditlog.SummaryExt), seal, s.size)
	switch {
	case errors.Is(err, auditlog.ErrSummaryMismatch):
		addf(base+auditlog.SummaryExt, auditlog.KindSummaryInvalid, "summary does not match the SHA-256 its signed seal commits to")
		return
	case err != nil:
		addf(base+auditlog.SummaryExt, auditlog.KindSummaryInvalid, "unreadable summary: %s", oneLine(err.Error()))
		return
	}
	s.sumOK = true
}

// mayMatch reports whether a verified summary may describe a record that
// matches the filter. It searches the canonical summary bytes for the
// canonical JSON of each wanted value: a false positive costs one segment
// read, a false negative cannot happen because both sides are RFC 8785.
func (c *chainScan) mayMatch(summary []byte) bool {
	f := c.filter
	if c.sumNeedles == nil {
		// The wanted values, each searched for by its rarest byte in the
		// first summary (see rarestByte); built once per Fetch.
		c.sumNeedles = [][]byte{}
		for _, v := range []string{f.ConversationID, f.UserID, f.Tool} {
			if v != "" {
				c.sumNeedles = append(c.sumNeedles, auditlog.AppendJSONString(nil, v))
			}
		}
		if f.hasSubject() {
			c.sumNeedles = append(c.sumNeedles, subjectPrefix(f.Subject))
		}
		for _, n := range c.sumNeedles {
			c.sumRare = append(c.sumRare, rarestByte(n, summary))
		}
	}
	for i, n := range c.sumNeedles {
		if f.hasSubject() && i == len(c.sumNeedles)-1 {
			if !hasSubject(summary, n, c.sumRare[i], f.Subject.Type) {
				return false
			}
			continue
		}
		if indexAt(summary, 0, n, c.sumRare[i]) < 0 {
			return false
		}
	}
	// A bound outside the years RFC 3339 can write does not compare as
	// text (timeKey); it selects every segment, and Match decides.
	if !f.Since.IsZero() {
		if since, ok := timeKey(f.Since); ok {
			if maxTS := summaryString(summary, "max_timestamp"); maxTS != "" && maxTS < since {
				return false
			}
		}
	}
	if !f.Until.IsZero() {
		if until, ok := timeKey(f.Until); ok {
			if minTS := summaryString(summary, "min_timestamp"); minTS != "" && minTS >= until {
				return false
			}
		}
	}
	return true
}

// summaryString returns the string value of a top-level member of a
// canonical summary whose values contain no escapes (timestamps).
func summaryString(summary []byte, key string) string {
	i := bytes.Index(summary, []byte(`"`+key+`":"`))
	if i < 0 {
		return ""
	}
	rest := summary[i+len(key)+4:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}

// subjectPrefix is the RFC 8785 serialisation of a subject, as records and
// summaries hold it, up to its type's value: `{"id":"P-1","type":"`. RFC
// 8785 sorts "id" before "type", so every spelling of the type follows
// these same bytes, and typeFollows compares it in any case (SameSubject).
func subjectPrefix(s Subject) []byte {
	b := auditlog.AppendJSONString([]byte(`{"id":`), s.ID)
	return append(b, `,"type":"`...)
}

// hasSubject reports whether data holds the subject whose subjectPrefix is
// prefix with a type equal to typ in any case. rare is prefix's rarest byte
// (rarestByte).
func hasSubject(data, prefix []byte, rare int, typ string) bool {
	want := auditlog.AppendJSONString(nil, typ)
	want = want[1 : len(want)-1]
	for off := 0; ; {
		at := indexAt(data, off, prefix, rare)
		if at < 0 {
			return false
		}
		if typeFollows(data[at+len(prefix):], want) {
			return true
		}
		off = at + 1
	}
}

// typeFollows reports whether rest, the bytes after a subjectPrefix, are a
// JSON string equal to want (escaped, without quotes) in any case, closing
// the subject. The escapes RFC 8785 writes (\", \\, \n, \u001f, …) stand
// for characters without case and spell themselves one way, so comparing
// escaped texts in any case compares the strings in any case.
func typeFollows(rest, want []byte) bool {
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '\\':
			i++
		case '"':
			return i+1 < len(rest) && rest[i+1] == '}' && bytes.EqualFold(rest[:i], want)
		}
	}
	return false
}

// treeFrontier reads the Merkle frontier of the first n records from the
// chain's tree file. The file is an unsigned index: the frontier is
// trusted only because checkRoot folds it with re-hashed records into the
// signed checkpoint root.
func (c *chainScan) treeFrontier(n uint64) ([]tlog.Hash, bool) {
	fh, _, err := auditlog.OpenStoreFile(filepath.Join(c.dir, auditlog.TreeFile))
	if err != nil {
		return nil, false
	}
	defer fh.Close()
	f, err := auditlog.ReadFrontier(fh, int64(n))
	if err != nil {
		return nil, false
	}
	return f.Hashes(), true
}

// checkRoot recomputes the checkpoint root from the frontier of the first
// c.frontierN records and the re-hashed leaves from there on.
func (c *chainScan) checkRoot(cp *auditlog.Checkpoint) {
	fr := auditlog.NewFrontier(int64(c.frontierN), c.frontier)
	from := c.frontierN
	for _, s := range c.segs {
		if s.res == nil || s.res.leafStart+uint64(len(s.res.leaves)) <= from {
			continue
		}
		for i, leaf := range s.res.leaves {
			seq := s.res.leafStart + uint64(i)
			if seq < uint64(fr.Size()) {
				continue
			}
			if seq != uint64(fr.Size()) || uint64(fr.Size()) >= cp.Size {
				break
			}
			fr.Push(leaf)
		}
	}
	if uint64(fr.Size()) != cp.Size {
		c.add(auditlog.CheckpointFile, int64(fr.Size()), auditlog.KindCheckpointMismatch,
			"cannot recompute the checkpoint root: records %d to %d are not readable in order", fr.Size(), cp.Size-1)
		return
	}
	if fr.Root() != cp.Root {
		c.add(auditlog.CheckpointFile, int64(cp.Size)-1, auditlog.KindCheckpointMismatch,
			"records do not match the Merkle root of the signed checkpoint (size %d): a record was changed", cp.Size)
	}
}

// parallel runs the jobs on the source's workers.
func (s *StoreSource) parallel(jobs []func()) {
	var wg sync.WaitGroup
	next := make(chan func())
	for range min(s.workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range next {
				job()
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
}
