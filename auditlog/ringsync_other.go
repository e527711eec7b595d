//go:build !linux

package auditlog

import (
	"errors"
	"os"
)

// ringSyncer is Linux's; elsewhere files are fsynced with fsync(2).
type ringSyncer struct{}

func newRingSyncer() (*ringSyncer, error) { return nil, errors.New("io_uring is Linux's") }

func (*ringSyncer) sync(f *os.File) error { return f.Sync() }

func (*ringSyncer) close() error { return nil }
