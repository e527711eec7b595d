package query

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelaudit/otelaudit/auditlog"
)

// checkScan asserts that scanLine agrees with the canonical encoder on a
// record: the extracted members, and the line without its hash member is
// exactly the canonical form the hash is computed over.
func checkScan(t testing.TB, r *auditlog.Record) {
	r.Hash = r.ComputeHash()
	line := r.AppendCanonical(nil, true)
	f, err := scanLine(line)
	if err != nil {
		if strings.ContainsAny(r.ChainID+r.PrevHash+r.Timestamp, "\\\"") || hasControl(r.ChainID+r.PrevHash+r.Timestamp) {
			return // escapes: the caller falls back to the full decoder
		}
		t.Fatalf("scanLine(%s): %v", line, err)
	}
	without := append(append([]byte{}, line[:f.hashStart]...), line[f.hashEnd:]...)
	if string(without) != string(r.AppendCanonical(nil, false)) {
		t.Fatalf("line without hash member:\n%s\nwant\n%s", without, r.AppendCanonical(nil, false))
	}
	// The reference decoder reads the same members.
	var d auditlog.Record
	if err := auditlog.DecodeRecord(line, &d); err != nil {
		t.Fatalf("reference decoder rejects %s: %v", line, err)
	}
	if f.seq != d.Seq || string(f.hash) != d.Hash || string(f.prev) != d.PrevHash || string(f.chainID) != d.ChainID || string(f.timestamp) != d.Timestamp {
		t.Fatalf("fields %+v do not match record %+v", f, d)
	}
}

func hasControl(s string) bool {
	for _, c := range []byte(s) {
		if c < 0x20 {
			return true
		}
	}
	return false
}

func TestScanLine(t *testing.T) {
	for _, r := range scenarioRecords(t) {
		r.ChainID, r.Seq, r.PrevHash = "example.com/x/general", 42, auditlog.ZeroHash
		checkScan(t, &r)
	}
	bad := []string{
		``, `{}`, `[]`, `{"seq":1}`, `{"hash":"ab"}`, `{"hash":"ab","seq":1,"hash":"cd"}`, `{"seq":01,"hash":"a"}`,
		`{"seq":1,"hash":"a"`, `{"seq":1,"hash":"a"} x`, `{"seq":1,"hash":"a\\"b"}`, `{"seq":1 "hash":"a"}`,
		`{"seq":1,"hash":"a","x":[1,2}`, `{"seq":1,"hash":"a","x":"unterminated}`, `{"seq":-1,"hash":"a"}`,
		`{"seq":1,"hash":"a","x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`,
	}
	for _, b := range bad {
		_, err := scanLine([]byte(b))
		assert.Error(t, err, b)
	}
	f, err := scanLine([]byte(`{"hash":"ab","seq":7,"x":{"hash":"no"}}`))
	require.NoError(t, err)
	assert.Equal(t, `{"seq":7,"x":{"hash":"no"}}`, `{`+string([]byte(`{"hash":"ab","seq":7,"x":{"hash":"no"}}`)[f.hashEnd:]))
	assert.Equal(t, uint64(7), f.seq)
}

func FuzzScanLine(f *testing.F) {
	f.Add("get", `{"a":{"hash":"x"}}`, "c\"id", "2026-11-26T10:00:00.000000000Z", uint64(3), true)
	f.Add("", "null", "", "", uint64(0), false)
	f.Fuzz(func(t *testing.T, tool, args, chain, ts string, seq uint64, ok bool) {
		r := auditlog.Record{ToolName: tool, ChainID: chain, Timestamp: ts, Seq: seq, Success: ok, PrevHash: tool}
		if json.Valid([]byte(args)) {
			r.Arguments = json.RawMessage(args)
			r.ResultSummary = json.RawMessage(args)
		}
		checkScan(t, &r)
		// Arbitrary bytes never panic.
		scanLine([]byte(args))
	})
}
