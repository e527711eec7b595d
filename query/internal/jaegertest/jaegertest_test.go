package jaegertest

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

// sink is an OTLP/gRPC trace receiver that counts the spans sent to it.
type sink struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans int
}

func (s *sink) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			s.spans += len(ss.Spans)
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spans
}

// Jaeger v2 traces its own queries unless jaeger_query.enable_tracing is
// false, exporting the spans over OTLP/gRPC to OTEL_EXPORTER_OTLP_ENDPOINT
// (localhost:4317 by default, where a collector under test may listen) and
// flushing them when it stops. The test points that variable at a sink:
// after queries and a stop, the sink must have received nothing.
func TestJaegerDoesNotTraceItself(t *testing.T) {
	bin := Bin()
	if bin == "" {
		t.Skip("SKIPPING REAL-JAEGER TEST: set " + EnvBin + " to a Jaeger v2 binary (make tools builds _build/bin/jaeger)")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, s)
	go func() { _ = srv.Serve(lis) }()
	defer srv.Stop()
	// The child process inherits the environment.
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+lis.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	j, err := Start(ctx, bin)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Stop()
	for _, path := range []string{"/api/v3/services", "/api/services", "/api/traces?service=nothing"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, j.QueryURL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if err := j.Stop(); err != nil {
		t.Fatal(err)
	}
	if n := s.count(); n != 0 {
		t.Errorf("jaeger exported %d spans of its own to OTEL_EXPORTER_OTLP_ENDPOINT; output:\n%s", n, j.Output())
	}
}
