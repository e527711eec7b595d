package medical

import (
	"context"
	"errors"
	"strings"
	"testing"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	auditmcp "github.com/otelaudit/otelaudit/instrumentation/mcp"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

func TestRecords(t *testing.T) {
	r := NewRecords()
	if _, err := r.Get("P-0000"); !errors.As(err, new(*NotFoundError)) {
		t.Errorf("Get(unknown) = %v, want a NotFoundError", err)
	}
	p, err := r.Get("P-1001")
	if err != nil || p.Name != "Jane Roe" {
		t.Fatalf("Get(P-1001) = %+v, %v", p, err)
	}
	// Get returns a copy.
	p.Allergies[0] = "changed"
	if q, _ := r.Get("P-1001"); q.Allergies[0] != "penicillin" {
		t.Error("Get returned the stored slice")
	}
	t1, err := r.AddTreatment("P-1001", Treatment{Medication: "m", Dosage: "d"})
	t2, err2 := r.AddTreatment("P-1002", Treatment{Medication: "m", Dosage: "d"})
	if err != nil || err2 != nil || t1.ID != "T-0001" || t2.ID != "T-0002" {
		t.Errorf("AddTreatment ids %q %q, errors %v %v", t1.ID, t2.ID, err, err2)
	}
	if _, err := r.AddTreatment("P-0000", Treatment{}); err == nil {
		t.Error("AddTreatment for an unknown patient succeeded")
	}
	tests := []struct {
		name, dob, ssn string
		want           []string
	}{
		{"roe", "", "", []string{"P-1001"}},
		{"jane ro", "", "", []string{"P-1001", "P-1004"}},
		{"Jane", "1958-05-09", "", []string{"P-1004"}},
		{"maria", "", "457-55-5462", []string{"P-1003"}},
		{"maria", "", "000-00-0000", nil},
		{"nobody", "", "", nil},
	}
	for _, tt := range tests {
		var got []string
		for _, m := range r.Search(tt.name, tt.dob, tt.ssn) {
			got = append(got, m.ID)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("Search(%q, %q, %q) = %v, want %v", tt.name, tt.dob, tt.ssn, got, tt.want)
		}
	}
}

func TestTools(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())
	a, err := auditmcp.New(auditmcp.WithTracerProvider(tp))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := Serve("127.0.0.1:0", a, NewRecords())
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	ctx := context.Background()
	cs, err := sdkmcp.NewClient(&sdkmcp.Implementation{Name: "t", Version: "1"}, nil).
		Connect(ctx, &sdkmcp.StreamableClientTransport{Endpoint: srv.URL}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	tests := []struct {
		tool    string
		args    map[string]any
		isError string // the error text, "" for success
		result  string // in the result's text
		subject string
	}{
		{tool: "access_patient_record", args: map[string]any{"patient_id": "P-1003", "fields": []string{"allergies"}}, result: `"allergies":["latex"]`, subject: "P-1003"},
		{tool: "access_patient_record", args: map[string]any{"patient_id": "P-0000"}, isError: `patient "P-0000" not found`, subject: "P-0000"},
		{tool: "update_treatment", args: map[string]any{"patient_id": "P-1001", "medication": "m", "dosage": "d"}, result: `"status":"updated"`, subject: "P-1001"},
		{tool: "update_treatment", args: map[string]any{"patient_id": "P-1001", "medication": "m", "dosage": ""}, isError: "medication and dosage are required", subject: "P-1001"},
		// Arguments the input schema refuses fail before the handler.
		{tool: "update_treatment", args: map[string]any{"patient_id": "P-1001", "medication": "m"}, isError: `validating "arguments": validating root: required: missing properties: ["dosage"]`},
		{tool: "search_patients", args: map[string]any{"patient_name": "jane"}, result: `"count":2`},
	}
	for _, tt := range tests {
		sr.Reset()
		res, err := cs.CallTool(ctx, &sdkmcp.CallToolParams{Name: tt.tool, Arguments: tt.args})
		if err != nil {
			t.Fatalf("%s: %v", tt.tool, err)
		}
		text := res.Content[0].(*sdkmcp.TextContent).Text
		if tt.isError != "" {
			if !res.IsError || text != tt.isError {
				t.Errorf("%s %v: result %q (isError %v), want error %q", tt.tool, tt.args, text, res.IsError, tt.isError)
			}
		} else if res.IsError || !strings.Contains(text, tt.result) {
			t.Errorf("%s %v: result %q, want it to hold %q", tt.tool, tt.args, text, tt.result)
		}
		ended := sr.Ended()
		if len(ended) != 1 || ended[0].SpanKind() != trace.SpanKindServer {
			t.Fatalf("%s: %d spans", tt.tool, len(ended))
		}
		s := ended[0]
		if (s.Status().Code == codes.Error) != (tt.isError != "") {
			t.Errorf("%s: span status %v", tt.tool, s.Status())
		}
		subject := ""
		for _, kv := range s.Attributes() {
			if kv.Key == attrkey.SubjectID {
				subject = kv.Value.AsString()
			}
		}
		if subject != tt.subject {
			t.Errorf("%s: audit.subject.id %q, want %q", tt.tool, subject, tt.subject)
		}
	}
}

func TestServeLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:0", ":0", "nonsense"} {
		if s, err := Serve(addr, nil, NewRecords()); err == nil {
			_ = s.Shutdown(context.Background())
			t.Errorf("Serve(%q) succeeded", addr)
		}
	}
	s, err := Serve("localhost:0", nil, NewRecords())
	if err != nil {
		t.Fatalf("Serve(localhost:0): %v", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Error(err)
	}
}
