package query

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// Code systems used by the FHIR export.
const (
	fhirDCM             = "http://dicom.nema.org/resources/ontology/DCM"
	fhirActReason       = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
	fhirSecurityRole    = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
	fhirSourceType      = "http://terminology.hl7.org/CodeSystem/security-source-type"
	fhirEntityType      = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
	fhirObjectRole      = "http://terminology.hl7.org/CodeSystem/object-role"
	fhirOtelauditSystem = "https://github.com/otelaudit/otelaudit/fhir/CodeSystem/"
	// FHIRTraceIDSystem is the identifier system of the entity that links
	// an AuditEvent back to its OpenTelemetry trace.
	FHIRTraceIDSystem = "https://www.w3.org/TR/trace-context/#trace-id"
)

// FHIROption tunes FHIRBundle.
type FHIROption func(*fhirConfig)

type fhirConfig struct {
	now      func() time.Time
	observer string
}

// WithFHIRClock sets the clock that stamps Bundle.timestamp (default
// time.Now).
func WithFHIRClock(now func() time.Time) FHIROption {
	return func(c *fhirConfig) { c.now = now }
}

// WithFHIRObserver names the audit source (AuditEvent.source.observer)
// when a record carries no service name (default "otelaudit").
func WithFHIRObserver(name string) FHIROption {
	return func(c *fhirConfig) { c.observer = name }
}

// Bundle is a FHIR R4 Bundle of type collection holding AuditEvents.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleEntry is one entry of a Bundle.
type BundleEntry struct {
	FullURL  string     `json:"fullUrl"`
	Resource AuditEvent `json:"resource"`
}

// AuditEvent is the FHIR R4 AuditEvent resource, with the elements the
// export fills.
type AuditEvent struct {
	ResourceType   string            `json:"resourceType"`
	ID             string            `json:"id"`
	Type           Coding            `json:"type"`
	Subtype        []Coding          `json:"subtype,omitempty"`
	Action         string            `json:"action,omitempty"`
	Period         *Period           `json:"period,omitempty"`
	Recorded       string            `json:"recorded"`
	Outcome        string            `json:"outcome,omitempty"`
	OutcomeDesc    string            `json:"outcomeDesc,omitempty"`
	PurposeOfEvent []CodeableConcept `json:"purposeOfEvent,omitempty"`
	Agent          []AuditAgent      `json:"agent"`
	Source         AuditSource       `json:"source"`
	Entity         []AuditEntity     `json:"entity,omitempty"`
}

// Coding is a FHIR Coding.
type Coding struct {
	System  string `json:"system,omitempty"`
	Code    string `json:"code,omitempty"`
	Display string `json:"display,omitempty"`
}

// CodeableConcept is a FHIR CodeableConcept.
type CodeableConcept struct {
	Coding []Coding `json:"coding,omitempty"`
	Text   string   `json:"text,omitempty"`
}

// Period is a FHIR Period.
type Period struct {
	Start string `json:"start,omitempty"`
	End   string `json:"end,omitempty"`
}

// Identifier is a FHIR Identifier.
type Identifier struct {
	System string `json:"system,omitempty"`
	Value  string `json:"value,omitempty"`
}

// Reference is a FHIR Reference.
type Reference struct {
	Reference  string      `json:"reference,omitempty"`
	Identifier *Identifier `json:"identifier,omitempty"`
	Display    string      `json:"display,omitempty"`
}

// AuditAgent is AuditEvent.agent.
type AuditAgent struct {
	Type      *CodeableConcept  `json:"type,omitempty"`
	Role      []CodeableConcept `json:"role,omitempty"`
	Who       *Reference        `json:"who,omitempty"`
	AltID     string            `json:"altId,omitempty"`
	Name      string            `json:"name,omitempty"`
	Requestor bool              `json:"requestor"`
	Network   *AgentNetwork     `json:"network,omitempty"`
}

// AgentNetwork is AuditEvent.agent.network.
type AgentNetwork struct {
	Address string `json:"address,omitempty"`
	// Type is 1 (machine name) or 2 (IP address).
	Type string `json:"type,omitempty"`
}

// AuditSource is AuditEvent.source.
type AuditSource struct {
	Site     string    `json:"site,omitempty"`
	Observer Reference `json:"observer"`
	Type     []Coding  `json:"type,omitempty"`
}

// AuditEntity is AuditEvent.entity.
type AuditEntity struct {
	What        *Reference     `json:"what,omitempty"`
	Type        *Coding        `json:"type,omitempty"`
	Role        *Coding        `json:"role,omitempty"`
	Description string         `json:"description,omitempty"`
	Query       string         `json:"query,omitempty"`
	Detail      []EntityDetail `json:"detail,omitempty"`
}

// EntityDetail is AuditEvent.entity.detail with a string value.
type EntityDetail struct {
	Type        string `json:"type"`
	ValueString string `json:"valueString"`
}

// FHIRBundle exports the records of res as FHIR R4 AuditEvent resources in a
// Bundle of type collection, one AuditEvent per tool call, in record order.
// The mapping (documented in query/README.md) in brief:
//
//   - action: C, R, U, D or E from the verb the tool name starts with
//     (get/read/list/search… → R, create/add… → C, update/set/cancel… → U,
//     delete/remove… → D, anything else → E);
//   - outcome: from the record's success, which is the span status
//     (SPEC §2), not the result's own members: 0 when the call succeeded;
//     4 when it failed with a result summary recorded (typically a
//     refused request); 8 when it failed without one (an unexpected
//     error);
//   - purposeOfEvent: audit.purpose mapped to v3 PurposeOfUse where one
//     fits (treatment → TREAT, billing/payment → HPAYMT, research → HRESCH,
//     operations → HOPERAT, emergency → ETREAT…), else as text; break-glass
//     adds a concept carrying the reason, coded v3 ActReason BTG;
//   - agents: the human user (requestor unless the call was proactive or
//     system-initiated) and the AI agent with its model;
//   - entities: the subject, with the tool call (tool, arguments, result)
//     as detail; the tool call itself with its arguments as query; and the
//     trace (trace id, span id, audit chain and hash) linking back to the
//     trace and to the audit record.
func FHIRBundle(res *Result, opts ...FHIROption) *Bundle {
	x := NewFHIRExport(res, opts...)
	b := x.head
	b.Entry = make([]BundleEntry, x.Len())
	for i := range b.Entry {
		b.Entry[i] = x.Entry(i)
	}
	return &b
}

// FHIRExport is the Bundle of FHIRBundle, built one entry at a time as it
// is rendered: exporting a large result takes memory for its records, not
// also for every AuditEvent and the whole JSON text. Render writes the same
// bytes for it as for the Bundle. Safe for concurrent reads.
type FHIRExport struct {
	head    Bundle // without entries
	records []auditlog.Record
	c       fhirConfig
	// renamed holds the entries whose call was seen before, by index:
	// see Entry.
	renamed map[int]bool
}

// NewFHIRExport prepares the FHIR export of res (see FHIRBundle). It reads
// every record once, for the Bundle's id, which covers every entry's.
func NewFHIRExport(res *Result, opts ...FHIROption) *FHIRExport {
	res = res.innermost()
	x := &FHIRExport{records: res.Records, c: fhirConfig{now: time.Now, observer: "otelaudit"}}
	for _, o := range opts {
		o(&x.c)
	}
	x.head = Bundle{ResourceType: "Bundle", Type: "collection", Timestamp: x.c.now().UTC().Format(time.RFC3339Nano)}
	h := sha256.New()
	// Entries are told apart by their ids, which a call has whatever it
	// was read from: two records of one span (a redelivery whose content
	// changed, a source that repeats a call) would otherwise share an id.
	seen := make(map[string]bool, len(x.records))
	for i := range x.records {
		r := &x.records[i]
		id := fhirID(r)
		if seen[id] {
			if x.renamed == nil {
				x.renamed = make(map[int]bool)
			}
			x.renamed[i] = true
			id, _ = renamedEntry(r, i)
		}
		seen[id] = true
		h.Write([]byte(id))
	}
	x.head.ID = hex.EncodeToString(h.Sum(nil))[:32]
	return x
}

// Len is the number of entries.
func (x *FHIRExport) Len() int { return len(x.records) }

// Entry builds entry i.
func (x *FHIRExport) Entry(i int) BundleEntry {
	r := &x.records[i]
	ev := auditEvent(r, &x.c)
	// The fullUrl is named by the id, not by the record's hash, which
	// only the store has: one call exported from the store and from its
	// trace is then one resource to a server that receives both.
	name := "id/" + ev.ID
	if x.renamed[i] {
		// The same id twice (no ids, or two records of one span): ids and
		// fullUrls must still be unique (bdl-7).
		ev.ID, name = renamedEntry(r, i)
	}
	return BundleEntry{FullURL: "urn:uuid:" + uuidOf(name), Resource: ev}
}

// renamedEntry returns the id and the name (for fullUrl) of entry i, whose
// call r an earlier entry holds too.
func renamedEntry(r *auditlog.Record, i int) (id, name string) {
	name = r.TraceID + "/" + r.SpanID + "/" + r.Hash + "/" + strconv.Itoa(i)
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:24]), name
}

// WriteText writes the export as JSON: FHIR has no text form.
func (x *FHIRExport) WriteText(w io.Writer) error { return writeJSONList(w, x.list()) }

// Table returns one row per AuditEvent: the main coded elements.
func (x *FHIRExport) Table() ([]string, [][]string) { return x.list().table.all() }

// list is x with its entries built one at a time (see Render).
func (x *FHIRExport) list() jsonList {
	var head any = &x.head // no entries: no "entry" member
	if x.Len() > 0 {
		head = &bundleHead{ResourceType: x.head.ResourceType, ID: x.head.ID, Type: x.head.Type, Timestamp: x.head.Timestamp, Entry: []BundleEntry{}}
	}
	return jsonList{
		head: head,
		n:    x.Len(),
		item: func(i int) any { e := x.Entry(i); return &e },
		table: rowSource{header: fhirHeader, n: x.Len(), row: func(i int) []string {
			e := x.Entry(i)
			return fhirRow(&e.Resource)
		}},
	}
}

// bundleHead is Bundle with its entries always written, as the head of a
// jsonList must be. TestFHIRExportMatchesBundle keeps the two alike.
type bundleHead struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id"`
	Type         string        `json:"type"`
	Timestamp    string        `json:"timestamp"`
	Entry        []BundleEntry `json:"entry"`
}

func auditEvent(r *auditlog.Record, c *fhirConfig) AuditEvent {
	ev := AuditEvent{
		ResourceType: "AuditEvent",
		ID:           fhirID(r),
		Type:         eventType(r),
		Action:       ToolAction(r.ToolName),
		Recorded:     fhirInstant(r.Timestamp),
		Outcome:      fhirOutcome(r),
	}
	if code := fhirCode(r.ToolName); code != "" {
		ev.Subtype = []Coding{{System: fhirOtelauditSystem + "tool", Code: code, Display: r.ToolName}}
	}
	if start, err := time.Parse(time.RFC3339Nano, r.Timestamp); err == nil {
		end := start.Add(time.Duration(r.DurationMS * float64(time.Millisecond)))
		ev.Period = &Period{Start: start.UTC().Format(time.RFC3339Nano), End: end.UTC().Format(time.RFC3339Nano)}
	}
	if r.Error != nil {
		ev.OutcomeDesc = text(strings.TrimPrefix(strings.Trim(r.Error.Type+": "+r.Error.Message, ": "), ": "))
	}
	if p := purposeOf(r.Purpose); p != nil {
		ev.PurposeOfEvent = append(ev.PurposeOfEvent, *p)
	}
	if r.BreakGlass {
		ev.PurposeOfEvent = append(ev.PurposeOfEvent, CodeableConcept{
			// HL7 v3 ActReason BTG "break the glass" (a PurposeOfUse,
			// under ETREAT, so in purposeOfEvent's value set), which
			// receiving systems know; otelaudit's own code stays as a
			// second coding for readers of earlier exports.
			Coding: []Coding{
				{System: fhirActReason, Code: "BTG", Display: "break the glass"},
				{System: fhirOtelauditSystem + "access", Code: "break-glass", Display: "break-glass (emergency) access"},
			},
			Text: nonEmptyOr(r.BreakGlassReason, "break-glass access"),
		})
	}
	ev.Agent = agentsOf(r)
	observer := nonEmptyOr(r.Source.Service, c.observer)
	ev.Source = AuditSource{
		Site:     text(r.ChainID),
		Observer: Reference{Identifier: &Identifier{System: fhirOtelauditSystem + "service", Value: observer}, Display: observer},
		Type:     []Coding{{System: fhirSourceType, Code: "4", Display: "Application Server"}},
	}
	ev.Entity = entitiesOf(r)
	return ev
}

func eventType(r *auditlog.Record) Coding {
	if strings.EqualFold(r.Subject.Type, "patient") {
		return Coding{System: fhirDCM, Code: "110110", Display: "Patient Record"}
	}
	return Coding{System: fhirOtelauditSystem + "event-type", Code: "execute_tool", Display: "AI agent tool call"}
}

// ToolAction classifies a tool by the verb its name starts with into the
// FHIR AuditEvent action codes C (create), R (read), U (update), D (delete)
// and E (execute, the default). Names may use snake_case, kebab-case,
// dots or camelCase ("getPatient", "update_order_status").
func ToolAction(tool string) string {
	verb := firstWord(tool)
	switch verb {
	case "get", "read", "list", "search", "find", "lookup", "fetch", "query", "view", "show", "access", "retrieve",
		"check", "describe", "load", "open", "browse", "count", "download", "export", "inspect", "select":
		return "R"
	case "create", "add", "insert", "new", "register", "book", "schedule", "post", "upload",
		"submit", "enroll", "make", "generate", "write":
		return "C"
	case "update", "set", "modify", "edit", "change", "cancel", "patch", "put", "assign", "approve", "reject",
		"close", "rename", "move", "mark", "apply", "issue", "refund", "reschedule", "replace", "upsert":
		return "U"
	case "delete", "remove", "purge", "revoke", "erase", "drop", "destroy", "unregister", "archive":
		return "D"
	}
	return "E"
}

func firstWord(s string) string {
	s = strings.TrimSpace(s)
	for i, r := range s {
		switch {
		case r == '_' || r == '-' || r == '.' || r == ' ' || r == '/':
			return strings.ToLower(s[:i])
		case i > 0 && r >= 'A' && r <= 'Z' && s[i-1] >= 'a' && s[i-1] <= 'z':
			return strings.ToLower(s[:i])
		}
	}
	return strings.ToLower(s)
}

// fhirOutcome: 0 success, 4 failed with a result (like HTTP 4xx), 8
// failed without one (like HTTP 5xx). Success is the span status's, as
// SPEC §2 defines it; a result that says {"success":false} under an unset
// status is not re-read here, so that every command agrees on the outcome.
func fhirOutcome(r *auditlog.Record) string {
	switch {
	case r.Success:
		return "0"
	case !isNull(r.ResultSummary):
		return "4"
	default:
		return "8"
	}
}

var purposeCodes = map[string]Coding{
	"treatment":           {System: fhirActReason, Code: "TREAT", Display: "treatment"},
	"treat":               {System: fhirActReason, Code: "TREAT", Display: "treatment"},
	"emergency":           {System: fhirActReason, Code: "ETREAT", Display: "emergency treatment"},
	"emergency_treatment": {System: fhirActReason, Code: "ETREAT", Display: "emergency treatment"},
	"billing":             {System: fhirActReason, Code: "HPAYMT", Display: "healthcare payment"},
	"payment":             {System: fhirActReason, Code: "HPAYMT", Display: "healthcare payment"},
	"research":            {System: fhirActReason, Code: "HRESCH", Display: "healthcare research"},
	"operations":          {System: fhirActReason, Code: "HOPERAT", Display: "healthcare operations"},
	"public_health":       {System: fhirActReason, Code: "PUBHLTH", Display: "public health"},
	"legal":               {System: fhirActReason, Code: "HLEGAL", Display: "legal"},
	"marketing":           {System: fhirActReason, Code: "HMARKT", Display: "healthcare marketing"},
	"patient_request":     {System: fhirActReason, Code: "PATRQT", Display: "patient requested"},
	"coverage":            {System: fhirActReason, Code: "COVAUTH", Display: "coverage authorization"},
	"quality":             {System: fhirActReason, Code: "HQUALIMP", Display: "health quality improvement"},
}

func purposeOf(p string) *CodeableConcept {
	if !present(p) {
		return nil
	}
	cc := CodeableConcept{Text: p}
	key := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(p)), "-", "_")
	key = strings.ReplaceAll(key, " ", "_")
	if c, ok := purposeCodes[key]; ok {
		cc.Coding = []Coding{c}
	}
	return &cc
}

func agentsOf(r *auditlog.Record) []AuditAgent {
	humanRequests := present(r.UserID) && (r.Attribution.InitiatorType == auditlog.InitiatorUser ||
		(r.Attribution.InitiatorType == "" && r.Trigger != "proactive" && r.Trigger != "system" && r.Trigger != "retry"))
	var agents []AuditAgent
	if present(r.UserID) {
		a := AuditAgent{
			Type:      &CodeableConcept{Coding: []Coding{{System: fhirSecurityRole, Code: "humanuser", Display: "human user"}}},
			Who:       &Reference{Identifier: &Identifier{System: fhirOtelauditSystem + "user", Value: r.UserID}, Display: r.UserID},
			Requestor: humanRequests,
		}
		for _, role := range r.UserRoles {
			if present(role) {
				a.Role = append(a.Role, CodeableConcept{Text: role})
			}
		}
		a.AltID = text(r.Session.ID)
		if addr := strings.TrimSpace(r.Session.ClientAddress); addr != "" {
			typ := "1"
			if _, err := netip.ParseAddr(addr); err == nil {
				typ = "2"
			}
			a.Network = &AgentNetwork{Address: addr, Type: typ}
		}
		agents = append(agents, a)
	}
	name := text(nonEmptyOr(r.Agent.Name, r.Agent.ID))
	display := nonEmptyOr(name, "AI agent")
	if present(r.Model) {
		display += " (model " + r.Model + ")"
	}
	ai := AuditAgent{
		Type:      &CodeableConcept{Coding: []Coding{{System: fhirDCM, Code: "110150", Display: "Application"}}},
		Role:      []CodeableConcept{{Coding: []Coding{{System: fhirOtelauditSystem + "agent-role", Code: "ai-agent", Display: "AI agent"}}, Text: "AI agent"}},
		Who:       &Reference{Display: display},
		Name:      name,
		Requestor: !humanRequests,
	}
	if id := text(nonEmptyOr(r.Agent.ID, r.Agent.Name)); id != "" {
		ai.Who.Identifier = &Identifier{System: fhirOtelauditSystem + "agent", Value: id}
	}
	return append(agents, ai)
}

func entitiesOf(r *auditlog.Record) []AuditEntity {
	var out []AuditEntity
	call := []EntityDetail{{Type: "tool", ValueString: nonEmptyOr(r.ToolName, "(unnamed)")}}
	add := func(typ, v string) {
		if present(v) {
			call = append(call, EntityDetail{Type: typ, ValueString: v})
		}
	}
	add("tool_call_id", r.ToolCallID)
	add("arguments", nonNullJSON(r.Arguments))
	add("result_summary", nonNullJSON(r.ResultSummary))
	add("conversation_id", r.ConversationID)
	if r.TurnNumber != nil {
		add("turn_number", strconv.FormatInt(*r.TurnNumber, 10))
	}
	add("trigger", r.Trigger)
	if r.BreakGlass {
		add("break_glass_reason", nonEmptyOr(r.BreakGlassReason, "(none given)"))
	}
	hasSubject := present(r.Subject.Type) || present(r.Subject.ID)
	if hasSubject {
		out = append(out, AuditEntity{
			What:        subjectReference(r.Subject),
			Type:        subjectEntityType(r.Subject.Type),
			Role:        subjectRole(r.Subject.Type),
			Description: "subject whose data the tool call touched",
			Detail:      call,
		})
	}
	toolCall := AuditEntity{
		What:        &Reference{Display: "tool call " + nonEmptyOr(r.ToolName, "(unnamed)")},
		Type:        &Coding{System: fhirEntityType, Code: "2", Display: "System Object"},
		Role:        &Coding{System: fhirObjectRole, Code: "24", Display: "Query"},
		Description: "the tool call and its arguments",
	}
	if present(r.ToolCallID) {
		toolCall.What.Identifier = &Identifier{System: fhirOtelauditSystem + "tool-call-id", Value: r.ToolCallID}
	}
	if args := nonNullJSON(r.Arguments); args != "" {
		toolCall.Query = base64.StdEncoding.EncodeToString([]byte(args))
	}
	if !hasSubject {
		toolCall.Detail = call
	}
	out = append(out, toolCall)
	trace := AuditEntity{
		What:        &Reference{Identifier: &Identifier{System: FHIRTraceIDSystem, Value: r.TraceID}, Display: "trace " + r.TraceID + " span " + r.SpanID},
		Type:        &Coding{System: fhirEntityType, Code: "2", Display: "System Object"},
		Description: "OpenTelemetry trace of the tool call and its audit record",
		Detail:      []EntityDetail{{Type: "trace_id", ValueString: r.TraceID}},
	}
	if !present(r.TraceID) {
		trace.What.Identifier = nil
		trace.Detail = nil
	}
	for _, d := range []EntityDetail{
		{"span_id", r.SpanID}, {"parent_span_id", r.ParentSpanID}, {"audit_chain_id", r.ChainID},
		{"audit_seq", seqString(r)}, {"audit_hash", r.Hash},
	} {
		if present(d.ValueString) {
			trace.Detail = append(trace.Detail, d)
		}
	}
	return append(out, trace)
}

// fhirIDPattern is the FHIR id datatype.
var fhirIDPattern = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)

func subjectReference(s Subject) *Reference {
	display := subjectString(s)
	if strings.EqualFold(s.Type, "patient") && fhirIDPattern.MatchString(s.ID) {
		return &Reference{Reference: "Patient/" + s.ID, Identifier: &Identifier{System: fhirOtelauditSystem + "subject/patient", Value: s.ID}, Display: display}
	}
	ref := &Reference{Display: display}
	if present(s.ID) {
		ref.Identifier = &Identifier{System: fhirOtelauditSystem + "subject/" + urlSafe(s.Type), Value: s.ID}
	}
	return ref
}

func subjectEntityType(typ string) *Coding {
	switch strings.ToLower(typ) {
	case "patient", "person", "customer", "user", "member", "employee", "practitioner":
		return &Coding{System: fhirEntityType, Code: "1", Display: "Person"}
	case "organization", "organisation", "company":
		return &Coding{System: fhirEntityType, Code: "3", Display: "Organization"}
	}
	return &Coding{System: fhirEntityType, Code: "2", Display: "System Object"}
}

func subjectRole(typ string) *Coding {
	switch strings.ToLower(typ) {
	case "patient":
		return &Coding{System: fhirObjectRole, Code: "1", Display: "Patient"}
	case "customer":
		return &Coding{System: fhirObjectRole, Code: "19", Display: "Customer"}
	case "user", "employee":
		return &Coding{System: fhirObjectRole, Code: "6", Display: "User"}
	case "practitioner":
		return &Coding{System: fhirObjectRole, Code: "15", Display: "Practitioner"}
	}
	return &Coding{System: fhirObjectRole, Code: "4", Display: "Domain Resource"}
}

// fhirID derives a resource id from the span ids: unique per call, stable
// across exports, and within the id datatype (64 chars of [A-Za-z0-9-.]).
func fhirID(r *auditlog.Record) string {
	id := r.TraceID + "-" + r.SpanID
	if fhirIDPattern.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(r.TraceID + "/" + r.SpanID + "/" + r.Hash))
	return hex.EncodeToString(sum[:24])
}

// uuidOf derives a name-based (version 5 style, SHA-256) UUID.
func uuidOf(name string) string {
	sum := sha256.Sum256([]byte("otelaudit/fhir/" + name))
	sum[6] = sum[6]&0x0f | 0x50
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// fhirInstant renders a record timestamp as a FHIR instant (which allows
// up to nine fractional digits and needs a zone).
func fhirInstant(ts string) string {
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return "1970-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// fhirCodePattern is the FHIR code datatype.
var fhirCodePattern = regexp.MustCompile(`^[^\s]+( [^\s]+)*$`)

func fhirCode(s string) string {
	if fhirCodePattern.MatchString(s) {
		return s
	}
	return ""
}

func nonNullJSON(raw []byte) string {
	if isNull(raw) {
		return ""
	}
	return string(raw)
}

// present reports whether s holds what FHIR accepts as a string: not
// empty and not only whitespace (R4 §2.24.0.1, "strings SHALL always
// contain non-whitespace content"). A record's values come from spans as
// they were sent, so a field may hold a lone space.
func present(s string) bool { return strings.TrimSpace(s) != "" }

// text is s, or "" (an element left out) when s is not present.
func text(s string) string {
	if !present(s) {
		return ""
	}
	return s
}

func nonEmptyOr(s, alt string) string {
	if !present(s) {
		return alt
	}
	return s
}

func urlSafe(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "unknown"
	}
	return b.String()
}

// WriteText writes the bundle as JSON: FHIR has no text form.
func (b *Bundle) WriteText(w io.Writer) error { return writeJSON(w, b) }

// fhirHeader is the header of the CSV form of a Bundle.
var fhirHeader = []string{"id", "recorded", "type", "action", "outcome", "requestor", "subject", "tool", "trace_id"}

// Table returns one row per AuditEvent: the main coded elements.
func (b *Bundle) Table() ([]string, [][]string) {
	rows := make([][]string, len(b.Entry))
	for i := range b.Entry {
		rows[i] = fhirRow(&b.Entry[i].Resource)
	}
	return fhirHeader, rows
}

// fhirRow is the CSV row of ev.
func fhirRow(ev *AuditEvent) []string {
	req, subj, tool, trace := "", "", "", ""
	for _, a := range ev.Agent {
		if a.Requestor && a.Who != nil {
			req = a.Who.Display
		}
	}
	for _, en := range ev.Entity {
		switch {
		case en.Role != nil && en.Role.Code != "24" && en.What != nil:
			subj = en.What.Display
		case en.What != nil && en.What.Identifier != nil && en.What.Identifier.System == FHIRTraceIDSystem:
			trace = en.What.Identifier.Value
		}
		for _, d := range en.Detail {
			if d.Type == "tool" {
				tool = d.ValueString
			}
		}
	}
	return []string{ev.ID, ev.Recorded, ev.Type.Code, ev.Action, ev.Outcome, req, subj, tool, trace}
}
