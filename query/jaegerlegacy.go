package query

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// legacyResponse is the body of Jaeger's /api/traces (the UI's JSON model).
type legacyResponse struct {
	Data   []legacyTrace `json:"data"`
	Errors []struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"errors"`
}

type legacyTrace struct {
	TraceID   string                   `json:"traceID"`
	Spans     []legacySpan             `json:"spans"`
	Processes map[string]legacyProcess `json:"processes"`
}

type legacyProcess struct {
	ServiceName string      `json:"serviceName"`
	Tags        []legacyTag `json:"tags"`
}

type legacySpan struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []legacyRef `json:"references"`
	StartTime     int64       `json:"startTime"` // microseconds since the epoch
	Duration      int64       `json:"duration"`  // microseconds
	Tags          []legacyTag `json:"tags"`
	Logs          []struct {
		Timestamp int64       `json:"timestamp"`
		Fields    []legacyTag `json:"fields"`
	} `json:"logs"`
	ProcessID string `json:"processID"`
}

type legacyRef struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

type legacyTag struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// Tags the OTLP-to-Jaeger translation adds for OTLP fields that Jaeger's
// model lacks; they are turned back into those fields.
const (
	tagStatusCode   = "otel.status_code"
	tagStatusDesc   = "otel.status_description"
	tagError        = "error"
	tagSpanKind     = "span.kind"
	tagScopeName    = "otel.scope.name"
	tagScopeVersion = "otel.scope.version"
	tagLibName      = "otel.library.name"
	tagLibVersion   = "otel.library.version"
	tagTraceState   = "w3c.tracestate"
)

// sliceKeys are contract attributes whose values are string arrays; the
// Jaeger model flattens arrays to JSON text, which is parsed back.
var sliceKeys = map[string]bool{attrkey.UserRoles: true, attrkey.RedactionPaths: true}

// legacyToTraces converts Jaeger UI-model traces to OTLP traces, undoing
// the OTLP-to-Jaeger translation: process tags become resource attributes,
// otel.scope.* the instrumentation scope, otel.status_* and error the span
// status, span.kind the kind, logs the events, CHILD_OF the parent.
func legacyToTraces(traces []legacyTrace) (ptrace.Traces, error) {
	td := ptrace.NewTraces()
	for ti := range traces {
		t := &traces[ti]
		type scopeKey struct{ pid, name, version string }
		resources := map[string]ptrace.ResourceSpans{}
		scopes := map[scopeKey]ptrace.ScopeSpans{}
		for si := range t.Spans {
			sp := &t.Spans[si]
			rs, ok := resources[sp.ProcessID]
			if !ok {
				rs = td.ResourceSpans().AppendEmpty()
				p := t.Processes[sp.ProcessID]
				attrs := rs.Resource().Attributes()
				for _, tag := range p.Tags {
					if err := putTag(attrs, tag); err != nil {
						return td, err
					}
				}
				if p.ServiceName != "" {
					attrs.PutStr(attrkey.ServiceName, p.ServiceName)
				}
				resources[sp.ProcessID] = rs
			}
			name, version := tagString(sp.Tags, tagScopeName, tagLibName), tagString(sp.Tags, tagScopeVersion, tagLibVersion)
			key := scopeKey{sp.ProcessID, name, version}
			ss, ok := scopes[key]
			if !ok {
				ss = rs.ScopeSpans().AppendEmpty()
				ss.Scope().SetName(name)
				ss.Scope().SetVersion(version)
				scopes[key] = ss
			}
			if err := convertSpan(sp, ss.Spans().AppendEmpty()); err != nil {
				return td, fmt.Errorf("span %s: %w", sp.SpanID, err)
			}
		}
	}
	return td, nil
}

func convertSpan(sp *legacySpan, out ptrace.Span) error {
	tid, err := traceIDFromHex(sp.TraceID)
	if err != nil {
		return err
	}
	sid, err := spanIDFromHex(sp.SpanID)
	if err != nil {
		return err
	}
	out.SetTraceID(tid)
	out.SetSpanID(sid)
	out.SetName(sp.OperationName)
	for _, ref := range sp.References {
		if ref.RefType == "CHILD_OF" && strings.TrimLeft(ref.TraceID, "0") == strings.TrimLeft(sp.TraceID, "0") {
			if pid, err := spanIDFromHex(ref.SpanID); err == nil {
				out.SetParentSpanID(pid)
			}
			break
		}
	}
	start := sp.StartTime * 1000
	out.SetStartTimestamp(pcommon.Timestamp(start))
	out.SetEndTimestamp(pcommon.Timestamp(start + sp.Duration*1000))
	attrs := out.Attributes()
	var statusCode, statusDesc string
	errTag := false
	for _, tag := range sp.Tags {
		switch tag.Key {
		case tagScopeName, tagScopeVersion, tagLibName, tagLibVersion:
			continue
		case tagStatusCode:
			statusCode = tagText(tag)
			continue
		case tagStatusDesc:
			statusDesc = tagText(tag)
			continue
		case tagError:
			errTag = tagText(tag) == "true"
			continue
		case tagSpanKind:
			out.SetKind(spanKind(tagText(tag)))
			continue
		case tagTraceState:
			out.TraceState().FromRaw(tagText(tag))
			continue
		}
		if err := putTag(attrs, tag); err != nil {
			return err
		}
	}
	switch {
	case strings.EqualFold(statusCode, "ERROR") || (statusCode == "" && errTag):
		out.Status().SetCode(ptrace.StatusCodeError)
		out.Status().SetMessage(statusDesc)
	case strings.EqualFold(statusCode, "OK"):
		out.Status().SetCode(ptrace.StatusCodeOk)
	}
	for _, l := range sp.Logs {
		ev := out.Events().AppendEmpty()
		ev.SetTimestamp(pcommon.Timestamp(l.Timestamp * 1000))
		for _, f := range l.Fields {
			if f.Key == "event" {
				ev.SetName(tagText(f))
				continue
			}
			if err := putTag(ev.Attributes(), f); err != nil {
				return err
			}
		}
	}
	return nil
}

func spanKind(s string) ptrace.SpanKind {
	switch strings.ToLower(s) {
	case "client":
		return ptrace.SpanKindClient
	case "server":
		return ptrace.SpanKindServer
	case "producer":
		return ptrace.SpanKindProducer
	case "consumer":
		return ptrace.SpanKindConsumer
	case "internal":
		return ptrace.SpanKindInternal
	}
	return ptrace.SpanKindUnspecified
}

// putTag sets one Jaeger tag as an attribute of its type.
func putTag(m pcommon.Map, tag legacyTag) error {
	switch strings.ToLower(tag.Type) {
	case "bool":
		var b bool
		if err := json.Unmarshal(tag.Value, &b); err != nil {
			return fmt.Errorf("tag %q: bad bool %s", tag.Key, preview(tag.Value))
		}
		m.PutBool(tag.Key, b)
	case "int64":
		n, err := strconv.ParseInt(strings.Trim(string(tag.Value), `"`), 10, 64)
		if err != nil {
			return fmt.Errorf("tag %q: bad int64 %s", tag.Key, preview(tag.Value))
		}
		m.PutInt(tag.Key, n)
	case "float64":
		f, err := strconv.ParseFloat(strings.Trim(string(tag.Value), `"`), 64)
		if err != nil {
			return fmt.Errorf("tag %q: bad float64 %s", tag.Key, preview(tag.Value))
		}
		m.PutDouble(tag.Key, f)
	case "binary":
		var s string
		if err := json.Unmarshal(tag.Value, &s); err != nil {
			return fmt.Errorf("tag %q: bad binary %s", tag.Key, preview(tag.Value))
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			if b, err = hex.DecodeString(s); err != nil {
				return fmt.Errorf("tag %q: bad binary encoding", tag.Key)
			}
		}
		m.PutEmptyBytes(tag.Key).FromRaw(b)
	default:
		s := tagText(tag)
		if sliceKeys[tag.Key] && strings.HasPrefix(s, "[") {
			var ss []string
			if json.Unmarshal([]byte(s), &ss) == nil {
				sl := m.PutEmptySlice(tag.Key)
				for _, v := range ss {
					sl.AppendEmpty().SetStr(v)
				}
				return nil
			}
		}
		m.PutStr(tag.Key, s)
	}
	return nil
}

// tagText returns a tag's value as text: a JSON string unquoted, anything
// else verbatim.
func tagText(tag legacyTag) string {
	var s string
	if json.Unmarshal(tag.Value, &s) == nil {
		return s
	}
	return string(tag.Value)
}

func tagString(tags []legacyTag, keys ...string) string {
	for _, k := range keys {
		for _, t := range tags {
			if t.Key == k {
				return tagText(t)
			}
		}
	}
	return ""
}

// traceIDFromHex parses a Jaeger trace id, which drops leading zeros of a
// 64-bit id, into a 128-bit id.
func traceIDFromHex(s string) (pcommon.TraceID, error) {
	var id pcommon.TraceID
	b, err := hexID(s, len(id))
	if err != nil {
		return id, fmt.Errorf("bad trace id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

func spanIDFromHex(s string) (pcommon.SpanID, error) {
	var id pcommon.SpanID
	b, err := hexID(s, len(id))
	if err != nil {
		return id, fmt.Errorf("bad span id %q", s)
	}
	copy(id[:], b)
	return id, nil
}

func hexID(s string, n int) ([]byte, error) {
	if len(s) == 0 || len(s) > 2*n {
		return nil, fmt.Errorf("bad length")
	}
	s = strings.Repeat("0", 2*n-len(s)) + s
	return hex.DecodeString(s)
}
