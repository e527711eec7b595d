//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
)

// streamer is an agent that streams tool spans to the collector over
// OTLP/gRPC with synchronous exports, from several goroutines, and keeps
// books: a span is acknowledged when the export that carried it returned
// OK, and only then.
type streamer struct {
	client  coltracepb.TraceServiceClient
	gen     *spanSource
	auth    string
	perCall int

	mu       sync.Mutex
	acked    []string
	sent     map[string]bool
	failures int
	requests int

	stop chan struct{}
	wg   sync.WaitGroup
}

func (st *streamer) start(senders int) {
	for range senders {
		st.wg.Add(1)
		go func() {
			defer st.wg.Done()
			for {
				select {
				case <-st.stop:
					return
				default:
				}
				req, keys := st.gen.request("e2e-streamer", st.perCall)
				st.mu.Lock()
				for _, k := range keys {
					st.sent[k] = true
				}
				st.mu.Unlock()
				ctx, cancel := context.WithTimeout(withAuth(context.Background(), st.auth), 10*time.Second)
				_, err := st.client.Export(ctx, req)
				cancel()
				st.mu.Lock()
				st.requests++
				if err == nil {
					st.acked = append(st.acked, keys...)
				} else {
					st.failures++
				}
				st.mu.Unlock()
				if err != nil {
					time.Sleep(50 * time.Millisecond) // the collector is down
				}
			}
		}()
	}
}

func (st *streamer) counts() (acked, failures int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.acked), st.failures
}

func (st *streamer) halt() {
	close(st.stop)
	st.wg.Wait()
}

// TestCollectorKilledMidStream kills otelcol-audit with SIGKILL while an
// agent streams spans to it, restarts it on the same persistent queue and
// store, and checks that every span the collector acknowledged is in the
// store exactly once, that no span is there twice, and that the store
// verifies.
func TestCollectorKilledMidStream(t *testing.T) {
	s := newStack(t)
	s.startJaeger()
	s.startCollector()
	_, client := s.grpcClient()
	st := &streamer{client: client, gen: newSpanSource(t), auth: "Bearer " + s.token, perCall: 20,
		sent: map[string]bool{}, stop: make(chan struct{})}
	began := time.Now()
	st.start(4)
	halted := false
	defer func() {
		if !halted {
			st.halt()
		}
	}()

	const beforeKill, afterRestart = 2000, 1000
	waitFor(t, "spans acknowledged before the kill", dataTimeout, func() (bool, string) {
		n, f := st.counts()
		return n >= beforeKill, fmt.Sprintf("%d acknowledged, %d failed requests", n, f)
	})
	s.collector.kill()
	ackedAtKill, failedAtKill := st.counts()
	streamed := time.Since(began)
	// What the store held at the kill: acknowledged spans not yet there
	// were only in the persistent queue.
	inStore := countKeys(mustRecords(t, s))
	st.mu.Lock()
	queued := 0
	for _, k := range st.acked[:ackedAtKill] {
		if inStore[k] == 0 {
			queued++
		}
	}
	st.mu.Unlock()
	// The agent goes on streaming into the dead port.
	waitFor(t, "failed exports while the collector is down", dataTimeout, func() (bool, string) {
		_, f := st.counts()
		return f >= failedAtKill+4, fmt.Sprintf("%d failed requests since the kill", f-failedAtKill)
	})
	s.startCollector()
	waitFor(t, "spans acknowledged after the restart", dataTimeout, func() (bool, string) {
		n, f := st.counts()
		return n >= ackedAtKill+afterRestart, fmt.Sprintf("%d acknowledged, %d failed requests", n, f)
	})
	st.halt()
	halted = true
	acked, failures := st.counts()
	t.Logf("%d requests, %d spans acknowledged (%d before the kill, in %v: %.0f spans/s; %d of them only in the queue at the kill), %d requests failed",
		st.requests, acked, ackedAtKill, streamed.Round(time.Millisecond), float64(ackedAtKill)/streamed.Seconds(), queued, failures)

	// Every acknowledged span arrives exactly once; spans whose export
	// failed may have arrived (the collector died before answering), but
	// once at most.
	var counts map[string]int
	waitFor(t, "every acknowledged span in the store", dataTimeout, func() (bool, string) {
		recs, err := s.records()
		if err != nil {
			return false, err.Error()
		}
		counts = countKeys(recs)
		missing := 0
		for _, k := range st.acked {
			if counts[k] == 0 {
				missing++
			}
		}
		return missing == 0, fmt.Sprintf("%d of %d acknowledged spans missing", missing, len(st.acked))
	})
	s.waitVerified(acked)
	dups := 0
	for k, n := range countKeys(mustRecords(t, s)) {
		if n > 1 {
			dups++
			if dups <= 10 {
				t.Errorf("span %s stored %d times", k, n)
			}
		}
		if !st.sent[k] {
			t.Errorf("span %s stored but never sent", k)
		}
	}
	if dups > 10 {
		t.Errorf("%d spans stored more than once", dups)
	}

	// A graceful stop writes the final checkpoints: the store verifies
	// with every record signed.
	if err := s.collector.stop(t); err != nil {
		t.Errorf("collector stopped with %v", err)
	}
	if out, code := s.cli(append([]string{"verify", "--require-signed"}, s.storeArgs()...)...); code != 0 {
		t.Errorf("verify --require-signed after shutdown: exit %d\n%s", code, out)
	}
}

func mustRecords(t *testing.T, s *stack) []record {
	t.Helper()
	recs, err := s.records()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
