package auditlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ErrIncompleteLine is in the error of ReadSegmentFile for a file that
// ends without a newline: a torn write, trailing garbage, or, at the end
// of the last segment of a store a writer holds (WriterHolds), a write in
// flight.
var ErrIncompleteLine = errors.New("incomplete line without newline")

// ErrLineTooLong is in the error of ReadSegmentFile for a line longer
// than MaxRecordBytes: no record is, and the line is not read whole.
var ErrLineTooLong = errors.New("line longer than any record (MaxRecordBytes)")

// ReadSegmentFile decodes the records of one segment file in order and
// calls fn with each record and its line (without the newline); both are
// only valid during the call (the record is reused). It returns fn's first
// error, or an error naming the line when a line does not decode, is
// longer than MaxRecordBytes (ErrLineTooLong) or the file ends without a
// newline (ErrIncompleteLine), after fn has seen every line before it. It
// does not check hashes: see VerifySegment.
//
// It reads the file a line at a time and holds at most MaxRecordBytes of
// it, whatever the file holds (it read the file whole, and a segment with
// gigabytes appended took as much memory).
func ReadSegmentFile(path string, fn func(r *Record, line []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var rec Record
	return forEachLine(f, func(n int, line []byte, err error) error {
		if err != nil {
			return fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		if err := DecodeRecord(line, &rec); err != nil {
			return fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		return fn(&rec, line)
	})
}

// forEachLine calls fn with each line of r (1-based number, the line
// without its newline) until fn returns an error, which it returns. A
// line longer than MaxRecordBytes, newline included, and a last line
// without a newline are passed to fn as ErrLineTooLong and
// ErrIncompleteLine with a nil line instead. It holds at most
// MaxRecordBytes of r at once.
func forEachLine(r io.Reader, fn func(n int, line []byte, err error) error) error {
	buf := make([]byte, 64<<10)
	start, end, lineNo := 0, 0, 1
	for {
		m, rerr := r.Read(buf[end:])
		end += m
		for {
			nl := bytes.IndexByte(buf[start:end], '\n')
			if nl < 0 {
				break
			}
			if err := fn(lineNo, buf[start:start+nl], nil); err != nil {
				return err
			}
			start += nl + 1
			lineNo++
		}
		if rerr == io.EOF {
			if start < end {
				return fn(lineNo, nil, ErrIncompleteLine)
			}
			return nil
		}
		if rerr != nil {
			return rerr
		}
		end = copy(buf, buf[start:end])
		start = 0
		if end == len(buf) {
			if len(buf) >= MaxRecordBytes {
				return fn(lineNo, nil, ErrLineTooLong)
			}
			grown := make([]byte, min(2*len(buf), MaxRecordBytes))
			copy(grown, buf[:end])
			buf = grown
		}
	}
}

// SegmentFiles returns the segment file names of a chain in order.
func SegmentFiles(dir, chain string) ([]string, error) {
	if !ValidChainName(chain) {
		return nil, fmt.Errorf("%q is not a chain name", chain)
	}
	return listSegments(filepath.Join(dir, chain))
}

// Reader reads a store for queries and proves what it returns without
// reading the whole store: a sealed segment is checked against its signed
// seal (first seq, count, first prev_hash, last hash), whose signed summary
// lets a query skip segments that cannot match; the active segment is
// checked against the latest signed checkpoint through the Merkle
// frontier in tree.hashes. A full audit is Verify's job.
//
// A Reader holds no open files and is safe for concurrent use.
type Reader struct {
	dir       string
	verifiers note.Verifiers
}

// NewReader returns a Reader of the store in dir. With nil verifiers
// nothing is verified and every result says so.
func NewReader(dir string, verifiers note.Verifiers) (*Reader, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("auditlog: %s is not a directory", dir)
	}
	return &Reader{dir: dir, verifiers: verifiers}, nil
}

// Chains returns the store's chain names, sorted; see the function Chains.
func (r *Reader) Chains() ([]string, error) { return Chains(r.dir) }

// SegmentInfo describes one segment file of a chain.
type SegmentInfo struct {
	Chain string
	Name  string
	// FirstSeq is the first seq the file name claims.
	FirstSeq uint64
	// Sealed is true when the segment has a seal file.
	Sealed bool
	// Seal and Summary are set for a sealed segment whose seal verifies
	// and whose summary matches the hash in the seal.
	Seal    *Seal
	Summary *Summary
	// Problem says why a sealed segment's seal or summary is not usable.
	Problem string
}

// Segments lists a chain's segments in order, with verified seals and
// summaries for the sealed ones (only signatures and summary hashes are
// checked here: no segment is read).
func (r *Reader) Segments(chain string) ([]SegmentInfo, error) {
	names, err := SegmentFiles(r.dir, chain)
	if err != nil {
		return nil, fmt.Errorf("auditlog: %w", err)
	}
	dir := filepath.Join(r.dir, chain)
	out := make([]SegmentInfo, 0, len(names))
	for _, n := range names {
		first, ok := parseSegmentName(n)
		if !ok {
			continue
		}
		si := SegmentInfo{Chain: chain, Name: n, FirstSeq: first}
		msg, err := ReadStoreFile(filepath.Join(dir, sealName(n)), MaxNoteBytes)
		if err == nil {
			si.Sealed = true
			si.Seal, si.Summary, si.Problem = r.openSeal(dir, n, msg)
		}
		out = append(out, si)
	}
	return out, nil
}

func (r *Reader) openSeal(dir, name string, msg []byte) (*Seal, *Summary, string) {
	if r.verifiers == nil {
		return nil, nil, "no verifier key given"
	}
	seal, err := OpenSeal(msg, r.verifiers)
	if err != nil {
		return nil, nil, "seal: " + oneLine(err)
	}
	if seal.Segment != name {
		return nil, nil, "seal is for segment " + seal.Segment
	}
	data, err := ReadSummary(filepath.Join(dir, summaryName(name)), seal, segmentSize(filepath.Join(dir, name)))
	if errors.Is(err, ErrSummaryMismatch) {
		return nil, nil, "summary does not match its seal"
	}
	if err != nil {
		return nil, nil, "summary: " + oneLine(err)
	}
	var sum Summary
	if err := json.Unmarshal(data, &sum); err != nil {
		return nil, nil, "summary: " + oneLine(err)
	}
	return &seal, &sum, ""
}

// SegmentCheck is what ReadSegment proved about a segment.
type SegmentCheck struct {
	// Verified is true when every record passed to fn is proven by a
	// signed seal or checkpoint.
	Verified bool
	// Records is the number of records read; Unproven of them (the tail of
	// the active segment written after the latest checkpoint) are only
	// hash-chained, not yet signed.
	Records  uint64
	Unproven uint64
	// Problems lists what failed, one line each.
	Problems []string
}

// ReadSegment reads one segment, checks it and calls fn with each record
// (reused between calls) in order. Every record's hash, canonical form,
// seq and prev_hash link are checked; a sealed segment must match its
// verified seal; the active segment must extend the previous seal and
// reproduce the latest checkpoint's root. fn's error stops the read and is
// returned.
func (r *Reader) ReadSegment(seg SegmentInfo, fn func(*Record) error) (SegmentCheck, error) {
	var chk SegmentCheck
	dir := filepath.Join(r.dir, seg.Chain)
	data, err := os.ReadFile(filepath.Join(dir, seg.Name))
	if err != nil {
		return chk, fmt.Errorf("auditlog: %w", err)
	}
	problem := func(format string, args ...any) { chk.Problems = append(chk.Problems, fmt.Sprintf(format, args...)) }
	var (
		rec       Record
		sc        lineScanner
		prevHash  string
		firstPrev string
		next      = seg.FirstSeq
		leaves    []tlog.Hash
	)
	for lineNo := 1; len(data) > 0; lineNo++ {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			problem("line %d: incomplete line", lineNo)
			break
		}
		line := data[:nl]
		data = data[nl+1:]
		var li lineInfo
		if err := sc.scan(line, &li); err != nil {
			problem("line %d: %s", lineNo, oneLine(err))
			continue
		}
		if li.status != lineOK {
			problem("seq %d: %s", li.seq, li.detail)
		}
		if li.seq != next {
			problem("seq %d where %d was expected", li.seq, next)
		}
		if chk.Records == 0 {
			firstPrev = li.prev
		} else if li.prev != prevHash {
			problem("seq %d: prev_hash does not link", li.seq)
		}
		prevHash, next = li.hash, li.seq+1
		leaves = append(leaves, li.leaf)
		chk.Records++
		if err := DecodeRecord(line, &rec); err != nil {
			problem("line %d: %s", lineNo, oneLine(err))
			continue
		}
		if err := fn(&rec); err != nil {
			return chk, err
		}
	}
	if r.verifiers == nil {
		problem("no verifier key given")
		return chk, nil
	}
	if seg.Sealed {
		switch {
		case seg.Seal == nil:
			problem("seal not usable: %s", seg.Problem)
		case seg.Seal.FirstSeq != seg.FirstSeq || seg.Seal.Count != chk.Records || seg.Seal.LastHash != prevHash ||
			seg.Seal.FirstPrevHash != firstPrev:
			problem("segment does not match its seal")
		}
	} else {
		r.checkActive(dir, seg, leaves, &chk, problem)
	}
	chk.Verified = len(chk.Problems) == 0
	return chk, nil
}

// checkActive proves the active segment against the latest checkpoint:
// the frontier at its first seq (from tree.hashes) plus its leaves must
// give the checkpoint's root; the records after the checkpoint are
// counted as unproven.
func (r *Reader) checkActive(dir string, seg SegmentInfo, leaves []tlog.Hash, chk *SegmentCheck, problem func(string, ...any)) {
	msg, err := ReadStoreFile(filepath.Join(dir, CheckpointFile), MaxNoteBytes)
	if err != nil {
		problem("no checkpoint: %s", oneLine(err))
		return
	}
	cp, err := OpenCheckpoint(msg, r.verifiers)
	if err != nil {
		problem("checkpoint: %s", oneLine(err))
		return
	}
	end := seg.FirstSeq + uint64(len(leaves))
	switch {
	case cp.Size < seg.FirstSeq:
		chk.Unproven = uint64(len(leaves))
		problem("checkpoint size %d is before the segment", cp.Size)
		return
	case cp.Size > end:
		problem("checkpoint covers %d records, the chain has %d", cp.Size, end)
		return
	}
	f, _, err := OpenStoreFile(filepath.Join(dir, TreeFile))
	if err != nil {
		problem("tree file: %s", oneLine(err))
		return
	}
	defer f.Close()
	front, err := readFrontier(f, int64(seg.FirstSeq))
	if err != nil {
		problem("tree file: %s", oneLine(err))
		return
	}
	for _, l := range leaves[:cp.Size-seg.FirstSeq] {
		front.push(l, nil)
	}
	if front.root() != cp.Root {
		problem("records do not reproduce the latest checkpoint's root")
		return
	}
	chk.Unproven = end - cp.Size
}

// Records calls fn for every record of every chain, chain by chain in
// name order, without verification (see Verify and ReadSegment).
func (r *Reader) Records(fn func(*Record) error) error {
	chains, err := r.Chains()
	if err != nil {
		return err
	}
	for _, c := range chains {
		names, err := SegmentFiles(r.dir, c)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := ReadSegmentFile(filepath.Join(r.dir, c, n), func(rec *Record, _ []byte) error { return fn(rec) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// segmentSize is the size of a segment file, 0 when it cannot be read.
func segmentSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}
