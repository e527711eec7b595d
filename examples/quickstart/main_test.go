package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

const (
	toolSpans  = 8
	turnSpans  = 5
	secret     = "hunter2-not-a-real-password"
	defaultEnv = ""
)

// clearEnv unsets the OTLP variables for the test, so that the developer's
// environment does not leak into it.
func clearEnv(t *testing.T) {
	for _, k := range []string{envEndpoint, envTracesEndpoint, envProtocol, envTracesProtocol,
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		t.Setenv(k, defaultEnv)
	}
}

func TestRunPrintsSpans(t *testing.T) {
	clearEnv(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if got := countLines(text, "execute_tool "); got != toolSpans {
		t.Errorf("%d execute_tool spans printed, want %d\n%s", got, toolSpans, text)
	}
	if got := countLines(text, "invoke_agent "); got != turnSpans {
		t.Errorf("%d invoke_agent spans printed, want %d", got, turnSpans)
	}
	for _, want := range []string{
		`"smtp_password":"***REDACTED***"`,
		`execute_tool update_treatment  [ERROR: role "nurse" may not change a treatment plan`,
		"error.type                   permission_denied",
		"audit.break_glass            true",
		"audit.break_glass.reason     patient unresponsive in the ER, attending physician unavailable",
		"audit.trigger                proactive",
		"user.id                      bob",
		"quickstart: 8 tool calls recorded and exported to standard output",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(text, secret) {
		t.Error("the secret reached the output")
	}
}

func countLines(text, prefix string) int {
	n := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			n++
		}
	}
	return n
}

func TestRunJSON(t *testing.T) {
	clearEnv(t)
	var out bytes.Buffer
	if err := run(context.Background(), &out, true); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(strings.TrimSuffix(out.String(), lastLine(out.String()))))
	names := map[string]int{}
	for {
		var span struct{ Name string }
		if err := dec.Decode(&span); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("stdout exporter output: %v", err)
		}
		names[strings.Fields(span.Name)[0]]++
	}
	if names["execute_tool"] != toolSpans || names["invoke_agent"] != turnSpans {
		t.Errorf("spans = %v", names)
	}
	if strings.Contains(out.String(), secret) {
		t.Error("the secret reached the output")
	}
}

func lastLine(s string) string {
	s = strings.TrimSuffix(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:] + "\n"
}

// collector gathers the spans of OTLP export requests.
type collector struct {
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
}

func (c *collector) add(r *coltracepb.ExportTraceServiceRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests = append(c.requests, r)
}

// spans returns every span received with its resource's attributes.
func (c *collector) spans() (spans []*tracepb.Span, resources []map[string]string, schemas []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.requests {
		for _, rs := range r.ResourceSpans {
			res := attrs(rs.Resource.GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans = append(spans, s)
					resources = append(resources, res)
					schemas = append(schemas, rs.SchemaUrl)
				}
			}
		}
	}
	return spans, resources, schemas
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.GetStringValue()
	}
	return m
}

func (c *collector) check(t *testing.T, service string) {
	t.Helper()
	spans, resources, schemas := c.spans()
	if len(spans) != toolSpans+turnSpans {
		t.Fatalf("collector received %d spans, want %d", len(spans), toolSpans+turnSpans)
	}
	tools := 0
	for i, s := range spans {
		if resources[i]["service.name"] != service {
			t.Errorf("service.name = %q, want %q", resources[i]["service.name"], service)
		}
		if schemas[i] != semconv.SchemaURL {
			t.Errorf("resource schema %q, want %q", schemas[i], semconv.SchemaURL)
		}
		if !strings.HasPrefix(s.Name, "execute_tool ") {
			continue
		}
		tools++
		a := attrs(s.Attributes)
		if a["gen_ai.operation.name"] != "execute_tool" || a["gen_ai.tool.call.id"] == "" || a["user.id"] == "" {
			t.Errorf("span %s lacks attribution: %v", s.Name, a)
		}
		if strings.Contains(a["gen_ai.tool.call.arguments"], secret) {
			t.Errorf("span %s carries the secret", s.Name)
		}
		if s.Name == "execute_tool update_treatment" && s.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
			t.Errorf("the failed call has status %v", s.Status)
		}
	}
	if tools != toolSpans {
		t.Errorf("%d tool spans, want %d", tools, toolSpans)
	}
}

func newHTTPCollector(t *testing.T) (*collector, string) {
	c := &collector{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "unexpected request", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if err == nil {
			err = proto.Unmarshal(body, req)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.add(req)
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return c, srv.URL
}

type grpcCollector struct {
	coltracepb.UnimplementedTraceServiceServer
	c *collector
}

func (g *grpcCollector) Export(_ context.Context, r *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	g.c.add(r)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func newGRPCCollector(t *testing.T) (*collector, string) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	s := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(s, &grpcCollector{c: c})
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	return c, "http://" + lis.Addr().String()
}

func TestRunOTLP(t *testing.T) {
	tests := []struct {
		name    string
		grpc    bool
		env     map[string]string
		service string
	}{
		{name: "http by default", env: map[string]string{envEndpoint: "URL"}, service: serviceName},
		{name: "http/protobuf", env: map[string]string{envEndpoint: "URL", envProtocol: "http/protobuf"}, service: serviceName},
		{name: "traces endpoint", env: map[string]string{envTracesEndpoint: "URL/v1/traces"}, service: serviceName},
		{name: "grpc", grpc: true, env: map[string]string{envEndpoint: "URL", envProtocol: "grpc"}, service: serviceName},
		{name: "traces protocol wins", grpc: true, env: map[string]string{envEndpoint: "URL", envProtocol: "http/protobuf", envTracesProtocol: "grpc"}, service: serviceName},
		{name: "service name from the environment", env: map[string]string{envEndpoint: "URL", "OTEL_SERVICE_NAME": "billing-agent"}, service: "billing-agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			var c *collector
			var url string
			if tt.grpc {
				c, url = newGRPCCollector(t)
			} else {
				c, url = newHTTPCollector(t)
			}
			for k, v := range tt.env {
				t.Setenv(k, strings.Replace(v, "URL", url, 1))
			}
			var out bytes.Buffer
			if err := run(context.Background(), &out, false); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "quickstart: 8 tool calls recorded and exported to OTLP/") {
				t.Errorf("output = %q", out.String())
			}
			c.check(t, tt.service)
		})
	}
}

func TestUnsupportedProtocol(t *testing.T) {
	clearEnv(t)
	t.Setenv(envEndpoint, "http://127.0.0.1:4318")
	t.Setenv(envTracesProtocol, "http/json")
	err := run(context.Background(), io.Discard, false)
	if err == nil || err.Error() != `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL "http/json": unsupported, use "http/protobuf" or "grpc"` {
		t.Errorf("error = %v", err)
	}
}

func TestCanceledRun(t *testing.T) {
	clearEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var out bytes.Buffer
	if err := run(ctx, &out, false); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}
