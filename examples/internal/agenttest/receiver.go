package agenttest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Receiver is an OTLP trace receiver on 127.0.0.1, over HTTP/protobuf or
// gRPC. When it has a token it refuses requests without "Authorization:
// Bearer TOKEN" (HTTP 401, gRPC Unauthenticated), as otelcol-audit does.
// It is safe for concurrent use.
type Receiver struct {
	coltracepb.UnimplementedTraceServiceServer

	// URL is the base endpoint, for OTEL_EXPORTER_OTLP_ENDPOINT:
	// http://127.0.0.1:PORT.
	URL string
	// Protocol is the receiver's OTEL_EXPORTER_OTLP_PROTOCOL:
	// "http/protobuf" or "grpc".
	Protocol string

	token    string
	mu       sync.Mutex
	requests []*coltracepb.ExportTraceServiceRequest
	refused  int
}

// Span is a span the receiver accepted, with its resource.
type Span struct {
	*tracepb.Span
	// Resource holds the string attributes of the span's resource.
	Resource map[string]string
	// SchemaURL is the schema of the resource.
	SchemaURL string
}

// NewReceiver starts a receiver for protocol ("grpc"; anything else is
// HTTP/protobuf) that requires token, or nothing when token is "". It stops
// when the test ends.
func NewReceiver(t testing.TB, protocol, token string) *Receiver {
	t.Helper()
	r := &Receiver{token: token, Protocol: "http/protobuf"}
	if protocol != "grpc" {
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		r.URL = srv.URL
		return r
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(s, r)
	go func() { _ = s.Serve(lis) }()
	t.Cleanup(s.Stop)
	r.URL, r.Protocol = "http://"+lis.Addr().String(), "grpc"
	return r
}

// ServeHTTP serves OTLP/HTTP with protobuf bodies at /v1/traces.
func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if !r.authorized(req.Header.Get("Authorization")) {
		http.Error(w, "missing or bad token", http.StatusUnauthorized)
		return
	}
	if req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "unexpected request", http.StatusBadRequest)
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

// Export serves OTLP/gRPC.
func (r *Receiver) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := ""
	if v := md.Get("authorization"); len(v) == 1 {
		auth = v[0]
	}
	if !r.authorized(auth) {
		return nil, status.Error(codes.Unauthenticated, "missing or bad token")
	}
	r.add(req)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// authorized reports whether the Authorization value passes, counting the
// requests it refuses.
func (r *Receiver) authorized(auth string) bool {
	if r.token == "" || auth == "Bearer "+r.token {
		return true
	}
	r.mu.Lock()
	r.refused++
	r.mu.Unlock()
	return false
}

func (r *Receiver) add(req *coltracepb.ExportTraceServiceRequest) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests = append(r.requests, req)
}

// Spans returns the spans accepted so far, in the order received.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	var spans []Span
	for _, req := range r.requests {
		for _, rs := range req.ResourceSpans {
			res := Strings(rs.Resource.GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					spans = append(spans, Span{Span: s, Resource: res, SchemaURL: rs.SchemaUrl})
				}
			}
		}
	}
	return spans
}

// Refused returns how many requests lacked the token.
func (r *Receiver) Refused() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.refused
}

// Strings returns the string values of kvs by key ("" for values of other
// types).
func Strings(kvs []*commonpb.KeyValue) map[string]string {
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.GetStringValue()
	}
	return m
}
