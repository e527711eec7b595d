package auditlog

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
)

// errNotRegular is OpenStoreFile's error for a FIFO, device, socket or
// directory where a store file belongs.
var errNotRegular = errors.New("not a regular file")

// Size caps for the store's small files. Each is far above what the writer
// ever produces, so that reaching one means the file is not the writer's:
// without them a sparse file or a link to /dev/zero made readers allocate
// its whole size and die out of memory.
const (
	// MaxNoteBytes caps a checkpoint (latest or history) and a seal: a few
	// hundred bytes each, with one signature line per key.
	MaxNoteBytes = 64 << 10
	// MaxPruneMarkerBytes caps a prune marker, whose segments line names
	// every segment that prune removed (27 bytes each: 600,000 here).
	MaxPruneMarkerBytes = 16 << 20
	// MaxLegalHoldBytes caps a legal_hold file, written by people: some
	// 200,000 hold lines. Prune reads it holding the prune lock, which
	// every reader waits for, so it must not read a /dev/zero for good.
	MaxLegalHoldBytes = 4 << 20
	// sealIndexEntryBytes is an upper bound of one seal index line: 25
	// bytes of segment name, a space, 64 hex digits and a newline.
	sealIndexEntryBytes = 128
)

// SealIndexLimit is the largest seal index a chain can have: one line per
// segment on disk (segments) and per segment a prune may have removed
// (one per record below its cut at most), with a margin for the header
// and signatures.
func SealIndexLimit(segments int, cut uint64) int64 {
	n := uint64(segments) + cut
	if n > (1<<62)/sealIndexEntryBytes {
		return 1 << 62
	}
	return MaxNoteBytes + int64(n)*sealIndexEntryBytes
}

// SummaryLimit is the largest summary a segment of segmentBytes can have:
// every value it lists appears, encoded the same way, in one of the
// segment's records, so the lists are no longer than the segment. Pass
// the size a verified seal signs (Seal.SegmentBytes), not the segment
// file's: whoever can write the store can make that file as large as they
// like (a sparse file costs no disk), and the cap with it. ReadSummary
// does both.
func SummaryLimit(segmentBytes int64) int64 {
	return MaxNoteBytes + max(segmentBytes, 0)
}

// ErrSummaryMismatch is ReadSummary's error for a summary file whose
// SHA-256 is not the one its seal signs.
var ErrSummaryMismatch = errors.New("summary does not match the SHA-256 its seal signs")

// ReadSummary reads the summary of a sealed segment, whose seal the caller
// has verified, and returns it only if its SHA-256 is the seal's
// SummarySHA256 (else ErrSummaryMismatch).
//
// Neither its memory nor its reading time follows a size the store's
// writer-by-hand controls. The cap is SummaryLimit of the segment size the
// seal signs (v2 and v3 seals); only a v1 seal, which signs no size, falls
// back to segmentBytes, the caller's size of the segment file. And the file
// is hashed while streamed, 64 KiB at a time, before anything is kept: a
// forged summary of any size up to the cap costs 64 KiB, and only the
// summary the seal signs — the writer's own, of a size it chose — is read
// into memory, at its exact size.
func ReadSummary(path string, seal Seal, segmentBytes int64) ([]byte, error) {
	limit := SummaryLimit(segmentBytes)
	if seal.HasSegmentDigest() {
		limit = SummaryLimit(seal.SegmentBytes)
	}
	f, err := openCapped(path, limit, "a summary of its segment")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.CopyBuffer(h, io.LimitReader(f, limit+1), make([]byte, 64<<10))
	switch {
	case err != nil:
		return nil, err
	case n > limit:
		return nil, fmt.Errorf("%s has more than the %d bytes a summary of its segment can hold", path, limit)
	case hex.EncodeToString(h.Sum(nil)) != seal.SummarySHA256:
		return nil, ErrSummaryMismatch
	}
	// The bytes hashed are the seal's; read them again, as the file may have
	// changed since, and check them once more.
	data := make([]byte, n)
	if _, err := f.ReadAt(data, 0); err != nil {
		return nil, err
	}
	if fileSHA256(data) != seal.SummarySHA256 {
		return nil, ErrSummaryMismatch
	}
	return data, nil
}

// OpenStoreFile opens a file of a store for reading, refusing anything but
// a regular file. It opens without blocking where the system allows it
// (O_NONBLOCK): a FIFO put in place of a store file would otherwise block
// the open, or the first read, until something writes to it, and hang
// verify for good. Symbolic links are followed, so that a store laid out
// with links (a backup, a symlink farm) still reads; the file they lead to
// must be regular too, which refuses /dev/zero and the like.
func OpenStoreFile(path string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w (%s)", path, errNotRegular, fileType(st.Mode()))
	}
	return f, st, nil
}

// ReadStoreFile reads a small file of a store whole, as OpenStoreFile
// opens it, refusing one of more than limit bytes: the size caps above,
// each well beyond what the writer produces.
func ReadStoreFile(path string, limit int64) ([]byte, error) {
	f, err := openCapped(path, limit, "such a file")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// The size read is what counts: the file may grow after the stat.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s has more than the %d bytes such a file can hold", path, limit)
	}
	return data, nil
}

// openCapped opens path as OpenStoreFile does and refuses a file of more
// than limit bytes, which what (the kind of file) can hold.
func openCapped(path string, limit int64, what string) (*os.File, error) {
	f, st, err := OpenStoreFile(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > limit {
		f.Close()
		return nil, fmt.Errorf("%s has %d bytes, more than the %d %s can hold", path, st.Size(), limit, what)
	}
	return f, nil
}

func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}
