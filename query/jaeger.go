package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// Defaults of JaegerSource.
const (
	DefaultJaegerLookback    = 7 * 24 * time.Hour
	DefaultJaegerSearchLimit = 1000
	DefaultJaegerTimeout     = 30 * time.Second
	// DefaultJaegerMaxResponseBytes bounds one response body.
	DefaultJaegerMaxResponseBytes = 512 << 20
)

// minSearchWindow is the shortest time range a search is split down to
// (see JaegerSource.search).
const minSearchWindow = time.Millisecond

// JaegerSource reads tool spans from Jaeger's query service: the v2 API
// /api/v3 (OTLP JSON through grpc-gateway) and, when a server lacks it, the
// legacy /api/traces JSON, converted to OTLP. Tool spans are mapped to
// records with the audit exporter's mapping.
//
// A Jaeger search needs a service and a time range: the source asks for
// every service Jaeger knows (or the one given with WithJaegerService)
// between the filter's Since and Until, defaulting to the last
// DefaultJaegerLookback. Jaeger answers a search with at most the search
// limit's traces, so a search that reaches it is split into shorter time
// ranges until none does: every trace in the range is read. Safe for
// concurrent use.
type JaegerSource struct {
	base      *url.URL
	client    *http.Client
	services  []string
	lookback  time.Duration
	limit     int
	maxBytes  int64
	minWindow time.Duration // shortest range a search is split down to
	now       func() time.Time
	opts      toolspan.Options
	legacy    bool
}

// JaegerOption tunes a JaegerSource.
type JaegerOption func(*JaegerSource)

// WithJaegerHTTPClient sets the HTTP client (default: a client with a
// DefaultJaegerTimeout timeout).
func WithJaegerHTTPClient(c *http.Client) JaegerOption {
	return func(s *JaegerSource) { s.client = c }
}

// WithJaegerService restricts searches to the given services instead of
// every service Jaeger lists.
func WithJaegerService(names ...string) JaegerOption {
	return func(s *JaegerSource) { s.services = append([]string(nil), names...) }
}

// WithJaegerLookback sets how far back a search without a lower bound
// reaches (default DefaultJaegerLookback).
func WithJaegerLookback(d time.Duration) JaegerOption {
	return func(s *JaegerSource) { s.lookback = d }
}

// WithJaegerSearchLimit sets the number of traces read per search (default
// DefaultJaegerSearchLimit). Each search asks for one more, to tell a
// range that holds exactly n traces from one that holds more; a range that
// holds more is split in two halves, and those again, down to a
// millisecond; a millisecond that still holds more adds a warning to the
// result.
func WithJaegerSearchLimit(n int) JaegerOption {
	return func(s *JaegerSource) { s.limit = n }
}

// WithJaegerClock sets the clock that ends searches without an upper bound
// (default time.Now).
func WithJaegerClock(now func() time.Time) JaegerOption {
	return func(s *JaegerSource) { s.now = now }
}

// WithJaegerMaxPayloadBytes sets the payload limit of the span mapping
// (default toolspan.DefaultMaxPayloadBytes, the exporter's default).
func WithJaegerMaxPayloadBytes(n int) JaegerOption {
	return func(s *JaegerSource) { s.opts.MaxPayloadBytes = n }
}

// WithJaegerLegacyAPI makes the source use /api/traces only, as for a
// Jaeger without /api/v3.
func WithJaegerLegacyAPI() JaegerOption {
	return func(s *JaegerSource) { s.legacy = true }
}

// NewJaegerSource returns a source reading the Jaeger query service at
// baseURL, such as http://127.0.0.1:16686. The URL must be http or https.
func NewJaegerSource(baseURL string, opts ...JaegerOption) (*JaegerSource, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("invalid Jaeger URL %q: want http://HOST:PORT", baseURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	s := &JaegerSource{
		base:      u,
		client:    &http.Client{Timeout: DefaultJaegerTimeout},
		lookback:  DefaultJaegerLookback,
		limit:     DefaultJaegerSearchLimit,
		maxBytes:  DefaultJaegerMaxResponseBytes,
		minWindow: minSearchWindow,
		now:       time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if s.limit <= 0 {
		return nil, fmt.Errorf("invalid Jaeger search limit %d: must be positive", s.limit)
	}
	if s.lookback <= 0 {
		return nil, fmt.Errorf("invalid Jaeger lookback %s: must be positive", s.lookback)
	}
	return s, nil
}

// Kind returns SourceJaeger.
func (s *JaegerSource) Kind() string { return SourceJaeger }

// errNotFound marks a 404 whose body is not Jaeger's "no traces" answer:
// the route does not exist on this server.
var errNotFound = errors.New("(HTTP 404)")

// Fetch searches every service over the filter's time range and returns
// the matching tool-call records. The Result's From and To give the range
// searched.
func (s *JaegerSource) Fetch(ctx context.Context, f Filter) (*Result, error) {
	to := f.Until
	if to.IsZero() {
		to = s.now().UTC()
	}
	from := f.Since
	if from.IsZero() {
		from = to.Add(-s.lookback)
	}
	// Jaeger parses its bounds as RFC 3339, which has four-digit years:
	// it answers 400 to 10000-01-01, which the end of the day 9999-12-31
	// would be.
	from, to = clampRFC3339(from), clampRFC3339(to)
	res := &Result{Source: SourceJaeger, From: from, To: to, Integrity: notChecked("Jaeger")}
	st := &searchState{legacy: s.legacy, limit: s.limit}
	services := s.services
	if len(services) == 0 {
		var err error
		services, st.legacy, err = s.listServices(ctx, st.legacy)
		if err != nil {
			return nil, err
		}
	} else if known, legacy, err := s.listServices(ctx, st.legacy); err == nil {
		// A misspelt service name finds nothing, which reads as "no
		// calls": say that Jaeger does not know it. (A listing that
		// fails leaves the searches to report the problem.)
		st.legacy = legacy
		for _, svc := range services {
			if _, ok := slices.BinarySearch(known, svc); !ok {
				res.Warnings = append(res.Warnings, fmt.Sprintf("jaeger does not know service %q: nothing was found for it (services it lists: %s)",
					svc, listOrNone(known)))
			}
		}
	}
	c := newRecordCollector(f, s.opts)
	for _, svc := range services {
		if err := s.search(ctx, svc, from, to, st, res, c); err != nil {
			return nil, err
		}
	}
	res.Records = c.records()
	res.Conflicts = c.conflicts
	res.Warnings = append(res.Warnings, c.warnings...)
	return res, nil
}

// search reads the service's traces between from and to into c. Jaeger
// answers with at most the traces asked for (the search limit and one
// more, to tell whether the range holds more than the limit), and this
// source reads at most maxBytes of an answer, so a search over the limit
// or the bound is split into two halves of its range, and those again,
// down to minWindow: a week of a busy service is read whole, not as its
// first thousand traces. Both bounds of a Jaeger search are inclusive, so
// the halves leave no gap; a trace with spans in both comes back twice,
// and c counts each span once. A range of minWindow still over the limit
// adds a warning to res.
func (s *JaegerSource) search(ctx context.Context, svc string, from, to time.Time, st *searchState, res *Result, c *recordCollector) error {
	td, traces, err := s.find(ctx, svc, from, to, st, res)
	for isDepthError(err) && st.limit > 1 {
		// Jaeger's memory store refuses a search deeper than its
		// max_traces. Ask for fewer traces at a time: a range holding
		// more is then split, so every trace is still read.
		st.limit /= 2
		if !st.depthWarned {
			st.depthWarned = true
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"jaeger refuses searches for %d traces (its store's max_traces is lower): asking for fewer at a time, in shorter ranges; "+
					"a memory store that small keeps only its newest traces, so older calls may be gone from it", s.ask(s.limit)))
		}
		td, traces, err = s.find(ctx, svc, from, to, st, res)
	}
	var tooLarge *tooLargeError
	full := err == nil && traces > st.limit
	if (full || errors.As(err, &tooLarge)) && to.Sub(from) > s.minWindow {
		mid := from.Add(to.Sub(from) / 2)
		if err := s.search(ctx, svc, from, mid, st, res, c); err != nil {
			return err
		}
		return s.search(ctx, svc, mid, to, st, res, c)
	}
	if err != nil {
		return err
	}
	if full {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"jaeger holds more than %d traces for service %q between %s and %s: results are incomplete; raise the search limit (--jaeger-limit)",
			st.limit, svc, from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano)))
	}
	undoJaegerSanitizers(td)
	c.add(td)
	return nil
}

// searchState is what one Fetch learns about the server as it searches.
type searchState struct {
	// legacy is set once /api/v3 turned out to be missing.
	legacy bool
	// limit is the traces read per search: the source's limit, lowered
	// when Jaeger refuses a search that deep (isDepthError).
	limit       int
	depthWarned bool
}

// isDepthError recognises Jaeger's refusal of a search for more traces
// than its memory store holds (max_traces): HTTP 500 "search depth must be
// greater than 0 and less than max traces", from either API.
func isDepthError(err error) bool {
	return err != nil && strings.Contains(err.Error(), "search depth must be")
}

// ask is how many traces a search asks for: the limit and one more, which
// tells a range over the limit from one at it.
func (s *JaegerSource) ask(limit int) int { return min(limit, math.MaxInt-1) + 1 }

// find runs one search: through /api/v3, or through the legacy API once
// /api/v3 turned out to be missing (then st.legacy is set).
func (s *JaegerSource) find(ctx context.Context, svc string, from, to time.Time, st *searchState, res *Result) (ptrace.Traces, int, error) {
	if !st.legacy {
		td, traces, err := s.findV3(ctx, svc, from, to, st.limit)
		if !errors.Is(err, errNotFound) {
			return td, traces, err
		}
		st.legacy = true
	}
	// The legacy API has microsecond timestamps.
	res.Precision = time.Microsecond
	return s.findLegacy(ctx, svc, from, to, st.limit)
}

// tooLargeError is a response over maxBytes: the search is split.
type tooLargeError struct{ msg string }

func (e *tooLargeError) Error() string { return e.msg }

// listServices asks /api/v3/services, falling back to /api/services.
func (s *JaegerSource) listServices(ctx context.Context, legacy bool) ([]string, bool, error) {
	if !legacy {
		var v3 map[string]json.RawMessage
		err := s.getJSON(ctx, "/api/v3/services", nil, &v3)
		if err == nil {
			// Jaeger leaves an empty list out: {}.
			services, err := s.member(v3, "/api/v3/services", "services", true)
			return services, false, err
		}
		if !errors.Is(err, errNotFound) {
			return nil, false, err
		}
	}
	var v2 map[string]json.RawMessage
	if err := s.getJSON(ctx, "/api/services", nil, &v2); err != nil {
		return nil, true, err
	}
	services, err := s.member(v2, "/api/services", "data", false)
	return services, true, err
}

// member returns the service names under key of a services answer. Any
// HTTP server may answer 200 with JSON (a collector's health check answers
// every path): an answer without the member is not Jaeger's, an error
// rather than an empty list. emptyOK accepts {} as no services.
func (s *JaegerSource) member(body map[string]json.RawMessage, path, key string, emptyOK bool) ([]string, error) {
	raw, ok := body[key]
	if !ok {
		if emptyOK && len(body) == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("jaeger at %s: %s answered without %q: is this a Jaeger query service?", s.base.Redacted(), path, key)
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		return nil, fmt.Errorf("jaeger at %s: malformed %s response: %s", s.base.Redacted(), path, oneLine(err.Error()))
	}
	return sortedServices(names), nil
}

// listOrNone lists up to 20 names, comma-separated.
func listOrNone(names []string) string {
	switch {
	case len(names) == 0:
		return "none"
	case len(names) > 20:
		return strings.Join(names[:20], ", ") + fmt.Sprintf(" and %d more", len(names)-20)
	}
	return strings.Join(names, ", ")
}

func sortedServices(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// findV3 runs one /api/v3/traces search.
func (s *JaegerSource) findV3(ctx context.Context, service string, from, to time.Time, limit int) (ptrace.Traces, int, error) {
	q := url.Values{}
	q.Set("query.service_name", service)
	q.Set("query.start_time_min", from.UTC().Format(time.RFC3339Nano))
	q.Set("query.start_time_max", to.UTC().Format(time.RFC3339Nano))
	q.Set("query.num_traces", strconv.Itoa(s.ask(limit)))
	var body map[string]json.RawMessage
	err := s.getJSON(ctx, "/api/v3/traces", q, &body)
	if errors.Is(err, errNoTraces) {
		return ptrace.NewTraces(), 0, nil
	}
	if err != nil {
		return ptrace.Traces{}, 0, err
	}
	result, ok := body["result"]
	if !ok && len(body) > 0 {
		return ptrace.Traces{}, 0, fmt.Errorf("jaeger at %s: /api/v3/traces answered without \"result\": is this a Jaeger query service?", s.base.Redacted())
	}
	if len(result) == 0 || string(result) == "null" {
		return ptrace.NewTraces(), 0, nil
	}
	var u ptrace.JSONUnmarshaler
	td, err := u.UnmarshalTraces(result)
	if err != nil {
		return ptrace.Traces{}, 0, fmt.Errorf("jaeger at %s: malformed /api/v3/traces response: %v", s.base.Redacted(), err)
	}
	return td, countTraces(td), nil
}

func countTraces(td ptrace.Traces) int {
	ids := map[[16]byte]struct{}{}
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			for k := 0; k < spans.Len(); k++ {
				ids[spans.At(k).TraceID()] = struct{}{}
			}
		}
	}
	return len(ids)
}

// findLegacy runs one /api/traces search and converts the result.
func (s *JaegerSource) findLegacy(ctx context.Context, service string, from, to time.Time, limit int) (ptrace.Traces, int, error) {
	q := url.Values{}
	q.Set("service", service)
	// The legacy API turns its microseconds into nanoseconds since 1970
	// in an int64, which ends in 2262: a later end finds nothing.
	if last := time.Unix(0, math.MaxInt64); to.After(last) {
		to = last
	}
	q.Set("start", strconv.FormatInt(from.UnixMicro(), 10))
	q.Set("end", strconv.FormatInt(to.UnixMicro(), 10))
	q.Set("limit", strconv.Itoa(s.ask(limit)))
	var body legacyResponse
	if err := s.getJSON(ctx, "/api/traces", q, &body); err != nil {
		if errors.Is(err, errNoTraces) {
			return ptrace.NewTraces(), 0, nil
		}
		return ptrace.Traces{}, 0, err
	}
	if len(body.Errors) > 0 && len(body.Data) == 0 {
		return ptrace.Traces{}, 0, fmt.Errorf("jaeger at %s: /api/traces: %s", s.base.Redacted(), body.Errors[0].Msg)
	}
	td, err := legacyToTraces(body.Data)
	if err != nil {
		return ptrace.Traces{}, 0, fmt.Errorf("jaeger at %s: malformed /api/traces response: %v", s.base.Redacted(), err)
	}
	return td, len(body.Data), nil
}

// errNoTraces is Jaeger's 404 "No traces found" answer.
var errNoTraces = errors.New("no traces found")

// getJSON GETs path with query q and decodes the JSON body into v. Errors
// are one line and name the server.
func (s *JaegerSource) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	u := *s.base
	u.Path += path
	if q != nil {
		u.RawQuery = q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("jaeger at %s is unreachable: %s", s.base.Redacted(), oneLine(rootCause(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, s.maxBytes+1))
	if err != nil {
		return fmt.Errorf("jaeger at %s: reading %s: %s", s.base.Redacted(), path, oneLine(err.Error()))
	}
	if int64(len(body)) > s.maxBytes {
		return &tooLargeError{fmt.Sprintf("jaeger at %s: %s response exceeds %d bytes: narrow the time range", s.base.Redacted(), path, s.maxBytes)}
	}
	if resp.StatusCode == http.StatusNotFound {
		if isNoTraces(body) {
			return errNoTraces
		}
		return fmt.Errorf("jaeger at %s: %s not found: is this a Jaeger query service? %w", s.base.Redacted(), path, errNotFound)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("jaeger at %s: %s answered %s: %s", s.base.Redacted(), path, resp.Status, oneLine(errorMessage(body)))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("jaeger at %s: malformed %s response: %s", s.base.Redacted(), path, oneLine(err.Error()))
	}
	return nil
}

// isNoTraces recognises Jaeger's "no traces" 404 bodies: the v3
// grpc-gateway error and the legacy structured error.
func isNoTraces(body []byte) bool {
	return bytes.Contains(bytes.ToLower(body), []byte("no traces found")) ||
		bytes.Contains(bytes.ToLower(body), []byte("trace not found"))
}

// errorMessage extracts the message of a Jaeger error body.
func errorMessage(body []byte) string {
	var v3 struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &v3) == nil && v3.Error.Message != "" {
		return v3.Error.Message
	}
	var legacy legacyResponse
	if json.Unmarshal(body, &legacy) == nil && len(legacy.Errors) > 0 {
		return legacy.Errors[0].Msg
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func rootCause(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Error()
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
