package auditlog

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/otelaudit/otelaudit/internal/sha256pair"
)

// Kinds of Finding.
const (
	// Record level.
	KindMalformed       = "malformed"        // a line is not a record
	KindNonCanonical    = "noncanonical"     // a record is not in canonical form (edited without changing its meaning)
	KindModified        = "modified"         // a record's content does not match its hash
	KindChainBreak      = "chain_break"      // prev_hash does not match the previous record's hash
	KindDeleted         = "deleted"          // records missing inside a segment
	KindOutOfOrder      = "out_of_order"     // a record appears before records that precede it (reordered)
	KindDuplicate       = "duplicate"        // a seq appears twice (an inserted or copied record)
	KindForeign         = "foreign_record"   // a record of another chain
	KindChainName       = "chain_name"       // a chain's records in a directory not named for it: chain directories renamed or swapped
	KindChainDuplicate  = "chain_duplicate"  // one chain id in more than one directory: a chain directory copied
	KindTrailingGarbage = "trailing_garbage" // bytes after the last record that are not a record
	KindTruncated       = "truncated"        // the chain ends before its latest checkpoint
	KindUnsigned        = "unsigned"         // records no checkpoint or seal signs (only with RequireSigned)

	// Segment level.
	KindSegmentMissing = "segment_missing" // records missing between segments: a segment was removed
	KindSegmentName    = "segment_name"    // a segment's name does not match its first record: renamed, swapped or duplicated
	KindSealMissing    = "seal_missing"    // a segment that is not the last has no seal
	KindSealInvalid    = "seal_invalid"    // a seal is unsigned, forged or unreadable
	KindSealMismatch   = "seal_mismatch"   // a seal does not describe its segment
	KindSummaryInvalid = "summary_mismatch"

	// Checkpoint level.
	KindCheckpointForged       = "checkpoint_forged"       // bad signature or unreadable
	KindCheckpointUnknownKey   = "checkpoint_unknown_key"  // not signed by any trusted key
	KindCheckpointMismatch     = "checkpoint_mismatch"     // the latest checkpoint's root does not match the records
	KindCheckpointInconsistent = "checkpoint_inconsistent" // an earlier checkpoint does not match the records or the latest
	KindRollback               = "rollback"                // a saved checkpoint is not a prefix of the store
	KindPruneMarker            = "prune_marker"            // a prune marker is invalid or does not match the chain
	KindTreeMismatch           = "tree_mismatch"           // the tree.hashes index does not match the records
	KindLegalHoldSeen          = "legal_hold_seen"         // legal_hold.seen is unsigned, forged, unreadable, another chain's, older than the prune marker, or removed
)

// Finding is one problem Verify found, located as precisely as possible.
type Finding struct {
	// Chain is the chain directory name.
	Chain string `json:"chain"`
	// Segment is the file concerned, relative to the chain directory:
	// a segment, a checkpoint, a seal or a marker.
	Segment string `json:"segment"`
	// Seq is the sequence number concerned, -1 when the finding is not
	// about a position in the chain.
	Seq  int64  `json:"seq"`
	Kind string `json:"kind"`
	// Detail is one line for a human.
	Detail string `json:"detail"`
}

func (f Finding) String() string {
	return fmt.Sprintf("chain=%s segment=%s seq=%d kind=%s: %s", f.Chain, f.Segment, f.Seq, f.Kind, f.Detail)
}

// ChainReport summarises one verified chain.
type ChainReport struct {
	Chain string `json:"chain"`
	// ID is the chain id (checkpoint origin).
	ID string `json:"id"`
	// FirstSeq is the first seq present: the prune cut, or 0.
	FirstSeq uint64 `json:"first_seq"`
	// Records is the number of records read.
	Records uint64 `json:"records"`
	// Size is the chain length (last seq + 1).
	Size     uint64 `json:"size"`
	Segments int    `json:"segments"`
	// CheckpointSize is the size of the latest valid checkpoint, 0 if none.
	CheckpointSize uint64 `json:"checkpoint_size"`
	// Checkpoints is the number of signed checkpoints (with saved ones,
	// SinceCheckpoint) whose origin is the chain's and whose root the
	// records reproduce.
	Checkpoints int `json:"checkpoints"`
	// CheckpointsFailed is the number of signed checkpoints checked
	// against the records whose origin or root does not match them; each
	// is a finding. Checkpoints that do not verify, and those beyond the
	// end of the chain, are findings counted in neither.
	CheckpointsFailed int `json:"checkpoints_failed"`
	// UnsignedRecords is the number of records that neither a checkpoint
	// nor a seal signs: the newest of the active segment, proven by the
	// hash chain alone. A live writer always has some until its next
	// checkpoint; the removal of newer checkpoints looks the same, and
	// only a checkpoint kept elsewhere (SinceCheckpoint) tells the two
	// apart.
	UnsignedRecords uint64 `json:"unsigned_records"`
	// InFlightBytes is the length of a partial line at the end of the
	// active segment while a writer holds the store: a write in flight,
	// not a record yet, and not trailing garbage.
	InFlightBytes int64 `json:"in_flight_bytes"`
	// InFlightSegment names the segment InFlightBytes are at the end of.
	InFlightSegment string `json:"in_flight_segment,omitempty"`
	// LatestFromHistory names the history checkpoint (checkpoints/N)
	// taken as the latest because it is newer than the checkpoint file
	// while a writer holds the store: a checkpoint being filed. Without a
	// writer that is a rollback of the checkpoint file, and a finding.
	LatestFromHistory string `json:"latest_from_history,omitempty"`
	// LegalHolds are the legal holds the latest prune recorded for the
	// chain (its legal_hold.seen, else its prune marker), when one did:
	// what the next prune holds to, whatever the legal_hold files say
	// now. Empty, not nil, when it recorded none; nil (JSON null) when no
	// prune of this version has run.
	LegalHolds []SeenHold `json:"legal_holds"`
}

// Report is the result of Verify.
type Report struct {
	Chains   []ChainReport `json:"chains"`
	Findings []Finding     `json:"findings"`
	Records  uint64        `json:"records"`
	// WriterHeld says that something held the store's lock file when
	// verification began: a writer, or any process that locks the file
	// (Verify cannot tell them apart). Unless RequireSigned, the store was
	// then verified as live, and what a writer does mid-write is not
	// reported: ChainReport.InFlightBytes and LatestFromHistory say where
	// that was taken.
	WriterHeld bool `json:"writer_held"`
	// Live says the store was verified as live: WriterHeld without
	// RequireSigned.
	Live bool `json:"live"`
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// VerifyOption configures Verify.
type VerifyOption func(*verifyOptions)

type verifyOptions struct {
	since   [][]byte
	workers int
	chains  []string
	full    bool
	signed  bool // RequireSigned
	// leafOnly reports the leaf-only pass as it is, without the full
	// check of chains with findings: for tests that hold the pass to
	// finding something wherever the full check does.
	leafOnly bool
}

// SinceCheckpoint adds a signed checkpoint saved earlier (for example by a
// monitor): Verify reports KindRollback unless the chain with that origin
// still holds the records the checkpoint commits to, so that a rollback to
// an older, self-consistent store is caught. One whose signature does not
// verify is a KindRollback finding too; input that is not a signed
// checkpoint note at all (ParseCheckpointNote) makes Verify fail.
func SinceCheckpoint(signedNote []byte) VerifyOption {
	return func(o *verifyOptions) { o.since = append(o.since, signedNote) }
}

// VerifyWorkers sets how many segments are read and hashed in parallel.
// Default runtime.GOMAXPROCS(0).
func VerifyWorkers(n int) VerifyOption {
	return func(o *verifyOptions) {
		if n > 0 {
			o.workers = n
		}
	}
}

// VerifyFull recomputes everything for every record: its hash and
// canonical form even where a verified checkpoint already proves its
// bytes, and the SHA-256 of each segment file a v2 seal signs (a v3
// seal's records digest is checked in both modes). By
// default Verify proves the records a verified signed checkpoint covers by
// their Merkle leaves alone, which detects and locates every change made
// after signing the same way; what only VerifyFull adds is a check of the
// signer's own arithmetic — that the writer computed each covered record's
// hash and wrote canonical JSON, as a verifier in another language will
// expect (README: Verification).
func VerifyFull() VerifyOption {
	return func(o *verifyOptions) { o.full = true }
}

// RequireSigned reports the records no checkpoint or seal signs as a
// finding (KindUnsigned) instead of counting them in
// ChainReport.UnsignedRecords only. The writer signs every chain at
// Close, so a store whose writer has stopped has none; use it on such a
// store, or on a copy or archive of one. Without it, a chain whose newest
// checkpoints were removed and whose newest records were then rewritten
// with fresh hashes verifies, with those records counted as unsigned.
//
// It also verifies the store as stopped even if something holds its lock
// file (Report.WriterHeld): a partial last line is trailing garbage and a
// history checkpoint newer than the checkpoint file a rollback. Asking
// for every record signed is asking about a stopped store, and anything
// able to open the lock file can hold it; excusing a writer's work in
// progress there would let such a process hide both findings.
func RequireSigned() VerifyOption {
	return func(o *verifyOptions) { o.signed = true }
}

// VerifyChains limits verification to the named chains. Default: all. A
// name that is not a chain of the store makes Verify fail.
func VerifyChains(names ...string) VerifyOption {
	return func(o *verifyOptions) { o.chains = append(o.chains, names...) }
}

// Verify checks every chain of the store in dir: each record's hash and
// canonical form, the hash chain and gap-free sequence, segment names,
// seals and summaries, every checkpoint (signature by one of verifiers,
// root recomputed from the records, consistency with the others), prune
// markers, the seal index and the tree.hashes index. It streams segments,
// hashing them in parallel, and returns every problem as a Finding; the
// error is only for a store it cannot read at all, or for a directory
// that is not a store (see Chains: the error wraps ErrNotAStore).
//
// Records covered by the chain's latest verified checkpoint are proven by
// their Merkle leaves (one digest each) rather than by their own hash and
// canonical form (see VerifyFull). A chain where that finds anything at
// all is verified again in full, so findings are always those of the full
// check: same kind, segment and seq.
func Verify(dir string, verifiers note.Verifiers, opts ...VerifyOption) (*Report, error) {
	if verifiers == nil {
		return nil, errors.New("auditlog: verify needs at least one verifier key")
	}
	o := verifyOptions{workers: runtime.GOMAXPROCS(0)}
	for _, opt := range opts {
		opt(&o)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("auditlog: %s is not a directory", dir)
	}
	names, err := Chains(dir)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	if names, err = selectChains(dir, names, o.chains); err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	since := make([]sinceCheck, 0, len(o.since))
	report := &Report{}
	for i, msg := range o.since {
		// Input that is no checkpoint at all is an error, not a finding
		// about the store.
		if _, err := ParseCheckpointNote(msg); err != nil {
			return nil, fmt.Errorf("auditlog: saved checkpoint %d of %d: %w", i+1, len(o.since), err)
		}
		cp, err := OpenCheckpoint(msg, verifiers)
		if err != nil {
			report.Findings = append(report.Findings, Finding{Segment: "since-checkpoint", Seq: -1, Kind: KindRollback, Detail: "saved checkpoint does not verify: " + oneLine(err)})
			continue
		}
		since = append(since, sinceCheck{cp: cp})
	}

	release, err := HoldPrunes(dir)
	if err != nil {
		return nil, err
	}
	defer release()
	held := WriterHolds(dir)
	live := held && !o.signed
	report.WriterHeld, report.Live = held, live
	results, err := verifyChains(dir, names, verifiers, since, o.workers, o.full, live)
	if err != nil {
		return nil, err
	}
	if !o.full && !o.leafOnly {
		// Locate what the leaf-only pass found with the full check.
		var again []string
		for _, cv := range results {
			if len(cv.findings) > 0 {
				again = append(again, cv.name)
			}
		}
		if len(again) > 0 {
			full, err := verifyChains(dir, again, verifiers, since, o.workers, true, live)
			if err != nil {
				return nil, err
			}
			for i, cv := range results {
				if len(full) > 0 && full[0].name == cv.name {
					results[i], full = full[0], full[1:]
				}
			}
		}
	}
	for _, cv := range results {
		report.Chains = append(report.Chains, cv.report)
		report.Findings = append(report.Findings, cv.findings...)
		report.Records += cv.report.Records
		if n := cv.report.UnsignedRecords; o.signed && n > 0 {
			from := cv.report.Size - n
			report.Findings = append(report.Findings, Finding{Chain: cv.name, Segment: cv.unsignedIn, Seq: int64(from), Kind: KindUnsigned,
				Detail: fmt.Sprintf("records %d..%d are signed by no checkpoint or seal: their writer has not signed them yet, or their checkpoints were removed", from, cv.report.Size-1)})
		}
	}
	report.Findings = append(report.Findings, duplicateChains(report.Chains)...)
	for _, s := range since {
		if !s.matched {
			detail := fmt.Sprintf("no chain in the store has origin %q", s.cp.Origin)
			// A chain is matched by its directory's name (the chain id
			// ends in it): one present under another name is not checked.
			var dirs []string
			for _, c := range report.Chains {
				if c.ID == s.cp.Origin {
					dirs = append(dirs, c.Chain)
				}
			}
			if len(dirs) > 0 {
				detail = fmt.Sprintf("no chain directory is named for origin %q, whose records are in directory %s: the saved checkpoint was not checked (chain directories renamed or swapped)",
					s.cp.Origin, strings.Join(dirs, ", "))
			}
			report.Findings = append(report.Findings, Finding{Segment: "since-checkpoint", Seq: int64(s.cp.Size), Kind: KindRollback, Detail: detail})
		}
	}
	return report, nil
}

// duplicateChains reports every chain id found in more than one
// directory: a copied chain directory verifies on its own, and every
// query over the store would count its records twice.
func duplicateChains(chains []ChainReport) []Finding {
	dirs := map[string][]string{}
	for _, c := range chains {
		if c.ID != "" {
			dirs[c.ID] = append(dirs[c.ID], c.Chain)
		}
	}
	var out []Finding
	for _, c := range chains {
		if d := dirs[c.ID]; len(d) > 1 {
			others := slices.DeleteFunc(slices.Clone(d), func(n string) bool { return n == c.Chain })
			out = append(out, Finding{Chain: c.Chain, Seq: -1, Kind: KindChainDuplicate,
				Detail: fmt.Sprintf("chain %q is also in directory %s: a chain directory was copied", c.ID, strings.Join(others, ", "))})
		}
	}
	return out
}

// verifyChains verifies the named chains concurrently; full is
// VerifyFull, and live says that a writer holds the store.
func verifyChains(dir string, names []string, verifiers note.Verifiers, since []sinceCheck, workers int, full, live bool) ([]*chainVerifier, error) {
	pool := newSegmentPool(workers)
	results := make([]*chainVerifier, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		cv := &chainVerifier{dir: filepath.Join(dir, name), name: name, verifiers: verifiers, since: since, full: full, live: live}
		results[i] = cv
		if err := cv.prepare(); err != nil {
			return nil, fmt.Errorf("auditlog: chain %s: %w", name, err)
		}
	}
	// Launch segment reads in one goroutine, in chain order, so that the
	// bounded pool cannot deadlock; consume each chain in its own. The
	// launcher is waited for too: it reads results, which the caller
	// rewrites once this returns.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for _, cv := range results {
			for _, j := range cv.jobs {
				pool.launch(j)
			}
		}
	}()
	for _, cv := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cv.run(pool)
		}()
	}
	wg.Wait()
	return results, nil
}

type sinceCheck struct {
	cp      Checkpoint
	matched bool
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// segmentPool bounds the number of segments held in memory: a slot is
// taken when a read starts and given back when the chain has consumed it.
type segmentPool struct{ slots chan struct{} }

func newSegmentPool(n int) *segmentPool {
	return &segmentPool{slots: make(chan struct{}, 2*n)}
}

func (p *segmentPool) launch(j *segmentJob) {
	p.slots <- struct{}{}
	go func() {
		j.res = verifySegment(j)
		close(j.done)
	}()
}

func (p *segmentPool) release() { <-p.slots }

type segmentJob struct {
	name   string
	path   string
	first  uint64 // the seq its name claims
	sealed bool   // its seal file was there when the segments were listed
	// empty says the file had no bytes when the segments were listed.
	empty bool
	// cover is the size of the chain's latest checkpoint when records it
	// covers may be proven by their leaves alone (0: check every record
	// in full); hashFile asks for the file's SHA-256, for a v2 seal, and
	// digestRecords for the digest of its records, for a v3 seal.
	cover         uint64
	hashFile      bool
	digestRecords bool
	// inFlight says that a writer held the store when verification began
	// and this is its unsealed last segment: a partial last line is then
	// a write in flight, not trailing garbage.
	inFlight bool
	done     chan struct{}
	res      *segmentResult
}

// Status of one line of a segment.
const (
	lineOK = iota
	lineNonCanonical
	lineModified
	lineMalformed
	lineGarbage
)

// lineInfo is what the chain pass needs of one line.
type lineInfo struct {
	status  uint8
	seq     uint64
	hash    string
	prev    string
	chainID string
	leaf    tlog.Hash
	detail  string
}

type segmentResult struct {
	lines   []lineInfo
	summary *summaryBuilder
	bytes   int64  // file size read
	sha256  string // hex SHA-256 of the file, when asked for
	records string // hex v3 records digest, when asked for
	// inFlight is the length of a partial last line taken for a write
	// in flight (see segmentJob.inFlight).
	inFlight int64
	err      error
}

// segmentChunk is the verifier's read size. Segments are streamed in
// chunks that stay in the CPU cache while their lines are checked and
// hashed, rather than read whole into a fresh buffer as large as the
// segment (which costs zeroing and page faults, and evicts each line
// before it is hashed).
const segmentChunk = 256 << 10

var chunkPool = sync.Pool{New: func() any { b := make([]byte, segmentChunk); return &b }}

// linesPool recycles the per-segment line slices (about 100 bytes per
// record), which the chain pass is done with once it moves on to the next
// segment: allocating and clearing them anew was a tenth of the cost.
var linesPool sync.Pool

func getLines(n int) []lineInfo {
	if p, ok := linesPool.Get().(*[]lineInfo); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]lineInfo, 0, n)
}

func putLines(l []lineInfo) {
	l = l[:0]
	linesPool.Put(&l)
}

// verifySegment reads one segment and checks each line on its own:
// decoding, canonical form and hash (or, for records the job's checkpoint
// covers, the leaf alone).
func verifySegment(j *segmentJob) *segmentResult {
	f, err := os.Open(j.path)
	if err != nil {
		return &segmentResult{err: err}
	}
	defer f.Close()
	size := int64(0)
	if st, err := f.Stat(); err == nil {
		size = st.Size()
	}
	return scanSegment(j, f, size)
}

// scanSegment is verifySegment's work on the segment's bytes, read from
// r; size is the file's size, a hint for the line table.
//
// Its memory is bounded whatever the file holds: the read buffer grows
// for a long line only up to MaxRecordBytes, the longest line the writer
// makes. A longer line, and a run of zero bytes without a newline (the
// tail a crash leaves where blocks were allocated but never written), is
// skipped up to its newline without being buffered and becomes one
// malformed line (trailing garbage at the end). Growing the buffer for
// such a line made verify take 7 to 8 times its size in memory: 1.8 GB
// for a 256 MiB zero tail.
func scanSegment(j *segmentJob, r io.Reader, size int64) *segmentResult {
	v := segmentScan{name: j.name, res: &segmentResult{lines: getLines(int(min(size, 64<<20)/700 + 1))}, cover: j.cover, next: j.first}
	var fileHash *sha256pair.Stream
	if j.hashFile {
		fileHash = new(sha256pair.Stream)
		v.sc.file = fileHash
	}
	bp := chunkPool.Get().(*[]byte)
	buf := *bp
	n := 0 // unconsumed bytes at the start of buf
	var skip skippedLine
	for {
		m, err := r.Read(buf[n:])
		if fileHash != nil {
			fileHash.Feed(buf[n : n+m])
		}
		v.res.bytes += int64(m)
		n += m
		if skip.active {
			// Drop what was read up to the skipped line's newline.
			nl := bytes.IndexByte(buf[:n], '\n')
			if nl < 0 {
				nl = n
			}
			skip.add(buf[:nl])
			if nl < n {
				v.res.lines = append(v.res.lines, skip.line())
				skip = skippedLine{}
				nl++
			}
			if fileHash != nil {
				fileHash.Flush()
			}
			n = copy(buf, buf[nl:n])
		}
		used := 0
		if !skip.active {
			used = v.lines(buf[:n])
			if fileHash != nil {
				// What the lines left of the chunk, before it is reused.
				fileHash.Flush()
			}
		}
		n = copy(buf, buf[used:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return &segmentResult{err: err}
		}
		if n == len(buf) {
			// A line longer than the buffer: make room for it, up to
			// the longest record; beyond that, and for zero bytes (which
			// no record starts with), skip it.
			if len(buf) >= MaxRecordBytes || buf[0] == 0 {
				skip.active = true
				skip.add(buf[:n])
				n = 0
			} else {
				grown := make([]byte, min(2*len(buf), MaxRecordBytes))
				copy(grown, buf[:n])
				buf = grown
			}
		}
	}
	if len(buf) == segmentChunk {
		chunkPool.Put(bp)
	}
	if fileHash != nil {
		sum := fileHash.Sum()
		v.res.sha256 = hex.EncodeToString(sum[:])
	}
	if skip.active {
		// The file ends inside a skipped line: more than a write in
		// flight can be (a writer's line is at most MaxRecordBytes, and
		// never zeros).
		skip.add(buf[:n])
		skip.eof = true
		v.res.lines = append(v.res.lines, skip.line())
		n = 0
	}
	res := v.finish(n, j.inFlight)
	if j.digestRecords {
		res.records = linesDigest(res.lines)
	}
	return res
}

// skippedLine is a line scanSegment skips instead of buffering it.
type skippedLine struct {
	active  bool
	bytes   int64
	nonZero bool // it holds a byte other than zero
	eof     bool // the file ends before its newline
}

func (s *skippedLine) add(b []byte) {
	s.bytes += int64(len(b))
	if !s.nonZero {
		for len(b) >= 8 && binary.LittleEndian.Uint64(b) == 0 {
			b = b[8:]
		}
		s.nonZero = slices.ContainsFunc(b, func(c byte) bool { return c != 0 })
	}
}

func (s *skippedLine) line() lineInfo {
	what := fmt.Sprintf("a line of %d bytes, longer than any record (MaxRecordBytes %d): not read", s.bytes, MaxRecordBytes)
	if !s.nonZero {
		what = fmt.Sprintf("%d zero bytes: blocks allocated but never written (a crash's tail) or zeroed", s.bytes)
	}
	if s.eof {
		what += ", without a final newline"
	}
	return lineInfo{status: lineMalformed, detail: what}
}

// segmentScan checks the lines of one segment as they are read.
type segmentScan struct {
	name  string
	res   *segmentResult
	sc    lineScanner
	cover uint64 // see segmentJob
	next  uint64 // the seq the next line should have
}

// lines checks every complete line of data and returns the number of
// bytes it consumed: data up to its last newline.
func (v *segmentScan) lines(data []byte) int {
	used := 0
	res := v.res
	// The leaves of covered lines are taken two at a time, in one
	// interleaved pass (sha256pair.Hasher.Leaves): held is the index in
	// res.lines of a line whose leaf is due, and heldA, heldB its text.
	held := -1
	var heldA, heldB []byte
	for {
		nl := bytes.IndexByte(data[used:], '\n')
		if nl < 0 {
			if held >= 0 {
				res.lines[held].leaf = v.sc.hashes.leafOnly(heldA, heldB)
			}
			return used
		}
		line := data[used : used+nl]
		used += nl + 1
		var li lineInfo
		var err error
		var a, b []byte
		leafDue := false
		// The first record of each segment is checked in full even when
		// a checkpoint covers it: a sample that keeps the writer's record
		// hashes honest at the cost of one digest per segment.
		if v.next+1 < v.cover && len(res.lines) > 0 {
			a, b, leafDue, err = v.sc.shapeCovered(line, &li, v.cover)
		} else {
			err = v.sc.scan(line, &li)
		}
		if err != nil {
			res.lines = append(res.lines, lineInfo{status: lineMalformed, detail: oneLine(err)})
			continue
		}
		v.next = li.seq + 1
		if res.summary == nil {
			res.summary = newSummaryBuilder(li.chainID, v.name, li.seq)
		}
		v.sc.addTo(res.summary, &li, len(line)+1)
		res.lines = append(res.lines, li)
		switch {
		case !leafDue:
		case held < 0:
			held, heldA, heldB = len(res.lines)-1, a, b
		default:
			res.lines[held].leaf, res.lines[len(res.lines)-1].leaf = v.sc.hashes.pair.Leaves(heldA, heldB, a, b)
			held = -1
		}
	}
}

// finish ends the segment, which had tail bytes after its last newline.
func (v *segmentScan) finish(tail int, inFlight bool) *segmentResult {
	res := v.res
	switch {
	case tail > 0 && inFlight:
		res.inFlight = int64(tail)
	case tail > 0:
		res.lines = append(res.lines, lineInfo{status: lineGarbage, detail: fmt.Sprintf("%d bytes without a final newline", tail)})
	}
	// A bad line with no good record after it is trailing garbage.
	for i := len(res.lines) - 1; i >= 0 && res.lines[i].status >= lineMalformed; i-- {
		res.lines[i].status = lineGarbage
	}
	return res
}

// cpCheck is a checkpoint whose root is compared when the chain reaches
// its size.
type cpCheck struct {
	file   string
	cp     Checkpoint
	latest bool
	since  *sinceCheck
	// proven is how many records the checkpoint was found to sign: its
	// size once the records reproduced its root, the chain's length when
	// the chain is shorter and a consistency proof showed it a prefix.
	proven uint64
}

// chainVerifier checks one chain: prepare reads the small files, run
// consumes the segment results in order.
type chainVerifier struct {
	dir, name string
	// seenID is the chain id legal_hold.seen names, checked against the
	// chain's once the chain's id is known.
	seenID    string
	verifiers note.Verifiers
	since     []sinceCheck
	full      bool // VerifyFull
	live      bool // a writer holds the store
	// lastWritten indexes the last job whose file is not an empty, unsealed
	// one: the active segment, which alone may lack a seal.
	lastWritten int

	jobs    []*segmentJob
	marker  *PruneMarker
	cps     []*cpCheck
	latest  *Checkpoint
	id      string
	sealIdx *SealIndex
	// idSegment and idSeq locate where id was taken from, when no
	// checkpoint named for the directory gave it.
	idSegment string
	idSeq     int64

	findings   []Finding
	report     ChainReport
	unsignedIn string // the segment of the first unsigned record
}

func (v *chainVerifier) add(segment string, seq int64, kind, format string, args ...any) {
	v.findings = append(v.findings, Finding{Chain: v.name, Segment: segment, Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

func (v *chainVerifier) openNote(file string, kindForged, kindUnknown string) (*note.Note, bool) {
	n, _, ok := v.openNoteMsg(file, kindForged, kindUnknown)
	return n, ok
}

// openNoteMsg is openNote that also returns the file's bytes.
func (v *chainVerifier) openNoteMsg(file string, kindForged, kindUnknown string) (*note.Note, []byte, bool) {
	msg, err := ReadStoreFile(filepath.Join(v.dir, file), v.noteLimit(file))
	if err != nil {
		v.add(file, -1, kindForged, "unreadable: %s", oneLine(err))
		return nil, nil, false
	}
	n, err := note.Open(msg, v.verifiers)
	if err != nil {
		var unknown *note.UnverifiedNoteError
		if errors.As(err, &unknown) {
			v.add(file, -1, kindUnknown, "not signed by a trusted key")
		} else {
			v.add(file, -1, kindForged, "signature does not verify: %s", oneLine(err))
		}
		return nil, nil, false
	}
	return n, msg, true
}

// checkRemovedSegments reports segments that are gone although files
// that prove they existed remain: an entry of the signed seal index, a
// seal or a summary. A rollback that removes the newest segments and
// their checkpoints otherwise leaves a self-consistent chain. Segments
// below the prune cut are exempt: a prune removes segments after writing
// its marker, and the seal index keeps listing them. The writer creates a
// segment before its seal and summary, so no crash leaves those without
// it.
func (v *chainVerifier) checkRemovedSegments() {
	have := make(map[string]bool, len(v.jobs))
	for _, j := range v.jobs {
		have[j.name] = true
	}
	evidence := map[string][]string{}
	if v.sealIdx != nil {
		for seg := range v.sealIdx.Seals {
			evidence[seg] = append(evidence[seg], "the signed "+SealIndexFile)
		}
	}
	entries, _ := os.ReadDir(v.dir)
	for _, e := range entries {
		for _, ext := range []string{SealExt, SummaryExt} {
			if base, ok := strings.CutSuffix(e.Name(), ext); ok {
				evidence[base+SegmentExt] = append(evidence[base+SegmentExt], e.Name())
			}
		}
	}
	segs := make([]string, 0, len(evidence))
	for seg := range evidence {
		segs = append(segs, seg)
	}
	slices.Sort(segs)
	for _, seg := range segs {
		first, ok := parseSegmentName(seg)
		if !ok || have[seg] || v.marker != nil && first < v.marker.Cut {
			continue
		}
		if _, err := os.Lstat(filepath.Join(v.dir, seg)); err == nil {
			continue // listed as oddly named or created since the listing: not gone
		}
		v.add(seg, int64(first), KindSegmentMissing, "segment is gone, but %s remain(s) to prove it existed: records were removed", strings.Join(evidence[seg], ", "))
	}
}

// checkHoldRecord checks the chain's legal_hold.seen: signed by a trusted
// key, for this chain, and not older than the prune marker, which a prune
// writes after it (the same run number). A store no prune of this version
// has pruned has none, and that is no finding; a v2 marker without one
// means the record was removed, and the report then lists the marker's
// holds, the latest signed ones (Prune stops there unless told to go on
// from them).
func (v *chainVerifier) checkHoldRecord() {
	if v.marker != nil && v.marker.Run > 0 {
		v.report.LegalHolds = nonNil(v.marker.Holds)
	}
	if _, err := os.Lstat(filepath.Join(v.dir, LegalHoldSeenFile)); err != nil {
		if v.marker != nil && v.marker.Run > 0 {
			v.add(LegalHoldSeenFile, -1, KindLegalHoldSeen, "missing, but the prune marker of run %d shows a prune wrote it: removed (the next prune stops until it is restored or --accept-lost-hold-record goes on from the marker's holds)", v.marker.Run)
		}
		return
	}
	n, ok := v.openNote(LegalHoldSeenFile, KindLegalHoldSeen, KindLegalHoldSeen)
	if !ok {
		return
	}
	r, err := ParseLegalHoldRecord([]byte(n.Text))
	switch {
	case err != nil:
		v.add(LegalHoldSeenFile, -1, KindLegalHoldSeen, "%s", oneLine(err))
	case r.Chain != v.name:
		v.add(LegalHoldSeenFile, -1, KindLegalHoldSeen, "record of chain %q, not %q: copied from another chain", r.Chain, v.name)
	case v.marker != nil && r.Run < v.marker.Run:
		v.add(LegalHoldSeenFile, -1, KindLegalHoldSeen, "record of prune run %d is older than the prune marker of run %d: rolled back (the next prune stops until it is restored or --accept-lost-hold-record goes on from the marker's holds)", r.Run, v.marker.Run)
	default:
		v.report.LegalHolds, v.seenID = nonNil(r.Holds), r.ChainID
	}
}

// checkHoldRecordID compares the chain id legal_hold.seen names with the
// chain's: a record signed by the same key in another store, for a chain
// of the same name, names another id. A v1 record names none.
func (v *chainVerifier) checkHoldRecordID() {
	if v.seenID == "" || v.id == "" || v.seenID == v.id {
		return
	}
	v.add(LegalHoldSeenFile, -1, KindLegalHoldSeen, "record of chain id %q, not %q: copied from another store", v.seenID, v.id)
	v.report.LegalHolds = nil
	if v.marker != nil && v.marker.Run > 0 {
		v.report.LegalHolds = nonNil(v.marker.Holds)
	}
}

// nonNil returns holds, or an empty slice for nil: a prune that recorded
// no hold is not one that recorded nothing.
func nonNil(holds []SeenHold) []SeenHold {
	if holds == nil {
		return []SeenHold{}
	}
	return holds
}

// noteLimit is the size cap of a signed file of the chain: a seal index
// grows with the chain's segments, a prune marker with those it removed,
// every other note (checkpoints, seals) is a few hundred bytes.
func (v *chainVerifier) noteLimit(file string) int64 {
	switch file {
	case PruneFile, LegalHoldSeenFile:
		return MaxPruneMarkerBytes
	case SealIndexFile:
		var cut uint64
		if v.marker != nil {
			cut = v.marker.Cut
		}
		return SealIndexLimit(len(v.jobs), cut)
	}
	return MaxNoteBytes
}

func (v *chainVerifier) prepare() error {
	v.report.Chain = v.name
	// Prune marker.
	if _, err := os.Stat(filepath.Join(v.dir, PruneFile)); err == nil {
		if n, ok := v.openNote(PruneFile, KindPruneMarker, KindPruneMarker); ok {
			m, err := ParsePruneMarker([]byte(n.Text))
			if err != nil {
				v.add(PruneFile, -1, KindPruneMarker, "%s", oneLine(err))
			} else {
				v.marker = &m
			}
		}
	}
	v.checkHoldRecord()
	// Checkpoints: the latest and the history.
	if _, err := os.Stat(filepath.Join(v.dir, CheckpointFile)); err == nil {
		if n, ok := v.openNote(CheckpointFile, KindCheckpointForged, KindCheckpointUnknownKey); ok {
			if cp, err := ParseCheckpoint([]byte(n.Text)); err != nil {
				v.add(CheckpointFile, -1, KindCheckpointForged, "%s", oneLine(err))
			} else {
				v.latest = &cp
				v.cps = append(v.cps, &cpCheck{file: CheckpointFile, cp: cp, latest: true})
			}
		}
	}
	hist, _ := os.ReadDir(filepath.Join(v.dir, CheckpointsDir))
	var newest *cpCheck
	for _, e := range hist {
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			// A checkpoint being filed (writeFileAtomic), or left by a
			// crash for the writer's next Open to remove: not history.
			continue
		}
		file := CheckpointsDir + "/" + e.Name()
		n, ok := v.openNote(file, KindCheckpointForged, KindCheckpointUnknownKey)
		if !ok {
			continue
		}
		cp, err := ParseCheckpoint([]byte(n.Text))
		if err != nil {
			v.add(file, -1, KindCheckpointForged, "%s", oneLine(err))
			continue
		}
		if e.Name() != historyName(cp.Size) {
			v.add(file, int64(cp.Size), KindCheckpointInconsistent, "checkpoint of size %d is filed as %s", cp.Size, e.Name())
		}
		if v.latest != nil && cp.Size > v.latest.Size && (newest == nil || cp.Size > newest.cp.Size) {
			newest = &cpCheck{file: file, cp: cp}
		}
		v.cps = append(v.cps, &cpCheck{file: file, cp: cp})
	}
	switch {
	case newest != nil && v.live:
		// A live writer files each checkpoint into the history first,
		// then as the latest: in between, the history is ahead.
		v.latest = &newest.cp
		v.report.LatestFromHistory = newest.file
	case newest != nil:
		v.add(CheckpointFile, int64(v.latest.Size), KindCheckpointInconsistent,
			"latest checkpoint has size %d but %s has size %d: the latest checkpoint was rolled back", v.latest.Size, newest.file, newest.cp.Size)
	}
	// The chain id: the checkpoints' origin, else the first record's.
	for _, c := range v.cps {
		if strings.HasSuffix(c.cp.Origin, "/"+v.name) {
			v.id = c.cp.Origin
			break
		}
	}
	for i := range v.since {
		if v.id != "" && v.since[i].cp.Origin == v.id {
			v.since[i].matched = true
			v.cps = append(v.cps, &cpCheck{file: "since-checkpoint", cp: v.since[i].cp, since: &v.since[i]})
		}
	}
	// The segments are listed after the checkpoints are read: a live
	// writer's checkpoint covers only records in its files by then, and a
	// segment it creates later holds none that this pass expects.
	names, err := listSegments(v.dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		first, ok := parseSegmentName(n)
		if !ok {
			v.add(n, -1, KindSegmentName, "segment file name is not 20 digits and .jsonl: a renamed or copied segment")
			continue
		}
		// Whether the segment is sealed is taken now, with the list: a
		// live writer may seal the last one while it is being read, and
		// its seal then describes records this pass has not read. Only a
		// v2 seal signs the file's SHA-256; a v3 seal's digest comes from
		// the leaf and record hashes every line gets anyway, taken by the
		// segment's worker.
		sealed, v3 := sealKind(filepath.Join(v.dir, sealName(n)))
		st, err := os.Stat(filepath.Join(v.dir, n))
		empty := err == nil && st.Size() == 0
		v.jobs = append(v.jobs, &segmentJob{name: n, path: filepath.Join(v.dir, n), first: first, sealed: sealed, empty: empty, hashFile: v.full && !v3, digestRecords: v3, done: make(chan struct{})})
	}
	v.report.Segments = len(v.jobs)
	// The active segment is the last one with bytes: empty unsealed files
	// after it hold nothing that would need a seal, and an empty file
	// added to the chain (a stray 00000000000000000099.jsonl) must be the
	// finding, not a seal_missing on the real active segment before it.
	v.lastWritten = len(v.jobs) - 1
	for v.lastWritten > 0 && v.jobs[v.lastWritten].empty && !v.jobs[v.lastWritten].sealed {
		v.lastWritten--
	}
	if n := len(v.jobs); v.live && n > 0 && !v.jobs[n-1].sealed {
		v.jobs[n-1].inFlight = true
	}

	if v.latest != nil && !v.full {
		for _, j := range v.jobs {
			j.cover = v.latest.Size
		}
	}
	if _, err := os.Stat(filepath.Join(v.dir, SealIndexFile)); err == nil {
		if n, ok := v.openNote(SealIndexFile, KindSealInvalid, KindSealInvalid); ok {
			x, err := ParseSealIndex([]byte(n.Text))
			switch {
			case err != nil:
				v.add(SealIndexFile, -1, KindSealInvalid, "%s", oneLine(err))
			case v.id != "" && x.Chain != v.id:
				v.add(SealIndexFile, -1, KindSealMismatch, "seal index is for chain %q", x.Chain)
			default:
				v.sealIdx = &x
			}
		}
	}
	v.checkRemovedSegments()
	// The tree file is an index the verifier can do without, but one that
	// is not a file at all (a FIFO would block the chain pass) is not the
	// writer's.
	if f, _, err := OpenStoreFile(filepath.Join(v.dir, TreeFile)); err == nil {
		f.Close()
	} else if errors.Is(err, errNotRegular) {
		v.add(TreeFile, -1, KindTreeMismatch, "unreadable: %s", oneLine(err))
	}
	slices.SortStableFunc(v.cps, func(a, b *cpCheck) int { return cmp.Compare(a.cp.Size, b.cp.Size) })
	return nil
}

// run consumes the segments in order and checks the chain across them.
func (v *chainVerifier) run(pool *segmentPool) {
	var (
		expSeq  uint64
		expPrev = ZeroHash
		front   frontier
		frontOK = true // false once a gap makes roots uncomputable
		seen    bitset
		stored  []tlog.Hash // scratch for the stored hashes of one record
	)
	if v.marker != nil {
		expSeq, expPrev = v.marker.Cut, v.marker.LastHash
		front = frontier{n: int64(v.marker.Cut), hashes: slices.Clone(v.marker.Frontier)}
		if v.id != "" && v.marker.Chain != v.id {
			v.add(PruneFile, int64(v.marker.Cut), KindPruneMarker, "prune marker names chain %q", v.marker.Chain)
		}
	}
	v.report.FirstSeq = expSeq
	seen.base = expSeq
	tree := newTreeChecker(filepath.Join(v.dir, TreeFile), int64(expSeq))
	cpIdx := 0
	// provenEnd is where the records some signed root reproduces end:
	// the first record that differs from a checkpoint lies at or after it.
	provenEnd := expSeq
	loc := locator{v: v}
	// checkRoots compares every checkpoint of the current size.
	checkRoots := func(segment string) {
		for frontOK && cpIdx < len(v.cps) && int64(v.cps[cpIdx].cp.Size) <= front.n {
			c := v.cps[cpIdx]
			cpIdx++
			if int64(c.cp.Size) < front.n {
				if c.since != nil && v.marker != nil {
					v.checkBelowCut(c)
				}
				continue // before the prune cut: cannot be recomputed
			}
			if c.cp.Origin != v.id {
				v.report.CheckpointsFailed++
				v.add(c.file, int64(c.cp.Size), KindCheckpointInconsistent, "checkpoint origin %q is not chain %q", c.cp.Origin, v.id)
				continue
			}
			if front.root() == c.cp.Root {
				v.report.Checkpoints++
				c.proven = c.cp.Size
				provenEnd = max(provenEnd, c.cp.Size)
				continue
			}
			v.report.CheckpointsFailed++
			// Name the first record that differs from what the checkpoint
			// signs, where tree.hashes lets the signed root say which;
			// else the checkpoint's size, as before, and the range.
			seq, where := loc.locate(tree, c, provenEnd, c.cp.Size)
			switch {
			case c.since != nil:
				v.add(segment, seq, KindRollback, "the store's first %d records differ from the saved checkpoint: %s", c.cp.Size, where)
			case c.latest:
				v.add(CheckpointFile, seq, KindCheckpointMismatch, "root of the first %d records does not match the latest checkpoint (last segment %s): %s", c.cp.Size, segment, where)
			default:
				v.add(c.file, seq, KindCheckpointInconsistent, "root of the first %d records does not match this checkpoint (segment %s): %s", c.cp.Size, segment, where)
			}
		}
	}
	if v.marker != nil {
		for _, c := range v.cps {
			if c.cp.Size == v.marker.Cut && c.cp.Root != v.marker.Root {
				v.add(c.file, int64(c.cp.Size), KindPruneMarker, "prune marker root differs from checkpoint of the same size")
			}
		}
		checkRoots("")
	}
	var pending map[uint64]lineInfo // out-of-order records waiting for their turn
	lastSegment := ""
	// Bad lines at the end of a segment another follows are trailing
	// garbage (bytes appended after its last record) unless records are
	// missing where the next segment starts: then they are that segment's
	// damaged last records, malformed and deleted as anywhere else. They
	// wait in tailBad, from tailSeg, for the next segment to tell.
	var tailBad []Finding
	tailSeg := ""
	flushTail := func(next uint64, gap bool) {
		for _, f := range tailBad {
			if gap {
				f.Kind = KindMalformed
			}
			v.findings = append(v.findings, f)
		}
		if gap && len(tailBad) > 0 {
			v.add(tailSeg, int64(expSeq), KindDeleted, "records %d..%d are missing", expSeq, next-1)
		}
		tailBad = nil
	}
	sealedEnd := uint64(0) // the end of the last segment with a seal
	accept := func(segment string, li *lineInfo) {
		if li.prev != expPrev {
			v.add(segment, int64(li.seq), KindChainBreak, "prev_hash does not match the hash of seq %d", int64(li.seq)-1)
		}
		expSeq, expPrev = li.seq+1, li.hash
		seen.set(li.seq)
		if loc.segNew {
			loc.segs, loc.segNew = append(loc.segs, segStart{li.seq, segment}), false
		}
		if frontOK {
			stored = front.push(li.leaf, stored[:0])
			tree.check(stored)
			checkRoots(segment)
		}
	}
	for si, j := range v.jobs {
		<-j.done
		res := j.res
		pool.release()
		name := j.name
		loc.segNew = true
		before := len(v.findings)
		lastSegment = name
		claimed, _ := parseSegmentName(name)
		if res.err != nil {
			flushTail(0, false)
			v.add(name, -1, KindMalformed, "unreadable: %s", oneLine(res.err))
			continue
		}
		if v.marker != nil && claimed < v.marker.Cut && belowCut(res, v.marker.Cut) {
			continue // removed by a prune that was interrupted before deleting it
		}
		first := -1
		for i, li := range res.lines {
			if li.status < lineMalformed {
				first = i
				break
			}
		}
		if first < 0 && len(res.lines) == 0 && si == len(v.jobs)-1 && claimed == expSeq {
			continue // a new, empty active segment
		}
		if len(res.lines) == 0 && res.bytes == 0 {
			// The writer creates a segment when it has its first record
			// to write, named for that record, and only last: an empty
			// one anywhere else, or named for another seq, is not its.
			v.add(name, -1, KindSegmentName, "segment file is empty and named for seq %d where the chain continues at seq %d: not a segment the writer created", claimed, expSeq)
			continue
		}
		damaged := false // the gap before this segment is the last one's damaged records
		if len(tailBad) > 0 {
			var next uint64
			if first >= 0 {
				fl := res.lines[first]
				next = fl.seq
				damaged = (v.id == "" || fl.chainID == v.id) && fl.seq > expSeq && !seen.has(expSeq)
			}
			flushTail(next, damaged)
			before = len(v.findings) // those are the previous segment's
		}
		if first >= 0 {
			fl := res.lines[first]
			if v.id == "" {
				v.id, v.idSegment, v.idSeq = fl.chainID, name, int64(fl.seq)
			}
			if fl.seq != claimed {
				v.add(name, int64(fl.seq), KindSegmentName, "segment is named for seq %d but starts at seq %d: renamed, swapped or duplicated", claimed, fl.seq)
			}
			if fl.chainID == v.id && fl.seq > expSeq && !seen.has(expSeq) {
				switch {
				case damaged:
					// Reported in the segment before: its last records.
				case si == 0 && v.marker == nil:
					v.add(name, int64(expSeq), KindSegmentMissing, "records %d..%d are missing before this segment and there is no prune marker", expSeq, fl.seq-1)
				default:
					v.add(name, int64(expSeq), KindSegmentMissing, "records %d..%d are missing before this segment", expSeq, fl.seq-1)
				}
				expSeq = fl.seq
				expPrev = fl.prev // resynchronise; the gap is reported
				tree.close()
				frontOK, tree = false, nil // roots cannot be recomputed across a gap
			}
		}
		foreignReported := false
		var seqIndex map[uint64]int
		var dupRun uint64
		for i := range res.lines {
			li := &res.lines[i] // 100 bytes: not copied per record
			switch li.status {
			case lineMalformed:
				v.add(name, int64(expSeq), KindMalformed, "line %d: %s", i+1, li.detail)
				continue
			case lineGarbage:
				if si < len(v.jobs)-1 {
					tailBad, tailSeg = append(tailBad, Finding{Chain: v.name, Segment: name, Seq: int64(expSeq), Kind: KindTrailingGarbage,
						Detail: fmt.Sprintf("line %d: %s", i+1, li.detail)}), name
					continue
				}
				v.add(name, int64(expSeq), KindTrailingGarbage, "line %d: %s", i+1, li.detail)
				continue
			case lineModified:
				v.add(name, int64(li.seq), KindModified, "%s", li.detail)
			case lineNonCanonical:
				v.add(name, int64(li.seq), KindNonCanonical, "%s", li.detail)
			}
			if li.chainID != v.id {
				if !foreignReported {
					v.add(name, int64(li.seq), KindForeign, "record belongs to chain %q", li.chainID)
					foreignReported = true
				}
				continue
			}
			v.report.Records++
			switch {
			case li.seq == expSeq:
				accept(name, li)
				for {
					p, ok := pending[expSeq]
					if !ok {
						break
					}
					delete(pending, expSeq)
					accept(name, &p)
				}
			case li.seq < expSeq || seen.has(li.seq) || pending[li.seq].hash != "":
				// A run of duplicates (a copied segment) is one finding.
				if n := len(v.findings) - 1; n >= 0 && dupRun > 0 && v.findings[n].Kind == KindDuplicate &&
					v.findings[n].Segment == name && uint64(v.findings[n].Seq)+dupRun == li.seq {
					dupRun++
					v.findings[n].Detail = fmt.Sprintf("seqs %d..%d appear again after seq %d: inserted or duplicated records", v.findings[n].Seq, li.seq, expSeq-1)
					continue
				}
				dupRun = 1
				v.add(name, int64(li.seq), KindDuplicate, "seq %d appears again after seq %d: an inserted or duplicated record", li.seq, expSeq-1)
				continue
			default: // li.seq > expSeq
				if seqIndex == nil {
					seqIndex = map[uint64]int{}
					for k, l := range res.lines {
						if l.status < lineMalformed {
							seqIndex[l.seq] = k
						}
					}
				}
				if k, later := seqIndex[expSeq]; later && k > i {
					v.add(name, int64(li.seq), KindOutOfOrder, "seq %d appears before seq %d: records were reordered", li.seq, expSeq)
					if pending == nil {
						pending = map[uint64]lineInfo{}
					}
					pending[li.seq] = *li
					continue
				}
				v.add(name, int64(expSeq), KindDeleted, "records %d..%d are missing", expSeq, li.seq-1)
				expSeq, expPrev = li.seq, li.prev
				tree.close()
				frontOK, tree = false, nil
				accept(name, li)
			}
		}
		for seq := range pending {
			v.add(name, int64(seq), KindOutOfOrder, "seq %d was never followed by its predecessors", seq)
		}
		pending = nil
		v.report.InFlightBytes += res.inFlight
		if res.inFlight > 0 {
			v.report.InFlightSegment = name
		}
		v.checkSeal(name, j.sealed, si >= v.lastWritten, res, len(v.findings) > before || len(tailBad) > 0)
		if j.sealed {
			sealedEnd = expSeq
		}
		putLines(res.lines)
		res.lines = nil
	}
	flushTail(0, false)
	if v.id == "" && v.latest != nil {
		v.id, v.idSegment, v.idSeq = v.latest.Origin, CheckpointFile, int64(v.latest.Size)
	}
	if v.id != "" && !strings.HasSuffix(v.id, "/"+v.name) {
		// The chain id is origin/chain and the chain's name is its
		// directory's: records elsewhere were moved there.
		v.add(v.idSegment, v.idSeq, KindChainName, "directory %q holds chain %q, whose name is not the directory's: chain directories were renamed or swapped", v.name, v.id)
	}
	v.report.ID = v.id
	v.checkHoldRecordID()
	v.report.Size = expSeq
	if v.latest != nil {
		v.report.CheckpointSize = v.latest.Size
	}
	// Checkpoints beyond the end of the chain.
	var maxCP *cpCheck
	for _, c := range v.cps[cpIdx:] {
		if c.since != nil && c.cp.Size > expSeq {
			v.add(lastSegment, int64(expSeq), KindRollback, "saved checkpoint covers %d records but the chain has only %d: the store was rolled back or truncated", c.cp.Size, expSeq)
			continue
		}
		if maxCP == nil || c.cp.Size > maxCP.cp.Size {
			maxCP = c
		}
	}
	if maxCP != nil && maxCP.cp.Size > expSeq {
		// Whether the records are a prefix of what the checkpoint signs:
		// a tail cut off, or a tail rewritten and cut shorter (records
		// changed, the later hashes recomputed, the last dropped).
		detail := "the records before it are what it signs"
		if frontOK && loc.prefix(tree, maxCP, expSeq, front.root()) {
			maxCP.proven = expSeq
		} else {
			_, detail = loc.locate(tree, maxCP, provenEnd, expSeq)
		}
		v.add(lastSegment, int64(expSeq), KindTruncated, "chain ends at seq %d but %s covers %d records; %s", int64(expSeq)-1, maxCP.file, maxCP.cp.Size, detail)
	}
	// What neither a checkpoint nor a seal signs: the newest records of
	// the active segment. A checkpoint signs only records whose root, or
	// whose consistency proof, it was found to match: records rewritten
	// after it are no longer signed by it.
	signedEnd := max(sealedEnd, v.report.FirstSeq)
	for _, c := range v.cps {
		if c.since == nil {
			signedEnd = max(signedEnd, c.proven)
		}
	}
	if expSeq > signedEnd {
		v.report.UnsignedRecords = expSeq - signedEnd
		v.unsignedIn = lastSegment
	}
	if tree != nil && v.latest != nil && v.latest.Size <= expSeq {
		if seq, err := tree.err(tlog.StoredHashCount(int64(v.latest.Size))); err != "" {
			v.add(TreeFile, seq, KindTreeMismatch, "%s", err)
		}
	}
	tree.close()
}

// segStart is the first seq the chain pass took from a segment.
type segStart struct {
	seq  uint64
	name string
}

// locator names the first record that differs from what a signed
// checkpoint commits to, when the records were rewritten with their hashes
// recomputed: then every link holds, and only the roots tell, which alone
// say neither which record nor which segment.
type locator struct {
	v        *chainVerifier
	segs     []segStart // in seq order
	segNew   bool       // the next accepted record starts a segment
	reported bool       // the located record's finding was added
}

// locate returns the seq a mismatch of checkpoint c is reported at and a
// phrase saying where the records first differ from what c signs; the
// records before provenEnd are signed by a root they reproduce, and end
// is where the records c covers end. The seq is the first record that
// differs when tree.hashes shows it (see first), else c's size.
func (l *locator) locate(t *treeChecker, c *cpCheck, provenEnd, end uint64) (int64, string) {
	if n, ok := l.first(t, c); ok {
		return int64(n), fmt.Sprintf("the first record that differs from what it signs is seq %d (segment %s)", n, l.segment(n))
	}
	if provenEnd >= end {
		return int64(c.cp.Size), "no record before its end differs from a root that signs it"
	}
	return int64(c.cp.Size), fmt.Sprintf("the first record that differs from what it signs is one of seqs %d..%d (tree.hashes does not show which)", provenEnd, end-1)
}

// first returns the first seq whose record differs from what checkpoint
// c signs, when tree.hashes shows it: the first stored hash that differs
// from the records' is the leaf of that seq, a record proof from the file
// shows that leaf in the tree c's signed root commits to, and every
// stored hash before it (the subtrees left of the leaf, which the proof
// combines, among them) matched the records'. The records before it are
// then the ones c signs, and it is not. The first time, it adds a
// KindModified finding at that record, unless one is there already.
func (l *locator) first(t *treeChecker, c *cpCheck) (uint64, bool) {
	if t == nil || t.mismatch < 0 {
		return 0, false
	}
	level, n := tlog.SplitStoredHashIndex(t.mismatch)
	size := int64(c.cp.Size)
	if level != 0 || n >= size {
		return 0, false
	}
	proof, err := tlog.ProveRecord(size, n, t)
	if err != nil {
		return 0, false
	}
	h, err := t.ReadHashes([]int64{t.mismatch})
	if err != nil || tlog.CheckRecord(proof, size, c.cp.Root, n, h[0]) != nil {
		return 0, false
	}
	seg := l.segment(uint64(n))
	if !l.reported {
		l.reported = true
		if !slices.ContainsFunc(l.v.findings, func(f Finding) bool { return f.Segment == seg && f.Seq == n }) {
			l.v.add(seg, n, KindModified, "record differs from the one %s signs at seq %d (its Merkle leaf, which tree.hashes proves against the signed root), with every later hash recomputed: a record modified, inserted, removed or reordered here", c.file, n)
		}
	}
	return uint64(n), true
}

// prefix reports whether the first n records, whose Merkle root is root,
// are a prefix of what checkpoint c signs: a consistency proof from
// tree.hashes against both roots.
func (l *locator) prefix(t *treeChecker, c *cpCheck, n uint64, root tlog.Hash) bool {
	if n == 0 {
		return true
	}
	proof, err := tlog.ProveTree(int64(c.cp.Size), int64(n), t)
	return err == nil && tlog.CheckTree(proof, int64(c.cp.Size), c.cp.Root, int64(n), root) == nil
}

// segment returns the segment the chain pass took seq from.
func (l *locator) segment(seq uint64) string {
	i, found := slices.BinarySearchFunc(l.segs, seq, func(s segStart, q uint64) int { return cmp.Compare(s.seq, q) })
	if !found {
		i--
	}
	if i < 0 {
		return ""
	}
	return l.segs[i].name
}

// checkBelowCut checks a saved checkpoint (SinceCheckpoint) of fewer
// records than the prune cut, whose records are gone: tree.hashes still
// holds the stored hashes of the pruned records, from which a consistency
// proof between the checkpoint and the prune marker's signed root is
// built. The proof is checked against both signed roots, so the unsigned
// file cannot make it pass; a saved checkpoint that cannot be proven this
// way is a finding, as one that does not verify is, and never passes in
// silence.
func (v *chainVerifier) checkBelowCut(c *cpCheck) {
	size, cut := int64(c.cp.Size), int64(v.marker.Cut)
	err := errors.New("tree.hashes is missing")
	if f, _, oerr := OpenStoreFile(filepath.Join(v.dir, TreeFile)); oerr == nil {
		var proof tlog.TreeProof
		if proof, err = tlog.ProveTree(cut, size, fileHashReader{f}); err == nil {
			if tlog.CheckTree(proof, cut, v.marker.Root, size, c.cp.Root) != nil {
				f.Close()
				v.report.CheckpointsFailed++
				v.add(PruneFile, size, KindRollback, "the saved checkpoint of %d records is not a prefix of the chain pruned at %d: no consistency proof joins it to the prune marker's root", size, cut)
				return
			}
		}
		f.Close()
	} else if !errors.Is(oerr, fs.ErrNotExist) {
		err = oerr
	}
	if err != nil {
		v.add(PruneFile, size, KindRollback, "the saved checkpoint of %d records precedes the prune cut %d and could not be checked: %s", size, cut, oneLine(err))
		return
	}
	v.report.Checkpoints++
}

// fileHashReader reads stored hashes from a tree.hashes file.
type fileHashReader struct{ f *os.File }

func (r fileHashReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if _, err := r.f.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("tree.hashes: stored hash %d: %w", x, err)
		}
	}
	return out, nil
}

// checkSeal checks a segment's seal and summary against what was read;
// sealed says it had a seal file when the segments were listed, flagged
// that its records already have findings.
func (v *chainVerifier) checkSeal(name string, sealed, last bool, res *segmentResult, flagged bool) {
	sealFile := sealName(name)
	if !sealed {
		if !last {
			v.add(name, -1, KindSealMissing, "segment is followed by another but has no seal")
		}
		return
	}
	n, msg, ok := v.openNoteMsg(sealFile, KindSealInvalid, KindSealInvalid)
	if !ok {
		return
	}
	seal, err := ParseSeal([]byte(n.Text))
	if err != nil {
		v.add(sealFile, -1, KindSealInvalid, "%s", oneLine(err))
		return
	}
	if v.sealIdx != nil {
		if want, ok := v.sealIdx.Seals[name]; ok && want != fileSHA256(msg) {
			v.add(SealIndexFile, -1, KindSealMismatch, "seal index lists another seal for segment %s", name)
		}
	}
	var sum Summary
	if res.summary != nil {
		sum = res.summary.summary()
	}
	switch {
	case seal.Chain != v.id || seal.Segment != name:
		v.add(name, int64(seal.FirstSeq), KindSealMismatch, "seal is for segment %s of chain %s", seal.Segment, seal.Chain)
	case seal.FirstSeq != sum.FirstSeq || seal.Count != sum.Count:
		v.add(name, int64(sum.FirstSeq), KindSealMismatch, "seal says %d records from seq %d, segment has %d from seq %d", seal.Count, seal.FirstSeq, sum.Count, sum.FirstSeq)
	case seal.FirstPrevHash != sum.FirstPrevHash || seal.LastHash != sum.LastHash:
		v.add(name, int64(sum.FirstSeq+sum.Count)-1, KindSealMismatch, "seal's first prev_hash or last hash differs from the segment")
	case seal.HasSegmentDigest() && seal.SegmentBytes != res.bytes:
		// Said even when the records have findings: the size is what the
		// seal signs, and a space added to a line is otherwise only a
		// noncanonical line, not a sealed file changed.
		v.add(name, -1, KindSealMismatch, "segment file has %d bytes, its seal says %d", res.bytes, seal.SegmentBytes)
	case flagged:
		// The file differs from what was sealed; the findings say where.
	case seal.SegmentSHA256 != "" && v.full && seal.SegmentSHA256 != v.fileDigest(name, res):
		v.add(name, -1, KindSealMismatch, "segment file's SHA-256 differs from its seal")
	case seal.RecordsSHA256 != "" && seal.RecordsSHA256 != segmentRecordsDigest(res):
		v.add(name, -1, KindSealMismatch, "segment's records differ from the leaf and record hashes its seal signs")
	}
	data, err := ReadSummary(filepath.Join(v.dir, summaryName(name)), seal, res.bytes)
	if errors.Is(err, ErrSummaryMismatch) {
		v.add(summaryName(name), -1, KindSummaryInvalid, "summary does not match the SHA-256 in its seal")
		return
	}
	if err != nil {
		v.add(summaryName(name), -1, KindSummaryInvalid, "summary unreadable: %s", oneLine(err))
		return
	}
	want, err := sum.Canonical()
	if err == nil && !bytes.Equal(want, data) {
		v.add(summaryName(name), -1, KindSummaryInvalid, "summary does not describe the segment's records")
	}
}

// fileDigest returns the hex SHA-256 of segment name, from the scan when
// it took one, else from the file: the scan skips it for a segment whose
// seal looked like v3 when the verifier started.
func (v *chainVerifier) fileDigest(name string, res *segmentResult) string {
	if res.sha256 != "" {
		return res.sha256
	}
	data, err := os.ReadFile(filepath.Join(v.dir, name))
	if err != nil {
		return ""
	}
	return fileSHA256(data)
}

// segmentRecordsDigest returns the v3 records digest of a segment, from its
// worker when it took one (see fileDigest).
func segmentRecordsDigest(res *segmentResult) string {
	if res.records != "" {
		return res.records
	}
	return linesDigest(res.lines)
}

// sealKind reports whether the seal file at path is there, and whether it
// starts like a v3 seal. It decides no verdict, only which digest to take
// while reading the segment: the signed seal is checked later.
func sealKind(path string) (sealed, v3 bool) {
	f, _, err := OpenStoreFile(path)
	if err != nil {
		return !errors.Is(err, fs.ErrNotExist), false
	}
	defer f.Close()
	head := make([]byte, len(sealHeader)+1)
	n, _ := io.ReadFull(f, head)
	return true, string(head[:n]) == sealHeader+"\n"
}

// bitset records which seqs were accepted. It covers seqs from base
// densely, growing with the chain; a seq far beyond what it covers (a
// forged one) goes into a map, so that no line can make it allocate more
// than the chain's length warrants.
type bitset struct {
	base  uint64
	words []uint64
	far   map[uint64]bool
}

// bitsetMaxJump is how far past its end (in words: 64 Mi seqs) the bitset
// grows at once.
const bitsetMaxJump = 1 << 20

func (b *bitset) set(i uint64) {
	if i < b.base {
		b.setFar(i)
		return
	}
	w := (i - b.base) / 64
	if w >= uint64(len(b.words)) {
		if w-uint64(len(b.words)) > bitsetMaxJump {
			b.setFar(i)
			return
		}
		b.words = append(b.words, make([]uint64, int(w)-len(b.words)+1)...)
	}
	b.words[w] |= 1 << ((i - b.base) % 64)
}

func (b *bitset) setFar(i uint64) {
	if b.far == nil {
		b.far = map[uint64]bool{}
	}
	b.far[i] = true
}

func (b *bitset) has(i uint64) bool {
	if i >= b.base {
		if w := (i - b.base) / 64; w < uint64(len(b.words)) && b.words[w]&(1<<((i-b.base)%64)) != 0 {
			return true
		}
	}
	return b.far[i]
}

// treeChecker compares the stored hashes the verifier computes with the
// tree.hashes file, sequentially, reading it in chunks (it holds about two
// hashes per record: too much to read whole for a large chain).
type treeChecker struct {
	f        *os.File
	size     int64  // bytes in the file
	buf      []byte // the file's bytes from bufAt
	bufAt    int64
	pos      int64 // next stored hash index
	mismatch int64 // first mismatching index, -1 if none
}

const treeChunk = 64 << 10

func newTreeChecker(path string, start int64) *treeChecker {
	f, st, err := OpenStoreFile(path)
	if err != nil {
		return nil
	}
	return &treeChecker{f: f, size: st.Size(), pos: tlog.StoredHashCount(start), mismatch: -1}
}

func (t *treeChecker) check(stored []tlog.Hash) {
	if t == nil {
		return
	}
	for _, h := range stored {
		off := t.pos * tlog.HashSize
		t.pos++
		if t.mismatch >= 0 || off+tlog.HashSize > t.size {
			continue
		}
		if off < t.bufAt || off+tlog.HashSize > t.bufAt+int64(len(t.buf)) {
			t.buf = t.buf[:cap(t.buf)]
			if len(t.buf) == 0 {
				t.buf = make([]byte, treeChunk)
			}
			n, err := t.f.ReadAt(t.buf, off)
			if n < tlog.HashSize && err != nil {
				t.size = off // unreadable from here: reported as too short
				continue
			}
			t.buf, t.bufAt = t.buf[:n], off
		}
		if !bytes.Equal(t.buf[off-t.bufAt:off-t.bufAt+tlog.HashSize], h[:]) {
			t.mismatch = t.pos - 1
		}
	}
}

// err reports a problem within the first n stored hashes, the part that
// must be durable, with the first seq the mismatching hash covers (-1 when
// none), and closes the file.
func (t *treeChecker) err(n int64) (int64, string) {
	if t == nil {
		return -1, ""
	}
	t.close()
	if t.size < n*tlog.HashSize {
		return -1, fmt.Sprintf("tree file has %d hashes, the latest checkpoint needs %d", t.size/tlog.HashSize, n)
	}
	if t.mismatch >= 0 && t.mismatch < n {
		// A storage index is no seq: say which records the hash covers.
		level, k := tlog.SplitStoredHashIndex(t.mismatch)
		from := k << level
		if level == 0 {
			return from, fmt.Sprintf("its leaf hash of seq %d does not match the record", from)
		}
		return from, fmt.Sprintf("its hash of seqs %d..%d (a level-%d subtree) does not match the records", from, from+1<<level-1, level)
	}
	return -1, ""
}

// ReadHashes reads stored hashes from the file: a tlog.HashReader, for
// the proofs that locate a record a checkpoint contradicts.
func (t *treeChecker) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	if t == nil || t.f == nil {
		return nil, errors.New("no tree file")
	}
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if _, err := t.f.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *treeChecker) close() {
	if t != nil && t.f != nil {
		t.f.Close()
		t.f = nil
	}
}

// belowCut reports whether every record of a segment precedes cut.
func belowCut(res *segmentResult, cut uint64) bool {
	for _, li := range res.lines {
		if li.status >= lineMalformed || li.seq >= cut {
			return false
		}
	}
	return true
}
