package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	otelcodes "go.opentelemetry.io/otel/codes"
)

const (
	wantCalls  = 21
	wantFailed = 1
	wantTurns  = 11
)

// recorded plays the script into an in-memory span recorder.
func recorded(t *testing.T) (tally, string, []sdktrace.ReadOnlySpan) {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var out bytes.Buffer
	tl, err := playWith(context.Background(), &out, tp)
	if err != nil {
		t.Fatal(err)
	}
	return tl, out.String(), rec.Ended()
}

func attrs(s sdktrace.ReadOnlySpan) map[string]any {
	m := map[string]any{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

func toolSpans(spans []sdktrace.ReadOnlySpan) (tools []sdktrace.ReadOnlySpan, turns int) {
	for _, s := range spans {
		switch {
		case strings.HasPrefix(s.Name(), "execute_tool "):
			tools = append(tools, s)
		case strings.HasPrefix(s.Name(), "invoke_agent "):
			turns++
		}
	}
	return tools, turns
}

func TestScript(t *testing.T) {
	tl, out, spans := recorded(t)
	if tl.calls != wantCalls || tl.failed != wantFailed || tl.conversations != 6 {
		t.Errorf("tally = %+v", tl)
	}
	tools, turns := toolSpans(spans)
	if len(tools) != wantCalls || turns != wantTurns {
		t.Fatalf("%d tool spans and %d turn spans, want %d and %d", len(tools), turns, wantCalls, wantTurns)
	}
	users, purposes, byTool := map[string]bool{}, map[string]bool{}, map[string]int{}
	var failed []string
	for _, s := range tools {
		a := attrs(s)
		tool, _ := a["gen_ai.tool.name"].(string)
		byTool[tool]++
		users[a["user.id"].(string)] = true
		purposes[a["audit.purpose"].(string)] = true
		for _, k := range []string{"gen_ai.tool.call.id", "gen_ai.tool.call.arguments", "gen_ai.conversation.id", "audit.turn_number", "audit.trigger", "user.roles", "gen_ai.request.model", "session.id"} {
			if _, ok := a[k]; !ok {
				t.Errorf("%s (%v) lacks %s", s.Name(), a["gen_ai.tool.call.id"], k)
			}
		}
		if s.Status().Code == otelcodes.Error {
			failed = append(failed, a["user.id"].(string)+":"+tool+":"+a["error.type"].(string))
		}
	}
	if len(byTool) != 3 || byTool["search_patients"] != 3 || byTool["update_treatment"] != 2 {
		t.Errorf("calls per tool %v", byTool)
	}
	if len(users) != 6 || len(purposes) != 3 {
		t.Errorf("users %v, purposes %v", users, purposes)
	}
	if want := "n.okafor:update_treatment:permission_denied"; strings.Join(failed, " ") != want {
		t.Errorf("failed calls %v, want %v", failed, want)
	}
	if !strings.Contains(out, `✗ update_treatment: role "nurse" may not change a treatment plan`) {
		t.Errorf("output does not show the refused update:\n%s", out)
	}
}

// subjects maps each tool call id to the patient the call touched.
func subjects(tools []sdktrace.ReadOnlySpan) map[string]string {
	m := map[string]string{}
	for _, s := range tools {
		a := attrs(s)
		if a["audit.subject.type"] == "patient" {
			m[a["gen_ai.tool.call.id"].(string)] = a["audit.subject.id"].(string)
		}
	}
	return m
}

func TestBurstIsTwelveAccessesWithinAnHour(t *testing.T) {
	_, _, spans := recorded(t)
	tools, _ := toolSpans(spans)
	var first, last time.Time
	n := 0
	users := map[string]bool{}
	for _, s := range tools {
		a := attrs(s)
		if a["audit.subject.id"] != burstPatient {
			continue
		}
		n++
		users[a["user.id"].(string)] = true
		if a["gen_ai.tool.name"] != "access_patient_record" || s.Status().Code == otelcodes.Error {
			t.Errorf("burst call %s %v", s.Name(), s.Status())
		}
		if first.IsZero() || s.StartTime().Before(first) {
			first = s.StartTime()
		}
		if s.StartTime().After(last) {
			last = s.StartTime()
		}
	}
	if n != burstSize || len(users) != 1 {
		t.Errorf("%d accesses to %s by %v, want %d by one user", n, burstPatient, users, burstSize)
	}
	if d := last.Sub(first); d >= time.Hour {
		t.Errorf("the burst spans %v, want less than an hour", d)
	}
}

func TestBreakGlass(t *testing.T) {
	_, _, spans := recorded(t)
	tools, _ := toolSpans(spans)
	var got []string
	for _, s := range tools {
		a := attrs(s)
		if a["audit.break_glass"] == true {
			got = append(got, fmt.Sprintf("%v %v %v %q", a["user.id"], a["gen_ai.tool.name"], a["audit.subject.id"], a["audit.break_glass.reason"]))
		} else if _, ok := a["audit.break_glass.reason"]; ok {
			t.Errorf("%s has a break-glass reason without break-glass", s.Name())
		}
	}
	want := fmt.Sprintf("dr.santos access_patient_record %s %q", breakGlassPatient, breakGlassReason)
	if len(got) != 1 || got[0] != want {
		t.Errorf("break-glass calls %q, want [%s]", got, want)
	}
}

// A search that finds one patient names that patient as the subject once
// it knows; a search over many names none.
func TestSearchSetsSubjectWhenKnown(t *testing.T) {
	_, _, spans := recorded(t)
	tools, _ := toolSpans(spans)
	got := subjects(tools)
	for id, want := range map[string]string{"call_m1_1": "P-1001", "call_m3_1": "P-1003", "call_m4_1": ""} {
		if got[id] != want {
			t.Errorf("%s: subject %q, want %q", id, got[id], want)
		}
	}
}

// The arguments carry patient names, dates of birth and an SSN as the
// model wrote them: removing them is the collector's job.
func TestArgumentsCarryPIIBeforeRedaction(t *testing.T) {
	_, _, spans := recorded(t)
	tools, _ := toolSpans(spans)
	var all strings.Builder
	for _, s := range tools {
		all.WriteString(attrs(s)["gen_ai.tool.call.arguments"].(string))
	}
	for _, pii := range []string{`"Maria"`, `"Garcia"`, "Samuel Okoro", "Li Wei", "Eleanor Vance",
		"1961-03-14", "1948-11-02", "1975-01-30", "328-41-9076"} {
		if !strings.Contains(all.String(), pii) {
			t.Errorf("no argument carries %s", pii)
		}
	}
	for _, s := range tools {
		if raw := attrs(s)["gen_ai.tool.call.arguments"].(string); !json.Valid([]byte(raw)) {
			t.Errorf("%s: arguments %s are not JSON", s.Name(), raw)
		}
	}
}

// receiver is an OTLP trace receiver over HTTP or gRPC that requires a
// bearer token.
type receiver struct {
	coltracepb.UnimplementedTraceServiceServer
	token string

	mu    sync.Mutex
	spans int
}

func (r *receiver) add(req *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			r.spans += len(ss.Spans)
		}
	}
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.spans
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Header.Get("Authorization") != "Bearer "+r.token {
		http.Error(w, "missing or bad token", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(req.Body)
	msg := &coltracepb.ExportTraceServiceRequest{}
	if err == nil {
		err = proto.Unmarshal(body, msg)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.add(msg)
	b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(b)
}

func (r *receiver) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	if got := md.Get("authorization"); len(got) != 1 || got[0] != "Bearer "+r.token {
		return nil, status.Error(codes.Unauthenticated, "missing or bad token")
	}
	r.add(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func startReceiver(t *testing.T, grpcProto bool, token string) (*receiver, string) {
	r := &receiver{token: token}
	if !grpcProto {
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return r, srv.URL
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(s, r)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return r, "http://" + lis.Addr().String()
}

func TestRunExportsOrFails(t *testing.T) {
	tests := []struct {
		name    string
		grpc    bool
		token   string
		wantErr string
	}{
		{name: "http", token: "s3cret-token"},
		{name: "grpc", grpc: true, token: "s3cret-token"},
		{name: "http wrong token", token: "other", wantErr: "32 spans not exported"},
		{name: "grpc wrong token", grpc: true, token: "other", wantErr: "32 spans not exported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, url := startReceiver(t, tt.grpc, "s3cret-token")
			t.Setenv(envEndpoint, url)
			t.Setenv(envTracesEndpoint, "")
			t.Setenv(envTracesProtocol, "")
			t.Setenv(envProtocol, map[bool]string{true: "grpc", false: "http/protobuf"}[tt.grpc])
			t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20"+tt.token)
			t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "5000")
			var out bytes.Buffer
			err := run(context.Background(), &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one with %q", err, tt.wantErr)
				}
				if r.count() != 0 {
					t.Errorf("receiver accepted %d spans", r.count())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.count() != wantCalls+wantTurns {
				t.Errorf("receiver got %d spans, want %d", r.count(), wantCalls+wantTurns)
			}
			if want := "medicalrecords: 21 tool calls (1 failed) in 6 conversations exported to OTLP/"; !strings.Contains(out.String(), want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		})
	}
}

func TestUnsupportedProtocol(t *testing.T) {
	t.Setenv(envTracesProtocol, "")
	t.Setenv(envProtocol, "http/json")
	err := run(context.Background(), io.Discard)
	if err == nil || !strings.Contains(err.Error(), `OTEL_EXPORTER_OTLP_PROTOCOL="http/json": unsupported`) {
		t.Errorf("error = %v", err)
	}
}
