package auditlog

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
)

// DecodeRecord parses one record line (with or without its trailing
// newline) into r, which it resets first. It accepts any member order and
// insignificant whitespace, and rejects unknown or repeated members,
// invalid UTF-8 and values of the wrong type, so that a line that decodes
// and re-encodes with AppendCanonical to the same bytes is exactly one
// canonical record. Arguments and ResultSummary receive their values in
// canonical form, nil for JSON null.
//
// DecodeRecord does not use reflection; it is the fast path of the
// verifier and of readers. Safe for concurrent use on distinct records.
func DecodeRecord(line []byte, r *Record) error {
	*r = Record{}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	d := decoder{p: jsonCanon{src: line}}
	d.p.skipWS()
	if err := d.object(func(key []byte) error { return d.recordMember(r, key) }); err != nil {
		return err
	}
	d.p.skipWS()
	if d.p.pos != len(line) {
		return d.p.errf("unexpected %s after record", d.p.quoteNext())
	}
	return nil
}

type decoder struct {
	p       jsonCanon
	scratch []byte
	seen    uint64 // bit per top-level member, to reject repeats
}

func (d *decoder) object(member func(key []byte) error) error {
	p := &d.p
	if p.pos >= len(p.src) || p.src[p.pos] != '{' {
		return p.errf("expected object, found %s", p.quoteNext())
	}
	p.pos++
	p.skipWS()
	if p.pos < len(p.src) && p.src[p.pos] == '}' {
		p.pos++
		return nil
	}
	var key []byte
	for {
		p.skipWS()
		if p.pos >= len(p.src) || p.src[p.pos] != '"' {
			return p.errf("expected member name, found %s", p.quoteNext())
		}
		var err error
		if key, err = p.str(key[:0]); err != nil {
			return err
		}
		p.skipWS()
		if p.pos >= len(p.src) || p.src[p.pos] != ':' {
			return p.errf("expected ':' after member name, found %s", p.quoteNext())
		}
		p.pos++
		p.skipWS()
		if err := member(key); err != nil {
			return err
		}
		p.skipWS()
		if p.pos >= len(p.src) {
			return p.errf("unterminated object")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case '}':
			p.pos++
			return nil
		default:
			return p.errf("expected ',' or '}' in object, found %s", p.quoteNext())
		}
	}
}

func (d *decoder) isNull() bool {
	p := &d.p
	if len(p.src)-p.pos >= 4 && string(p.src[p.pos:p.pos+4]) == "null" {
		p.pos += 4
		return true
	}
	return false
}

func (d *decoder) str() (string, error) {
	p := &d.p
	if p.pos >= len(p.src) || p.src[p.pos] != '"' {
		return "", p.errf("expected string, found %s", p.quoteNext())
	}
	// Fast path: no escapes, so the text is the bytes between the quotes.
	start := p.pos + 1
	if i := bytes.IndexByte(p.src[start:], '"'); i >= 0 && bytes.IndexByte(p.src[start:start+i], '\\') < 0 {
		end := start + i
		ascii := true
		for _, c := range p.src[start:end] {
			if c < 0x20 || c >= 0x80 {
				ascii = false
				break
			}
		}
		if ascii {
			p.pos = end + 1
			return string(p.src[start:end]), nil
		}
	}
	var err error
	d.scratch, err = p.str(d.scratch[:0])
	return string(d.scratch), err
}

func (d *decoder) bool() (bool, error) {
	p := &d.p
	switch {
	case len(p.src)-p.pos >= 4 && string(p.src[p.pos:p.pos+4]) == "true":
		p.pos += 4
		return true, nil
	case len(p.src)-p.pos >= 5 && string(p.src[p.pos:p.pos+5]) == "false":
		p.pos += 5
		return false, nil
	}
	return false, p.errf("expected boolean, found %s", p.quoteNext())
}

func (d *decoder) numberToken() ([]byte, error) {
	p := &d.p
	start := p.pos
	if p.pos >= len(p.src) || !(p.src[p.pos] == '-' || (p.src[p.pos] >= '0' && p.src[p.pos] <= '9')) {
		return nil, p.errf("expected number, found %s", p.quoteNext())
	}
	if _, err := p.number(d.scratch[:0]); err != nil {
		return nil, err
	}
	return p.src[start:p.pos], nil
}

func (d *decoder) float() (float64, error) {
	tok, err := d.numberToken()
	if err != nil {
		return 0, err
	}
	return strconv.ParseFloat(string(tok), 64)
}

func (d *decoder) int() (int64, error) {
	tok, err := d.numberToken()
	if err != nil {
		return 0, err
	}
	if v, err := strconv.ParseInt(string(tok), 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) >= 1<<63 {
		return 0, d.p.errf("number %q is not a 64-bit integer", truncate(string(tok), 32))
	}
	return int64(f), nil
}

func (d *decoder) uint() (uint64, error) {
	tok, err := d.numberToken()
	if err != nil {
		return 0, err
	}
	if v, err := strconv.ParseUint(string(tok), 10, 64); err == nil {
		return v, nil
	}
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f >= 1<<64 {
		return 0, d.p.errf("number %q is not an unsigned 64-bit integer", truncate(string(tok), 32))
	}
	return uint64(f), nil
}

// raw returns a copy of the JSON value at the current position, as it
// appears in the line, after checking it with a canonicalizing scan into
// scratch space.
func (d *decoder) raw() ([]byte, error) {
	if d.isNull() {
		return nil, nil
	}
	start := d.p.pos
	out, err := d.p.value(d.scratch[:0], 0)
	if err != nil {
		return nil, err
	}
	d.scratch = out
	return bytes.Clone(d.p.src[start:d.p.pos]), nil
}

func (d *decoder) strings() ([]string, error) {
	if d.isNull() {
		return nil, nil
	}
	p := &d.p
	if p.pos >= len(p.src) || p.src[p.pos] != '[' {
		return nil, p.errf("expected array of strings, found %s", p.quoteNext())
	}
	p.pos++
	out := []string{}
	p.skipWS()
	if p.pos < len(p.src) && p.src[p.pos] == ']' {
		p.pos++
		return out, nil
	}
	for {
		p.skipWS()
		s, err := d.str()
		if err != nil {
			return nil, err
		}
		out = append(out, s)
		p.skipWS()
		if p.pos >= len(p.src) {
			return nil, p.errf("unterminated array")
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ']':
			p.pos++
			return out, nil
		default:
			return nil, p.errf("expected ',' or ']' in array, found %s", p.quoteNext())
		}
	}
}

// fields decodes a nested object whose members are all strings; names and
// targets are parallel, names sorted.
func (d *decoder) fields(name string, names []string, targets ...*string) error {
	var seen uint32
	return d.object(func(key []byte) error {
		for i, n := range names {
			if n == string(key) {
				if seen&(1<<i) != 0 {
					return d.p.errf("repeated member %q in %s", n, name)
				}
				seen |= 1 << i
				var err error
				*targets[i], err = d.str()
				return err
			}
		}
		return d.p.errf("unknown member %q in %s", truncate(string(key), 32), name)
	})
}

var (
	agentFields       = []string{"id", "name"}
	attributionFields = []string{"initiator", "initiator_role", "initiator_type", "model", "tool", "trigger"}
	errorFields       = []string{"message", "type"}
	sessionFields     = []string{"client_address", "id", "user_agent"}
	sourceFields      = []string{"client", "convention", "scope", "service"}
	subjectFields     = []string{"id", "type"}
)

// recordMemberIndex returns the index of key in recordKeys, which numbers
// the top-level members for repeat detection, -1 for unknown names. A
// switch, not a search of recordKeys: it compiles to a jump on length and
// costs a tenth as much (TestRecordKeyIndexes holds the two together).
func recordMemberIndex(key []byte) int {
	switch string(key) {
	case "agent":
		return 0
	case "arguments":
		return 1
	case "attribution":
		return 2
	case "break_glass":
		return 3
	case "break_glass_reason":
		return 4
	case "chain_id":
		return 5
	case "conversation_id":
		return 6
	case "duration_ms":
		return 7
	case "error":
		return 8
	case "hash":
		return 9
	case "model":
		return 10
	case "operation":
		return 11
	case "parent_span_id":
		return 12
	case "prev_hash":
		return 13
	case "purpose":
		return 14
	case "redaction":
		return 15
	case "result_summary":
		return 16
	case "retention":
		return 17
	case "seq":
		return 18
	case "session":
		return 19
	case "source":
		return 20
	case "span_id":
		return 21
	case "subject":
		return 22
	case "success":
		return 23
	case "timestamp":
		return 24
	case "tool_call_id":
		return 25
	case "tool_name":
		return 26
	case "tool_type":
		return 27
	case "trace_id":
		return 28
	case "trigger":
		return 29
	case "turn_number":
		return 30
	case "user_id":
		return 31
	case "user_roles":
		return 32
	case "v":
		return 33
	}
	return -1
}

func (d *decoder) recordMember(r *Record, key []byte) error {
	idx := recordMemberIndex(key)
	if idx < 0 {
		return d.p.errf("unknown record member %q", truncate(string(key), 32))
	}
	if d.seen&(1<<idx) != 0 {
		return d.p.errf("repeated record member %q", string(key))
	}
	d.seen |= 1 << idx
	var err error
	switch idx {
	case 0:
		err = d.fields("agent", agentFields, &r.Agent.ID, &r.Agent.Name)
	case 1:
		r.Arguments, err = d.raw()
	case 2:
		a := &r.Attribution
		err = d.fields("attribution", attributionFields, &a.Initiator, &a.InitiatorRole, &a.InitiatorType, &a.Model, &a.Tool, &a.Trigger)
	case 3:
		r.BreakGlass, err = d.bool()
	case 4:
		r.BreakGlassReason, err = d.str()
	case 5:
		r.ChainID, err = d.str()
	case 6:
		r.ConversationID, err = d.str()
	case 7:
		r.DurationMS, err = d.float()
	case 8:
		if !d.isNull() {
			r.Error = &Error{}
			err = d.fields("error", errorFields, &r.Error.Message, &r.Error.Type)
		}
	case 9:
		r.Hash, err = d.str()
	case 10:
		r.Model, err = d.str()
	case 11:
		r.Operation, err = d.str()
	case 12:
		r.ParentSpanID, err = d.str()
	case 13:
		r.PrevHash, err = d.str()
	case 14:
		r.Purpose, err = d.str()
	case 15:
		var seen int
		err = d.object(func(k []byte) error {
			seen++
			var err error
			switch string(k) {
			case "count":
				r.Redaction.Count, err = d.int()
			case "paths":
				r.Redaction.Paths, err = d.strings()
			default:
				return d.p.errf("unknown member %q in redaction", truncate(string(k), 32))
			}
			return err
		})
		if err == nil && seen > 2 {
			err = d.p.errf("repeated member in redaction")
		}
	case 16:
		r.ResultSummary, err = d.raw()
	case 17:
		var seen int
		err = d.object(func(k []byte) error {
			seen++
			var err error
			switch string(k) {
			case "class":
				r.Retention.Class, err = d.str()
			case "days":
				var v int64
				v, err = d.int()
				r.Retention.Days = int(v)
			case "retain_until":
				r.Retention.RetainUntil, err = d.str()
			default:
				return d.p.errf("unknown member %q in retention", truncate(string(k), 32))
			}
			return err
		})
		if err == nil && seen > 3 {
			err = d.p.errf("repeated member in retention")
		}
	case 18:
		r.Seq, err = d.uint()
	case 19:
		s := &r.Session
		err = d.fields("session", sessionFields, &s.ClientAddress, &s.ID, &s.UserAgent)
	case 20:
		s := &r.Source
		err = d.fields("source", sourceFields, &s.Client, &s.Convention, &s.Scope, &s.Service)
	case 21:
		r.SpanID, err = d.str()
	case 22:
		err = d.fields("subject", subjectFields, &r.Subject.ID, &r.Subject.Type)
	case 23:
		r.Success, err = d.bool()
	case 24:
		r.Timestamp, err = d.str()
	case 25:
		r.ToolCallID, err = d.str()
	case 26:
		r.ToolName, err = d.str()
	case 27:
		r.ToolType, err = d.str()
	case 28:
		r.TraceID, err = d.str()
	case 29:
		r.Trigger, err = d.str()
	case 30:
		if !d.isNull() {
			var v int64
			v, err = d.int()
			r.TurnNumber = &v
		}
	case 31:
		r.UserID, err = d.str()
	case 32:
		r.UserRoles, err = d.strings()
	case 33:
		var v int64
		v, err = d.int()
		r.V = int(v)
	}
	if err != nil {
		if _, ok := err.(*SyntaxError); !ok {
			err = fmt.Errorf("member %q: %w", string(key), err)
		}
	}
	return err
}
