package query

import (
	"bytes"
	"io"
	"strconv"
	"strings"

	"github.com/otelaudit/otelaudit/auditlog"
)

// CallsResult lists the records that matched a filter, as full audit
// records in their documented format.
type CallsResult struct {
	Source string `json:"source"`
	// From and To are the range the source covered (RFC 3339, "" when
	// open): the filter's bounds, or for Jaeger the range searched, which
	// a search needs (the lookback without --since), so that an answer
	// from Jaeger says which calls it could not include.
	From              string    `json:"from"`
	To                string    `json:"to"`
	IntegrityVerified bool      `json:"integrity_verified"`
	Integrity         Integrity `json:"integrity"`
	Count             int       `json:"count"`
	// Records are the calls, each by its innermost observation. A record
	// some of whose fields were filled from outer observations of its call
	// is no longer the stored record byte for byte; its JSON names the
	// fields filled and where from ("filled_from_outer", FilledFrom).
	Records []auditlog.Record `json:"records"`

	filled map[spanKey][]FilledField
}

// FilledFrom returns the fields of r, one of c's records, that were filled
// from outer observations of its call, and from which span ids; nil when
// r is the stored record as it is. r's chain_id, seq, prev_hash, hash and
// retention are the innermost observation's as stored (retention is what
// the store keeps for that record), so a filled record does not re-hash
// to its hash; `otelaudit cat` shows the stored one.
func (c *CallsResult) FilledFrom(r *auditlog.Record) []FilledField {
	return c.filled[spanKey{r.TraceID, r.SpanID}]
}

// filledRecord is the JSON form of a record with filled fields: the
// record's members, then the marker, so that no reader takes it for the
// stored record.
type filledRecord struct {
	*auditlog.Record
	FilledFromOuter []FilledField `json:"filled_from_outer"`
}

// item is the JSON value of record i.
func (c *CallsResult) item(i int) any {
	r := &c.Records[i]
	if f := c.FilledFrom(r); f != nil {
		return &filledRecord{Record: r, FilledFromOuter: f}
	}
	return r
}

// callsHead is CallsResult without its methods, for encoding its head.
type callsHead CallsResult

// MarshalJSON encodes c as Render writes it: each record with filled
// fields carries its filled_from_outer marker.
func (c *CallsResult) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSONList(&b, c.list()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Calls returns the records of res that match f, in time order. When they
// all match, as they do for a result fetched with f, the CallsResult holds
// res's own records, not a copy.
func Calls(f Filter, res *Result) *CallsResult {
	res = res.innermost()
	recs := res.Records
	if !f.matchesAll(recs) {
		// Sources return only matching records, so this copy is for
		// callers that filter a result further.
		recs = f.Apply(recs)
	}
	if recs == nil {
		recs = []auditlog.Record{} // "records": [], as documented
	}
	return &CallsResult{
		Source:            res.Source,
		From:              res.rangeFrom(),
		To:                res.rangeTo(),
		IntegrityVerified: res.Integrity.Verified,
		Integrity:         res.Integrity,
		Count:             len(recs),
		Records:           recs,
		filled:            res.filled,
	}
}

// WriteText writes an aligned table, one call per row.
func (c *CallsResult) WriteText(w io.Writer) error {
	return writeRows(w, rowSource{
		header: []string{"TIME", "USER", "TOOL", "SUBJECT", "OUTCOME", "MS", "CONVERSATION", "TURN", "TRACE"},
		n:      len(c.Records),
		row: func(i int) []string {
			r := &c.Records[i]
			return []string{
				r.Timestamp, dash(r.UserID), r.ToolName, dash(subjectString(r.Subject)), outcome(r),
				FormatDuration(r.DurationMS), dash(r.ConversationID), dash(turnString(r.TurnNumber)), r.TraceID,
			}
		},
	})
}

// Table returns every record field of interest, one record per row.
func (c *CallsResult) Table() ([]string, [][]string) {
	return recordTable(c.Records, c.FilledFrom).all()
}

// list is c with its records given one at a time (see Render).
func (c *CallsResult) list() jsonList {
	head := callsHead(*c)
	head.Records = []auditlog.Record{}
	return jsonList{
		head:  &head,
		n:     len(c.Records),
		item:  c.item,
		table: recordTable(c.Records, c.FilledFrom),
	}
}

// recordTable is the CSV form of a list of records; filled gives the
// fields of a record filled from outer observations, listed in the last
// column as field=span_id separated by spaces.
func recordTable(recs []auditlog.Record, filled func(*auditlog.Record) []FilledField) rowSource {
	return rowSource{
		header: []string{
			"timestamp", "conversation_id", "turn", "user_id", "user_roles", "tool", "tool_call_id",
			"subject_type", "subject_id", "purpose", "trigger", "break_glass", "break_glass_reason",
			"success", "error_type", "error_message", "duration_ms", "model", "agent",
			"arguments", "result_summary", "trace_id", "span_id", "chain_id", "seq", "filled_from_outer",
		},
		n: len(recs),
		row: func(i int) []string {
			r := &recs[i]
			et, em := errorFields(r.Error)
			return []string{
				r.Timestamp, r.ConversationID, turnString(r.TurnNumber), r.UserID, strings.Join(r.UserRoles, ","),
				r.ToolName, r.ToolCallID, r.Subject.Type, r.Subject.ID, r.Purpose, r.Trigger,
				strconv.FormatBool(r.BreakGlass), r.BreakGlassReason, strconv.FormatBool(r.Success), et, em,
				formatMS(r.DurationMS), r.Model, agentName(r.Agent), string(nullIfEmpty(r.Arguments)),
				string(nullIfEmpty(r.ResultSummary)), r.TraceID, r.SpanID, r.ChainID, seqString(r), filledString(filled(r)),
			}
		},
	}
}

// filledString is the CSV cell of a record's filled fields.
func filledString(fs []FilledField) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(f.Field + "=" + f.FromSpanID)
	}
	return b.String()
}

// seqString is the record's sequence number, empty for records that did
// not come from a store.
func seqString(r *auditlog.Record) string {
	if r.ChainID == "" {
		return ""
	}
	return strconv.FormatUint(r.Seq, 10)
}

func agentName(a auditlog.Agent) string {
	if a.Name != "" {
		return a.Name
	}
	return a.ID
}

func subjectString(s Subject) string {
	if s.Type == "" && s.ID == "" {
		return ""
	}
	return s.Type + "/" + s.ID
}

func outcome(r *auditlog.Record) string {
	if r.Success {
		return "ok"
	}
	if r.Error != nil && r.Error.Type != "" {
		return "failed (" + r.Error.Type + ")"
	}
	return "failed"
}

// dash is s, or "-" when it holds nothing but white space: a user id of
// spaces is no user (blank), and shows as none.
func dash(s string) string {
	if blank(s) {
		return "-"
	}
	return s
}
