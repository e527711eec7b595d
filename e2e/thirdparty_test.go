//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// thirdPartyTools are the tool spans of each sample file of
// testdata/spans (see its README), by span id: their tool names.
var thirdPartyTools = map[string]map[string]string{
	"genai.json": {
		"a3ce929d0e0e4736": "issue_refund",
		"b7ad6b7169203331": "access_patient_record",
		"00f067aa0ba902b7": "reindex_catalog",
	},
	"mcp.json": {
		"7a085853722dc6d2": "get_claim",
		"c1d2e3f405162738": "close_claim",
	},
	"openinference.json": {
		"2b3c4d5e6f708192": "get_weather",
		"3c4d5e6f70819203": "lookup_forecast",
	},
	"traceloop.json": {
		"1112131415161718": "search_flights",
		"2122232425262728": "book_hotel",
	},
	"vercel_ai.json": {
		"e1a3b36e0d2b6af9": "apply_coupon",
		"9c2d4e6f8a0b1c3d": "charge_payment",
	},
}

// thirdPartyBatch is one sample file made ready to send as an agent of
// that ecosystem would: new trace ids, times moved so that the last span ends now, and
// values planted in every payload attribute.
type thirdPartyBatch struct {
	service string
	body    []byte   // OTLP/HTTP JSON
	traces  []string // the new trace ids
	spans   int
}

// plantedValues are what thirdPartyBatch plants: a password under a
// sensitive key and an e-mail address in JSON payloads, a bearer token in
// text ones. None may reach the store or Jaeger.
type plantedValues struct {
	password, email, token string
}

func newPlantedValues(t *testing.T) plantedValues {
	return plantedValues{
		password: "tp-pw-" + randomHex(t, 12),
		email:    "tp-" + randomHex(t, 6) + "@example.net",
		token:    "tp" + randomHex(t, 20),
	}
}

func (p plantedValues) all() []string { return []string{p.password, p.email, p.token} }

// plant adds p to a payload attribute's value: members of a JSON object (or
// of a map-valued attribute), or a bearer token after plain text.
func (p plantedValues) plant(t *testing.T, v pcommon.Value) {
	t.Helper()
	switch v.Type() {
	case pcommon.ValueTypeMap:
		v.Map().PutStr("password", p.password)
		v.Map().PutStr("contact", "write to "+p.email)
	case pcommon.ValueTypeStr:
		var obj map[string]any
		if err := json.Unmarshal([]byte(v.Str()), &obj); err != nil || obj == nil {
			v.SetStr(v.Str() + " (Authorization: Bearer " + p.token + ")")
			return
		}
		obj["password"] = p.password
		obj["contact"] = "write to " + p.email
		b, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		v.SetStr(string(b))
	}
}

func loadThirdParty(t *testing.T, file string, p plantedValues) thirdPartyBatch {
	t.Helper()
	raw, err := os.ReadFile(repoFile(t, filepath.Join("testdata", "spans", file)))
	if err != nil {
		t.Fatal(err)
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(raw)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var b thirdPartyBatch
	newIDs := map[pcommon.TraceID]pcommon.TraceID{}
	var last pcommon.Timestamp
	for _, rs := range td.ResourceSpans().All() {
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			b.service = v.Str()
		}
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				last = max(last, sp.EndTimestamp())
			}
		}
	}
	// The file's last span ends now: Jaeger is asked for the last hour.
	shift := pcommon.Timestamp(time.Now().UnixNano()) - last
	payloads := attrkey.PayloadAttributes()
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, sp := range ss.Spans().All() {
				b.spans++
				old := sp.TraceID()
				id, ok := newIDs[old]
				if !ok {
					if _, err := rand.Read(id[:]); err != nil {
						t.Fatal(err)
					}
					newIDs[old] = id
					b.traces = append(b.traces, id.String())
				}
				sp.SetTraceID(id)
				sp.SetStartTimestamp(sp.StartTimestamp() + shift)
				sp.SetEndTimestamp(sp.EndTimestamp() + shift)
				for _, ev := range sp.Events().All() {
					ev.SetTimestamp(ev.Timestamp() + shift)
				}
				for _, k := range payloads {
					if v, ok := sp.Attributes().Get(k); ok {
						p.plant(t, v)
					}
				}
			}
		}
	}
	if b.body, err = (&ptrace.JSONMarshaler{}).MarshalTraces(td); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestThirdPartySpans sends otelcol-audit the sample spans of every
// ecosystem SPEC §2 names (testdata/spans: GenAI, MCP, OpenInference,
// OpenLLMetry/Traceloop, Vercel AI SDK) over OTLP/HTTP JSON, as agents
// instrumented by those libraries do, with a password, an e-mail address
// or a bearer token planted in every payload attribute. Each tool span
// must become one record with its tool name and redaction paths, no other
// span a record, and no planted value may reach the store or Jaeger;
// reconcile must match Jaeger's tool spans with the records, one trace a
// search.
func TestThirdPartySpans(t *testing.T) {
	s := newStack(t)
	s.startJaeger()
	s.startCollector()
	p := newPlantedValues(t)

	var batches []thirdPartyBatch
	byTrace := map[string]string{} // new trace id → file
	want, spans := 0, 0
	for file, tools := range thirdPartyTools {
		b := loadThirdParty(t, file, p)
		if code, body := s.postHTTP("application/json", "Bearer "+s.token, b.body); code != http.StatusOK {
			t.Fatalf("%s: POST /v1/traces: %d %s", file, code, body)
		}
		for _, id := range b.traces {
			byTrace[id] = file
		}
		batches = append(batches, b)
		want += len(tools)
		spans += b.spans
	}

	recs := s.waitVerified(want)
	if len(recs) != want {
		t.Fatalf("store holds %d records, want %d", len(recs), want)
	}
	got := map[string][]string{}
	for _, r := range recs {
		file := byTrace[r.TraceID]
		name, isTool := thirdPartyTools[file][r.SpanID]
		switch {
		case !isTool:
			t.Errorf("record %s/%d from span %s/%s (%s), which is not a tool span", r.ChainID, r.Seq, r.TraceID, r.SpanID, file)
		case r.ToolName != name:
			t.Errorf("%s span %s: tool_name %q, want %q", file, r.SpanID, r.ToolName, name)
		case len(r.Redaction.Paths) == 0:
			t.Errorf("%s span %s (%s): no redaction paths, though every payload had a planted value", file, r.SpanID, name)
		}
		got[file] = append(got[file], r.SpanID)
	}
	for file, tools := range thirdPartyTools {
		if ids := slices.Sorted(maps.Keys(tools)); !slices.Equal(slices.Sorted(slices.Values(got[file])), ids) {
			t.Errorf("%s: records for spans %v, want %v", file, got[file], ids)
		}
	}

	// Jaeger holds every span of every file, tool or not.
	var answers [][]byte
	waitFor(t, "the sample spans in Jaeger", dataTimeout, func() (bool, string) {
		answers = nil
		n := 0
		for _, b := range batches {
			v3, legacy := s.jaegerTraces(b.service)
			answers = append(answers, v3, legacy)
			n += bytes.Count(v3, []byte(`"spanId"`))
		}
		return n == spans, fmt.Sprintf("%d spans in Jaeger, want %d", n, spans)
	})
	for name, b := range map[string][]byte{"audit store": s.storeBytes(), "jaeger": bytes.Join(answers, nil)} {
		for _, v := range append(p.all(), s.token, s.hmacKey) {
			if bytes.Contains(b, []byte(v)) {
				t.Errorf("%s contains the planted %q", name, v)
			}
		}
	}
	if !bytes.Contains(s.storeBytes(), []byte(pseudonym(s.hmacKey, p.email))) {
		t.Errorf("audit store lacks the pseudonym of the planted e-mail address")
	}

	// One trace a Jaeger search: support-agent's two traces take split
	// searches, and a service with one trace is read in one, without a
	// warning.
	out, code := s.cli(append([]string{"reconcile", "--jaeger", s.jaegerURL(), "--jaeger-limit", "1"}, s.storeArgs()...)...)
	if code != 0 || strings.Contains(out, "warning") ||
		!strings.Contains(out, fmt.Sprintf("tool spans: %d, audit records: %d, matched: %d", want, want, want)) {
		t.Errorf("reconcile: exit %d\n%s", code, out)
	}
}
