//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// spanSource makes execute_tool spans with ids unique to the test run, so
// that the tests know exactly which spans each request carried.
type spanSource struct {
	mu     sync.Mutex
	prefix [8]byte
	n      uint64
}

func newSpanSource(t *testing.T) *spanSource {
	g := &spanSource{}
	if _, err := rand.Read(g.prefix[:]); err != nil {
		t.Fatal(err)
	}
	return g
}

func str(k, v string) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
}

// request returns an export request with n tool spans of service and the
// span keys (trace id + span id, hex) it carries.
func (g *spanSource) request(service string, n int) (*coltracepb.ExportTraceServiceRequest, []string) {
	g.mu.Lock()
	first := g.n
	g.n += uint64(n)
	g.mu.Unlock()
	now := uint64(time.Now().UnixNano())
	var spans []*tracepb.Span
	var keys []string
	for i := range uint64(n) {
		seq := first + i + 1
		traceID := make([]byte, 16)
		copy(traceID, g.prefix[:])
		binary.BigEndian.PutUint64(traceID[8:], seq)
		spanID := binary.BigEndian.AppendUint64(nil, seq)
		keys = append(keys, hex.EncodeToString(traceID)+hex.EncodeToString(spanID))
		spans = append(spans, &tracepb.Span{
			TraceId:           traceID,
			SpanId:            spanID,
			Name:              "execute_tool e2e_stream",
			Kind:              tracepb.Span_SPAN_KIND_INTERNAL,
			StartTimeUnixNano: now,
			EndTimeUnixNano:   now + 1_000_000,
			Attributes: []*commonpb.KeyValue{
				str("gen_ai.operation.name", "execute_tool"),
				str("gen_ai.tool.name", "e2e_stream"),
				str("gen_ai.tool.call.id", "call_"+strconv.FormatUint(seq, 10)),
				str("gen_ai.tool.call.arguments", fmt.Sprintf(`{"seq":%d}`, seq)),
				str("gen_ai.conversation.id", "e2e-stream"),
				str("user.id", "e2e-streamer"),
			},
		})
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", service)}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "otelaudit/e2e"}, Spans: spans}},
	}}}, keys
}

// grpcClient connects to the collector's OTLP/gRPC port. It reconnects
// quickly after the collector restarts.
func (s *stack) grpcClient() (*grpc.ClientConn, coltracepb.TraceServiceClient) {
	s.t.Helper()
	bo := backoff.DefaultConfig
	bo.MaxDelay = 500 * time.Millisecond
	conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", s.otlpGRPC),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: time.Second}))
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { conn.Close() })
	return conn, coltracepb.NewTraceServiceClient(conn)
}

// withAuth returns ctx carrying an Authorization header ("" for none).
func withAuth(ctx context.Context, auth string) context.Context {
	if auth == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", auth)
}

// postHTTP sends body to the collector's OTLP/HTTP traces endpoint and
// returns the status and response body.
func (s *stack) postHTTP(contentType, auth string, body []byte) (int, string) {
	s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/v1/traces", s.otlpHTTP), bytes.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		s.t.Fatalf("POST /v1/traces: %v", err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String()
}

func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// rawCodec sends bytes over gRPC as they are: a malformed protobuf
// message reaches the server unchanged.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

// countKeys counts the store's records per span key.
func countKeys(recs []record) map[string]int {
	m := make(map[string]int, len(recs))
	for _, r := range recs {
		m[r.TraceID+r.SpanID]++
	}
	return m
}
