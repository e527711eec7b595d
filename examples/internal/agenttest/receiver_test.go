package agenttest

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func request(service string, names ...string) *coltracepb.ExportTraceServiceRequest {
	ss := &tracepb.ScopeSpans{}
	for _, n := range names {
		ss.Spans = append(ss.Spans, &tracepb.Span{Name: n})
	}
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{
			{Key: "service.name", Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: service}}},
		}},
		SchemaUrl:  "https://opentelemetry.io/schemas/1.43.0",
		ScopeSpans: []*tracepb.ScopeSpans{ss},
	}}}
}

func names(spans []Span) (out []string) {
	for _, s := range spans {
		out = append(out, s.Resource["service.name"]+"/"+s.Name)
	}
	return out
}

func TestHTTPReceiver(t *testing.T) {
	r := NewReceiver(t, "http/protobuf", "tok")
	if r.Protocol != "http/protobuf" {
		t.Errorf("protocol %q", r.Protocol)
	}
	body, _ := proto.Marshal(request("svc", "a", "b"))
	tests := []struct {
		name, path, contentType, auth string
		body                          []byte
		want                          int
	}{
		{name: "accepted", path: "/v1/traces", contentType: "application/x-protobuf", auth: "Bearer tok", body: body, want: http.StatusOK},
		{name: "no token", path: "/v1/traces", contentType: "application/x-protobuf", body: body, want: http.StatusUnauthorized},
		{name: "wrong token", path: "/v1/traces", contentType: "application/x-protobuf", auth: "Bearer other", body: body, want: http.StatusUnauthorized},
		{name: "wrong path", path: "/v1/logs", contentType: "application/x-protobuf", auth: "Bearer tok", body: body, want: http.StatusBadRequest},
		{name: "json", path: "/v1/traces", contentType: "application/json", auth: "Bearer tok", body: []byte("{}"), want: http.StatusBadRequest},
		{name: "garbage", path: "/v1/traces", contentType: "application/x-protobuf", auth: "Bearer tok", body: []byte{0xff, 0xff, 0xff}, want: http.StatusBadRequest},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest(http.MethodPost, r.URL+tt.path, bytes.NewReader(tt.body))
		req.Header.Set("Content-Type", tt.contentType)
		if tt.auth != "" {
			req.Header.Set("Authorization", tt.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s: status %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
	}
	spans := r.Spans()
	if got := names(spans); len(got) != 2 || got[0] != "svc/a" || got[1] != "svc/b" || spans[0].SchemaURL == "" {
		t.Errorf("spans %v", got)
	}
	if r.Refused() != 2 {
		t.Errorf("refused %d requests, want 2", r.Refused())
	}
}

func TestGRPCReceiver(t *testing.T) {
	for _, token := range []string{"", "tok"} {
		r := NewReceiver(t, "grpc", token)
		if r.Protocol != "grpc" {
			t.Errorf("protocol %q", r.Protocol)
		}
		conn, err := grpc.NewClient(r.URL[len("http://"):], grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := coltracepb.NewTraceServiceClient(conn)
		ctx := context.Background()
		_, errNone := client.Export(ctx, request("svc", "none"))
		_, errWrong := client.Export(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer other"), request("svc", "wrong"))
		_, errRight := client.Export(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer tok"), request("svc", "right"))
		if errRight != nil {
			t.Fatal(errRight)
		}
		got := names(r.Spans())
		if token == "" {
			if errNone != nil || errWrong != nil || len(got) != 3 || r.Refused() != 0 {
				t.Errorf("without a token: errors %v, %v; spans %v; refused %d", errNone, errWrong, got, r.Refused())
			}
			continue
		}
		if status.Code(errNone) != codes.Unauthenticated || status.Code(errWrong) != codes.Unauthenticated {
			t.Errorf("errors %v, %v; want Unauthenticated", errNone, errWrong)
		}
		if len(got) != 1 || got[0] != "svc/right" || r.Refused() != 2 {
			t.Errorf("spans %v, refused %d", got, r.Refused())
		}
	}
}

func TestPointAt(t *testing.T) {
	r := NewReceiver(t, "grpc", "")
	t.Setenv("OTEL_SERVICE_NAME", "leaked")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://elsewhere")
	r.PointAt(t, "tok")
	for k, want := range map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":        r.URL,
		"OTEL_EXPORTER_OTLP_PROTOCOL":        "grpc",
		"OTEL_EXPORTER_OTLP_HEADERS":         "Authorization=Bearer%20tok",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
		"OTEL_SERVICE_NAME":                  "",
	} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
}
