// Package fhircheck checks FHIR R4 JSON against the structure of the Bundle
// and AuditEvent resources, written from the R4 specification
// (hl7.org/fhir/R4/auditevent.html, bundle.html, datatypes.html): element
// names (unknown elements are errors, as in the ShEx CLOSED shapes),
// cardinalities, primitive formats (id, code, uri, instant, dateTime,
// base64Binary, boolean), the required value sets of AuditEvent.action
// (C R U D E), AuditEvent.outcome (0 4 8 12), agent.network.type (1-5) and
// Bundle.type, and the invariants ele-1 (no empty elements), per-1 (period
// start before end), sev-1 (entity name or query, not both), bdl-1 (total
// only in searchset and history), bdl-2 (search only in searchset), bdl-3
// (request in batch and transaction) and bdl-7 (fullUrl unique).
//
// It is a test aid: a structural checker, not a terminology server, so
// extensible bindings (type, purposeOfEvent, roles) are not checked.
package fhircheck

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Primitive formats, from the R4 datatypes page.
var (
	reID       = regexp.MustCompile(`^[A-Za-z0-9\-.]{1,64}$`)
	reCode     = regexp.MustCompile(`^[^\s]+( [^\s]+)*$`)
	reURI      = regexp.MustCompile(`^\S*$`)
	reInstant  = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))$`)
	reDateTime = regexp.MustCompile(`^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$`)
)

// elem describes one element: its type, cardinality and, for required
// bindings, the allowed codes.
type elem struct {
	typ    string
	min    int
	many   bool
	values []string
}

// Structures: the elements of each complex type and backbone element used
// by Bundle and AuditEvent. "any" elements (meta, text, extension…) are
// accepted without further checks.
var types = map[string]map[string]elem{
	"Bundle": {
		"resourceType": {typ: "string", min: 1}, "id": {typ: "id"}, "meta": {typ: "any"},
		"implicitRules": {typ: "uri"}, "language": {typ: "code"}, "identifier": {typ: "Identifier"},
		"type": {typ: "code", min: 1, values: []string{"document", "message", "transaction", "transaction-response",
			"batch", "batch-response", "history", "searchset", "collection"}},
		"timestamp": {typ: "instant"}, "total": {typ: "unsignedInt"}, "link": {typ: "any", many: true},
		"entry": {typ: "Bundle.entry", many: true}, "signature": {typ: "any"},
	},
	"Bundle.entry": {
		"link": {typ: "any", many: true}, "fullUrl": {typ: "uri"}, "resource": {typ: "Resource"},
		"search": {typ: "any"}, "request": {typ: "any"}, "response": {typ: "any"},
	},
	"AuditEvent": {
		"resourceType": {typ: "string", min: 1}, "id": {typ: "id"}, "meta": {typ: "any"}, "implicitRules": {typ: "uri"},
		"language": {typ: "code"}, "text": {typ: "any"}, "contained": {typ: "any", many: true},
		"extension": {typ: "any", many: true}, "modifierExtension": {typ: "any", many: true},
		"type": {typ: "Coding", min: 1}, "subtype": {typ: "Coding", many: true},
		"action":         {typ: "code", values: []string{"C", "R", "U", "D", "E"}},
		"period":         {typ: "Period"},
		"recorded":       {typ: "instant", min: 1},
		"outcome":        {typ: "code", values: []string{"0", "4", "8", "12"}},
		"outcomeDesc":    {typ: "string"},
		"purposeOfEvent": {typ: "CodeableConcept", many: true},
		"agent":          {typ: "AuditEvent.agent", min: 1, many: true},
		"source":         {typ: "AuditEvent.source", min: 1},
		"entity":         {typ: "AuditEvent.entity", many: true},
	},
	"AuditEvent.agent": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true}, "modifierExtension": {typ: "any", many: true},
		"type": {typ: "CodeableConcept"}, "role": {typ: "CodeableConcept", many: true}, "who": {typ: "Reference"},
		"altId": {typ: "string"}, "name": {typ: "string"}, "requestor": {typ: "boolean", min: 1},
		"location": {typ: "Reference"}, "policy": {typ: "uri", many: true}, "media": {typ: "Coding"},
		"network": {typ: "AuditEvent.agent.network"}, "purposeOfUse": {typ: "CodeableConcept", many: true},
	},
	"AuditEvent.agent.network": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true}, "modifierExtension": {typ: "any", many: true},
		"address": {typ: "string"}, "type": {typ: "code", values: []string{"1", "2", "3", "4", "5"}},
	},
	"AuditEvent.source": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true}, "modifierExtension": {typ: "any", many: true},
		"site": {typ: "string"}, "observer": {typ: "Reference", min: 1}, "type": {typ: "Coding", many: true},
	},
	"AuditEvent.entity": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true}, "modifierExtension": {typ: "any", many: true},
		"what": {typ: "Reference"}, "type": {typ: "Coding"}, "role": {typ: "Coding"}, "lifecycle": {typ: "Coding"},
		"securityLabel": {typ: "Coding", many: true}, "name": {typ: "string"}, "description": {typ: "string"},
		"query": {typ: "base64Binary"}, "detail": {typ: "AuditEvent.entity.detail", many: true},
	},
	"AuditEvent.entity.detail": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true}, "modifierExtension": {typ: "any", many: true},
		"type": {typ: "string", min: 1}, "valueString": {typ: "string"}, "valueBase64Binary": {typ: "base64Binary"},
	},
	"Coding": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true},
		"system": {typ: "uri"}, "version": {typ: "string"}, "code": {typ: "code"}, "display": {typ: "string"},
		"userSelected": {typ: "boolean"},
	},
	"CodeableConcept": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true},
		"coding": {typ: "Coding", many: true}, "text": {typ: "string"},
	},
	"Reference": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true},
		"reference": {typ: "string"}, "type": {typ: "uri"}, "identifier": {typ: "Identifier"}, "display": {typ: "string"},
	},
	"Identifier": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true},
		"use":  {typ: "code", values: []string{"usual", "official", "temp", "secondary", "old"}},
		"type": {typ: "CodeableConcept"}, "system": {typ: "uri"}, "value": {typ: "string"},
		"period": {typ: "Period"}, "assigner": {typ: "Reference"},
	},
	"Period": {
		"id": {typ: "string"}, "extension": {typ: "any", many: true},
		"start": {typ: "dateTime"}, "end": {typ: "dateTime"},
	},
}

type checker struct{ problems []string }

func (c *checker) add(path, format string, args ...any) {
	c.problems = append(c.problems, path+": "+fmt.Sprintf(format, args...))
}

// CheckBundle returns every problem found in a FHIR R4 JSON Bundle of
// AuditEvents; none means the bundle conforms to the checked structure.
func CheckBundle(data []byte) []string {
	var v any
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	c := &checker{}
	root, ok := v.(map[string]any)
	if !ok {
		return []string{"root is not an object"}
	}
	if root["resourceType"] != "Bundle" {
		c.add("Bundle", "resourceType is %v, not Bundle", root["resourceType"])
		return c.problems
	}
	c.object("Bundle", "Bundle", root)
	typ, _ := root["type"].(string)
	if _, ok := root["total"]; ok && typ != "searchset" && typ != "history" {
		c.add("Bundle", "bdl-1: total only when a search or history")
	}
	entries, _ := root["entry"].([]any)
	seen := map[string]bool{}
	for i, e := range entries {
		path := fmt.Sprintf("Bundle.entry[%d]", i)
		entry, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if _, ok := entry["search"]; ok && typ != "searchset" {
			c.add(path, "bdl-2: entry.search only when a search")
		}
		if _, ok := entry["request"]; !ok && (typ == "batch" || typ == "transaction") {
			c.add(path, "bdl-3: entry.request mandatory for batch and transaction")
		}
		if u, ok := entry["fullUrl"].(string); ok {
			if seen[u] {
				c.add(path, "bdl-7: fullUrl %q is not unique", u)
			}
			seen[u] = true
		}
		res, ok := entry["resource"].(map[string]any)
		if !ok {
			c.add(path, "entry without a resource")
			continue
		}
		if res["resourceType"] != "AuditEvent" {
			c.add(path+".resource", "resourceType %v, want AuditEvent", res["resourceType"])
			continue
		}
		c.object(path+".resource", "AuditEvent", res)
		c.auditEventInvariants(path+".resource", res)
	}
	return c.problems
}

// CheckAuditEvent checks one AuditEvent resource.
func CheckAuditEvent(data []byte) []string {
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return []string{"not a JSON object: " + err.Error()}
	}
	c := &checker{}
	c.object("AuditEvent", "AuditEvent", v)
	c.auditEventInvariants("AuditEvent", v)
	return c.problems
}

func (c *checker) auditEventInvariants(path string, ev map[string]any) {
	entities, _ := ev["entity"].([]any)
	for i, e := range entities {
		if m, ok := e.(map[string]any); ok {
			_, hasName := m["name"]
			_, hasQuery := m["query"]
			if hasName && hasQuery {
				c.add(fmt.Sprintf("%s.entity[%d]", path, i), "sev-1: either a name or a query (NOT both)")
			}
			details, _ := m["detail"].([]any)
			for j, d := range details {
				dm, _ := d.(map[string]any)
				_, s := dm["valueString"]
				_, b := dm["valueBase64Binary"]
				if s == b {
					c.add(fmt.Sprintf("%s.entity[%d].detail[%d]", path, i, j), "value[x] is required exactly once")
				}
			}
		}
	}
}

// object checks the members of one complex value of type typ.
func (c *checker) object(path, typ string, m map[string]any) {
	def, ok := types[typ]
	if !ok {
		return
	}
	if len(m) == 0 {
		c.add(path, "ele-1: empty element")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, ok := def[k]; !ok {
			c.add(path, "unknown element %q", k)
		}
	}
	names := make([]string, 0, len(def))
	for k := range def {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		e := def[name]
		v, present := m[name]
		p := path + "." + name
		if !present {
			if e.min > 0 {
				c.add(p, "required element missing")
			}
			continue
		}
		if e.many {
			arr, ok := v.([]any)
			if !ok {
				c.add(p, "must be an array")
				continue
			}
			if len(arr) == 0 {
				c.add(p, "ele-1: empty array")
			}
			if len(arr) < e.min {
				c.add(p, "needs at least %d", e.min)
			}
			for i, x := range arr {
				c.value(fmt.Sprintf("%s[%d]", p, i), e, x)
			}
			continue
		}
		if _, isArr := v.([]any); isArr {
			c.add(p, "must not be an array (max 1)")
			continue
		}
		c.value(p, e, v)
	}
	if typ == "Period" {
		s, _ := m["start"].(string)
		e, _ := m["end"].(string)
		if s != "" && e != "" && len(s) == len(e) && s > e {
			c.add(path, "per-1: start %s after end %s", s, e)
		}
	}
}

func (c *checker) value(path string, e elem, v any) {
	if v == nil {
		c.add(path, "null is not allowed")
		return
	}
	switch e.typ {
	case "any":
		return
	case "boolean":
		if _, ok := v.(bool); !ok {
			c.add(path, "must be a JSON boolean, found %T", v)
		}
		return
	case "unsignedInt":
		if _, ok := v.(json.Number); !ok {
			c.add(path, "must be a number")
		}
		return
	case "Resource":
		if _, ok := v.(map[string]any); !ok {
			c.add(path, "must be an object")
		}
		return
	}
	if _, complexType := types[e.typ]; complexType {
		m, ok := v.(map[string]any)
		if !ok {
			c.add(path, "must be an object (%s)", e.typ)
			return
		}
		c.object(path, e.typ, m)
		return
	}
	s, ok := v.(string)
	if !ok {
		c.add(path, "must be a JSON string (%s), found %T", e.typ, v)
		return
	}
	if s == "" {
		c.add(path, "ele-1: empty string")
		return
	}
	bad := false
	switch e.typ {
	case "id":
		bad = !reID.MatchString(s)
	case "code":
		bad = !reCode.MatchString(s)
	case "uri":
		bad = !reURI.MatchString(s)
	case "instant":
		bad = !reInstant.MatchString(s)
	case "dateTime":
		bad = !reDateTime.MatchString(s)
	case "base64Binary":
		_, err := base64.StdEncoding.DecodeString(s)
		bad = err != nil
	case "string":
		bad = strings.TrimSpace(s) == ""
	}
	if bad {
		c.add(path, "%q is not a valid %s", truncate(s), e.typ)
	}
	if len(e.values) > 0 {
		found := false
		for _, x := range e.values {
			found = found || x == s
		}
		if !found {
			c.add(path, "%q is not in the required value set %v", s, e.values)
		}
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
