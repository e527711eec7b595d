// Package exporter benchmarks the audit exporter side by side with contrib's
// fileexporter on the same spans in the same run.
//
// Both exporters receive batches of 1,000 GenAI tool spans, as a collector
// pipeline would hand them over: one at a time without a sending queue
// (sequential), or four at a time through each exporter's default delivery
// path (concurrent; see BenchmarkExporter). The audit exporter maps each
// span to a record, canonicalises and hashes it, chains it and fsyncs once
// per batch before returning. The fileexporter,
// configured as close as it allows (format json, no rotation, no
// compression), marshals the batch to one OTLP JSON line into a buffered
// writer that it flushes to the page cache every flush_interval and never
// fsyncs: it has no option to, so its numbers are those of a writer that
// may lose the last seconds of data on power loss.
//
// BenchmarkExporterPaired is the comparison to read on a shared machine:
// it alternates the two in turns of ten batches and reports the ratio of
// their CPU and wall times (see the exporter README).
//
// Run on one core:
//
//	go test -run '^$' -bench . -cpu 1 -benchtime 200x ./exporter/
package exporter

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/mod/sumdb/note"

	"github.com/otelaudit/otelaudit/auditexporter"
	"github.com/otelaudit/otelaudit/auditlog"
)

// batchSize is the number of spans per ConsumeTraces call.
const batchSize = 1000

// newBatch returns batchSize tool spans as the instrumentation library
// emits them: the SPEC §2 attributes, JSON arguments of about 150 bytes and
// a result summary of about 100, under a typical resource.
func newBatch() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr("service.name", "support-agent")
	ra.PutStr("service.version", "1.4.2")
	ra.PutStr("deployment.environment.name", "production")
	ra.PutStr("telemetry.sdk.language", "go")
	ra.PutStr("telemetry.sdk.name", "opentelemetry")
	ra.PutStr("telemetry.sdk.version", "1.47.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("github.com/otelaudit/otelaudit/instrumentation")
	tools := []string{"lookup_order", "search_kb", "update_ticket", "get_shipping_status", "send_email"}
	for i := range batchSize {
		sp := ss.Spans().AppendEmpty()
		tool := tools[i%len(tools)]
		sp.SetName("execute_tool " + tool)
		sp.SetKind(ptrace.SpanKindInternal)
		start := pcommon.Timestamp(1767262500_000000000 + uint64(i)*1_000_000)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(start + 23_456_789)
		sp.SetParentSpanID(pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74})
		sp.Status().SetCode(ptrace.StatusCodeOk)
		at := sp.Attributes()
		at.PutStr("gen_ai.operation.name", "execute_tool")
		at.PutStr("gen_ai.tool.name", tool)
		at.PutStr("gen_ai.tool.call.id", fmt.Sprintf("call_%08x", i))
		at.PutStr("gen_ai.tool.type", "function")
		at.PutStr("gen_ai.tool.call.arguments", fmt.Sprintf(`{"order_id":"A-%d","customer_id":"C-%d","include_history":true,"reason":"customer asked where the parcel is","currency":"EUR"}`, 1000+i, 2000+i%97))
		at.PutStr("gen_ai.tool.call.result", fmt.Sprintf(`{"status":"shipped","order_id":"A-%d","count":3,"_result_size":2048}`, 1000+i))
		at.PutStr("gen_ai.conversation.id", fmt.Sprintf("conv-%04d", i/10))
		at.PutInt("audit.turn_number", int64(i%10+1))
		at.PutStr("gen_ai.request.model", "gpt-4o")
		at.PutStr("gen_ai.agent.name", "support-agent")
		at.PutStr("user.id", fmt.Sprintf("u-%03d", i%50))
		roles := at.PutEmptySlice("user.roles")
		roles.AppendEmpty().SetStr("support")
		roles.AppendEmpty().SetStr("refund_approver")
		at.PutStr("session.id", fmt.Sprintf("sess-%04d", i/10))
		at.PutStr("client.address", "203.0.113.7")
		at.PutStr("audit.trigger", "user_request")
		at.PutStr("audit.purpose", "support")
		at.PutStr("audit.subject.type", "customer")
		at.PutStr("audit.subject.id", fmt.Sprintf("C-%d", 2000+i%97))
	}
	return td
}

// renumber gives every span of td a fresh trace and span id, so that the
// audit store's deduplication never turns a benchmark iteration into a
// no-op. Both exporters get the same treatment.
func renumber(td ptrace.Traces, iter uint64) {
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := 0; i < spans.Len(); i++ {
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[:], iter)
		binary.BigEndian.PutUint64(tid[8:], uint64(i))
		sp := spans.At(i)
		sp.SetTraceID(tid)
		var sid pcommon.SpanID
		binary.BigEndian.PutUint32(sid[:], uint32(iter))
		binary.BigEndian.PutUint32(sid[4:], uint32(i)|0x80000000)
		sp.SetSpanID(sid)
	}
}

// newAuditExporter starts the audit exporter on a store in dir and returns
// it with the verifier of its checkpoint key. Unqueued, ConsumeTraces
// writes in the caller's goroutine; queued, it goes through the default
// sending queue, which waits for the result. Either way it returns after
// the fsync.
func newAuditExporter(tb testing.TB, dir string, queued bool) (exporter.Traces, note.Verifier) {
	tb.Helper()
	exp, verifier, err := startAuditExporter(dir, tb.TempDir(), queued)
	if err != nil {
		tb.Fatal(err)
	}
	return exp, verifier
}

// startAuditExporter is newAuditExporter with its signing key in keyDir.
func startAuditExporter(dir, keyDir string, queued bool) (exporter.Traces, note.Verifier, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, "bench.otelaudit")
	if err != nil {
		return nil, nil, err
	}
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, nil, err
	}
	keyFile := filepath.Join(keyDir, "signer.key")
	if err := os.WriteFile(keyFile, []byte(skey), 0o600); err != nil {
		return nil, nil, err
	}
	f := auditexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*auditexporter.Config)
	cfg.Directory = dir
	cfg.Origin = "bench.otelaudit/gateway"
	cfg.SigningKeyFile = keyFile
	if !queued {
		cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	}
	cfg.RetryConfig.Enabled = false
	exp, err := start(f, cfg)
	return exp, verifier, err
}

// newFileExporter starts contrib's fileexporter writing to path.
func newFileExporter(tb testing.TB, path string) exporter.Traces {
	tb.Helper()
	exp, err := startFileExporter(path)
	if err != nil {
		tb.Fatal(err)
	}
	return exp
}

func startFileExporter(path string) (exporter.Traces, error) {
	f := fileexporter.NewFactory()
	cfg := f.CreateDefaultConfig().(*fileexporter.Config)
	cfg.Path = path
	cfg.FormatType = "json"
	cfg.Rotation = nil // a plain buffered file, like one segment
	return start(f, cfg)
}

func start(f exporter.Factory, cfg component.Config) (exporter.Traces, error) {
	exp, err := f.CreateTraces(context.Background(), exportertest.NewNopSettings(f.Type()), cfg)
	if err != nil {
		return nil, err
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return nil, err
	}
	return exp, nil
}

// BenchmarkExporter measures spans per second of each exporter on the same
// batches, in the same run:
//
//   - sequential: one request at a time, each ConsumeTraces call returning
//     only when the batch is written (for the audit exporter: fsynced), so
//     the audit exporter's time includes one full fsync per batch;
//   - concurrent: four requests in flight, as when several agents send at
//     once, through each exporter's default delivery path (for the audit
//     exporter its sending queue, which waits for the fsync), so the CPU
//     work of one batch overlaps the fsync of another even on one core.
func BenchmarkExporter(b *testing.B) {
	exporters := []struct {
		name string
		new  func(tb testing.TB, dir string, queued bool) exporter.Traces
	}{
		{name: "audit", new: func(tb testing.TB, dir string, queued bool) exporter.Traces {
			exp, _ := newAuditExporter(tb, filepath.Join(dir, "store"), queued)
			return exp
		}},
		{name: "file", new: func(tb testing.TB, dir string, _ bool) exporter.Traces {
			return newFileExporter(tb, filepath.Join(dir, "spans.jsonl"))
		}},
	}
	for _, e := range exporters {
		b.Run("sequential/"+e.name, func(b *testing.B) {
			exp := e.new(b, b.TempDir(), false)
			td := newBatch()
			ctx := context.Background()
			var iter uint64
			b.ResetTimer()
			cpu0 := cpuTime()
			for b.Loop() {
				iter++
				renumber(td, iter)
				if err := exp.ConsumeTraces(ctx, td); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			report(b, iter, cpu0)
			if err := exp.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
	for _, e := range exporters {
		b.Run("concurrent/"+e.name, func(b *testing.B) {
			exp := e.new(b, b.TempDir(), true)
			ctx := context.Background()
			var iter atomic.Uint64
			b.SetParallelism(4)
			b.ResetTimer()
			cpu0 := cpuTime()
			b.RunParallel(func(pb *testing.PB) {
				td := newBatch()
				for pb.Next() {
					renumber(td, iter.Add(1))
					if err := exp.ConsumeTraces(ctx, td); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			report(b, iter.Load(), cpu0)
			if err := exp.Shutdown(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// report adds spans/s (wall clock) and spans/cpu-s (process CPU time).
func report(b *testing.B, batches uint64, cpu0 time.Duration) {
	b.ReportMetric(float64(batches*batchSize)/b.Elapsed().Seconds(), "spans/s")
	b.ReportMetric(float64(batches*batchSize)/(cpuTime()-cpu0).Seconds(), "spans/cpu-s")
}

// cpuTime is the CPU time (user and system, all threads) the process has
// used: spans/cpu-s separates the exporters' work from waiting for the disk
// and from other processes on the machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestExportersWriteTheBatch checks what the benchmark compares: both
// exporters write every span of a batch, the audit exporter as chained
// records that its verifier accepts.
func TestExportersWriteTheBatch(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()

	audit, verifier := newAuditExporter(t, filepath.Join(dir, "store"), true)
	td := newBatch()
	for iter := uint64(1); iter <= 3; iter++ {
		renumber(td, iter)
		if err := audit.ConsumeTraces(ctx, td); err != nil {
			t.Fatal(err)
		}
	}
	if err := audit.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	records := 0
	segs, err := filepath.Glob(filepath.Join(dir, "store", "*", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range segs {
		if err := auditlog.ReadSegmentFile(seg, func(*auditlog.Record, []byte) error { records++; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if records != 3*batchSize {
		t.Fatalf("audit store holds %d records, want %d", records, 3*batchSize)
	}
	rep, err := auditlog.Verify(filepath.Join(dir, "store"), note.VerifierList(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Records != 3*batchSize {
		t.Fatalf("verifier: %d records, findings %v; want %d records, no findings", rep.Records, rep.Findings, 3*batchSize)
	}

	path := filepath.Join(dir, "spans.jsonl")
	file := newFileExporter(t, path)
	for iter := uint64(1); iter <= 3; iter++ {
		renumber(td, iter)
		if err := file.ConsumeTraces(ctx, td); err != nil {
			t.Fatal(err)
		}
	}
	if err := file.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spans := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		got, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(sc.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		spans += got.SpanCount()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if spans != 3*batchSize {
		t.Fatalf("file exporter wrote %d spans, want %d", spans, 3*batchSize)
	}
}
