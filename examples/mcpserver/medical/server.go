package medical

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	auditmcp "github.com/otelaudit/otelaudit/instrumentation/mcp"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Path is where Serve answers MCP requests.
const Path = "/mcp"

// The tools' arguments and results.
type (
	// AccessInput asks for a patient's record.
	AccessInput struct {
		PatientID string `json:"patient_id" jsonschema:"the patient's id, e.g. P-1001"`
		// Fields limits the clinical parts returned: allergies,
		// medications, treatments. All when empty.
		Fields []string `json:"fields,omitempty" jsonschema:"clinical parts to return (allergies, medications, treatments); all when empty"`
	}
	// RecordView is a record as access_patient_record returns it: never
	// the SSN.
	RecordView struct {
		ID          string      `json:"patient_id"`
		Name        string      `json:"name"`
		DOB         string      `json:"dob"`
		Status      string      `json:"record_status"`
		Allergies   []string    `json:"allergies,omitempty"`
		Medications []string    `json:"medications,omitempty"`
		Treatments  []Treatment `json:"treatments,omitempty"`
	}
	// UpdateInput adds a treatment to a patient's plan.
	UpdateInput struct {
		PatientID   string `json:"patient_id" jsonschema:"the patient's id"`
		PatientName string `json:"patient_name,omitempty" jsonschema:"the patient's name, to confirm the identity"`
		Medication  string `json:"medication" jsonschema:"the medication to give"`
		Dosage      string `json:"dosage" jsonschema:"dose and frequency"`
		Notes       string `json:"notes,omitempty" jsonschema:"free-text clinical notes"`
	}
	// UpdateResult confirms an update.
	UpdateResult struct {
		PatientID   string `json:"patient_id"`
		TreatmentID string `json:"treatment_id"`
		Status      string `json:"status"`
	}
	// SearchInput looks patients up by name and date of birth.
	SearchInput struct {
		PatientName string `json:"patient_name" jsonschema:"part of the patient's name"`
		DOB         string `json:"dob,omitempty" jsonschema:"date of birth, YYYY-MM-DD"`
		SSN         string `json:"ssn,omitempty" jsonschema:"social security number, when known"`
	}
	// SearchResult lists the matches.
	SearchResult struct {
		Matches []Match `json:"matches"`
		Count   int     `json:"count"`
	}
)

// NewServer returns an MCP server with the three tools over records, whose
// tools/call requests a records (nil: none are recorded).
func NewServer(a *auditmcp.Auditor, records *Records) *sdkmcp.Server {
	s := sdkmcp.NewServer(&sdkmcp.Implementation{Name: "medical-records", Version: "1.0.0"}, nil)
	sdkmcp.AddTool(s, &sdkmcp.Tool{
		Name:        "access_patient_record",
		Description: "Read a patient's record: identity, status, allergies, medications and treatments.",
	}, func(ctx context.Context, _ *sdkmcp.CallToolRequest, in AccessInput) (*sdkmcp.CallToolResult, RecordView, error) {
		subject(ctx, in.PatientID)
		p, err := records.Get(in.PatientID)
		if err != nil {
			return nil, RecordView{}, err
		}
		v := RecordView{ID: p.ID, Name: p.Name, DOB: p.DOB, Status: p.Status}
		all := len(in.Fields) == 0
		if all || slices.Contains(in.Fields, "allergies") {
			v.Allergies = p.Allergies
		}
		if all || slices.Contains(in.Fields, "medications") {
			v.Medications = p.Medications
		}
		if all || slices.Contains(in.Fields, "treatments") {
			v.Treatments = p.Treatments
		}
		return nil, v, nil
	})
	sdkmcp.AddTool(s, &sdkmcp.Tool{
		Name:        "update_treatment",
		Description: "Add a medication to a patient's treatment plan.",
	}, func(ctx context.Context, _ *sdkmcp.CallToolRequest, in UpdateInput) (*sdkmcp.CallToolResult, UpdateResult, error) {
		subject(ctx, in.PatientID)
		if in.Medication == "" || in.Dosage == "" {
			return nil, UpdateResult{}, errors.New("medication and dosage are required")
		}
		t, err := records.AddTreatment(in.PatientID, Treatment{Medication: in.Medication, Dosage: in.Dosage, Notes: in.Notes})
		if err != nil {
			return nil, UpdateResult{}, err
		}
		return nil, UpdateResult{PatientID: in.PatientID, TreatmentID: t.ID, Status: "updated"}, nil
	})
	sdkmcp.AddTool(s, &sdkmcp.Tool{
		Name:        "search_patients",
		Description: "Find patients by name and date of birth.",
	}, func(_ context.Context, _ *sdkmcp.CallToolRequest, in SearchInput) (*sdkmcp.CallToolResult, SearchResult, error) {
		m := records.Search(in.PatientName, in.DOB, in.SSN)
		return nil, SearchResult{Matches: m, Count: len(m)}, nil
	})
	if a != nil {
		s.AddReceivingMiddleware(a.ServerMiddleware())
	}
	return s
}

// subject records whose record a call touches, as the server knows it from
// the arguments: it wins over what the client claimed in _meta.
func subject(ctx context.Context, patientID string) {
	if patientID == "" {
		return
	}
	trace.SpanFromContext(ctx).SetAttributes(
		attribute.String(attrkey.SubjectType, "patient"),
		attribute.String(attrkey.SubjectID, patientID))
}

// Handler returns the streamable HTTP handler of server, wrapped by a.
func Handler(a *auditmcp.Auditor, server *sdkmcp.Server) http.Handler {
	return a.Handler(sdkmcp.NewStreamableHTTPHandler(func(*http.Request) *sdkmcp.Server { return server }, nil))
}

// HTTPServer is the records server listening on loopback.
type HTTPServer struct {
	// URL is the MCP endpoint, e.g. http://127.0.0.1:8931/mcp.
	URL  string
	hs   *http.Server
	done chan error
}

// Serve starts serving the tools over records at Path on addr, which must
// be a loopback address ("127.0.0.1:0" picks a free port), each tools/call
// recorded by a (nil: not recorded).
func Serve(addr string, a *auditmcp.Auditor, records *Records) (*HTTPServer, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("address %q: the example serves on a loopback address only", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(Path, Handler(a, NewServer(a, records)))
	s := &HTTPServer{
		URL:  "http://" + ln.Addr().String() + Path,
		hs:   &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.hs.Serve(ln) }()
	return s, nil
}

// Shutdown stops accepting requests and waits until those in flight are
// answered, and their spans ended, or ctx is done. Then it closes the
// connections still open: clients' event streams, and connections that
// never sent a request, which net/http would otherwise wait 5 seconds
// for. Running out of time is not an error; failing to serve is.
func (s *HTTPServer) Shutdown(ctx context.Context) error {
	var err error
	if serr := s.hs.Shutdown(ctx); serr != nil && !errors.Is(serr, context.DeadlineExceeded) && !errors.Is(serr, context.Canceled) {
		err = serr
	}
	if cerr := s.hs.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
