// Package medical is the MCP server of the examples: fictitious medical
// records behind three tools, access_patient_record, update_treatment and
// search_patients, served over MCP streamable HTTP with every tools/call
// audited by otelaudit's MCP instrumentation.
//
// Every name, date and number in it is invented.
package medical

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Patient is one record.
type Patient struct {
	ID          string      `json:"patient_id"`
	Name        string      `json:"name"`
	DOB         string      `json:"dob"`
	SSN         string      `json:"ssn"`
	Allergies   []string    `json:"allergies"`
	Medications []string    `json:"medications"`
	Treatments  []Treatment `json:"treatments"`
	Status      string      `json:"record_status"`
}

// Treatment is one entry of a patient's treatment plan.
type Treatment struct {
	ID         string `json:"treatment_id"`
	Medication string `json:"medication"`
	Dosage     string `json:"dosage"`
	Notes      string `json:"notes,omitempty"`
}

// Records holds the patients. It is safe for concurrent use.
type Records struct {
	mu       sync.Mutex
	patients map[string]*Patient
	next     int
}

// NewRecords returns the example's patients.
func NewRecords() *Records {
	r := &Records{patients: map[string]*Patient{}, next: 1}
	for _, p := range []Patient{
		{ID: "P-1001", Name: "Jane Roe", DOB: "1980-02-14", SSN: "078-05-1120", Allergies: []string{"penicillin"},
			Medications: []string{"lisinopril 10mg"}, Status: "active"},
		{ID: "P-1002", Name: "John Q. Public", DOB: "1975-07-01", SSN: "219-09-9999", Medications: []string{"metformin 500mg"}, Status: "active"},
		{ID: "P-1003", Name: "Maria Example", DOB: "1992-11-30", SSN: "457-55-5462", Allergies: []string{"latex"}, Status: "admitted"},
		{ID: "P-1004", Name: "Jane Rowe", DOB: "1958-05-09", SSN: "323-45-6789", Status: "discharged"},
	} {
		r.patients[p.ID] = &p
	}
	return r
}

// NotFoundError says that no patient has the id.
type NotFoundError struct{ ID string }

func (e *NotFoundError) Error() string { return fmt.Sprintf("patient %q not found", e.ID) }

// Get returns a copy of the patient with id.
func (r *Records) Get(id string) (Patient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.patients[id]
	if !ok {
		return Patient{}, &NotFoundError{ID: id}
	}
	return clone(p), nil
}

// AddTreatment adds t to the plan of the patient with id and returns the
// treatment with its new id.
func (r *Records) AddTreatment(id string, t Treatment) (Treatment, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.patients[id]
	if !ok {
		return Treatment{}, &NotFoundError{ID: id}
	}
	t.ID = fmt.Sprintf("T-%04d", r.next)
	r.next++
	p.Treatments = append(p.Treatments, t)
	return t, nil
}

// Match is a search hit.
type Match struct {
	ID   string `json:"patient_id"`
	Name string `json:"name"`
	DOB  string `json:"dob"`
}

// Search returns the patients whose name contains name (ignoring case) and,
// for dob and ssn that are not empty, who were born on dob and have the
// SSN, ordered by id.
func (r *Records) Search(name, dob, ssn string) []Match {
	r.mu.Lock()
	defer r.mu.Unlock()
	name = strings.ToLower(strings.TrimSpace(name))
	matches := []Match{}
	for _, p := range r.patients {
		if strings.Contains(strings.ToLower(p.Name), name) && (dob == "" || p.DOB == dob) && (ssn == "" || p.SSN == ssn) {
			matches = append(matches, Match{ID: p.ID, Name: p.Name, DOB: p.DOB})
		}
	}
	slices.SortFunc(matches, func(a, b Match) int { return strings.Compare(a.ID, b.ID) })
	return matches
}

func clone(p *Patient) Patient {
	c := *p
	c.Allergies = slices.Clone(p.Allergies)
	c.Medications = slices.Clone(p.Medications)
	c.Treatments = slices.Clone(p.Treatments)
	return c
}
