package query

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/otelaudit/otelaudit/auditlog"
)

// StatsResult aggregates calls per tool.
type StatsResult struct {
	Source string `json:"source"`
	// From and To are the range the source covered (RFC 3339, "" when
	// open): the filter's bounds, or for Jaeger the range searched, which
	// a search needs (the lookback without --since), so that an answer
	// from Jaeger says which calls it could not include.
	From              string      `json:"from"`
	To                string      `json:"to"`
	IntegrityVerified bool        `json:"integrity_verified"`
	Integrity         Integrity   `json:"integrity"`
	Tools             []ToolStats `json:"tools"`
	// Total aggregates every call; its Tool is "*".
	Total ToolStats `json:"total"`
}

// ToolStats are the numbers of one tool.
type ToolStats struct {
	Tool     string `json:"tool"`
	Calls    int    `json:"calls"`
	Failures int    `json:"failures"`
	// SuccessRate is the fraction of successful calls, 0 to 1.
	SuccessRate float64 `json:"success_rate"`
	// P50MS and P95MS are nearest-rank percentiles of the duration.
	P50MS       float64 `json:"p50_ms"`
	P95MS       float64 `json:"p95_ms"`
	MaxMS       float64 `json:"max_ms"`
	UniqueUsers int     `json:"unique_users"`
}

// Stats aggregates the records of res per tool, tools sorted by name.
// Calls without a user id do not count towards UniqueUsers.
func Stats(res *Result) *StatsResult {
	res = res.innermost()
	byTool := map[string][]*auditlog.Record{}
	all := make([]*auditlog.Record, 0, len(res.Records))
	for i := range res.Records {
		r := &res.Records[i]
		byTool[r.ToolName] = append(byTool[r.ToolName], r)
		all = append(all, r)
	}
	out := &StatsResult{
		Source:            res.Source,
		From:              res.rangeFrom(),
		To:                res.rangeTo(),
		IntegrityVerified: res.Integrity.Verified,
		Integrity:         res.Integrity,
		Tools:             make([]ToolStats, 0, len(byTool)),
		Total:             toolStats("*", all),
	}
	for tool, recs := range byTool {
		out.Tools = append(out.Tools, toolStats(tool, recs))
	}
	slices.SortFunc(out.Tools, func(a, b ToolStats) int { return cmp.Compare(a.Tool, b.Tool) })
	return out
}

func toolStats(tool string, recs []*auditlog.Record) ToolStats {
	s := ToolStats{Tool: tool, Calls: len(recs)}
	if len(recs) == 0 {
		return s
	}
	durs := make([]float64, len(recs))
	users := map[string]struct{}{}
	for i, r := range recs {
		durs[i] = r.DurationMS
		if !r.Success {
			s.Failures++
		}
		if u := userOf(r); u != "" {
			users[u] = struct{}{}
		}
	}
	slices.Sort(durs)
	s.SuccessRate = float64(s.Calls-s.Failures) / float64(s.Calls)
	s.P50MS = percentile(durs, 50)
	s.P95MS = percentile(durs, 95)
	s.MaxMS = durs[len(durs)-1]
	s.UniqueUsers = len(users)
	return s
}

// percentile is the nearest-rank percentile of sorted, non-empty values:
// the smallest value such that at least p percent are at or below it.
func percentile(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// WriteText writes an aligned table with a total row.
func (s *StatsResult) WriteText(w io.Writer) error {
	header := []string{"TOOL", "CALLS", "SUCCESS", "P50", "P95", "MAX", "USERS"}
	rows := make([][]string, 0, len(s.Tools)+1)
	for _, t := range append(slices.Clone(s.Tools), s.Total) {
		rows = append(rows, []string{
			t.Tool, strconv.Itoa(t.Calls), fmt.Sprintf("%.1f%%", 100*t.SuccessRate),
			FormatDuration(t.P50MS), FormatDuration(t.P95MS), FormatDuration(t.MaxMS), strconv.Itoa(t.UniqueUsers),
		})
	}
	if len(s.Tools) == 0 {
		rows = rows[:0]
	}
	return writeTable(w, header, rows)
}

// Table returns one row per tool, without the total.
func (s *StatsResult) Table() ([]string, [][]string) {
	header := []string{"tool", "calls", "failures", "success_rate", "p50_ms", "p95_ms", "max_ms", "unique_users"}
	rows := make([][]string, 0, len(s.Tools))
	for _, t := range s.Tools {
		rows = append(rows, []string{
			t.Tool, strconv.Itoa(t.Calls), strconv.Itoa(t.Failures), strconv.FormatFloat(t.SuccessRate, 'f', -1, 64),
			formatMS(t.P50MS), formatMS(t.P95MS), formatMS(t.MaxMS), strconv.Itoa(t.UniqueUsers),
		})
	}
	return header, rows
}
