package auditlog

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// TestCrashChild is the writer process of TestCrashRecovery; it does
// nothing unless started by it.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv("OTELAUDIT_CRASH_DIR")
	if dir == "" {
		t.Skip("only runs as the child of TestCrashRecovery")
	}
	signer, err := note.NewSigner(os.Getenv("OTELAUDIT_CRASH_KEY"))
	if err != nil {
		t.Fatal(err)
	}
	base, _ := strconv.Atoi(os.Getenv("OTELAUDIT_CRASH_BASE"))
	s, err := Open(dir, WithOrigin(testOrigin), WithSigner(signer), WithSegmentMaxBytes(32<<10), WithCheckpointInterval(3*time.Millisecond))
	if err != nil {
		fmt.Println("OPEN-ERROR", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "READY")
	out.Flush()
	// Redeliver the last batch acknowledged before the previous kill.
	if r := os.Getenv("OTELAUDIT_CRASH_REPLAY"); r != "" {
		from, _ := strconv.Atoi(strings.Split(r, ",")[0])
		n, _ := strconv.Atoi(strings.Split(r, ",")[1])
		res, err := s.Append(context.Background(), crashBatch(from, n))
		if err != nil || res.Written != 0 {
			fmt.Println("REPLAY-WRITTEN", res.Written, err)
			os.Exit(4)
		}
	}
	// Three writers at once, so that the kill also lands while one
	// batch's fsync runs and the next is staged behind it.
	var mu sync.Mutex
	for w := range crashWriters {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(base), uint64(w)))
			next := base + w*crashWriterSpan
			for {
				n := 1 + rng.IntN(60)
				if _, err := s.Append(context.Background(), crashBatch(next, n)); err != nil {
					fmt.Println("APPEND-ERROR", err)
					os.Exit(5)
				}
				mu.Lock()
				fmt.Fprintf(out, "ACK %d %d\n", next, n)
				out.Flush()
				mu.Unlock()
				next += n
			}
		}()
	}
	select {}
}

// crashWriters append at once in TestCrashChild, each from its own range
// of crashWriterSpan ids.
const (
	crashWriters    = 3
	crashWriterSpan = 300_000
)

// crashBatch returns records from..from+n-1, spread over two chains.
func crashBatch(from, n int) []*Record {
	recs := make([]*Record, n)
	for i := range recs {
		class := "general"
		if (from+i)%3 == 0 {
			class = "healthcare"
		}
		recs[i] = testRecord(from+i, class)
		recs[i].TraceID = fmt.Sprintf("%032x", from+i+1)
	}
	return recs
}

// TestCrashRecovery kills a writer process (three appending goroutines)
// with SIGKILL at random points, 25 times, and checks after each restart
// that the store repairs itself, verifies, and holds every acknowledged
// record exactly once.
func TestCrashRecovery(t *testing.T) {
	rounds := 25
	dir := t.TempDir()
	k := newTestKeys(t, "crash")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	acked := map[string]bool{} // span ids
	replay := ""
	for round := 0; round < rounds; round++ {
		base := (round + 1) * 1_000_000
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			"OTELAUDIT_CRASH_DIR="+dir, "OTELAUDIT_CRASH_KEY="+k.skey,
			"OTELAUDIT_CRASH_BASE="+strconv.Itoa(base), "OTELAUDIT_CRASH_REPLAY="+replay)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Once it is up, let it write a while, then kill it without warning.
		var killAt <-chan time.Time
		killed := false
		for !killed {
			select {
			case <-killAt:
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			case l, ok := <-lines:
				if !ok {
					killed = true
					break
				}
				if l == "READY" {
					killAt = time.After(time.Duration(5+rng.IntN(120)) * time.Millisecond)
					continue
				}
				if !strings.HasPrefix(l, "ACK ") {
					if strings.Contains(l, "ERROR") || strings.Contains(l, "REPLAY") {
						cmd.Process.Kill()
						t.Fatalf("round %d: child: %s", round, l)
					}
					continue
				}
				var from, n int
				fmt.Sscanf(l, "ACK %d %d", &from, &n)
				for i := from; i < from+n; i++ {
					acked[fmt.Sprintf("%016x", i+1)] = true
				}
				replay = fmt.Sprintf("%d,%d", from, n)
			}
		}
		for l := range lines { // acknowledgements printed before the kill
			if strings.HasPrefix(l, "ACK ") {
				var from, n int
				fmt.Sscanf(l, "ACK %d %d", &from, &n)
				for i := from; i < from+n; i++ {
					acked[fmt.Sprintf("%016x", i+1)] = true
				}
				replay = fmt.Sprintf("%d,%d", from, n)
			}
		}
		cmd.Wait()

		// Restart: Open repairs the torn tail, Close signs what the
		// killed writer had not; then the store verifies, all of it
		// signed.
		s, err := Open(dir, WithOrigin(testOrigin), WithSigner(k.signer), WithSegmentMaxBytes(32<<10))
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(dir, k.verifiers, RequireSigned())
		if err != nil || !rep.OK() {
			t.Fatalf("round %d: verify after kill: %v\n%s", round, err, findingsText(rep))
		}
		seen := map[string]int{}
		for _, c := range []string{"general", "healthcare"} {
			if _, err := os.Stat(filepath.Join(dir, c)); err != nil {
				continue
			}
			for _, r := range readChain(t, dir, c) {
				seen[r.SpanID]++
			}
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("round %d: span %s written %d times", round, id, n)
			}
		}
		for id := range acked {
			if seen[id] != 1 {
				t.Fatalf("round %d: acknowledged span %s is missing", round, id)
			}
		}
		t.Logf("round %d: %d acknowledged, %d stored", round, len(acked), len(seen))
	}
	if len(acked) == 0 {
		t.Fatal("the child never acknowledged a batch")
	}
}
