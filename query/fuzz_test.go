package query

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
	"github.com/otelaudit/otelaudit/query/internal/fhircheck"
)

// FuzzDecodeOTLPJSON: any input either decodes or fails with a one-line
// error naming a line; it never panics, and every record that comes out
// is valid UTF-8 JSON.
func FuzzDecodeOTLPJSON(f *testing.F) {
	f.Add([]byte(`{"resourceSpans":[]}`))
	f.Add([]byte("{}\n{}\n"))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"execute_tool x","attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"execute_tool"}},{"key":"gen_ai.tool.call.arguments","value":{"stringValue":"{\"a\":[1,2,{\"b\":null}]}"}}]}]}]}]}`))
	f.Add([]byte("[1]"))
	f.Add([]byte("\x1f\x8b"))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"\xff","attributes":[{"key":"gen_ai.tool.name","value":{"kvlistValue":{"values":[{"key":"a","value":{"arrayValue":{}}}]}}}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := newRecordCollector(Filter{}, toolspan.Options{})
		err := DecodeOTLPJSON(context.Background(), "fuzz", bytes.NewReader(data), c.add)
		if err != nil {
			if strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "fuzz") {
				t.Fatalf("bad error %q", err)
			}
			return
		}
		for _, r := range c.records() {
			b, err := json.Marshal(r)
			if err != nil || !utf8.Valid(b) {
				t.Fatalf("record does not encode: %v", err)
			}
		}
	})
}

// FuzzLegacyJaeger: any /api/traces body converts without panicking.
func FuzzLegacyJaeger(f *testing.F) {
	f.Add([]byte(`{"data":[{"traceID":"1","spans":[{"traceID":"1","spanID":"2","operationName":"execute_tool x","startTime":1,"duration":2,"references":[{"refType":"CHILD_OF","traceID":"1","spanID":"3"}],"tags":[{"key":"gen_ai.operation.name","type":"string","value":"execute_tool"},{"key":"user.roles","type":"string","value":"[\"a\",\"b\"]"},{"key":"audit.turn_number","type":"int64","value":3},{"key":"x","type":"binary","value":"AAE="},{"key":"otel.status_code","type":"string","value":"ERROR"}],"logs":[{"timestamp":1,"fields":[{"key":"event","type":"string","value":"exception"}]}],"processID":"p1"}],"processes":{"p1":{"serviceName":"s","tags":[{"key":"k","type":"float64","value":1.5}]}}}]}`))
	f.Add([]byte(`{"data":[{"spans":[{"traceID":"zz","spanID":""}]}]}`))
	f.Add([]byte(`{"data":[{"traceID":"1","spans":[{"traceID":"1","spanID":"2","tags":[{"key":"b","type":"bool","value":"yes"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var body legacyResponse
		if json.Unmarshal(data, &body) != nil {
			return
		}
		td, err := legacyToTraces(body.Data)
		if err != nil {
			return
		}
		newRecordCollector(Filter{}, toolspan.Options{}).add(td)
		var m ptrace.JSONMarshaler
		if _, err := m.MarshalTraces(td); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzFHIRRecord: whatever a record holds, its AuditEvent conforms to the
// R4 structure.
func FuzzFHIRRecord(f *testing.F) {
	f.Add("get_order", "patient", "P-1", "alice", "treatment", `{"a":1}`, "2026-11-26T10:00:00.000000000Z", "10.0.0.1", true, 3.5)
	f.Add("", "", "", "", "", "", "", "", false, -1.0)
	f.Add(" x  y ", "Weird/Type", "id with space", "u\x00", "  ", `"text"`, "garbage", "::1", false, 1e300)
	f.Fuzz(func(t *testing.T, tool, stype, sid, user, purpose, args, ts, addr string, ok bool, dur float64) {
		r := auditlog.Record{
			ToolName: tool, Subject: Subject{Type: stype, ID: sid}, UserID: user, Purpose: purpose,
			Timestamp: ts, Success: ok, DurationMS: dur, UserRoles: []string{purpose},
			Session: auditlog.Session{ID: addr, ClientAddress: addr}, BreakGlass: !ok, BreakGlassReason: purpose,
			TraceID: sid, SpanID: tool,
			// The other strings FHIR carries, from the same inputs.
			ToolCallID: tool, ConversationID: purpose, Model: stype, Trigger: purpose,
			Agent: auditlog.Agent{ID: sid, Name: user}, ChainID: stype, Hash: sid, ParentSpanID: user,
		}
		if json.Valid([]byte(args)) {
			r.Arguments = json.RawMessage(args)
		}
		if !ok {
			r.Error = &auditlog.Error{Type: stype, Message: user}
		}
		b := FHIRBundle(result(r, r), fhirClock)
		var buf bytes.Buffer
		if err := Render(&buf, FormatJSON, b); err != nil {
			t.Fatal(err)
		}
		if p := fhircheck.CheckBundle(buf.Bytes()); len(p) > 0 {
			t.Fatalf("non-conformant AuditEvent: %v", p)
		}
	})
}

// FuzzSanitize: sanitised text holds no control, bidi or invalid bytes.
func FuzzSanitize(f *testing.F) {
	f.Add("plain")
	f.Add("\x1b[2J\u009b\u202e\xff\t\n")
	f.Fuzz(func(t *testing.T, s string) {
		out := sanitize(s)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
		for _, r := range out {
			if unsafeRune(r) && r != utf8.RuneError {
				t.Fatalf("unsafe rune %U left in %q", r, out)
			}
		}
	})
}

// FuzzWriteRows: for any cells, writeRows writes what text/tabwriter
// wrote for them (tabwriterTable). The input is split into rows of three
// cells at '\n' and cells at '|'.
func FuzzWriteRows(f *testing.F) {
	f.Add("A|B|C\nx|yy|z")
	f.Add("NAME|CITY|N\nZoë|Zürich|1\n李小龍|東京|22")
	f.Add("a\tb|c\x1b[31m|\u202e\n\xff|\u0301|")
	f.Fuzz(func(t *testing.T, s string) {
		var rows [][]string
		for _, line := range strings.Split(s, "\n") {
			cells := strings.SplitN(line, "|", 3)
			for len(cells) < 3 {
				cells = append(cells, "")
			}
			rows = append(rows, cells)
		}
		var want, got bytes.Buffer
		if err := tabwriterTable(&want, rows[0], rows[1:]); err != nil {
			t.Fatal(err)
		}
		if err := writeTable(&got, rows[0], rows[1:]); err != nil {
			t.Fatal(err)
		}
		if want.String() != got.String() {
			t.Fatalf("cells %q:\nwant %q\n got %q", rows, want.String(), got.String())
		}
	})
}
