package auditexporter

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/client"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/mod/sumdb/note"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// auditExporter writes tool spans to an audit store. exporterhelper calls
// pushTraces concurrently (one call per sending-queue consumer); each call
// maps its spans itself, and the group committer merges the records of
// concurrent calls into one store append: one fsync per chain for all of
// them.
type auditExporter struct {
	cfg       *Config
	set       exporter.Settings
	mapOpts   toolspan.Options
	retention *retentionPolicy
	tel       *telemetry
	// clientFromData is set when the sending queue loses the request
	// context: the client then travels in clientAttribute.
	clientFromData bool
	now            func() time.Time // Config.now, else time.Now

	mu    sync.Mutex // guards store across start, shutdown and pushes
	store *auditlog.Store

	group groupCommitter // merges concurrent pushes into one append
	slots mapSlots       // admits pushes to mapping and staging

	batches sync.Pool // *batch
}

// batch is the scratch space of one pushTraces call, pooled because a
// 1,000-span batch would otherwise allocate half a megabyte of records and
// as much again for their strings and payloads.
type batch struct {
	recs []auditlog.Record
	ptrs []*auditlog.Record
	// mapper holds the memory of the records' strings and payloads. It
	// is reset, and its memory overwritten by the next batch, only once
	// nothing refers to the records: putBatch runs after the append that
	// held them has returned (the store copies what it keeps), never for
	// a batch whose caller abandoned it to a running append.
	mapper *toolspan.Mapper
	// pend carries the batch through the group committer; it is reused
	// with the rest, never after an abandoned commit.
	pend *pending
}

// pointers points b.ptrs at the records in b.recs, the form the store
// takes them in.
func (b *batch) pointers() []*auditlog.Record {
	b.ptrs = b.ptrs[:0]
	for i := range b.recs {
		b.ptrs = append(b.ptrs, &b.recs[i])
	}
	return b.ptrs
}

func newAuditExporter(cfg *Config, set exporter.Settings) (*auditExporter, error) {
	tel, err := newTelemetry(set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("audit exporter: telemetry: %w", err)
	}
	now := cfg.now
	if now == nil {
		now = time.Now
	}
	return &auditExporter{
		cfg:       cfg,
		set:       set,
		mapOpts:   toolspan.Options{MaxPayloadBytes: cfg.MaxPayloadBytes},
		retention: newRetentionPolicy(cfg.Retention),
		tel:       tel,

		clientFromData: contextLost(cfg.QueueConfig),
		now:            now,
		batches:        sync.Pool{New: func() any { return &batch{pend: newPending(nil)} }},
		slots:          newMapSlots(runtime.GOMAXPROCS(0)),
	}, nil
}

// start reads the signing key and opens the store, failing the collector's
// start with a clear reason when the key is unreadable or invalid, or the
// directory cannot be created, locked or written.
func (e *auditExporter) start(_ context.Context, _ component.Host) error {
	for _, w := range e.cfg.warnings() {
		e.set.Logger.Warn(w)
	}
	signer, err := e.signer()
	if err != nil {
		return err
	}
	store, err := auditlog.Open(e.cfg.Directory,
		auditlog.WithOrigin(e.cfg.Origin),
		auditlog.WithSigner(signer),
		auditlog.WithSegmentMaxBytes(e.cfg.Segment.MaxBytes),
		auditlog.WithSegmentMaxAge(e.cfg.Segment.MaxAge),
		auditlog.WithCheckpointInterval(e.cfg.CheckpointInterval),
		auditlog.WithDedupWindow(e.cfg.DedupWindow),
		auditlog.WithDefaultChain(e.cfg.Retention.DefaultClass),
		auditlog.WithLogger(e.set.Logger),
		// toolspan.Map builds every payload with the store's own
		// canonicalizer (its tests hold it to that): checking them again
		// would only cost time.
		auditlog.WithCanonicalPayloads(),
		// The mapper's records are reused for the next part and nothing
		// reads their hashes after the append.
		auditlog.WithTransientHashes(),
	)
	if err != nil {
		return fmt.Errorf("audit exporter: opening the audit store in directory %q: %w", e.cfg.Directory, err)
	}
	e.mu.Lock()
	e.store = store
	e.mu.Unlock()
	return nil
}

// signer parses the configured note signer key.
func (e *auditExporter) signer() (note.Signer, error) {
	key := string(e.cfg.SigningKey)
	source := "signing_key"
	if e.cfg.SigningKeyFile != "" {
		source = fmt.Sprintf("signing_key_file %q", e.cfg.SigningKeyFile)
		b, err := os.ReadFile(e.cfg.SigningKeyFile)
		if err != nil {
			return nil, fmt.Errorf("audit exporter: reading %s: %w", source, err)
		}
		key = string(b)
	}
	s, err := note.NewSigner(strings.TrimSpace(key))
	if err != nil {
		// The error of note.NewSigner never contains the key.
		return nil, fmt.Errorf("audit exporter: %s does not hold a note signer key (PRIVATE+KEY+...; see `otelaudit keygen`): %w", source, err)
	}
	return s, nil
}

// shutdown closes the store, writing final checkpoints. exporterhelper has
// drained the sending queue before calling it. Safe without start.
func (e *auditExporter) shutdown(context.Context) error {
	e.mu.Lock()
	store := e.store
	e.store = nil
	e.mu.Unlock()
	if store == nil {
		return nil
	}
	if err := store.Close(); err != nil {
		return fmt.Errorf("audit exporter: closing the audit store: %w", err)
	}
	return nil
}

func (e *auditExporter) currentStore() *auditlog.Store {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.store
}

// pushTraces maps the tool spans of td to records, tags their retention and
// appends them to the store. It returns nil only once every record is
// durable (or was already in the store). Write errors, a full disk among
// them, are retryable: the store rolls the failed chain back, and records
// that did reach the disk are recognised as duplicates on the retry.
//
// When no other batch is being written or waiting, the batch is staged
// as it is mapped, partRecords records at a time, in one store
// transaction with one fsync: each part is encoded and hashed while its
// records and the span data they point to are still in the CPU's cache
// (mapping a whole batch first and encoding it afterwards read every
// string from memory twice). Otherwise the batch is mapped whole and goes
// through the group committer, which writes it with the others waiting.
func (e *auditExporter) pushTraces(ctx context.Context, td ptrace.Traces) error {
	store := e.currentStore()
	if store == nil {
		return errors.New("audit exporter: the audit store is not open (exporter not started or already shut down)")
	}
	if err := e.slots.enter(ctx); err != nil {
		e.tel.record(ctx, 0, 0, 0, true)
		return fmt.Errorf("audit exporter: waiting to map the batch: %w", err)
	}
	inSlot := true
	leaveSlot := func() {
		if inSlot {
			inSlot = false
			e.slots.leave()
		}
	}
	defer leaveSlot()
	b := e.batches.Get().(*batch)
	recycle := true
	defer func() {
		if recycle {
			e.putBatch(b)
		}
	}()
	// The batch's records share a few blocks of memory, reused by the
	// next batch that takes b from the pool.
	if b.mapper == nil {
		b.mapper = toolspan.NewReusingMapper(e.mapOpts)
	}

	if e.group.tryLead() {
		res, skipped, n, err := e.writeAsMapped(ctx, store, td, b, leaveSlot)
		return e.result(ctx, res, skipped, n, err)
	}

	skipped, _ := e.mapSpans(ctx, td, b, 0, nil)
	// What is left, the group's staging and the fsync, is shared with
	// the other batches of the group.
	leaveSlot()
	if len(b.recs) == 0 {
		e.tel.record(ctx, 0, 0, skipped, false)
		return nil
	}
	b.pend.recs = b.pointers()
	res, err := e.group.commitPending(ctx, storeStager(store), b.pend)
	if _, abandoned := errors.AsType[errAbandoned](err); abandoned {
		// Another caller's append may still be reading these records:
		// clearing them for reuse would write zeroed records.
		recycle = false
	}
	return e.result(ctx, res, skipped, len(b.ptrs), err)
}

// partRecords is how many records pushTraces maps before it hands them to
// the store when it writes a batch as it maps it: their records (about
// 600 bytes each), the span data they point to and their text stay within
// a core's second-level cache.
const partRecords = 128

// writeAsMapped maps td and writes it in one store transaction, a part of
// partRecords records at a time, as the group committer's leader: it
// passes leadership on once the batch is staged, before the fsync, and
// calls staged then (which gives back the caller's mapping slot). It
// returns the store's result, the spans skipped and the records mapped.
func (e *auditExporter) writeAsMapped(ctx context.Context, store *auditlog.Store, td ptrace.Traces, b *batch, staged func()) (auditlog.AppendResult, int, int, error) {
	leading := true
	defer func() {
		if leading {
			e.group.release()
		}
	}()
	txn, err := store.Begin(ctx)
	if err != nil {
		return auditlog.AppendResult{}, 0, 0, err
	}
	defer txn.Abort() // after Commit, nothing; with nothing mapped, the end
	mapped := 0
	// A part that fails fails the transaction: Commit then cuts back the
	// others and returns the part's error.
	skipped, _ := e.mapSpans(ctx, td, b, partRecords, func(part []*auditlog.Record) error {
		mapped += len(part)
		return txn.Append(part)
	})
	if mapped == 0 {
		return auditlog.AppendResult{}, skipped, 0, nil
	}
	// The next batch is staged while this one's fsync runs.
	leading = false
	e.group.release()
	staged()
	res, err := txn.Commit()
	return res, skipped, mapped, err
}

// mapSpans maps the tool spans of td into b.recs. With part > 0 it hands
// the records to write every part records, and at the end, and reuses
// their slots for the next ones (write returning an error stops the
// mapping); with part 0 it leaves the whole batch in b.recs. It returns
// the spans skipped as not tool calls.
func (e *auditExporter) mapSpans(ctx context.Context, td ptrace.Traces, b *batch, part int, write func([]*auditlog.Record) error) (int, error) {
	skipped := 0
	ctxClient := ""
	if !e.clientFromData {
		ctxClient = clientIdentity(client.FromContext(ctx))
	}
	mapper := b.mapper
	// Retention counts from the later of a span's start and now: a span
	// whose start is far back (an agent's clock, a missing start time)
	// must not make its record prunable as soon as it is written.
	written := pcommon.NewTimestampFromTime(e.now())
	flush := func() error {
		err := write(b.pointers())
		b.recs = b.recs[:0]
		return err
	}
	for _, rs := range td.ResourceSpans().All() {
		res := rs.Resource()
		clientID := ctxClient
		if e.clientFromData {
			clientID = ""
			if v, ok := res.Attributes().Get(clientAttribute); ok {
				clientID = v.Str()
			}
		}
		for _, ss := range rs.ScopeSpans().All() {
			scope := ss.Scope()
			for _, span := range ss.Spans().All() {
				// Map straight into the batch's slice: a record is large,
				// and MapInto overwrites the slot whole, so a slot that
				// the slice already has is taken as it is.
				if len(b.recs) < cap(b.recs) {
					b.recs = b.recs[:len(b.recs)+1]
				} else {
					b.recs = append(b.recs, auditlog.Record{})
				}
				rec := &b.recs[len(b.recs)-1]
				if !mapper.MapInto(rec, res, scope, span) {
					b.recs = b.recs[:len(b.recs)-1]
					skipped++
					continue
				}
				rec.Source.Client = clientID
				e.retention.apply(rec, max(span.StartTimestamp(), written), mapper)
				if part > 0 && len(b.recs) == part {
					if err := flush(); err != nil {
						return skipped, err
					}
				}
			}
		}
	}
	if part > 0 && len(b.recs) > 0 {
		return skipped, flush()
	}
	return skipped, nil
}

// result records the telemetry of a batch of n records and turns the
// store's error into the exporter's: permanent only for records the store
// can never accept, and only when no other caller's batch shared the
// write.
func (e *auditExporter) result(ctx context.Context, res auditlog.AppendResult, skipped, n int, err error) error {
	e.tel.record(ctx, res.Written, res.Duplicates, skipped, err != nil)
	if err == nil {
		return nil
	}
	var shared errShared
	permanent := errors.Is(err, auditlog.ErrInvalidRecord) && !errors.As(err, &shared)
	err = fmt.Errorf("audit exporter: writing %d records: %w", n, err)
	if permanent {
		// Retrying these records cannot succeed; a batch that only
		// shared a write with the culprit is retried.
		return consumererror.NewPermanent(err)
	}
	return err
}

// maxPooledRecords bounds the scratch space kept for reuse, so that one
// huge request does not pin its memory for the life of the process.
const maxPooledRecords = 8192

func (e *auditExporter) putBatch(b *batch) {
	if cap(b.recs) > maxPooledRecords {
		return
	}
	// Drop the references to span data, and to the mapper's memory,
	// before that memory is handed out again.
	clear(b.recs)
	clear(b.ptrs)
	b.recs, b.ptrs, b.pend.recs = b.recs[:0], b.ptrs[:0], nil
	if b.mapper != nil {
		b.mapper.Reset()
	}
	e.batches.Put(b)
}
