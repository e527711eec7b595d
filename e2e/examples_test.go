//go:build e2e

package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The secrets and PII the example agents plant in their tool arguments
// (examples/supportagent/script.go, examples/medicalrecords/script.go,
// examples/mcpagent/script.go). None may reach Jaeger or the audit store
// in any spelling.
var planted = []string{
	// issue_refund: card numbers in a free-text note, an api_key in a URL.
	"4111 1111 1111 1111", "4111111111111111", "4111-1111-1111-1111",
	"5555-5555-5555-4444", "5555555555554444", "5555 5555 5555 4444",
	"sk_live_51HdemoOtelaudit7Qx2vLk9Rr3",
	// Customer e-mail addresses.
	"jane.doe@example.com", "ana.souza@example.org",
	// Patient names, dates of birth, an SSN.
	"Maria", "Garcia", "Samuel Okoro", "Li Wei", "Eleanor Vance",
	"1961-03-14", "1948-11-02", "1975-01-30",
	"328-41-9076", "328419076",
	// The MCP agent's patient, her date of birth and an SSN.
	"Jane Roe", "1980-02-14", "457-55-5462",
}

// pseudonymised are planted values the collector turns into keyed
// pseudonyms: each must appear as hmac-sha256:HMAC(key, value) instead.
var pseudonymised = []string{"Maria Garcia", "Maria", "Garcia", "1961-03-14", "Eleanor Vance", "328-41-9076", "jane.doe@example.com",
	"Jane Roe", "1980-02-14"}

func pseudonym(key, value string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(value))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// agentCalls reads "NAME: N tool calls" from an agent's output.
func agentCalls(t *testing.T, name, out string) int {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + `: (\d+) tool calls`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("%s did not report its tool calls:\n%s", name, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// jaegerTraces returns the raw answers of Jaeger's APIs (v3 OTLP JSON and
// the legacy JSON API) for the service's traces of the last hour.
func (s *stack) jaegerTraces(service string) (v3, legacy []byte) {
	s.t.Helper()
	now := time.Now().UTC()
	q := url.Values{
		"query.service_name":   {service},
		"query.start_time_min": {now.Add(-time.Hour).Format(time.RFC3339Nano)},
		"query.start_time_max": {now.Add(time.Minute).Format(time.RFC3339Nano)},
		"query.num_traces":     {"1000"},
	}
	code, v3, err := httpGet(s.jaegerURL() + "/api/v3/traces?" + q.Encode())
	if err == nil && code == 404 && bytes.Contains(v3, []byte("No traces found")) {
		v3 = []byte(`{"result":{"resourceSpans":[]}}`)
	} else if err != nil || code != 200 {
		s.t.Fatalf("jaeger /api/v3/traces: %d %v %s", code, err, v3)
	}
	code, legacy, err = httpGet(s.jaegerURL() + "/api/traces?" + url.Values{"service": {service}, "limit": {"1000"}, "lookback": {"1h"}}.Encode())
	if err != nil || code != 200 {
		s.t.Fatalf("jaeger /api/traces: %d %v %s", code, err, legacy)
	}
	return v3, legacy
}

// toolSpans adds the ids of the tool spans in a v3 (OTLP JSON) answer to
// ids: GenAI execute_tool spans and MCP tools/call spans. A trace found
// through two services (the MCP agent's and server's) counts once.
func toolSpans(t *testing.T, v3 []byte, ids map[string]bool) {
	t.Helper()
	var doc struct {
		Result struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Spans []struct{ TraceID, SpanID, Name string }
				}
			}
		}
	}
	if err := json.Unmarshal(v3, &doc); err != nil {
		t.Fatalf("jaeger v3 answer: %v", err)
	}
	for _, rs := range doc.Result.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				if strings.HasPrefix(sp.Name, "execute_tool ") || strings.HasPrefix(sp.Name, "tools/call ") {
					ids[sp.TraceID+sp.SpanID] = true
				}
			}
		}
	}
}

// TestExamplesEndToEnd runs the example agents, over OTLP/HTTP and
// OTLP/gRPC, through otelcol-audit into Jaeger and the audit store. The MCP
// agent's calls are audited twice, by the agent and by its MCP server.
func TestExamplesEndToEnd(t *testing.T) {
	s := newStack(t)
	s.startJaeger()
	s.startCollector()

	support := agentCalls(t, "supportagent", s.runAgent("supportagent", "http/protobuf"))
	medical := agentCalls(t, "medicalrecords", s.runAgent("medicalrecords", "grpc"))
	mcp := agentCalls(t, "mcpagent", s.runAgent("mcpagent", "http/protobuf"))
	if support != 15 || medical != 21 || mcp != 6 {
		t.Errorf("agents made %d, %d and %d tool calls, want 15, 21 and 6", support, medical, mcp)
	}
	want := support + medical + 2*mcp

	// The audit store: every call, once, verified.
	recs := s.waitVerified(want)
	if len(recs) != want {
		t.Fatalf("store holds %d records, want %d", len(recs), want)
	}
	seen := map[string]bool{}
	services := map[string]int{}
	for _, r := range recs {
		if seen[r.TraceID+r.SpanID] {
			t.Errorf("span %s/%s recorded twice", r.TraceID, r.SpanID)
		}
		seen[r.TraceID+r.SpanID] = true
		services[r.Source.Service]++
		if r.Source.Client != s.clientName() {
			t.Errorf("record %s/%d: source.client %q, want %q", r.ChainID, r.Seq, r.Source.Client, s.clientName())
		}
	}
	if services["support-agent"] != support || services["records-assistant"] != medical ||
		services["mcp-agent"] != mcp || services["mcp-medical-records"] != mcp {
		t.Errorf("records per service %v", services)
	}

	// Redaction happened where the agents leaked: the paths name the
	// members, the values are masked or pseudonymised.
	refunds := 0
	var breakGlass []string
	for _, r := range recs {
		if r.BreakGlass {
			breakGlass = append(breakGlass, fmt.Sprintf("%s %s %s %s", r.Source.Service, r.UserID, r.Subject.ID, r.BreakGlassWhy))
		}
		switch r.ToolName {
		case "issue_refund":
			refunds++
			for _, p := range []string{"gen_ai.tool.call.arguments.note", "gen_ai.tool.call.arguments.callback_url"} {
				if !slices.Contains(r.Redaction.Paths, p) {
					t.Errorf("refund %s: redaction paths %v lack %s", r.ToolCallID, r.Redaction.Paths, p)
				}
			}
			if !bytes.Contains(r.Arguments, []byte("api_key=***REDACTED***")) || !bytes.Contains(r.Arguments, []byte("card ***REDACTED***")) {
				t.Errorf("refund %s arguments %s", r.ToolCallID, r.Arguments)
			}
		}
	}
	slices.Sort(breakGlass)
	if want := []string{
		"mcp-agent d-77 P-1003 patient unresponsive in the ER, no consent possible",
		"mcp-medical-records d-77 P-1003 patient unresponsive in the ER, no consent possible",
		"records-assistant dr.santos P-1004 unconscious patient in the ER; no consent possible, primary physician unreachable",
	}; !slices.Equal(breakGlass, want) {
		t.Errorf("break-glass records %q, want %q", breakGlass, want)
	}
	if refunds != 3 {
		t.Errorf("%d issue_refund records, want 3", refunds)
	}

	// Jaeger: every tool span, queryable through both APIs.
	var v3s, legacies [][]byte
	waitFor(t, "the tool spans in Jaeger", dataTimeout, func() (bool, string) {
		v3s, legacies = nil, nil
		ids := map[string]bool{}
		for _, svc := range []string{"support-agent", "records-assistant", "mcp-agent", "mcp-medical-records"} {
			v3, legacy := s.jaegerTraces(svc)
			v3s, legacies = append(v3s, v3), append(legacies, legacy)
			toolSpans(t, v3, ids)
		}
		return len(ids) == want, fmt.Sprintf("%d tool spans in Jaeger, want %d", len(ids), want)
	})

	// No planted secret or PII, nor the token or the HMAC key, anywhere.
	store := s.storeBytes()
	sources := map[string][]byte{"audit store": store}
	for i, b := range v3s {
		sources[fmt.Sprintf("jaeger /api/v3 answer %d", i)] = b
	}
	for i, b := range legacies {
		sources[fmt.Sprintf("jaeger /api/traces answer %d", i)] = b
	}
	for name, b := range sources {
		for _, secret := range append(slices.Clone(planted), s.token, s.hmacKey) {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("%s contains %q", name, secret)
			}
		}
		// The client stamp the audit exporter puts in the spans it queues
		// stays out of what the other pipeline sends to Jaeger.
		if name != "audit store" && bytes.Contains(b, []byte("otelaudit.collector.client")) {
			t.Errorf("%s carries the audit exporter's client stamp", name)
		}
	}
	// PII arrives as the HMAC pseudonyms of the configured key, which
	// `otelaudit pseudonym` gives too.
	keyFile := filepath.Join(s.dir, "hmac.key")
	if err := os.WriteFile(keyFile, []byte(s.hmacKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"pseudonym", "--hmac-key-file", keyFile}
	for _, v := range pseudonymised {
		args = append(args, "--value", v)
	}
	out, code := s.cli(args...)
	if lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n"); code != 0 || len(lines) != len(pseudonymised) {
		t.Errorf("otelaudit pseudonym: exit %d\n%s", code, out)
	} else {
		for i, v := range pseudonymised {
			if lines[i] != pseudonym(s.hmacKey, v) {
				t.Errorf("otelaudit pseudonym of %q = %s, want %s", v, lines[i], pseudonym(s.hmacKey, v))
			}
		}
	}
	for _, v := range pseudonymised {
		p := pseudonym(s.hmacKey, v)
		if !bytes.Contains(store, []byte(p)) {
			t.Errorf("audit store lacks the pseudonym of %q (%s)", v, p)
		}
		if !bytes.Contains(bytes.Join(v3s, nil), []byte(p)) {
			t.Errorf("jaeger lacks the pseudonym of %q (%s)", v, p)
		}
	}

	// The CLI agrees: Jaeger and the store reconcile, the store verifies,
	// the access report and the anomalies show the burst and break-glass.
	if out, code := s.cli(append([]string{"reconcile", "--jaeger", s.jaegerURL()}, s.storeArgs()...)...); code != 0 ||
		!strings.Contains(out, fmt.Sprintf("tool spans: %d, audit records: %d, matched: %d", want, want, want)) {
		t.Errorf("reconcile: exit %d\n%s", code, out)
	}
	// waitVerified saw a checkpoint cover every record: nothing is
	// unsigned.
	if out, code := s.cli(append([]string{"verify", "--require-signed"}, s.storeArgs()...)...); code != 0 ||
		!strings.Contains(out, fmt.Sprintf("OK: %d records in 3 chains, 0 problems\n", want)) {
		t.Errorf("verify: exit %d\n%s", code, out)
	}
	out, code = s.cli(append([]string{"report", "--subject", "patient/P-1007", "--format", "json"}, s.storeArgs()...)...)
	var report struct {
		IntegrityVerified bool `json:"integrity_verified"`
		Totals            struct {
			Accesses int      `json:"accesses"`
			Users    []string `json:"users"`
		} `json:"totals"`
	}
	if err := json.Unmarshal([]byte(out), &report); code != 0 || err != nil || !report.IntegrityVerified ||
		report.Totals.Accesses != 12 || !slices.Equal(report.Totals.Users, []string{"m.ross"}) {
		t.Errorf("report for the burst patient: exit %d, %v\n%s", code, err, out)
	}
	// Two break-glass accesses: the MCP one, audited by the agent and by
	// the server, is counted once.
	out, code = s.cli(append([]string{"anomalies"}, s.storeArgs()...)...)
	if code != 0 || !regexp.MustCompile(`(?m)^subject_burst .*patient/P-1007 .* 12 `).MatchString(out) ||
		!regexp.MustCompile(`(?m)^break_glass .*patient/P-1004 .*dr\.santos`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^break_glass .*patient/P-1003 .*d-77`).MatchString(out) ||
		len(regexp.MustCompile(`(?m)^break_glass `).FindAllString(out, -1)) != 2 {
		t.Errorf("anomalies: exit %d\n%s", code, out)
	}
	// The same timeline from both sources.
	fromStore, code1 := s.cli(append([]string{"timeline", "--conversation", "sup-1002"}, s.storeArgs()...)...)
	fromJaeger, code2 := s.cli("timeline", "--conversation", "sup-1002", "--jaeger", s.jaegerURL())
	lines := func(s string) []string {
		var l []string
		for _, line := range strings.Split(s, "\n") {
			if strings.HasPrefix(line, "[Turn ") {
				l = append(l, line)
			}
		}
		return l
	}
	if code1 != 0 || code2 != 0 || len(lines(fromStore)) != 4 || !slices.Equal(lines(fromStore), lines(fromJaeger)) {
		t.Errorf("timelines differ (exit %d, %d):\nstore:\n%s\njaeger:\n%s", code1, code2, fromStore, fromJaeger)
	}
}
