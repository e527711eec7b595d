package auditlog

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestScanRecordLine checks the exported locator against the decoder on
// the writer's output, and that it refuses what it must.
func TestScanRecordLine(t *testing.T) {
	for i, r := range writerShapes() {
		line := r.AppendCanonical(nil, true)
		var rl RecordLine
		if !ScanRecordLine(line, &rl) {
			t.Fatalf("shape %d: refused:\n%.300s", i, line)
		}
		raw := func(v any) string { b, _ := json.Marshal(v); c, _ := CanonicalizeJSON(b); return string(c) }
		switch {
		case rl.Seq != r.Seq, string(rl.Hash) != r.Hash, string(rl.PrevHash) != r.PrevHash,
			string(rl.ChainID) != r.ChainID, string(rl.Timestamp) != r.Timestamp:
			t.Fatalf("shape %d: %+v", i, rl)
		case string(rl.ConversationID) != raw(r.ConversationID), string(rl.UserID) != raw(r.UserID),
			string(rl.ToolName) != raw(r.ToolName), string(rl.Success) != strconv.FormatBool(r.Success),
			string(rl.Subject) != raw(r.Subject):
			t.Fatalf("shape %d: raw members %q %q %q %q %q", i, rl.ConversationID, rl.UserID, rl.ToolName, rl.Success, rl.Subject)
		}
		body := append(append([]byte{}, line[:rl.HashStart]...), line[rl.HashEnd:]...)
		if !bytes.Equal(body, r.AppendCanonical(nil, false)) || tlog.RecordHash(body) != tlog.RecordHash(r.AppendCanonical(nil, false)) {
			t.Fatalf("shape %d: hash member bounds %d..%d", i, rl.HashStart, rl.HashEnd)
		}
	}
	r := sampleRecord()
	r.Hash = r.ComputeHash()
	line := string(r.AppendCanonical(nil, true))
	for name, bad := range map[string]string{
		"escaped hash":   strings.Replace(line, `"hash":"`+r.Hash[:1], `"hash":"\u00`+strconv.FormatInt(int64(r.Hash[0]), 16), 1),
		"short hash":     strings.Replace(line, r.Hash, r.Hash[:10], 1),
		"seq not digits": strings.Replace(line, `"seq":7`, `"seq":-7`, 1),
		"seq leading 0":  strings.Replace(line, `"seq":7`, `"seq":07`, 1),
		"truncated":      line[:len(line)/2],
		"empty":          "",
	} {
		var rl RecordLine
		if ScanRecordLine([]byte(bad), &rl) {
			t.Errorf("%s: accepted", name)
		}
	}
}
