package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// patient is a chart in the in-memory record system.
type patient struct {
	ID, Name, DateOfBirth, SSN string
	Diagnoses                  []string
	Plan                       string
}

// records is the in-memory electronic health record system the agent's
// tools work on.
type records struct {
	mu       sync.Mutex
	patients map[string]*patient
}

func newRecords() *records {
	r := &records{patients: map[string]*patient{}}
	for _, p := range patients {
		r.patients[p.ID] = &p
	}
	return r
}

// permissionError refuses an action the user's role does not allow.
type permissionError struct{ role, action string }

func (e *permissionError) Error() string {
	return fmt.Sprintf("role %q may not %s", e.role, e.action)
}

func (*permissionError) ErrorType() string { return "permission_denied" }

// notFoundError is a lookup without a result.
type notFoundError struct{ what string }

func (e *notFoundError) Error() string   { return e.what + " not found" }
func (*notFoundError) ErrorType() string { return "not_found" }

// work stands for a round trip to the record system.
func work() { time.Sleep(3 * time.Millisecond) }

// register adds the record system's tools to reg.
func (r *records) register(reg *instrumentation.Registry) error {
	tools := []struct {
		tool instrumentation.Tool
		h    instrumentation.Handler
	}{
		{instrumentation.Tool{Name: "search_patients", Type: "datastore", Description: "Finds patients by name, date of birth, SSN or diagnosis"},
			instrumentation.Typed(r.searchPatients)},
		{instrumentation.Tool{Name: "access_patient_record", Type: "datastore", Description: "Reads a patient's chart"},
			instrumentation.Typed(r.accessPatientRecord)},
		{instrumentation.Tool{Name: "update_treatment", Type: "extension", Description: "Changes a patient's treatment plan; physicians only"},
			instrumentation.Typed(r.updateTreatment)},
	}
	for _, t := range tools {
		if err := reg.Register(t.tool, t.h); err != nil {
			return err
		}
	}
	return nil
}

func (r *records) searchPatients(ctx context.Context, a struct {
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name"`
	DateOfBirth string `json:"date_of_birth"`
	Query       string `json:"query"`
	Diagnosis   string `json:"diagnosis"`
}) (map[string]any, error) {
	work()
	r.mu.Lock()
	defer r.mu.Unlock()
	var ids []string
	for _, p := range r.patients {
		first, last, _ := strings.Cut(p.Name, " ")
		switch {
		case a.Diagnosis != "" && !slices.Contains(p.Diagnoses, a.Diagnosis),
			a.LastName != "" && !strings.EqualFold(a.LastName, last),
			a.FirstName != "" && !strings.EqualFold(a.FirstName, first),
			a.DateOfBirth != "" && a.DateOfBirth != p.DateOfBirth,
			a.Query != "" && !strings.Contains(a.Query, p.SSN) && !strings.Contains(a.Query, p.Name):
			continue
		}
		ids = append(ids, p.ID)
	}
	slices.Sort(ids)
	// The subject is known only now: one match is whose data the search
	// touched.
	if len(ids) == 1 {
		trace.SpanFromContext(ctx).SetAttributes(
			attribute.String(attrkey.SubjectType, "patient"), attribute.String(attrkey.SubjectID, ids[0]))
	}
	return map[string]any{"match_count": len(ids), "patient_ids": ids}, nil
}

func (r *records) accessPatientRecord(_ context.Context, a struct {
	PatientID string `json:"patient_id"`
}) (map[string]any, error) {
	work()
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.patients[a.PatientID]
	if !ok {
		return nil, &notFoundError{"patient " + a.PatientID}
	}
	// The full chart goes back to the model; the span records only the
	// identifiers of this result (the instrumentation's result summary).
	return map[string]any{"patient_id": p.ID, "name": p.Name, "date_of_birth": p.DateOfBirth,
		"diagnoses": p.Diagnoses, "plan": p.Plan, "record_status": "active"}, nil
}

func (r *records) updateTreatment(ctx context.Context, a struct {
	PatientID string `json:"patient_id"`
	Plan      string `json:"plan"`
}) (map[string]any, error) {
	work()
	if roles := instrumentation.AttributionFromContext(ctx).UserRoles; !slices.Contains(roles, "physician") {
		return nil, &permissionError{role: strings.Join(roles, ","), action: "change a treatment plan"}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.patients[a.PatientID]
	if !ok {
		return nil, &notFoundError{"patient " + a.PatientID}
	}
	p.Plan = a.Plan
	return map[string]any{"patient_id": p.ID, "plan_status": "updated"}, nil
}
