package auditlog

import (
	"os"
	"time"

	"go.uber.org/zap"
	"golang.org/x/mod/sumdb/note"
)

// Defaults of the Store options.
const (
	// DefaultSegmentMaxBytes is the size at which a segment is sealed.
	DefaultSegmentMaxBytes = 64 << 20
	// DefaultSegmentMaxAge is the age at which a segment is sealed.
	DefaultSegmentMaxAge = time.Hour
	// DefaultDedupWindow is how many recent (trace_id, span_id) keys a
	// Store remembers to drop redelivered spans.
	DefaultDedupWindow = 1 << 20
	// MaxDedupWindow is the largest dedup window Open accepts: 16,777,216
	// keys, 768 MiB (a 256 MiB ring of keys in arrival order and a 512 MiB
	// table, resident from Open). A window is allocated whole when the
	// store opens, so a larger one would exhaust memory before the first
	// record.
	MaxDedupWindow = 1 << 24
	// DefaultChain is the chain of records whose Retention.Class is empty.
	DefaultChain = "general"
)

// Option configures Open.
type Option func(*options)

type options struct {
	origin             string
	signer             note.Signer
	segmentMaxBytes    int64
	segmentMaxAge      time.Duration
	checkpointInterval time.Duration
	dedupWindow        int
	logger             *zap.Logger
	clock              func() time.Time
	defaultChain       string
	canonicalPayloads  bool
	transientHashes    bool
	// syncFile fsyncs a segment or tree file: nil for the default, an
	// io_uring where the system has one (see ring), else fsync(2).
	// Tests replace it to make fsync fail, which a real disk does only
	// when it breaks.
	syncFile func(*os.File) error
	// syncAfter, where set, submits an fsync of a segment to start once
	// the fsync running now has returned, and gives the wait for it: the
	// store's io_uring, unless a test sets its own (see Txn.Commit). Left
	// nil when a test sets syncFile only.
	syncAfter func(*os.File) (wait func() error, err error)
	// writeIdle writes all of b to a segment (off < 0: at its end) or a
	// tree file (at off), for writes that may come first after an idle
	// wait: nil for the default, an io_uring where the system has one
	// (see ring), else write(2). writeBusy is write(2), for writes made
	// while a flight's fsync runs (see chainTxn). Tests replace both.
	writeIdle, writeBusy writeFunc
	// writeDirect submits a direct append to a segment (see
	// directWriter): nil for the default, the io_uring of writeIdle
	// where it has one, else writeIdle itself, which waits.
	writeDirect submitFunc
	// directLockWait is how long opening a segment for direct writes
	// waits for an earlier writer's (see lockDirect): directLockWait
	// unless a test sets it.
	directLockWait time.Duration
	// bufferedWrites writes segments through the page cache even where
	// the file system takes direct writes (see directWriter): for tests
	// that count the writes a commit makes.
	bufferedWrites bool
	// ringCancelAfter, when positive, replaces how long a write through
	// the store's write ring waits before it is cancelled (ringCancelAfter;
	// see newRing): for tests that make the watchdog fire under load.
	ringCancelAfter time.Duration
}

func defaultOptions() options {
	return options{
		segmentMaxBytes: DefaultSegmentMaxBytes,
		segmentMaxAge:   DefaultSegmentMaxAge,
		dedupWindow:     DefaultDedupWindow,
		logger:          zap.NewNop(),
		clock:           time.Now,
		defaultChain:    DefaultChain,
		directLockWait:  directLockWait,
	}
}

// WithOrigin names this writer's chains: chain id = origin + "/" + chain
// name, which is also the origin line of their checkpoints. Required; use
// a stable name such as "example.com/otelaudit/gateway-1".
func WithOrigin(origin string) Option { return func(o *options) { o.origin = origin } }

// WithSigner sets the note signer (Ed25519, golang.org/x/mod/sumdb/note)
// that signs checkpoints, seals and prune markers. Required.
func WithSigner(s note.Signer) Option { return func(o *options) { o.signer = s } }

// WithSegmentMaxBytes seals the active segment of a chain once it holds at
// least n bytes (checked before each batch, so a segment may exceed n by
// one batch). Default DefaultSegmentMaxBytes; n <= 0 keeps the default.
func WithSegmentMaxBytes(n int64) Option {
	return func(o *options) {
		if n > 0 {
			o.segmentMaxBytes = n
		}
	}
}

// WithSegmentMaxAge seals the active segment once its first record is
// older than d (checked before each batch and by the checkpoint ticker).
// Default DefaultSegmentMaxAge; d <= 0 keeps the default.
func WithSegmentMaxAge(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.segmentMaxAge = d
		}
	}
}

// WithCheckpointInterval makes the store write a signed checkpoint for
// every chain with new records every d, from its own goroutine, and seal
// segments past their max age. Default 0: checkpoints only at seal and
// Close.
func WithCheckpointInterval(d time.Duration) Option {
	return func(o *options) { o.checkpointInterval = d }
}

// WithDedupWindow sets how many recent (trace_id, span_id) keys are
// remembered, across restarts, to skip redelivered spans. Default
// DefaultDedupWindow (at most 48 MB of memory at the default: 16 bytes
// per key in arrival order and a hash table kept at most 3/4 full); n <= 0
// disables deduplication; Open refuses n above MaxDedupWindow.
func WithDedupWindow(n int) Option { return func(o *options) { o.dedupWindow = n } }

// WithLogger sets the logger for repairs and background errors. Default: a
// no-op logger.
func WithLogger(l *zap.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.logger = l
		}
	}
}

// WithClock sets the clock used for segment ages, checkpoint and prune
// times. Default time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) {
		if now != nil {
			o.clock = now
		}
	}
}

// WithDefaultChain names the chain of records with an empty
// Retention.Class. Default DefaultChain.
func WithDefaultChain(name string) Option { return func(o *options) { o.defaultChain = name } }

// WithCanonicalPayloads declares that every record appended to the store
// carries Arguments and ResultSummary that are already canonical JSON
// (RFC 8785) or empty, as CanonicalizeJSON and AppendJSONString return
// them. The store then copies them into the record's canonical text as
// they are, instead of checking each one with a validating scan, which is
// a good part of the cost of encoding a record. For writers that build
// payloads with this package, such as the audit exporter; a payload that
// breaks the promise is written as it is and fails verification. Off by
// default.
func WithCanonicalPayloads() Option { return func(o *options) { o.canonicalPayloads = true } }

// WithTransientHashes declares that the writer does not keep the Hash and
// PrevHash strings that Append and Txn.Append fill in past its next call
// of either on the store (copying them, e.g. with strings.Clone, if it
// needs them longer). The store then writes each chain's hashes into one
// buffer that it reuses for the next part, instead of allocating 64 bytes
// per record for them, which a writer that drops its records after
// appending them, such as the audit exporter, would only leave to the
// garbage collector. Off by default: the strings are the records' own.
func WithTransientHashes() Option { return func(o *options) { o.transientHashes = true } }
