package auditlog

import (
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
// segment's records, so the lists are no longer than the segment.
func SummaryLimit(segmentBytes int64) int64 {
	return MaxNoteBytes + max(segmentBytes, 0)
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
	f, st, err := OpenStoreFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st.Size() > limit {
		return nil, fmt.Errorf("%s has %d bytes, more than the %d such a file can hold", path, st.Size(), limit)
	}
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
