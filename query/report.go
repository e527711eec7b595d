package query

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// AccessReport answers an auditor: who accessed one subject's data over a
// period, in what role, with which tool, for what purpose, with what
// outcome, and whether the answer is proven unchanged.
type AccessReport struct {
	Subject Subject `json:"subject"`
	// From and To bound the period, RFC 3339 UTC; empty when unbounded.
	// From is inclusive, To exclusive.
	From              string         `json:"from"`
	To                string         `json:"to"`
	Source            string         `json:"source"`
	IntegrityVerified bool           `json:"integrity_verified"`
	Integrity         Integrity      `json:"integrity"`
	Totals            AccessTotals   `json:"totals"`
	Accesses          []AccessRecord `json:"accesses"`
}

// AccessTotals summarises the accesses of a report.
type AccessTotals struct {
	Accesses   int `json:"accesses"`
	Succeeded  int `json:"succeeded"`
	Failed     int `json:"failed"`
	BreakGlass int `json:"break_glass"`
	// UniqueUsers counts the distinct human users (user.id) on whose
	// behalf the subject was accessed; Users lists them sorted. Calls an
	// AI agent made on its own (proactive) count under the user of the
	// conversation, when known.
	UniqueUsers int      `json:"unique_users"`
	Users       []string `json:"users"`
}

// AccessRecord is one access to the subject.
type AccessRecord struct {
	When string `json:"when"`
	// Who is the initiator of the call (Record.Attribution.Initiator),
	// else the user id, else the agent.
	Who string `json:"who"`
	// WhoType is user, model or system (Attribution.InitiatorType).
	WhoType string `json:"who_type"`
	// Role is the initiator's role, else the user's roles joined by ",".
	Role             string          `json:"role"`
	UserID           string          `json:"user_id"`
	Tool             string          `json:"tool"`
	Purpose          string          `json:"purpose"`
	Outcome          string          `json:"outcome"`
	Error            *auditlog.Error `json:"error"`
	BreakGlass       bool            `json:"break_glass"`
	BreakGlassReason string          `json:"break_glass_reason"`
	Agent            string          `json:"agent"`
	Model            string          `json:"model"`
	ConversationID   string          `json:"conversation_id"`
	TraceID          string          `json:"trace_id"`
	SpanID           string          `json:"span_id"`
	ChainID          string          `json:"chain_id"`
	Seq              *uint64         `json:"seq"`
}

// Report builds the access report of subject over [from, to) from res.
// Records of other subjects or outside the period are ignored; zero bounds
// are open.
func Report(subject Subject, from, to time.Time, res *Result) *AccessReport {
	res = res.innermost()
	f := Filter{Subject: subject, Since: from, Until: to}
	rep := &AccessReport{
		Subject:           subject,
		Source:            res.Source,
		IntegrityVerified: res.Integrity.Verified,
		Integrity:         res.Integrity,
		Accesses:          []AccessRecord{},
	}
	// The period is what was asked and the source covered: a Jaeger
	// search always has a range (the lookback when --from is absent), and
	// a report that said "all records" would hide what it left out.
	if !res.From.IsZero() && (from.IsZero() || res.From.After(from)) {
		from = res.From
	}
	if !res.To.IsZero() && (to.IsZero() || res.To.Before(to)) {
		to = res.To
	}
	if !from.IsZero() {
		rep.From = from.UTC().Format(time.RFC3339Nano)
	}
	if !to.IsZero() {
		rep.To = to.UTC().Format(time.RFC3339Nano)
	}
	users := map[string]struct{}{}
	for i := range res.Records {
		r := &res.Records[i]
		if !f.Match(r) {
			continue
		}
		a := accessOf(r)
		rep.Accesses = append(rep.Accesses, a)
		rep.Totals.Accesses++
		if r.Success {
			rep.Totals.Succeeded++
		} else {
			rep.Totals.Failed++
		}
		if r.BreakGlass {
			rep.Totals.BreakGlass++
		}
		if u := userOf(r); u != "" {
			users[u] = struct{}{}
		}
	}
	rep.Totals.UniqueUsers = len(users)
	rep.Totals.Users = make([]string, 0, len(users))
	for u := range users {
		rep.Totals.Users = append(rep.Totals.Users, u)
	}
	slices.Sort(rep.Totals.Users)
	return rep
}

func accessOf(r *auditlog.Record) AccessRecord {
	a := AccessRecord{
		When:             r.Timestamp,
		Who:              r.Attribution.Initiator,
		WhoType:          r.Attribution.InitiatorType,
		Role:             r.Attribution.InitiatorRole,
		UserID:           r.UserID,
		Tool:             r.ToolName,
		Purpose:          r.Purpose,
		Outcome:          "success",
		Error:            r.Error,
		BreakGlass:       r.BreakGlass,
		BreakGlassReason: r.BreakGlassReason,
		Agent:            agentName(r.Agent),
		Model:            r.Model,
		ConversationID:   r.ConversationID,
		TraceID:          r.TraceID,
		SpanID:           r.SpanID,
		ChainID:          r.ChainID,
	}
	if a.Who == "" {
		a.Who = r.UserID
		if a.Who != "" && a.WhoType == "" {
			a.WhoType = auditlog.InitiatorUser
		}
	}
	if a.Who == "" {
		a.Who = a.Agent
	}
	if a.Role == "" && a.Who == r.UserID {
		a.Role = strings.Join(r.UserRoles, ",")
	}
	if !r.Success {
		a.Outcome = "failure"
	}
	if r.ChainID != "" {
		seq := r.Seq
		a.Seq = &seq
	}
	return a
}

// WriteText writes a heading, an aligned table of accesses, the totals and
// the integrity status.
func (r *AccessReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "Access report for %s\n", sanitize(subjectString(r.Subject)))
	fmt.Fprintf(w, "Period: %s", period(r.From, r.To))
	if r.Source == SourceJaeger {
		fmt.Fprint(w, " (the range searched in Jaeger: calls outside it are not included)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Source: %s\n\n", r.Source)
	header := []string{"WHEN", "WHO", "ROLE", "TOOL", "PURPOSE", "OUTCOME", "BREAK-GLASS"}
	rows := make([][]string, 0, len(r.Accesses))
	for _, a := range r.Accesses {
		bg := "no"
		if a.BreakGlass {
			bg = "YES"
			if a.BreakGlassReason != "" {
				bg += ": " + a.BreakGlassReason
			}
		}
		out := a.Outcome
		if a.Error != nil && a.Error.Type != "" {
			out += " (" + a.Error.Type + ")"
		}
		rows = append(rows, []string{a.When, dash(a.Who), dash(a.Role), a.Tool, dash(a.Purpose), out, bg})
	}
	if err := writeTable(w, header, rows); err != nil {
		return err
	}
	t := r.Totals
	fmt.Fprintf(w, "\nTotals: %d accesses (%d succeeded, %d failed), %d break-glass, %d unique users",
		t.Accesses, t.Succeeded, t.Failed, t.BreakGlass, t.UniqueUsers)
	if len(t.Users) > 0 {
		fmt.Fprintf(w, " (%s)", sanitize(strings.Join(t.Users, ", ")))
	}
	fmt.Fprintln(w)
	writeIntegrityText(w, &r.Integrity)
	return nil
}

// period describes the report's time bounds, from inclusive and to
// exclusive, either of them empty when unbounded.
func period(from, to string) string {
	switch {
	case from == "" && to == "":
		return "all records (no --from or --to)"
	case to == "":
		return "from " + from + " (inclusive)"
	case from == "":
		return "until " + to + " (exclusive)"
	}
	return from + " (inclusive) to " + to + " (exclusive)"
}

// Table returns one row per access.
func (r *AccessReport) Table() ([]string, [][]string) {
	header := []string{"when", "who", "who_type", "role", "user_id", "tool", "purpose", "outcome", "error_type",
		"break_glass", "break_glass_reason", "agent", "model", "conversation_id", "trace_id", "span_id",
		"chain_id", "seq", "integrity_verified"}
	rows := make([][]string, 0, len(r.Accesses))
	for _, a := range r.Accesses {
		et, _ := errorFields(a.Error)
		seq := ""
		if a.Seq != nil {
			seq = strconv.FormatUint(*a.Seq, 10)
		}
		rows = append(rows, []string{a.When, a.Who, a.WhoType, a.Role, a.UserID, a.Tool, a.Purpose, a.Outcome, et,
			strconv.FormatBool(a.BreakGlass), a.BreakGlassReason, a.Agent, a.Model, a.ConversationID, a.TraceID,
			a.SpanID, a.ChainID, seq, strconv.FormatBool(r.IntegrityVerified)})
	}
	return header, rows
}

// orOpen is s, or "(open)" for an unbounded end.
func orOpen(s string) string {
	if s == "" {
		return "(open)"
	}
	return s
}
