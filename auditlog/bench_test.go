package auditlog

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// BenchmarkAppend measures Store.Append with batches of 1,000 records,
// one fsync per batch, on the real file system.
func BenchmarkAppend(b *testing.B) {
	k := newTestKeys(b, "bench")
	dir := b.TempDir()
	s := openTestStore(b, dir, k)
	defer s.Close()
	const batch = 1000
	recs := benchRecords(0, batch)
	b.SetBytes(int64(len(recs[0].AppendCanonical(nil, true)) + 1))
	b.ResetTimer()
	cpu0 := cpuTime()
	next := 0
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		for j := range recs[:n] {
			// New span ids so that nothing is deduplicated.
			recs[j].SpanID = spanID(next)
			next++
		}
		if _, err := s.Append(context.Background(), recs[:n]); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
}

// benchRecords returns test records whose durations are what the exporter
// writes: span nanoseconds over 1e6, so at most six decimals (testRecord's
// sevenths take the canonical checker's slower, general number path).
func benchRecords(from, n int) []*Record {
	recs := testRecords(from, n, "general")
	for i, r := range recs {
		r.DurationMS = float64((from+i)*7919%40_000_000) / 1e6
	}
	return recs
}

func spanID(i int) string {
	const hexd = "0123456789abcdef"
	var out [16]byte
	for k := 15; k >= 0; k-- {
		out[k] = hexd[i&0xf]
		i >>= 4
	}
	return string(out[:])
}

// benchStore builds a store of n records once per benchmark run.
func benchStore(b *testing.B, n int) (string, testKeys) {
	b.Helper()
	k := newTestKeys(b, "bench")
	dir := b.TempDir()
	s := openTestStore(b, dir, k, WithSegmentMaxBytes(16<<20), WithDedupWindow(0))
	for i := 0; i < n; i += 1000 {
		if _, err := s.Append(context.Background(), benchRecords(i, min(1000, n-i))); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	return dir, k
}

// BenchmarkVerify measures Verify on one chain, single-threaded and with
// all cores, and VerifyFull single-threaded; records/s is the figure to
// compare with the 300,000/s per core target.
func BenchmarkVerify(b *testing.B) {
	const n = 100_000
	dir, k := benchStore(b, n)
	for _, run := range []struct {
		name string
		opts []VerifyOption
	}{
		{"workers=1", []VerifyOption{VerifyWorkers(1)}},
		{"workers=all", nil},
		{"workers=1,full", []VerifyOption{VerifyWorkers(1), VerifyFull()}},
	} {
		b.Run(run.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for b.Loop() {
				rep, err := Verify(dir, k.verifiers, run.opts...)
				if err != nil || !rep.OK() || rep.Records != n {
					b.Fatalf("verify: %v %v", err, rep.Findings)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			// On a shared machine wall time is noisy; records per
			// CPU-second (all threads, GC included) is the per-core figure.
			b.ReportMetric(float64(n)*float64(b.N)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
		})
	}
}

// cpuTime returns the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkVerifyLine is the verifier's per-record work (canonical check,
// field extraction, record hash and Merkle leaf hash) without I/O.
func BenchmarkVerifyLine(b *testing.B) { benchLineScan(b, (*lineScanner).scan) }

// BenchmarkVerifyLineCovered is the per-record work for a record a
// verified checkpoint covers: shape match, fields, one digest (the leaf).
func BenchmarkVerifyLineCovered(b *testing.B) {
	benchLineScan(b, func(sc *lineScanner, line []byte, li *lineInfo) error { return sc.scanCovered(line, li, 1<<40) })
}

// benchLine is a typical chained record line.
func benchLine() []byte {
	r := benchRecords(12345, 1)[0]
	r.ChainID, r.PrevHash = testOrigin+"/general", ZeroHash
	r.Hash = r.ComputeHash()
	return r.AppendCanonical(nil, true)
}

// benchLineScan measures one of lineScanner's scans on benchLine.
func benchLineScan(b *testing.B, scan func(sc *lineScanner, line []byte, li *lineInfo) error) {
	line := benchLine()
	b.SetBytes(int64(len(line)))
	var sc lineScanner
	cpu0 := cpuTime()
	for b.Loop() {
		var li lineInfo
		if err := scan(&sc, line, &li); err != nil || li.status != lineOK {
			b.Fatal(err, li.detail)
		}
	}
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
}

// BenchmarkHashFloor is the part of every record's cost that no encoder or
// checker can remove: the two SHA-256 digests the format requires (the
// record hash and the RFC 6962 leaf) over a record's canonical text. Its
// records/cpu-s is the ceiling for Append and Verify on this machine.
func BenchmarkHashFloor(b *testing.B) {
	r := benchRecords(12345, 1)[0]
	text := r.AppendCanonical(nil, false)
	b.SetBytes(int64(len(text)))
	var h recordHasher
	cpu0 := cpuTime()
	for b.Loop() {
		h.hash(text, nil)
	}
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "records/cpu-s")
}

// BenchmarkMatchRecord is the line matcher alone, in its two modes: the
// canonical check (records the full path verifies) and the shape match
// (records a verified checkpoint covers).
func BenchmarkMatchRecord(b *testing.B) {
	line := benchLine()
	for _, mode := range []struct {
		name  string
		match func([]byte, *recordFields) bool
	}{{"canonical", matchRecord}, {"shape", matchRecordShape}} {
		b.Run(mode.name, func(b *testing.B) {
			b.SetBytes(int64(len(line)))
			var f recordFields
			cpu0 := cpuTime()
			for b.Loop() {
				if !mode.match(line, &f) {
					b.Fatal("no match")
				}
			}
			b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkDedupAdmit admits parts of 128 new keys into a dedup set of
// the default window, filling (the window's first keys) and full (each
// new key evicts the oldest): the table is far larger than the caches,
// so this is the cost of its misses to memory per record (and of making
// the keys, a few nanoseconds).
func BenchmarkDedupAdmit(b *testing.B) {
	const part = 128
	for _, full := range []bool{false, true} {
		name := map[bool]string{false: "filling", true: "full"}[full]
		b.Run(name, func(b *testing.B) {
			d := newDedupSet(DefaultDedupWindow)
			var next uint64
			newKeys := func(keys []dedupKey) {
				for i := range keys {
					next++
					keys[i] = dedupKey{splitmix(next) | 1, splitmix(^next)}
				}
			}
			keys := make([]dedupKey, part)
			if full {
				for range DefaultDedupWindow / part {
					newKeys(keys)
					d.admit(keys, nil, DefaultDedupWindow, nil)
				}
			}
			dup := make([]bool, 0, part)
			log := make([]dedupUndo, 0, part)
			for b.Loop() { // the timer starts here
				if !full && len(d.ring)+part > DefaultDedupWindow {
					b.StopTimer()
					d = newDedupSet(DefaultDedupWindow)
					b.StartTimer()
				}
				newKeys(keys)
				dup, log = d.admit(keys, dup[:0], DefaultDedupWindow, log[:0])
				if evicting := len(log) > 0 && !log[0].appended; evicting != full {
					b.Fatalf("evicting: %v, want %v", evicting, full)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*part), "ns/key")
		})
	}
}

// splitmix is SplitMix64's finaliser: distinct inputs give uniform,
// distinct outputs.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
