package query

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/otelaudit/otelaudit/auditlog"
)

// TimelineResult is one conversation's tool calls in order.
type TimelineResult struct {
	ConversationID string `json:"conversation_id"`
	Source         string `json:"source"`
	// From and To are the range the source covered (RFC 3339, "" when
	// open): the filter's bounds, or for Jaeger the range searched, which
	// a search needs (the lookback without --since), so that an answer
	// from Jaeger says which calls it could not include.
	From              string          `json:"from"`
	To                string          `json:"to"`
	IntegrityVerified bool            `json:"integrity_verified"`
	Integrity         Integrity       `json:"integrity"`
	Count             int             `json:"count"`
	Calls             []TimelineEntry `json:"calls"`
}

// TimelineEntry is one call of a timeline.
type TimelineEntry struct {
	// Turn is audit.turn_number, null when the span had none.
	Turn       *int64          `json:"turn"`
	Timestamp  string          `json:"timestamp"`
	Tool       string          `json:"tool"`
	ToolCallID string          `json:"tool_call_id"`
	Success    bool            `json:"success"`
	Arguments  json.RawMessage `json:"arguments"`
	Result     json.RawMessage `json:"result"`
	Error      *auditlog.Error `json:"error"`
	DurationMS float64         `json:"duration_ms"`
	UserID     string          `json:"user_id"`
	TraceID    string          `json:"trace_id"`
	SpanID     string          `json:"span_id"`
	// Line is the text form of the entry, exactly as the text output
	// prints it (before terminal sanitising).
	Line string `json:"line"`
}

// Timeline orders the records of res that belong to the conversation by
// turn number (calls without a turn last), then start time, then span id.
// Records of other conversations are ignored, so res may be broader than
// the conversation; an unknown conversation gives an empty timeline.
func Timeline(conversationID string, res *Result) *TimelineResult {
	res = res.innermost()
	recs := make([]*auditlog.Record, 0, len(res.Records))
	for i := range res.Records {
		if res.Records[i].ConversationID == conversationID {
			recs = append(recs, &res.Records[i])
		}
	}
	slices.SortStableFunc(recs, compareTurns)
	out := &TimelineResult{
		ConversationID:    conversationID,
		Source:            res.Source,
		From:              res.rangeFrom(),
		To:                res.rangeTo(),
		IntegrityVerified: res.Integrity.Verified,
		Integrity:         res.Integrity,
		Count:             len(recs),
		Calls:             make([]TimelineEntry, 0, len(recs)),
	}
	for _, r := range recs {
		out.Calls = append(out.Calls, TimelineEntry{
			Turn:       r.TurnNumber,
			Timestamp:  r.Timestamp,
			Tool:       r.ToolName,
			ToolCallID: r.ToolCallID,
			Success:    r.Success,
			Arguments:  nullIfEmpty(r.Arguments),
			Result:     nullIfEmpty(r.ResultSummary),
			Error:      r.Error,
			DurationMS: r.DurationMS,
			UserID:     r.UserID,
			TraceID:    r.TraceID,
			SpanID:     r.SpanID,
			Line:       TimelineLine(r),
		})
	}
	return out
}

// compareTurns orders by turn (nil last), start time, span id.
func compareTurns(a, b *auditlog.Record) int {
	switch {
	case a.TurnNumber == nil && b.TurnNumber != nil:
		return 1
	case a.TurnNumber != nil && b.TurnNumber == nil:
		return -1
	case a.TurnNumber != nil && b.TurnNumber != nil:
		if c := cmp.Compare(*a.TurnNumber, *b.TurnNumber); c != 0 {
			return c
		}
	}
	if c := compareTimestamps(a, b); c != 0 {
		return c
	}
	return cmp.Compare(a.SpanID, b.SpanID)
}

// TimelineLine renders one call in the timeline format of SPEC §6:
//
//	[Turn 3] ❌ update_order_status({"order_id":"ORD-456","status":"cancelled"}) → {"success":false,"error":"Cannot cancel shipped order"} [38ms]
//
// Arguments and result are the record's canonical JSON (keys in RFC 8785
// order), except that a result's "success" and "error" members come first,
// so the outcome reads before the identifiers. A missing turn prints as "?"; a failed call without a result
// summary shows its error instead; a missing result prints as null.
func TimelineLine(r *auditlog.Record) string {
	var b strings.Builder
	b.WriteString("[Turn ")
	if r.TurnNumber != nil {
		b.WriteString(strconv.FormatInt(*r.TurnNumber, 10))
	} else {
		b.WriteString("?")
	}
	b.WriteString("] ")
	if r.Success {
		b.WriteString("✅ ")
	} else {
		b.WriteString("❌ ")
	}
	b.WriteString(r.ToolName)
	b.WriteByte('(')
	if !isNull(r.Arguments) {
		b.Write(r.Arguments)
	}
	b.WriteString(") → ")
	switch {
	case !isNull(r.ResultSummary):
		writeOutcomeFirst(&b, r.ResultSummary)
	case r.Error != nil && (r.Error.Type != "" || r.Error.Message != ""):
		b.WriteString("error: ")
		b.WriteString(r.Error.Type)
		if r.Error.Type != "" && r.Error.Message != "" {
			b.WriteString(": ")
		}
		b.WriteString(r.Error.Message)
	default:
		b.WriteString("null")
	}
	b.WriteString(" [")
	b.WriteString(FormatDuration(r.DurationMS))
	b.WriteString("]")
	return b.String()
}

// FormatDuration renders milliseconds as in a timeline: whole milliseconds
// from 1 ms up ("38ms"), up to three decimals below ("0.25ms").
func FormatDuration(ms float64) string {
	if math.IsNaN(ms) || math.IsInf(ms, 0) || ms < 0 {
		return "?ms"
	}
	if ms >= 1 {
		return strconv.FormatFloat(math.Round(ms), 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(math.Round(ms*1000)/1000, 'f', -1, 64) + "ms"
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func nullIfEmpty(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// WriteText writes one line per call.
func (t *TimelineResult) WriteText(w io.Writer) error {
	for i := range t.Calls {
		if _, err := io.WriteString(w, sanitize(t.Calls[i].Line)+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// Table returns one row per call.
func (t *TimelineResult) Table() ([]string, [][]string) {
	header := []string{"turn", "timestamp", "tool", "tool_call_id", "success", "arguments", "result", "error_type", "error_message", "duration_ms", "user_id", "trace_id", "span_id"}
	rows := make([][]string, 0, len(t.Calls))
	for _, c := range t.Calls {
		et, em := errorFields(c.Error)
		rows = append(rows, []string{
			turnString(c.Turn), c.Timestamp, c.Tool, c.ToolCallID, strconv.FormatBool(c.Success),
			string(c.Arguments), string(c.Result), et, em, formatMS(c.DurationMS), c.UserID, c.TraceID, c.SpanID,
		})
	}
	return header, rows
}

func turnString(t *int64) string {
	if t == nil {
		return ""
	}
	return strconv.FormatInt(*t, 10)
}

func errorFields(e *auditlog.Error) (string, string) {
	if e == nil {
		return "", ""
	}
	return e.Type, e.Message
}

// formatMS renders a duration in milliseconds for tables: shortest exact
// decimal.
func formatMS(ms float64) string {
	return strconv.FormatFloat(ms, 'f', -1, 64)
}

// writeOutcomeFirst writes the JSON value raw with an object's "success"
// and "error" members moved to the front, the rest in their order; any
// other value, or an object it cannot split, is written as it is.
func writeOutcomeFirst(b *strings.Builder, raw json.RawMessage) {
	type member struct {
		key   string
		value json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		b.Write(raw)
		return
	}
	var first, rest []member
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		var v json.RawMessage
		if err != nil || !ok || dec.Decode(&v) != nil {
			b.Write(raw)
			return
		}
		if key == "success" || key == "error" {
			first = append(first, member{key, v})
		} else {
			rest = append(rest, member{key, v})
		}
	}
	if len(first) == 0 {
		b.Write(raw)
		return
	}
	slices.SortStableFunc(first, func(x, y member) int { return cmp.Compare(y.key, x.key) }) // success, then error
	b.WriteByte('{')
	for i, m := range append(first, rest...) {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(auditlog.AppendJSONString(nil, m.key))
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
}
