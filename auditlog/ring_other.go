//go:build !linux

package auditlog

import (
	"errors"
	"os"
	"time"

	"go.uber.org/zap"
)

// ring is Linux's; elsewhere files are written with write(2) and fsynced
// with fsync(2).
type ring struct{}

func newRing(*zap.Logger, time.Duration) (*ring, error) {
	return nil, errors.New("io_uring is Linux's")
}

func (*ring) sync(f *os.File) error { return f.Sync() }

func (*ring) syncAfter(*os.File) (func() error, error) { return nil, errors.New("io_uring is Linux's") }

func (*ring) write(f *os.File, b []byte, off int64) (int, error) { return plainWrite(f, b, off) }

func (*ring) startAppend(f *os.File, b []byte, off int64) (func() error, error) {
	return submitNow(plainWrite)(f, b, off)
}

func (*ring) close() error { return nil }
