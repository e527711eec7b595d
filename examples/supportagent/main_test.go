package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

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
	wantCalls  = 15
	wantFailed = 2
	wantTurns  = 6
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
	if tl.calls != wantCalls || tl.failed != wantFailed || tl.conversations != 4 {
		t.Errorf("tally = %+v", tl)
	}
	tools, turns := toolSpans(spans)
	if len(tools) != wantCalls || turns != wantTurns {
		t.Fatalf("%d tool spans and %d turn spans, want %d and %d", len(tools), turns, wantCalls, wantTurns)
	}
	users, convs, byTool := map[string]bool{}, map[string]bool{}, map[string]int{}
	var failed []string
	for _, s := range tools {
		a := attrs(s)
		tool, _ := a["gen_ai.tool.name"].(string)
		byTool[tool]++
		users[a["user.id"].(string)] = true
		convs[a["gen_ai.conversation.id"].(string)] = true
		for _, k := range []string{"gen_ai.tool.call.id", "gen_ai.tool.call.arguments", "audit.turn_number", "audit.trigger", "audit.purpose", "gen_ai.request.model", "gen_ai.agent.name", "session.id"} {
			if _, ok := a[k]; !ok {
				t.Errorf("%s (%v) lacks %s", s.Name(), a["gen_ai.tool.call.id"], k)
			}
		}
		if s.Parent().SpanID() == [8]byte{} {
			t.Errorf("%s is not inside an invoke_agent span", s.Name())
		}
		if s.Status().Code == otelcodes.Error {
			failed = append(failed, tool+":"+a["error.type"].(string))
		}
	}
	for _, tool := range []string{"get_customer", "get_order", "update_order_status", "initiate_return", "issue_refund"} {
		if byTool[tool] == 0 {
			t.Errorf("no %s call", tool)
		}
	}
	if len(users) != 3 || len(convs) != 4 {
		t.Errorf("users %v, conversations %v", users, convs)
	}
	if want := []string{"update_order_status:order_shipped", "issue_refund:invalid_amount"}; strings.Join(failed, " ") != strings.Join(want, " ") {
		t.Errorf("failed calls %v, want %v", failed, want)
	}
	if !strings.Contains(out, "✗ update_order_status: order O-5002 has shipped") {
		t.Errorf("output does not show the refused update:\n%s", out)
	}
}

// The agent library masks sensitive keys, but the secrets the model copies
// into free text reach the span: only the collector can remove them.
func TestRefundArgumentsCarrySecretsBeforeRedaction(t *testing.T) {
	_, out, spans := recorded(t)
	tools, _ := toolSpans(spans)
	refunds := 0
	for _, s := range tools {
		a := attrs(s)
		if a["gen_ai.tool.name"] != "issue_refund" {
			continue
		}
		refunds++
		raw := a["gen_ai.tool.call.arguments"].(string)
		var args struct {
			Note        string `json:"note"`
			CallbackURL string `json:"callback_url"`
		}
		if err := json.Unmarshal([]byte(raw), &args); err != nil {
			t.Fatalf("arguments %s: %v", raw, err)
		}
		if !strings.Contains(args.Note, plantedCard) && !strings.Contains(args.Note, plantedCard2) {
			t.Errorf("refund note %q carries no card number", args.Note)
		}
		if !strings.Contains(args.CallbackURL, "api_key="+plantedAPIKey) {
			t.Errorf("callback_url %q carries no api_key", args.CallbackURL)
		}
		if a["audit.subject.type"] != "customer" || a["audit.purpose"] != "support" {
			t.Errorf("refund without customer subject or purpose: %v", a)
		}
	}
	if refunds != 3 {
		t.Errorf("%d issue_refund calls, want 3", refunds)
	}
	for _, secret := range []string{plantedCard, plantedCard2, plantedAPIKey} {
		if strings.Contains(out, secret) {
			t.Errorf("the agent printed %q", secret)
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
		{name: "http wrong token", token: "other", wantErr: "21 spans not exported"},
		{name: "grpc wrong token", grpc: true, token: "other", wantErr: "21 spans not exported"},
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
			if want := "supportagent: 15 tool calls (2 failed) in 4 conversations exported to OTLP/"; !strings.Contains(out.String(), want) {
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
