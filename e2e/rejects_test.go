//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestRejectsBadRequests sends otelcol-audit unauthenticated and malformed
// OTLP requests over HTTP and gRPC, each followed by a good request. Every
// bad request must be refused with the right status, none of its spans may
// reach the store, and every good span must arrive exactly once.
func TestRejectsBadRequests(t *testing.T) {
	s := newStack(t)
	s.startCollector() // no Jaeger: its pipeline retries in the background
	gen := newSpanSource(t)
	bearer := "Bearer " + s.token
	var good, refused []string

	// goodHTTP and goodGRPC prove the collector still takes data.
	goodHTTP := func(after string) {
		req, keys := gen.request("e2e-good", 3)
		if code, body := s.postHTTP("application/x-protobuf", bearer, mustMarshal(t, req)); code != http.StatusOK {
			t.Fatalf("good HTTP request after %s: %d %s", after, code, body)
		}
		good = append(good, keys...)
	}
	_, client := s.grpcClient()
	goodGRPC := func(after string) {
		req, keys := gen.request("e2e-good", 3)
		ctx, cancel := context.WithTimeout(withAuth(context.Background(), bearer), 30*time.Second)
		defer cancel()
		if _, err := client.Export(ctx, req); err != nil {
			t.Fatalf("good gRPC request after %s: %v", after, err)
		}
		good = append(good, keys...)
	}
	// A well-formed request whose spans must never be stored.
	valid := func() []byte {
		req, keys := gen.request("e2e-refused", 3)
		refused = append(refused, keys...)
		return mustMarshal(t, req)
	}

	goodHTTP("start")
	httpCases := []struct {
		name        string
		contentType string
		auth        string
		body        []byte
		want        int
	}{
		{"no token", "application/x-protobuf", "", valid(), http.StatusUnauthorized},
		{"wrong token", "application/x-protobuf", "Bearer not-the-token", valid(), http.StatusUnauthorized},
		{"token without scheme", "application/x-protobuf", s.token, valid(), http.StatusUnauthorized},
		{"basic auth", "application/x-protobuf", "Basic ZTJlOmUyZQ==", valid(), http.StatusUnauthorized},
		{"bad protobuf", "application/x-protobuf", bearer, []byte("\x0a\xff\xff\xff\xff\x0fnot protobuf"), http.StatusBadRequest},
		{"truncated protobuf", "application/x-protobuf", bearer, valid()[:40], http.StatusBadRequest},
		{"bad json", "application/json", bearer, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":`), http.StatusBadRequest},
		{"json of the wrong shape", "application/json", bearer, []byte(`{"resourceSpans":"none"}`), http.StatusBadRequest},
		{"unsupported content type", "text/plain", bearer, []byte("hello"), http.StatusUnsupportedMediaType},
	}
	for _, tc := range httpCases {
		t.Run("http/"+tc.name, func(t *testing.T) {
			if code, body := s.postHTTP(tc.contentType, tc.auth, tc.body); code != tc.want {
				t.Errorf("status %d (%s), want %d", code, body, tc.want)
			}
			goodHTTP(tc.name)
		})
	}

	goodGRPC("start")
	grpcCases := []struct {
		name string
		auth string
		body []byte
		want codes.Code
	}{
		{"no token", "", valid(), codes.Unauthenticated},
		{"wrong token", "Bearer not-the-token", valid(), codes.Unauthenticated},
		{"token without scheme", s.token, valid(), codes.Unauthenticated},
		// The gRPC server cannot decode the message: the handler never runs.
		{"bad protobuf", bearer, []byte("\x0a\xff\xff\xff\xff\x0fnot protobuf"), codes.Internal},
		{"truncated protobuf", bearer, valid()[:40], codes.Internal},
	}
	for _, tc := range grpcCases {
		t.Run("grpc/"+tc.name, func(t *testing.T) {
			conn, _ := s.grpcClient()
			ctx, cancel := context.WithTimeout(withAuth(context.Background(), tc.auth), 30*time.Second)
			defer cancel()
			var reply []byte
			err := conn.Invoke(ctx, "/"+coltracepb.TraceService_ServiceDesc.ServiceName+"/Export", tc.body, &reply, grpc.ForceCodec(rawCodec{}))
			if got := status.Code(err); got != tc.want {
				t.Errorf("code %v (%v), want %v", got, err, tc.want)
			}
			goodGRPC(tc.name)
		})
	}

	// Every good span once, no refused span, a verified store, a healthy
	// collector.
	recs := s.waitVerified(len(good))
	counts := countKeys(recs)
	for _, k := range good {
		if counts[k] != 1 {
			t.Errorf("good span %s stored %d times", k, counts[k])
		}
	}
	for _, k := range refused {
		if counts[k] != 0 {
			t.Errorf("refused span %s was stored", k)
		}
	}
	if len(recs) != len(good) {
		t.Errorf("store holds %d records, want %d", len(recs), len(good))
	}
	for _, r := range recs {
		if r.Source.Client != s.clientName() {
			t.Errorf("record %s/%d: source.client %q, want %q", r.ChainID, r.Seq, r.Source.Client, s.clientName())
		}
	}
	if code, _, err := httpGet(s.healthURL()); code != http.StatusOK || s.collector.exited() {
		t.Errorf("collector unhealthy after the bad requests: %d %v", code, err)
	}
}
