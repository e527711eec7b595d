package exporter

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// BenchmarkExporterPaired runs the sequential case of both exporters side
// by side, alternating turns of pairTurn batches (and which goes first),
// and takes the CPU time and wall time of each turn: on a shared machine
// both then see the same neighbours, which separate sub-benchmarks
// minutes apart do not. It reports each exporter's spans per CPU-second
// and wall second and the ratios audit/file. One op is one batch through
// both.
//
// Each exporter runs in a process of its own (this test binary, started
// again), as it would in a collector of its own: in one process, what one
// exporter left in the Go runtime was charged to the other. The scheduler's
// monitor thread, woken by system calls after an idle wait, polls every
// 20 µs for a millisecond and then more slowly, and its CPU time was
// process-wide: a change that only removed system calls from the audit
// exporter moved the fileexporter's own spans per CPU-second by 13 % in
// the shared process, both ways, while the audit exporter's gain (24 %
// alone) did not show in the ratio. A turn is long enough (≈ 100 ms) that
// what a process leaves running when its last call returns (the kernel's
// I/O completions) is charged to the other only at the turn's end.
func BenchmarkExporterPaired(b *testing.B) { benchmarkPaired(b, false, 1) }

// BenchmarkExporterPairedConcurrent is BenchmarkExporterPaired with
// pairInFlight requests in flight, each exporter through its default
// delivery path (for the audit exporter, the sending queue, which waits
// for the fsync), as in BenchmarkExporter's concurrent case: a turn is
// pairTurn batches spread over pairInFlight goroutines, and the two
// exporters' turns alternate, so that the wall-clock ratio, which is the
// throughput of a loaded collector on one core, compares them under the
// same neighbours.
func BenchmarkExporterPairedConcurrent(b *testing.B) { benchmarkPaired(b, true, pairInFlight) }

// pairTurn is how many batches one exporter handles in a row in
// BenchmarkExporterPaired and BenchmarkExporterPairedConcurrent, unless
// pairTurnEnv says otherwise.
const pairTurn = 10

// pairTurnEnv, when set, is the number of batches in a turn. A turn ends
// when its last batch is acknowledged, so with requests in flight this
// exporter's last batches wait for their fsync with nothing left to map,
// once a turn, which a collector under steady load never does and the
// fileexporter, never waiting for the disk, does not pay: longer turns
// charge less of that drain to the wall-clock ratio.
const pairTurnEnv = "OTELAUDIT_BENCH_TURN"

// pairInFlight is how many requests BenchmarkExporterPairedConcurrent
// keeps in flight, as BenchmarkExporter's concurrent case does.
const pairInFlight = 4

// pairChildEnv holds a child process's pairSpec: when it is set, TestMain
// runs the child instead of the tests.
const pairChildEnv = "OTELAUDIT_BENCH_PAIR_CHILD"

// pairSpec is what a child of benchmarkPaired runs: which exporter, in
// which directory, and how.
type pairSpec struct {
	Exporter string // "audit" or "file"
	Dir      string
	Queued   bool // the audit exporter through its sending queue
	InFlight int
	Warm     int // batches sent before the first turn
}

// pairWarmEnv, when set, is how many batches each child sends before its
// first turn. By default the turns start on a fresh store and an idle page
// cache: the audit store's dedup window (1,048,576 spans) is still
// filling, and the fileexporter's dirty pages are younger than the
// kernel's expiry (vm.dirty_expire_centisecs, 30 s) and fewer than its
// background threshold, so their deferred writeback does not run during
// the turns. 1100 batches measure the steady state past both (each child
// first writes 1.7-1.9 GB; a run takes about 40 s longer here).
const pairWarmEnv = "OTELAUDIT_BENCH_WARM"

func TestMain(m *testing.M) {
	if env := os.Getenv(pairChildEnv); env != "" {
		var spec pairSpec
		err := json.Unmarshal([]byte(env), &spec)
		if err == nil {
			err = runPairChild(spec, os.Stdin, os.Stdout)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pair child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// benchmarkPaired starts one child process per exporter, alternates their
// turns, inFlight requests at a time (queued: through the audit exporter's
// sending queue), and reports their spans per CPU-second and wall second
// and the ratios audit/file.
func benchmarkPaired(b *testing.B, queued bool, inFlight int) {
	warm := batchesFromEnv(b, pairWarmEnv, 0, 0)
	turnLen := batchesFromEnv(b, pairTurnEnv, pairTurn, 1)
	dir := b.TempDir()
	var children [2]*pairChild // audit, file
	for i, name := range []string{"audit", "file"} {
		sub := filepath.Join(dir, name)
		if err := os.Mkdir(sub, 0o700); err != nil {
			b.Fatal(err)
		}
		c, err := startPairChild(pairSpec{Exporter: name, Dir: sub, Queued: queued, InFlight: inFlight, Warm: warm})
		if err != nil {
			b.Fatal(err)
		}
		children[i] = c
	}
	var cpu, wall [2]time.Duration
	turn := func(i, n int) {
		c, w, err := children[i].turn(n)
		if err != nil {
			b.Fatal(err)
		}
		cpu[i] += c
		wall[i] += w
	}
	var turns int
	b.ResetTimer()
	for done := 0; done < b.N; turns++ {
		n := min(turnLen, b.N-done)
		done += n
		if turns%2 == 0 {
			turn(0, n)
			turn(1, n)
		} else {
			turn(1, n)
			turn(0, n)
		}
	}
	b.StopTimer()
	spans := float64(uint64(b.N) * batchSize)
	b.ReportMetric(spans/cpu[0].Seconds(), "audit-spans/cpu-s")
	b.ReportMetric(spans/cpu[1].Seconds(), "file-spans/cpu-s")
	b.ReportMetric(cpu[1].Seconds()/cpu[0].Seconds(), "cpu-ratio")
	b.ReportMetric(spans/wall[0].Seconds(), "audit-spans/s")
	b.ReportMetric(spans/wall[1].Seconds(), "file-spans/s")
	b.ReportMetric(wall[1].Seconds()/wall[0].Seconds(), "wall-ratio")
	for _, c := range children {
		if err := c.stop(); err != nil {
			b.Fatal(err)
		}
	}
}

// batchesFromEnv is the number of batches the environment variable name
// holds, at least least, or def when it is unset.
func batchesFromEnv(b *testing.B, name string, def, least int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		b.Fatalf("%s=%q: want a number of batches, at least %d", name, v, least)
	}
	return n
}

// pairChild is a child process running one exporter, a turn at a time.
type pairChild struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
}

// startPairChild starts this test binary again as the child spec
// describes, with this process's GOMAXPROCS (the benchmark's -cpu).
func startPairChild(spec pairSpec) (*pairChild, error) {
	env, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), pairChildEnv+"="+string(env), "GOMAXPROCS="+strconv.Itoa(runtime.GOMAXPROCS(0)))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return &pairChild{name: spec.Exporter, cmd: cmd, in: in, out: bufio.NewScanner(out)}, nil
}

// turn has the child send n batches and returns the CPU time and wall
// time the child took for them.
func (c *pairChild) turn(n int) (cpu, wall time.Duration, err error) {
	if _, err := fmt.Fprintln(c.in, n); err != nil {
		return 0, 0, fmt.Errorf("%s child: %w", c.name, err)
	}
	if !c.out.Scan() {
		return 0, 0, fmt.Errorf("%s child ended: %v", c.name, errors.Join(c.out.Err(), c.cmd.Wait()))
	}
	if _, err := fmt.Sscan(c.out.Text(), &cpu, &wall); err != nil {
		return 0, 0, fmt.Errorf("%s child: %q: %w", c.name, c.out.Text(), err)
	}
	return cpu, wall, nil
}

// stop ends the child: it shuts its exporter down and exits.
func (c *pairChild) stop() error {
	c.in.Close()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("%s child: %w", c.name, err)
	}
	return nil
}

// runPairChild starts the exporter spec names and, for each number n it
// reads from in, sends n batches (spec.InFlight at a time) and writes the
// CPU time and wall time they took to out, in nanoseconds. It shuts the
// exporter down when in ends.
func runPairChild(spec pairSpec, in io.Reader, out io.Writer) error {
	var exp exporter.Traces
	var err error
	switch spec.Exporter {
	case "audit":
		exp, _, err = startAuditExporter(filepath.Join(spec.Dir, "store"), spec.Dir, spec.Queued)
	case "file":
		exp, err = startFileExporter(filepath.Join(spec.Dir, "spans.jsonl"))
	default:
		err = fmt.Errorf("unknown exporter %q", spec.Exporter)
	}
	if err != nil {
		return err
	}
	inFlight := max(spec.InFlight, 1)
	tds := make([]ptrace.Traces, inFlight)
	for i := range tds {
		tds[i] = newBatch()
	}
	ctx := context.Background()
	var iter atomic.Uint64
	for range spec.Warm {
		renumber(tds[0], iter.Add(1))
		if err := exp.ConsumeTraces(ctx, tds[0]); err != nil {
			return err
		}
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			return err
		}
		c0, w0 := cpuTime(), time.Now()
		var wg sync.WaitGroup
		errs := make([]error, inFlight)
		for g := range inFlight {
			share := n / inFlight
			if g < n%inFlight {
				share++
			}
			wg.Go(func() {
				for range share {
					renumber(tds[g], iter.Add(1))
					if err := exp.ConsumeTraces(ctx, tds[g]); err != nil {
						errs[g] = err
						return
					}
				}
			})
		}
		wg.Wait()
		wall, cpu := time.Since(w0), cpuTime()-c0
		if err := errors.Join(errs...); err != nil {
			return err
		}
		if _, err := fmt.Fprintln(out, int64(cpu), int64(wall)); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return exp.Shutdown(ctx)
}
