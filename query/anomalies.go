package query

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// Kinds of Anomaly.
const (
	// AnomalySubjectBurst: one subject accessed at least the burst
	// threshold of times within the burst window.
	AnomalySubjectBurst = "subject_burst"
	// AnomalyBreakGlass: one break-glass access.
	AnomalyBreakGlass = "break_glass"
	// AnomalyUserSpread: one user touched at least the spread threshold
	// of distinct subjects within the spread window.
	AnomalyUserSpread = "user_spread"
)

// Defaults of the anomaly rules.
const (
	DefaultBurstThreshold  = 10
	DefaultBurstWindow     = time.Hour
	DefaultSpreadThreshold = 20
	DefaultSpreadWindow    = 24 * time.Hour
)

// AnomalyOption tunes Anomalies.
type AnomalyOption func(*anomalyConfig)

type anomalyConfig struct {
	burstN       int
	burstWindow  time.Duration
	spreadN      int
	spreadWindow time.Duration
}

// WithBurst reports a subject accessed at least n times within window
// (default DefaultBurstThreshold within DefaultBurstWindow). n <= 0
// disables the rule.
func WithBurst(n int, window time.Duration) AnomalyOption {
	return func(c *anomalyConfig) { c.burstN, c.burstWindow = n, window }
}

// WithSpread reports a user touching at least n distinct subjects within
// window (default DefaultSpreadThreshold within DefaultSpreadWindow); a
// window of 0 means the whole queried range. n <= 0 disables the rule.
func WithSpread(n int, window time.Duration) AnomalyOption {
	return func(c *anomalyConfig) { c.spreadN, c.spreadWindow = n, window }
}

// AnomaliesResult lists the anomalies found.
type AnomaliesResult struct {
	Source string `json:"source"`
	// From and To are the range the source covered (RFC 3339, "" when
	// open): the filter's bounds, or for Jaeger the range searched, which
	// a search needs (the lookback without --since), so that an answer
	// from Jaeger says which calls it could not include.
	From              string     `json:"from"`
	To                string     `json:"to"`
	IntegrityVerified bool       `json:"integrity_verified"`
	Integrity         Integrity  `json:"integrity"`
	Rules             RuleConfig `json:"rules"`
	Count             int        `json:"count"`
	Anomalies         []Anomaly  `json:"anomalies"`
}

// RuleConfig records the thresholds an anomaly search ran with; windows in
// Go duration syntax ("1h0m0s"), "0s" for the whole range.
type RuleConfig struct {
	BurstThreshold  int    `json:"burst_threshold"`
	BurstWindow     string `json:"burst_window"`
	SpreadThreshold int    `json:"spread_threshold"`
	SpreadWindow    string `json:"spread_window"`
}

// Anomaly is one finding of Anomalies.
type Anomaly struct {
	Kind string `json:"kind"`
	// Subject is the subject of a burst or break-glass access; empty for
	// a spread.
	Subject Subject `json:"subject"`
	// UserID is the user of a spread or break-glass access; empty for a
	// burst, whose users are listed in Users, and for a spread by an
	// initiator that is not a user.
	UserID string `json:"user_id"`
	// Initiator is who a spread is about: the user, or for calls without
	// one, the model or agent that initiated them (InitiatorType says
	// which: user, model, system; see initiatorOf); empty for other kinds.
	Initiator     string `json:"initiator"`
	InitiatorType string `json:"initiator_type"`
	// Count is the number of accesses of a burst (all accesses of the
	// merged run), 1 for break-glass, or the number of distinct subjects
	// of a spread.
	Count int `json:"count"`
	// MaxInWindow is the largest count inside one window; equal to Count
	// for break-glass.
	MaxInWindow int `json:"max_in_window"`
	// First and Last are the timestamps of the first and last access.
	First    string        `json:"first"`
	Last     string        `json:"last"`
	Users    []string      `json:"users"`
	Subjects []Subject     `json:"subjects"`
	Detail   string        `json:"detail"`
	Evidence []EvidenceRef `json:"evidence"`
}

// EvidenceRef points at one record behind an anomaly.
type EvidenceRef struct {
	Timestamp string  `json:"timestamp"`
	UserID    string  `json:"user_id"`
	Tool      string  `json:"tool"`
	Subject   Subject `json:"subject"`
	TraceID   string  `json:"trace_id"`
	SpanID    string  `json:"span_id"`
}

// Anomalies looks for access patterns worth a human look in res:
// subject bursts, break-glass use and users touching many subjects.
// Overlapping windows of one subject (or user) merge into one anomaly.
// Anomalies are sorted by first access, then kind.
func Anomalies(res *Result, opts ...AnomalyOption) *AnomaliesResult {
	res = res.innermost()
	c := anomalyConfig{
		burstN: DefaultBurstThreshold, burstWindow: DefaultBurstWindow,
		spreadN: DefaultSpreadThreshold, spreadWindow: DefaultSpreadWindow,
	}
	for _, o := range opts {
		o(&c)
	}
	type timed struct {
		t time.Time
		r *auditlog.Record
	}
	bySubject := map[Subject][]timed{}
	byInitiator := map[initiator][]timed{}
	out := &AnomaliesResult{
		Source:            res.Source,
		From:              res.rangeFrom(),
		To:                res.rangeTo(),
		IntegrityVerified: res.Integrity.Verified,
		Integrity:         res.Integrity,
		Rules: RuleConfig{
			BurstThreshold: c.burstN, BurstWindow: c.burstWindow.String(),
			SpreadThreshold: c.spreadN, SpreadWindow: c.spreadWindow.String(),
		},
		Anomalies: []Anomaly{},
	}
	for i := range res.Records {
		r := &res.Records[i]
		tr := timed{recordTime(r), r}
		if r.Subject.Type != "" || r.Subject.ID != "" {
			// Every spelling of the type is one subject (SameSubject).
			k := subjectKey(r.Subject)
			bySubject[k] = append(bySubject[k], tr)
			if who := initiatorOf(r); who.id != "" {
				byInitiator[who] = append(byInitiator[who], tr)
			}
		}
		if r.BreakGlass {
			detail := "break-glass access"
			if r.BreakGlassReason != "" {
				detail += ": " + r.BreakGlassReason
			}
			out.Anomalies = append(out.Anomalies, Anomaly{
				Kind: AnomalyBreakGlass, Subject: r.Subject, UserID: userOf(r), Count: 1, MaxInWindow: 1,
				First: r.Timestamp, Last: r.Timestamp, Users: nonEmpty(userOf(r)), Subjects: subjects(r.Subject),
				Detail: detail, Evidence: []EvidenceRef{evidence(r)},
			})
		}
	}
	byTime := func(a, b timed) int {
		if c := a.t.Compare(b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.r.SpanID, b.r.SpanID)
	}
	if c.burstN > 0 {
		for _, ts := range bySubject {
			slices.SortFunc(ts, byTime)
			// The subject as its first access spells it.
			subj := ts[0].r.Subject
			times := make([]time.Time, len(ts))
			for i := range ts {
				times[i] = ts[i].t
			}
			for _, run := range windowRuns(times, c.burstWindow, c.burstN, func(lo, hi int) int { return hi - lo + 1 }) {
				a := Anomaly{
					Kind: AnomalySubjectBurst, Subject: subj, Count: run.hi - run.lo + 1, MaxInWindow: run.max,
					First: ts[run.lo].r.Timestamp, Last: ts[run.hi].r.Timestamp, Subjects: subjects(subj),
				}
				users := map[string]struct{}{}
				for _, t := range ts[run.lo : run.hi+1] {
					if u := userOf(t.r); u != "" {
						users[u] = struct{}{}
					}
					a.Evidence = append(a.Evidence, evidence(t.r))
				}
				a.Users = sortedKeys(users)
				a.Detail = fmt.Sprintf("%s accessed %d times within %s (threshold %d); %d accesses in the run",
					subjectString(subj), run.max, c.burstWindow, c.burstN, a.Count)
				out.Anomalies = append(out.Anomalies, a)
			}
		}
	}
	if c.spreadN > 0 {
		for who, ts := range byInitiator {
			slices.SortFunc(ts, byTime)
			times := make([]time.Time, len(ts))
			for i := range ts {
				times[i] = ts[i].t
			}
			// windowRuns moves both ends forward only, so the distinct
			// count is kept incrementally.
			counts := map[Subject]int{}
			curLo, curHi := 0, -1
			distinct := func(lo, hi int) int {
				for ; curHi < hi; curHi++ {
					counts[subjectKey(ts[curHi+1].r.Subject)]++
				}
				for ; curLo < lo; curLo++ {
					s := subjectKey(ts[curLo].r.Subject)
					if counts[s]--; counts[s] == 0 {
						delete(counts, s)
					}
				}
				return len(counts)
			}
			window := c.spreadWindow
			if window <= 0 && len(times) > 0 {
				window = times[len(times)-1].Sub(times[0])
			}
			for _, run := range windowRuns(times, window, c.spreadN, distinct) {
				a := Anomaly{
					Kind: AnomalyUserSpread, Initiator: who.id, InitiatorType: who.typ, MaxInWindow: run.max,
					First: ts[run.lo].r.Timestamp, Last: ts[run.hi].r.Timestamp, Users: []string{},
				}
				if who.typ == auditlog.InitiatorUser {
					a.UserID, a.Users = who.id, []string{who.id}
				}
				seen := map[Subject]bool{}
				for _, t := range ts[run.lo : run.hi+1] {
					if k := subjectKey(t.r.Subject); !seen[k] {
						seen[k] = true
						a.Subjects = append(a.Subjects, t.r.Subject)
					}
					a.Evidence = append(a.Evidence, evidence(t.r))
				}
				a.Count = len(a.Subjects)
				slices.SortFunc(a.Subjects, func(x, y Subject) int {
					return cmp.Or(cmp.Compare(x.Type, y.Type), cmp.Compare(x.ID, y.ID))
				})
				span := "within " + c.spreadWindow.String()
				if c.spreadWindow <= 0 {
					span = "in the queried range"
				}
				name := who.id
				if who.typ != auditlog.InitiatorUser {
					name = who.typ + " " + who.id
				}
				a.Detail = fmt.Sprintf("%s touched %d distinct subjects %s (threshold %d)", name, run.max, span, c.spreadN)
				out.Anomalies = append(out.Anomalies, a)
			}
		}
	}
	slices.SortFunc(out.Anomalies, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(a.First, b.First), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(subjectString(a.Subject), subjectString(b.Subject)), cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Initiator, b.Initiator))
	})
	out.Count = len(out.Anomalies)
	return out
}

// run is a merged stretch [lo, hi] of sorted accesses in which some window
// reached the threshold; max is the largest measure of one window. Runs
// merge only when their windows share accesses.
type run struct{ lo, hi, max int }

// windowRuns slides a window of the given length over sorted times (two
// accesses are within the window when their distance is at most window)
// and returns the merged runs of indices covered by windows whose measure
// reaches threshold. measure(lo, hi) evaluates the window [lo, hi]; it is
// called with lo and hi never decreasing, so it may keep state.
func windowRuns(times []time.Time, window time.Duration, threshold int, measure func(lo, hi int) int) []run {
	var runs []run
	lo := 0
	for hi := range times {
		for times[hi].Sub(times[lo]) > window {
			lo++
		}
		m := measure(lo, hi)
		if m < threshold {
			continue
		}
		if n := len(runs); n > 0 && lo <= runs[n-1].hi {
			runs[n-1].hi = hi
			runs[n-1].max = max(runs[n-1].max, m)
			continue
		}
		runs = append(runs, run{lo, hi, m})
	}
	return runs
}

// initiator is who a user_spread is about (see initiatorOf).
type initiator struct{ id, typ string }

// initiatorOf is who initiated r, for the spread rule: the user, when the
// call names one; else the initiator its attribution names (the model of a
// proactive call, the agent or service of a retry or system call); else
// the agent, the model or the service that made the call. A system or an
// agent touching many patients on its own is at least as worth a look as
// a user doing so, and a rule keyed on user ids alone would never see it.
func initiatorOf(r *auditlog.Record) initiator {
	if u := userOf(r); u != "" {
		return initiator{u, auditlog.InitiatorUser}
	}
	if a := r.Attribution; !blank(a.Initiator) && a.InitiatorType != auditlog.InitiatorUser {
		return initiator{a.Initiator, a.InitiatorType}
	}
	for _, s := range []string{r.Agent.Name, r.Agent.ID, r.Model, r.Source.Service} {
		if !blank(s) {
			return initiator{s, auditlog.InitiatorSystem}
		}
	}
	return initiator{}
}

// userOf is r's user id, empty when blank: one rule in every command (a
// user id of spaces names no one; the FHIR export must drop it).
func userOf(r *auditlog.Record) string {
	if blank(r.UserID) {
		return ""
	}
	return r.UserID
}

func evidence(r *auditlog.Record) EvidenceRef {
	return EvidenceRef{Timestamp: r.Timestamp, UserID: r.UserID, Tool: r.ToolName, Subject: r.Subject, TraceID: r.TraceID, SpanID: r.SpanID}
}

func nonEmpty(s string) []string {
	if s == "" {
		return []string{}
	}
	return []string{s}
}

func subjects(s Subject) []Subject {
	if s.Type == "" && s.ID == "" {
		return []Subject{}
	}
	return []Subject{s}
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// WriteText writes one aligned row per anomaly and a count.
func (a *AnomaliesResult) WriteText(w io.Writer) error {
	header := []string{"KIND", "FIRST", "LAST", "SUBJECT", "USERS", "COUNT", "DETAIL"}
	rows := make([][]string, 0, len(a.Anomalies))
	for _, x := range a.Anomalies {
		rows = append(rows, []string{x.Kind, x.First, x.Last, dash(subjectString(x.Subject)), dash(strings.Join(x.Users, ",")),
			strconv.Itoa(x.Count), x.Detail})
	}
	if err := writeTable(w, header, rows); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d anomalies (burst: %s; spread: %s; every break-glass access)\n",
		a.Count, a.Rules.burstText(), a.Rules.spreadText())
	return err
}

// burstText describes the burst rule as it ran: a threshold of 0 turns it
// off.
func (c *RuleConfig) burstText() string {
	if c.BurstThreshold <= 0 {
		return "off"
	}
	return fmt.Sprintf("%d+ accesses to one subject within %s", c.BurstThreshold, c.BurstWindow)
}

// spreadText describes the spread rule as it ran: a threshold of 0 turns
// it off, a window of 0 is the whole queried range.
func (c *RuleConfig) spreadText() string {
	if c.SpreadThreshold <= 0 {
		return "off"
	}
	if d, err := time.ParseDuration(c.SpreadWindow); err == nil && d <= 0 {
		return fmt.Sprintf("%d+ subjects per initiator in the queried range", c.SpreadThreshold)
	}
	return fmt.Sprintf("%d+ subjects per initiator within %s", c.SpreadThreshold, c.SpreadWindow)
}

// Table returns one row per anomaly.
func (a *AnomaliesResult) Table() ([]string, [][]string) {
	header := []string{"kind", "first", "last", "subject_type", "subject_id", "user_id", "users", "count", "max_in_window", "detail",
		"initiator", "initiator_type"}
	rows := make([][]string, 0, len(a.Anomalies))
	for _, x := range a.Anomalies {
		rows = append(rows, []string{x.Kind, x.First, x.Last, x.Subject.Type, x.Subject.ID, x.UserID,
			strings.Join(x.Users, ","), strconv.Itoa(x.Count), strconv.Itoa(x.MaxInWindow), x.Detail, x.Initiator, x.InitiatorType})
	}
	return header, rows
}
