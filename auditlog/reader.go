package auditlog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// ReadSegmentFile decodes the records of one segment file in order and
// calls fn with each record and its line (without the newline); both are
// only valid during the call (the record is reused). It returns fn's first
// error, or an error naming the line when a line does not decode or the
// file ends without a newline. It does not check hashes: see VerifySegment.
func ReadSegmentFile(path string, fn func(r *Record, line []byte) error) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rec Record
	for n := 1; len(data) > 0; n++ {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			return fmt.Errorf("%s: line %d: incomplete line without newline", path, n)
		}
		line := data[:nl]
		data = data[nl+1:]
		if err := DecodeRecord(line, &rec); err != nil {
			return fmt.Errorf("%s: line %d: %w", path, n, err)
		}
		if err := fn(&rec, line); err != nil {
			return err
		}
	}
	return nil
}

// Chains returns the chain directory names of the store in dir, sorted.
func Chains(dir string) ([]string, error) { return listChains(dir) }

// SegmentFiles returns the segment file names of a chain in order.
func SegmentFiles(dir, chain string) ([]string, error) {
	if !ValidChainName(chain) {
		return nil, fmt.Errorf("%q is not a chain name", chain)
	}
	return listSegments(filepath.Join(dir, chain))
}
