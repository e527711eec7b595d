package auditexporter

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

func TestRetentionClassify(t *testing.T) {
	p := newRetentionPolicy(RetentionConfig{
		DefaultClass: "general",
		Classes: map[string]ClassConfig{
			"general":    {Days: 365},
			"financial":  {Days: 2555, Tools: []string{"charge_*", "issue_refund"}},
			"healthcare": {Days: 2190, Tools: []string{"access_patient_record"}, SubjectTypes: []string{"patient"}},
			"legal":      {Days: 3650, SubjectTypes: []string{"litigation_hold"}},
			"short":      {Days: 30, Tools: []string{"ping", "charge_*"}},
			"alpha":      {Days: 2555, Tools: []string{"issue_refund"}},
		},
	})
	tests := []struct {
		tool, subject string
		class         string
		days          int
	}{
		{tool: "charge_payment", class: "financial", days: 2555},
		{tool: "charge_card", subject: "customer", class: "financial", days: 2555},
		{tool: "access_patient_record", class: "healthcare", days: 2190},
		{tool: "lookup_order", subject: "patient", class: "healthcare", days: 2190},
		{tool: "charge_payment", subject: "patient", class: "financial", days: 2555},
		{tool: "charge_payment", subject: "litigation_hold", class: "legal", days: 3650},
		{tool: "ping", class: "short", days: 30},
		{tool: "issue_refund", class: "alpha", days: 2555},
		{tool: "lookup_order", class: "general", days: 365},
		{tool: "", class: "general", days: 365},
		{tool: "Charge_payment", class: "general", days: 365},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.tool, tt.subject), func(t *testing.T) {
			for range 2 { // uncached, then cached
				class, days := p.classify(tt.tool, tt.subject)
				assert.Equal(t, tt.class, class, "the longest-retained matching class wins, ties by name")
				assert.Equal(t, tt.days, days)
			}
		})
	}
}

func TestRetentionCacheIsBounded(t *testing.T) {
	p := newRetentionPolicy(defaultRetention())
	for i := range 3 * cacheLimit {
		class, _ := p.classify(fmt.Sprintf("tool_%d", i), "")
		assert.Equal(t, "general", class)
	}
	assert.LessOrEqual(t, len(p.cache), cacheLimit)
	class, _ := p.classify("issue_refund", "")
	assert.Equal(t, "financial", class)
}

func TestRetentionApply(t *testing.T) {
	p := newRetentionPolicy(defaultRetention())
	r := auditlog.Record{ToolName: "update_treatment"}
	p.apply(&r, pcommon.NewTimestampFromTime(time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.FixedZone("CET", 3600))), toolspan.NewMapper(toolspan.Options{}))
	assert.Equal(t, auditlog.Retention{Class: "healthcare", Days: 2190, RetainUntil: "2030-02-27T22:59:59.123456789Z"}, r.Retention)
}

// TestRetentionMatchesPolicy checks that the exporter's tag is the one
// auditlog.Policy.Retention computes, for every default class.
func TestRetentionMatchesPolicy(t *testing.T) {
	p := newRetentionPolicy(defaultRetention())
	start := time.Date(2026, 1, 1, 10, 15, 1, 350000000, time.UTC)
	m := toolspan.NewMapper(toolspan.Options{})
	for _, tool := range []string{"issue_refund", "access_patient_record", "lookup_order"} {
		r := auditlog.Record{ToolName: tool}
		p.apply(&r, pcommon.NewTimestampFromTime(start), m)
		assert.Equal(t, auditlog.DefaultPolicy().Retention(tool, "", start), r.Retention, tool)
	}
}

// TestRetainUntilMatchesAddDate checks the shortcut against AddDate around
// leap days, year ends, the Unix epoch, far dates and zones with daylight
// saving time (the result is in UTC whatever the zone of start).
func TestRetainUntilMatchesAddDate(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("UTC-5", -5*3600)
	}
	starts := []time.Time{
		time.Date(2026, 1, 1, 10, 15, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2023, 12, 31, 0, 0, 0, 1, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 3, 8, 1, 30, 0, 0, ny), // the night clocks move
		time.Date(2026, 11, 1, 1, 30, 0, 0, ny),
		time.Date(9999, 12, 31, 12, 0, 0, 0, time.UTC),
		time.Unix(0, 1767262500_123456789),
	}
	for _, start := range starts {
		for _, days := range []int{1, 30, 365, 366, 2190, 2555, 36525, maxDurationDays, maxDurationDays + 1, 1_000_000} {
			want := start.UTC().AddDate(0, 0, days)
			if got := retainUntil(start, days); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("retainUntil(%v, %d) = %v, want %v", start, days, got, want)
			}
		}
	}
}

// TestRetainUntilText checks the text of retain_until, which for most
// starts is formatted from nanoseconds, against AddDate's date formatted by
// the mapper, at the ends of the int64 nanosecond range and beyond it (OTLP
// timestamps are unsigned: up to 2554), around leap days, and for days that
// leave the range or the shortcut.
func TestRetainUntilText(t *testing.T) {
	m := toolspan.NewMapper(toolspan.Options{})
	starts := []pcommon.Timestamp{
		0, 1,
		pcommon.NewTimestampFromTime(time.Date(2026, 1, 1, 10, 15, 0, 350000000, time.UTC)),
		pcommon.NewTimestampFromTime(time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC)),
		pcommon.NewTimestampFromTime(time.Date(2099, 12, 31, 23, 59, 59, 1, time.UTC)),
		math.MaxInt64 - 1, math.MaxInt64,
		math.MaxInt64 + 1,   // 2262-04-11, not the earliest int64 instant (1677)
		9223372036854775813, // QA's span start
		math.MaxUint64,      // 2554-07-21, not 1 ns before 1970
	}
	for _, start := range starts {
		for _, days := range []int{0, 1, -1, 30, 365, 366, 2190, 2555, 36525, 106_751, 106_752, maxDurationDays, maxDurationDays + 1, -maxDurationDays, 1_000_000} {
			want := m.FormatTime(toolspan.TimestampTime(start).AddDate(0, 0, days))
			if got := retainUntilText(start, days, m); got != want {
				t.Errorf("retainUntilText(%d, %d) = %q, want %q", uint64(start), days, got, want)
			}
		}
	}
}

func FuzzRetainUntilText(f *testing.F) {
	m := toolspan.NewMapper(toolspan.Options{})
	f.Add(uint64(1767262500_123456789), 2555)
	f.Add(uint64(math.MaxInt64), 1)
	f.Add(uint64(math.MaxUint64), -1)
	f.Fuzz(func(t *testing.T, start uint64, days int) {
		days %= 2 * maxDurationDays // AddDate's year stays in the range time.Time formats
		ts := pcommon.Timestamp(start)
		want := m.FormatTime(toolspan.TimestampTime(ts).AddDate(0, 0, days))
		if got := retainUntilText(ts, days, m); got != want {
			t.Fatalf("retainUntilText(%d, %d) = %q, want %q", start, days, got, want)
		}
	})
}

// BenchmarkRetentionApply is the retention tag of one record as the
// exporter sets it: a cached classification and retain_until's text.
func BenchmarkRetentionApply(b *testing.B) {
	p := newRetentionPolicy(defaultRetention())
	m := toolspan.NewReusingMapper(toolspan.Options{})
	start := pcommon.NewTimestampFromTime(time.Date(2026, 1, 1, 10, 15, 0, 350000000, time.UTC))
	r := auditlog.Record{ToolName: "issue_refund"}
	for b.Loop() {
		m.Reset()
		p.apply(&r, start, m)
	}
}

// TestRetentionCountsFromWrite sends spans whose start is missing, long
// past, just past and ahead of the exporter's clock: retention counts
// from the later of the start and the time the record is written, so no
// record can be prunable as soon as it is on disk.
func TestRetentionCountsFromWrite(t *testing.T) {
	written := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name  string
		start time.Time // zero: no start time
		from  time.Time
	}{
		{"no start time", time.Time{}, written},
		{"an agent clock 25 years behind", time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), written},
		{"a second before the write", written.Add(-time.Second), written},
		{"an agent clock an hour ahead", written.Add(time.Hour), written.Add(time.Hour)},
	}
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for i, c := range cases {
		sp := spans.AppendEmpty()
		sp.SetName("execute_tool lookup")
		sp.SetTraceID(pcommon.TraceID{1})
		sp.SetSpanID(pcommon.SpanID{byte(i + 1)})
		sp.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
		sp.Attributes().PutStr("gen_ai.tool.name", "lookup")
		if !c.start.IsZero() {
			sp.SetStartTimestamp(pcommon.NewTimestampFromTime(c.start))
			sp.SetEndTimestamp(pcommon.NewTimestampFromTime(c.start.Add(time.Millisecond)))
		}
	}
	dir := t.TempDir()
	cfg := testConfig(dir, newKeys(t))
	cfg.now = func() time.Time { return written }
	exp := startExporter(t, cfg, nopSettings())
	require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	recs := readStore(t, dir)["general"]
	require.Len(t, recs, len(cases))
	for i, c := range cases {
		want := c.from.AddDate(0, 0, 365).Format(auditlog.TimeFormat)
		assert.Equal(t, want, recs[i].Retention.RetainUntil, c.name)
	}
}

// TestSpanTimesAtTheEdges sends tool spans whose start OTLP allows but
// int64 nanoseconds do not hold (from 2^63 on: 2262-04-11 to 2554-07-21),
// and spans without a start or with an end before it. A start beyond
// int64 was read as a time in 1677-1970: the record's timestamp was that,
// and its retain_until, counted from it, was in the past, so prune
// removed it the day it was written. Now timestamp is the span's start,
// retention counts from the later of it and the write, and duration_ms is
// 0 where there is none.
func TestSpanTimesAtTheEdges(t *testing.T) {
	written := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name       string
		start, end pcommon.Timestamp
		timestamp  string
		from       time.Time // retention counts from
		durationMS float64
	}{
		{"QA's start, beyond int64", 9223372036854775813, 9223372036854775813 + 2_000_000,
			"2262-04-11T23:47:16.854775813Z", time.Date(2262, 4, 11, 23, 47, 16, 854775813, time.UTC), 2},
		{"the last OTLP instant", math.MaxUint64, math.MaxUint64,
			"2554-07-21T23:34:33.709551615Z", time.Date(2554, 7, 21, 23, 34, 33, 709551615, time.UTC), 0},
		{"no start, an end", 0, pcommon.NewTimestampFromTime(written), "1970-01-01T00:00:00.000000000Z", written, 0},
		{"end before start", pcommon.NewTimestampFromTime(written.Add(-time.Minute)), pcommon.NewTimestampFromTime(written.Add(-2 * time.Minute)),
			"2026-06-01T11:59:00.000000000Z", written, 0},
	}
	dir := t.TempDir()
	k := newKeys(t)
	cfg := testConfig(dir, k)
	cfg.now = func() time.Time { return written }
	cfg.Segment.MaxBytes = 1 // a segment per batch, sealed by the next
	exp := startExporter(t, cfg, nopSettings())
	send := func(i int, start, end pcommon.Timestamp) {
		td := ptrace.NewTraces()
		sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		sp.SetName("execute_tool access_patient_record")
		sp.SetTraceID(pcommon.TraceID{2})
		sp.SetSpanID(pcommon.SpanID{byte(i + 1)})
		sp.Attributes().PutStr("gen_ai.operation.name", "execute_tool")
		sp.Attributes().PutStr("gen_ai.tool.name", "access_patient_record")
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(end)
		require.NoError(t, exp.ConsumeTraces(context.Background(), td))
	}
	for i, c := range cases {
		send(i, c.start, c.end)
	}
	send(len(cases), pcommon.NewTimestampFromTime(written), pcommon.NewTimestampFromTime(written)) // the active segment's
	require.NoError(t, exp.Shutdown(context.Background()))

	recs := readStore(t, dir)["healthcare"]
	require.Len(t, recs, len(cases)+1)
	for i, c := range cases {
		r := recs[i]
		assert.Equal(t, c.timestamp, r.Timestamp, c.name)
		assert.Equal(t, c.durationMS, r.DurationMS, c.name)
		assert.Equal(t, 2190, r.Retention.Days, c.name)
		assert.Equal(t, c.from.AddDate(0, 0, 2190).Format(auditlog.TimeFormat), r.Retention.RetainUntil, c.name)
	}
	verifyStore(t, dir, k.verifier)
	// A year after the write, prune removes none of them.
	res, err := auditlog.Prune(dir, auditlog.PruneOptions{Now: written.AddDate(1, 0, 0), DryRun: true, Chains: []string{"healthcare"}})
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Empty(t, res[0].Segments, "prunable a year after the write")
	assert.Contains(t, res[0].StoppedAt, "not expired: seq 0")
}

// TestLongestRetentionFromTheLastStart writes a record of the longest
// retention Validate allows from the last instant OTLP can name: its
// retain_until is a four-digit year, 1,000 years on.
func TestLongestRetentionFromTheLastStart(t *testing.T) {
	p := newRetentionPolicy(RetentionConfig{DefaultClass: "forever", Classes: map[string]ClassConfig{"forever": {Days: auditlog.MaxRetentionDays}}})
	m := toolspan.NewMapper(toolspan.Options{})
	var r auditlog.Record
	p.apply(&r, math.MaxUint64, m)
	assert.Equal(t, "3553-11-21T23:34:33.709551615Z", r.Retention.RetainUntil)
}
