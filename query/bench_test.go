package query

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

// Shape of the benchmark store.
const (
	benchRecords       = 1_000_000
	benchBatch         = 1000
	benchConvCalls     = 10      // calls per conversation
	benchPatients      = 20_000  // patients, each accessed in two episodes
	benchSegmentBytes  = 4 << 20 // segment max_bytes
	benchSpan          = 30 * 24 * time.Hour
	benchPatientTarget = "P-00042"
	benchConvTarget    = "conv-0004242"
)

// benchStore builds a store of benchRecords realistic records: calls
// arrive in time order, ten per conversation, interleaved with about 200
// other conversations' calls; 80% touch a patient (healthcare chain), each
// patient in two episodes about two weeks apart; the rest a customer
// (general chain). Segments are sealed at benchSegmentBytes.
//
// With OTELAUDIT_QUERY_BENCH_DIR set, the store is kept in that directory
// and reused by later runs (for profiling); by default it lives in a
// temporary directory removed after the benchmark.
func benchStore(b *testing.B) (string, note.Verifiers) {
	b.Helper()
	dir := os.Getenv("OTELAUDIT_QUERY_BENCH_DIR")
	if dir != "" {
		if vkey, err := os.ReadFile(filepath.Join(dir, "bench.vkey")); err == nil {
			v, err := note.NewVerifier(string(vkey))
			if err != nil {
				b.Fatal(err)
			}
			return filepath.Join(dir, "store"), note.VerifierList(v)
		}
	} else {
		dir = b.TempDir()
	}
	_, vkey, signer, verifiers, err := scenario.Keys("bench")
	if err != nil {
		b.Fatal(err)
	}
	storeDir := filepath.Join(dir, "store")
	st, err := auditlog.Open(storeDir, auditlog.WithOrigin(scenario.Origin), auditlog.WithSigner(signer),
		auditlog.WithSegmentMaxBytes(benchSegmentBytes), auditlog.WithDedupWindow(0))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	step := benchSpan / benchRecords
	const interleave = 200 // conversations open at a time
	batch := make([]*auditlog.Record, 0, benchBatch)
	tools := []string{"access_patient_record", "update_treatment", "get_order", "lookup_customer", "create_ticket"}
	for i := range benchRecords {
		// Record i belongs to conversation c: a block of `interleave`
		// conversations runs concurrently, each making 10 calls.
		block := i / (interleave * benchConvCalls)
		within := i % (interleave * benchConvCalls)
		c := block*interleave + within%interleave
		turn := int64(within/interleave + 1)
		ts := base.Add(time.Duration(i) * step)
		r := &auditlog.Record{
			Timestamp: ts.Format(auditlog.TimeFormat), Operation: "execute_tool",
			TraceID: fmt.Sprintf("%032x", c+1), SpanID: fmt.Sprintf("%016x", i+1), ParentSpanID: fmt.Sprintf("%016x", c+1),
			DurationMS: float64(5 + rng.IntN(200)), ToolCallID: fmt.Sprintf("call-%d", i), ToolType: "function",
			ConversationID: fmt.Sprintf("conv-%07d", c), TurnNumber: &turn, Model: "gpt-4o",
			Agent: auditlog.Agent{Name: "care-agent"}, UserID: fmt.Sprintf("user-%04d", c%5000), UserRoles: []string{"physician"},
			Session: auditlog.Session{ID: fmt.Sprintf("sess-%d", c), ClientAddress: "10.1.2.3", UserAgent: "agent/1.0"},
			Trigger: "user_request", Purpose: "treatment", Success: rng.IntN(50) != 0,
			Attribution: auditlog.Attribution{Initiator: fmt.Sprintf("user-%04d", c%5000), InitiatorType: "user", InitiatorRole: "physician", Model: "gpt-4o", Trigger: "user_request"},
			Source:      auditlog.Source{Convention: "genai", Service: "care-agent", Scope: "github.com/otelaudit/otelaudit/instrumentation"},
		}
		if c%5 != 4 {
			// A patient seen in two episodes two weeks apart: episode
			// e of patient p is conversation block (p + e*half) mod n.
			half := (benchRecords / benchConvCalls) / 2
			p := c % half % benchPatients
			r.Subject = auditlog.Subject{Type: "patient", ID: fmt.Sprintf("P-%05d", p)}
			r.ToolName = tools[int(turn)%2]
			r.Arguments = json.RawMessage(fmt.Sprintf(`{"patient_id":"P-%05d","section":"medications"}`, p))
		} else {
			r.Subject = auditlog.Subject{Type: "customer", ID: fmt.Sprintf("C-%06d", c)}
			r.ToolName = tools[2+int(turn)%3]
			r.Arguments = json.RawMessage(fmt.Sprintf(`{"order_id":"ORD-%d"}`, i))
		}
		r.ResultSummary = json.RawMessage(`{"count":3,"status":"ok"}`)
		if !r.Success {
			r.ResultSummary = nil
			r.Error = &auditlog.Error{Type: "timeout", Message: "upstream timed out"}
		}
		scenario.Classify(r)
		batch = append(batch, r)
		if len(batch) == benchBatch {
			if _, err := st.Append(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if _, err := st.Append(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.vkey"), []byte(vkey), 0o600); err != nil {
		b.Fatal(err)
	}
	return storeDir, verifiers
}

// BenchmarkStore1M times integrity-checked queries on a 1,000,000-record
// store: a one-conversation timeline and a one-subject report, each
// verifying seals, checkpoints and every segment it reads; side by side
// with the peer, a full auditlog.Verify of the store followed by a scan.
func BenchmarkStore1M(b *testing.B) {
	start := time.Now()
	dir, verifiers := benchStore(b)
	b.Logf("built a %d-record store in %s", benchRecords, time.Since(start).Round(time.Millisecond))
	src := NewStoreSource(dir, verifiers)
	ctx := context.Background()
	run := func(b *testing.B, fetch func(context.Context, Filter) (*Result, error), f Filter, check func(*Result)) {
		var res *Result
		cpu0 := cpuTime()
		n := 0
		for b.Loop() {
			var err error
			if res, err = fetch(ctx, f); err != nil {
				b.Fatal(err)
			}
			n++
		}
		// Wall time depends on what else runs on the machine; CPU time
		// (both cores) is the steadier measure.
		b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(n), "cpu-ms/op")
		if !res.Integrity.Verified {
			b.Fatalf("not verified: %v", res.Integrity.Findings)
		}
		check(res)
		b.ReportMetric(float64(res.Integrity.SegmentsRead), "segments-read")
		b.ReportMetric(float64(res.Integrity.SegmentsTotal), "segments-total")
		b.ReportMetric(float64(res.Integrity.RecordsVerified), "records-verified")
	}
	b.Run("timeline-one-conversation", func(b *testing.B) {
		run(b, src.Fetch, Filter{ConversationID: benchConvTarget}, func(res *Result) {
			if tl := Timeline(benchConvTarget, res); tl.Count != benchConvCalls {
				b.Fatalf("timeline has %d calls", tl.Count)
			}
		})
	})
	b.Run("report-one-subject", func(b *testing.B) {
		subj := Subject{Type: "patient", ID: benchPatientTarget}
		run(b, src.Fetch, Filter{Subject: subj}, func(res *Result) {
			rep := Report(subj, time.Time{}, time.Time{}, res)
			if rep.Totals.Accesses < 2*benchConvCalls {
				b.Fatalf("report has %d accesses", rep.Totals.Accesses)
			}
		})
	})
	// The commands read through FetchCalls, which also reads the other
	// observations of the matched calls (the windows around their
	// starts): what that adds to the two queries above.
	calls := func(ctx context.Context, f Filter) (*Result, error) { return FetchCalls(ctx, src, f) }
	b.Run("report-one-subject-as-calls", func(b *testing.B) {
		subj := Subject{Type: "patient", ID: benchPatientTarget}
		run(b, calls, Filter{Subject: subj}, func(res *Result) {
			if rep := Report(subj, time.Time{}, time.Time{}, res); rep.Totals.Accesses < 2*benchConvCalls {
				b.Fatalf("report has %d accesses", rep.Totals.Accesses)
			}
		})
	})
	b.Run("timeline-one-conversation-as-calls", func(b *testing.B) {
		run(b, calls, Filter{ConversationID: benchConvTarget}, func(res *Result) {
			if tl := Timeline(benchConvTarget, res); tl.Count != benchConvCalls {
				b.Fatalf("timeline has %d calls", tl.Count)
			}
		})
	})
	b.Run("fetch-all", func(b *testing.B) {
		// What calls, stats and the exports hold before they answer:
		// every record, decoded. B/op is the memory that takes.
		b.ReportAllocs()
		run(b, src.Fetch, Filter{}, func(res *Result) {
			if len(res.Records) != benchRecords {
				b.Fatalf("fetched %d records", len(res.Records))
			}
		})
	})
	b.Run("peer-full-verify-then-scan", func(b *testing.B) {
		// Seconds per run: one iteration is enough, whatever -benchtime.
		for range 1 {
			b.ResetTimer()
			t0 := time.Now()
			rep, err := auditlog.Verify(dir, verifiers)
			if err != nil || !rep.OK() {
				b.Fatalf("verify: %v %v", err, rep)
			}
			res, err := NewStoreSource(dir, nil).Fetch(ctx, Filter{ConversationID: benchConvTarget})
			if err != nil || len(res.Records) != benchConvCalls {
				b.Fatal(err)
			}
			b.ReportMetric(float64(time.Since(t0).Nanoseconds()), "ns/op")
		}
	})
}

// cpuTime is the user plus system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
