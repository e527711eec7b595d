package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/otelaudit/otelaudit/query"
)

// listFlag collects a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// sourceFlags are the flags that choose where the query commands read:
// an audit store, Jaeger's query API, or OTLP JSON files.
type sourceFlags struct {
	dir        *string
	verifier   *string
	jaeger     *string
	service    listFlag
	lookback   *time.Duration
	limit      *int
	otlp       listFlag
	maxPayload *int
}

// addSourceFlags declares the source flags on fs.
func addSourceFlags(fs *cmdFlags) *sourceFlags {
	s := &sourceFlags{}
	s.dir = fs.String("dir", "", "audit store directory to read (with --verifier, so that integrity is checked)")
	s.verifier = fs.String("verifier", "", "file with the note verifier key(s) of the store's seals and checkpoints, one per line")
	s.jaeger = fs.String("jaeger", "", "Jaeger query service URL, e.g. http://127.0.0.1:16686 (/api/v3, falling back to /api/traces)")
	fs.Var(&s.service, "jaeger-service", "search only this Jaeger service (repeatable; default: every service Jaeger lists)")
	s.lookback = fs.Duration("lookback", query.DefaultJaegerLookback, "how far back a Jaeger search reaches when --since is not given")
	s.limit = fs.Int("jaeger-limit", query.DefaultJaegerSearchLimit, "traces read per Jaeger search; a time range holding more is searched in halves")
	fs.Var(&s.otlp, "otlp-json", "OTLP JSON traces file: collector file exporter output or an OTLP/HTTP JSON body (repeatable)")
	s.maxPayload = fs.Int("max-payload-bytes", 0, "payload limit when mapping spans to records; match the exporter's max_payload_bytes (default 65536)")
	return s
}

// traceSource returns the Jaeger or OTLP JSON source the flags name, nil
// when none is named.
func (s *sourceFlags) traceSource() (query.Source, error) {
	switch {
	case *s.jaeger != "" && len(s.otlp) > 0:
		return nil, errors.New("give either --jaeger or --otlp-json, not both")
	case *s.jaeger != "":
		opts := []query.JaegerOption{query.WithJaegerLookback(*s.lookback), query.WithJaegerSearchLimit(*s.limit),
			query.WithJaegerMaxPayloadBytes(*s.maxPayload)}
		if len(s.service) > 0 {
			opts = append(opts, query.WithJaegerService(s.service...))
		}
		return query.NewJaegerSource(*s.jaeger, opts...)
	case len(s.otlp) > 0:
		return query.NewOTLPFileSource(s.otlp, query.WithOTLPMaxPayloadBytes(*s.maxPayload)), nil
	}
	return nil, nil
}

// storeSource returns the audit store source the flags name, nil when
// --dir is not given. A missing --verifier is allowed: the answer then
// says integrity was not checked.
func (s *sourceFlags) storeSource() (query.Source, error) {
	if *s.dir == "" {
		if *s.verifier != "" {
			return nil, errors.New("--verifier needs --dir")
		}
		return nil, nil
	}
	if *s.verifier == "" {
		// Allowed: the answer says integrity was not checked (render
		// notes it on stderr for text output).
		return query.NewStoreSource(*s.dir, nil), nil
	}
	v, err := loadVerifiers(*s.verifier)
	if err != nil {
		return nil, err
	}
	return query.NewStoreSource(*s.dir, v), nil
}

// source returns the one source the flags name.
func (s *sourceFlags) source() (query.Source, error) {
	ts, err := s.traceSource()
	if err != nil {
		return nil, err
	}
	ss, err := s.storeSource()
	if err != nil {
		return nil, err
	}
	switch {
	case ts != nil && ss != nil:
		return nil, errors.New("give one source: --dir, --jaeger or --otlp-json")
	case ts != nil:
		return ts, nil
	case ss != nil:
		return ss, nil
	}
	return nil, errors.New("no source: give --dir DIR (with --verifier FILE), --jaeger URL or --otlp-json FILE")
}

// timeFlags are --since and --until (or --from and --to).
type timeFlags struct {
	lo, hi         *string
	loName, hiName string
}

func addTimeFlags(fs *cmdFlags, lo, hi string) *timeFlags {
	return &timeFlags{
		lo:     fs.String(lo, "", "start of the range, inclusive: RFC 3339 or a date (2026-11-26)"),
		hi:     fs.String(hi, "", "end of the range, exclusive: RFC 3339, or a date to include that whole day"),
		loName: lo, hiName: hi,
	}
}

func (t *timeFlags) parse() (time.Time, time.Time, error) {
	lo, err := query.ParseTime(*t.lo, false)
	if err != nil {
		return lo, lo, fmt.Errorf("--%s: %w", t.loName, err)
	}
	hi, err := query.ParseTime(*t.hi, true)
	if err != nil {
		return lo, hi, fmt.Errorf("--%s: %w", t.hiName, err)
	}
	if !lo.IsZero() && !hi.IsZero() && !lo.Before(hi) {
		return lo, hi, fmt.Errorf("--%s %s is not before --%s %s", t.loName, *t.lo, t.hiName, *t.hi)
	}
	return lo, hi, nil
}

// outputFlag is --format text|json|csv.
func outputFlag(fs *cmdFlags) *string {
	return formatFlag(fs, "text", "json", "csv")
}

// fetchFiltered builds the filter and the source from their flags and
// fetches the records. On failure it has reported the reason and returns
// the exit code with ok false.
func fetchFiltered(e *env, cmd string, ff *filterFlags, src *sourceFlags) (f query.Filter, res *query.Result, code int, ok bool) {
	f, err := ff.filter()
	if err != nil {
		return f, nil, fail(e, cmd, "%v", err), false
	}
	s, err := src.source()
	if err != nil {
		return f, nil, fail(e, cmd, "%v", err), false
	}
	if res, err = fetch(e, cmd, s, f); err != nil {
		return f, nil, fail(e, cmd, "%v", err), false
	}
	return f, res, exitOK, true
}

// fetch fetches the calls an analysis counts (query.FetchCalls: each
// call once, in the range of its innermost observation, with the outer
// observations that fill it) with an interrupt-aware context, printing
// the source's warnings to stderr.
func fetch(e *env, cmd string, src query.Source, f query.Filter) (*query.Result, error) {
	return fetchWith(e, cmd, func(ctx context.Context) (*query.Result, error) { return query.FetchCalls(ctx, src, f) })
}

// fetchSpans fetches the records of the range as they are, for
// reconcile, which compares every observation.
func fetchSpans(e *env, cmd string, src query.Source, f query.Filter) (*query.Result, error) {
	return fetchWith(e, cmd, func(ctx context.Context) (*query.Result, error) { return src.Fetch(ctx, f) })
}

func fetchWith(e *env, cmd string, get func(context.Context) (*query.Result, error)) (*query.Result, error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := get(ctx)
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(e.stderr, "otelaudit %s: warning: %s\n", cmd, oneLine(w))
	}
	return res, nil
}

// noteRange states on stderr the range a Jaeger search covered, for the
// commands whose output has no room for it (JSON output also carries it
// as from and to, except the FHIR Bundle's): without --since a search
// reaches back only the lookback, and an empty or short answer must not
// read as complete.
func noteRange(e *env, cmd string, res *query.Result) {
	if n := res.RangeNote(); n != "" {
		fmt.Fprintf(e.stderr, "otelaudit %s: note: %s\n", cmd, n)
	}
}

// render writes v and returns the exit code: 1 when integrity was checked
// and failed (a finding), else 0 — a result whose integrity was not
// checked (Jaeger, OTLP JSON, a store read without --verifier) is not a
// finding. When the output does not state the integrity itself
// (statesIntegrity false: a timeline or table, CSV rows, a FHIR Bundle),
// a failed or unchecked integrity is stated on stderr in one line.
func render(e *env, cmd, format string, v query.Renderable, in *query.Integrity, statesIntegrity bool) int {
	if err := query.Render(e.stdout, query.Format(format), v); err != nil {
		return fail(e, cmd, "writing output: %v", err)
	}
	if !statesIntegrity {
		switch {
		case in.Failed():
			fmt.Fprintf(e.stderr, "otelaudit %s: integrity NOT verified: %d finding(s); run otelaudit verify for details\n", cmd, len(in.Findings))
		case !in.Checked && in.Summary != "":
			fmt.Fprintf(e.stderr, "otelaudit %s: note: integrity %s\n", cmd, oneLine(in.Summary))
		case len(in.Live) > 0:
			fmt.Fprintf(e.stderr, "otelaudit %s: note: a process holds the store's lock, as a writer does, so these were taken as writes in progress, not findings: %s; verify a stopped store, with nothing holding its .lock, for a full answer\n",
				cmd, oneLine(strings.Join(in.Live, ", ")))
		}
	}
	if in.Failed() {
		return exitFinding
	}
	return exitOK
}

// integrityHelp is the exit-status paragraph of the query commands' help.
const integrityHelp = "Exit 1 when the store's integrity check fails (a finding); a source whose\n" +
	"integrity is not checked (a store without --verifier, Jaeger, OTLP JSON) is\n" +
	"noted as such and exits 0."

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
