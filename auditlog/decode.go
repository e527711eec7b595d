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

func (d *decoder) raw() ([]byte, error) {
	if d.isNull() {
		return nil, nil
	}
	out, err := d.p.value(d.scratch[:0], 0)
	if err != nil {
		return nil, err
	}
	d.scratch = out
	return bytes.Clone(out), nil
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

// fields decodes a nested object whose members are all strings.
func (d *decoder) fields(name string, targets map[string]*string) error {
	var seen int
	err := d.object(func(key []byte) error {
		t, ok := targets[string(key)]
		if !ok {
			return d.p.errf("unknown member %q in %s", truncate(string(key), 32), name)
		}
		seen++
		var err error
		*t, err = d.str()
		return err
	})
	if err == nil && seen > len(targets) {
		return d.p.errf("repeated member in %s", name)
	}
	return err
}

// recordMembers numbers the top-level members for repeat detection.
var recordMembers = map[string]int{
	"agent": 0, "arguments": 1, "attribution": 2, "break_glass": 3,
	"break_glass_reason": 4, "chain_id": 5, "conversation_id": 6,
	"duration_ms": 7, "error": 8, "hash": 9, "model": 10, "operation": 11,
	"parent_span_id": 12, "prev_hash": 13, "purpose": 14, "redaction": 15,
	"result_summary": 16, "retention": 17, "seq": 18, "session": 19,
	"source": 20, "span_id": 21, "subject": 22, "success": 23,
	"timestamp": 24, "tool_call_id": 25, "tool_name": 26, "tool_type": 27,
	"trace_id": 28, "trigger": 29, "turn_number": 30, "user_id": 31,
	"user_roles": 32, "v": 33,
}

func (d *decoder) recordMember(r *Record, key []byte) error {
	idx, ok := recordMembers[string(key)]
	if !ok {
		return d.p.errf("unknown record member %q", truncate(string(key), 32))
	}
	if d.seen&(1<<idx) != 0 {
		return d.p.errf("repeated record member %q", string(key))
	}
	d.seen |= 1 << idx
	var err error
	switch idx {
	case 0:
		err = d.fields("agent", map[string]*string{"id": &r.Agent.ID, "name": &r.Agent.Name})
	case 1:
		r.Arguments, err = d.raw()
	case 2:
		a := &r.Attribution
		err = d.fields("attribution", map[string]*string{
			"initiator": &a.Initiator, "initiator_role": &a.InitiatorRole, "initiator_type": &a.InitiatorType,
			"model": &a.Model, "tool": &a.Tool, "trigger": &a.Trigger,
		})
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
			err = d.fields("error", map[string]*string{"message": &r.Error.Message, "type": &r.Error.Type})
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
		err = d.fields("session", map[string]*string{"client_address": &s.ClientAddress, "id": &s.ID, "user_agent": &s.UserAgent})
	case 20:
		s := &r.Source
		err = d.fields("source", map[string]*string{"client": &s.Client, "convention": &s.Convention, "scope": &s.Scope, "service": &s.Service})
	case 21:
		r.SpanID, err = d.str()
	case 22:
		err = d.fields("subject", map[string]*string{"id": &r.Subject.ID, "type": &r.Subject.Type})
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
