package query

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelaudit/otelaudit/query/internal/jaegertest"
	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

// TestSameTimelineFromEverySource is the central promise: one conversation
// gives one timeline from Jaeger (v3 API and legacy API), from an OTLP JSON
// file and from an audit store.
func TestSameTimelineFromEverySource(t *testing.T) {
	j := fedJaeger(t)
	ctx := context.Background()
	st := newTestStore(t)
	v3, err := NewJaegerSource(j.QueryURL)
	require.NoError(t, err)
	legacy, err := NewJaegerSource(j.QueryURL, WithJaegerLegacyAPI())
	require.NoError(t, err)
	sources := map[string]Source{
		"jaeger v3":     v3,
		"jaeger legacy": legacy,
		"otlp json":     NewOTLPFileSource([]string{scenarioFile}),
		"store":         NewStoreSource(st.dir, st.verifiers),
	}
	for _, conv := range []string{scenario.SupportConversation, scenario.CareConversation, "conv-burst"} {
		var want []string
		for _, name := range []string{"otlp json", "jaeger v3", "jaeger legacy", "store"} {
			f := scenarioWindow()
			f.ConversationID = conv
			res, err := sources[name].Fetch(ctx, f)
			require.NoError(t, err, name)
			got := timelineLines(Timeline(conv, res))
			require.NotEmpty(t, got, name)
			if want == nil {
				want = got
				continue
			}
			assert.Equal(t, want, got, "%s timeline of %s differs from the OTLP JSON one", name, conv)
		}
	}
	f := scenarioWindow()
	f.ConversationID = scenario.SupportConversation
	res, err := v3.Fetch(ctx, f)
	require.NoError(t, err)
	assert.Equal(t, scenario.SupportTimeline, timelineLines(Timeline(scenario.SupportConversation, res)))
}

// TestJaegerRecordsMatchOTLP compares whole records: Jaeger's v3 API
// returns exactly what was sent; the legacy API the same up to its
// microsecond timestamps.
func TestJaegerRecordsMatchOTLP(t *testing.T) {
	j := fedJaeger(t)
	want := scenarioRecords(t)
	v3, _ := NewJaegerSource(j.QueryURL)
	res, err := v3.Fetch(context.Background(), scenarioWindow())
	require.NoError(t, err)
	assert.Equal(t, want, res.Records)
	assert.Zero(t, res.Precision)
	assert.False(t, res.Integrity.Checked)

	legacy, _ := NewJaegerSource(j.QueryURL, WithJaegerLegacyAPI())
	lres, err := legacy.Fetch(context.Background(), scenarioWindow())
	require.NoError(t, err)
	assert.Equal(t, time.Microsecond, lres.Precision)
	require.Len(t, lres.Records, len(want))
	for i := range want {
		w, g := want[i], lres.Records[i]
		assert.Equal(t, w.Timestamp[:26], g.Timestamp[:26], "timestamps agree to the microsecond")
		w.Timestamp, g.Timestamp = "", ""
		w.DurationMS, g.DurationMS = 0, 0
		assert.Equal(t, w, g)
	}
}

func TestReconcileAgainstJaeger(t *testing.T) {
	j := fedJaeger(t)
	ctx := context.Background()
	st := newTestStore(t)
	audit, err := NewStoreSource(st.dir, st.verifiers).Fetch(ctx, scenarioWindow())
	require.NoError(t, err)
	for _, legacy := range []bool{false, true} {
		var opts []JaegerOption
		if legacy {
			opts = append(opts, WithJaegerLegacyAPI())
		}
		src, _ := NewJaegerSource(j.QueryURL, opts...)
		traces, err := src.Fetch(ctx, scenarioWindow())
		require.NoError(t, err)
		rec := Reconcile(traces, audit)
		assert.True(t, rec.Consistent, "legacy=%v: %+v %+v %+v", legacy, rec.MissingInAudit, rec.MissingInTraces, rec.Differences)
		assert.Equal(t, scenario.CallCount, rec.Matched)
		assert.True(t, rec.IntegrityVerified)
	}

	// A store missing one call and holding one changed call.
	recs := scenario.Records(scenarioTraces(t))
	dropped := recs[3]
	recs = append(recs[:3], recs[4:]...)
	recs[0].Purpose = "marketing"
	_, _, signer, verifiers, err := scenario.Keys("t")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, scenario.WriteStore(dir, signer, recs, 10, 1<<20))
	audit, err = NewStoreSource(dir, verifiers).Fetch(ctx, scenarioWindow())
	require.NoError(t, err)
	src, _ := NewJaegerSource(j.QueryURL)
	traces, err := src.Fetch(ctx, scenarioWindow())
	require.NoError(t, err)
	rec := Reconcile(traces, audit)
	assert.False(t, rec.Consistent)
	require.Len(t, rec.MissingInAudit, 1)
	assert.Equal(t, dropped.SpanID, rec.MissingInAudit[0].SpanID)
	assert.Empty(t, rec.MissingInTraces)
	require.Len(t, rec.Differences, 1)
	assert.Equal(t, "purpose", rec.Differences[0].Field)
	assert.JSONEq(t, `"support"`, string(rec.Differences[0].Trace))
	assert.JSONEq(t, `"marketing"`, string(rec.Differences[0].Audit))
}

// TestJaegerFallsBackToLegacy puts a proxy in front of Jaeger that answers
// 404 for /api/v3 (as a server without the v3 API does); the source must
// fall back to /api/traces and still return every call.
func TestJaegerFallsBackToLegacy(t *testing.T) {
	j := fedJaeger(t)
	target, _ := url.Parse(j.QueryURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var v3Hits, legacyHits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/v3/") {
			v3Hits++
			http.NotFound(w, r)
			return
		}
		legacyHits++
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src, _ := NewJaegerSource(srv.URL)
	res, err := src.Fetch(context.Background(), scenarioWindow())
	require.NoError(t, err)
	assert.Len(t, res.Records, scenario.CallCount)
	assert.Positive(t, v3Hits)
	assert.Positive(t, legacyHits)
	assert.Equal(t, time.Microsecond, res.Precision)
}

// countingProxy puts a proxy in front of Jaeger that counts the trace
// searches it passes on.
func countingProxy(t *testing.T, j *jaegertest.Jaeger) (string, *atomic.Int64) {
	t.Helper()
	target, _ := url.Parse(j.QueryURL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var searches atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v3/traces" || r.URL.Path == "/api/traces" {
			searches.Add(1)
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &searches
}

// TestJaegerSearchSplits asks Jaeger for at most two traces per search, or
// accepts at most 8 KiB per answer: the source must split its searches
// until every call of the scenario is read, through both APIs, with no
// warning.
func TestJaegerSearchSplits(t *testing.T) {
	j := fedJaeger(t)
	u, searches := countingProxy(t, j)
	whole, err := mustJaeger(t, u).Fetch(context.Background(), scenarioWindow())
	require.NoError(t, err)
	require.Len(t, whole.Records, scenario.CallCount)
	unsplit := searches.Load() // one a service
	cases := []struct {
		name  string
		opts  []JaegerOption
		bytes int64
	}{
		{"two traces a search", []JaegerOption{WithJaegerSearchLimit(2)}, 0},
		{"two traces a search, legacy API", []JaegerOption{WithJaegerSearchLimit(2), WithJaegerLegacyAPI()}, 0},
		{"8 KiB an answer", nil, 8 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u, searches := countingProxy(t, j)
			src := mustJaeger(t, u, tc.opts...)
			if tc.bytes > 0 {
				src.maxBytes = tc.bytes
			}
			res, err := src.Fetch(context.Background(), scenarioWindow())
			require.NoError(t, err)
			assert.Empty(t, res.Warnings)
			assert.Equal(t, whole.Records, res.Records)
			assert.Greater(t, searches.Load(), unsplit, "searches split")
		})
	}
}

// TestJaegerSearchLimitWarns stops the splitting above the scenario's
// range: a search still over the limit must warn that results are
// incomplete.
func TestJaegerSearchLimitWarns(t *testing.T) {
	j := fedJaeger(t)
	src := mustJaeger(t, j.QueryURL, WithJaegerSearchLimit(2))
	src.minWindow = 48 * time.Hour
	res, err := src.Fetch(context.Background(), scenarioWindow())
	require.NoError(t, err)
	require.NotEmpty(t, res.Warnings)
	assert.Contains(t, res.Warnings[0], "results are incomplete")
	assert.Less(t, len(res.Records), scenario.CallCount)
}

// TestJaegerResponseTooLarge keeps the answers' bound below one trace: the
// splitting ends at a millisecond, and the error says to narrow the range.
func TestJaegerResponseTooLarge(t *testing.T) {
	j := fedJaeger(t)
	src := mustJaeger(t, j.QueryURL)
	src.maxBytes = 64
	_, err := src.Fetch(context.Background(), scenarioWindow())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceeds 64 bytes: narrow the time range")
}

func mustJaeger(t *testing.T, u string, opts ...JaegerOption) *JaegerSource {
	t.Helper()
	src, err := NewJaegerSource(u, opts...)
	require.NoError(t, err)
	return src
}

func TestJaegerEmptyRange(t *testing.T) {
	j := fedJaeger(t)
	src, _ := NewJaegerSource(j.QueryURL)
	f := Filter{Since: scenario.Base.Add(-48 * time.Hour), Until: scenario.Base.Add(-24 * time.Hour)}
	res, err := src.Fetch(context.Background(), f)
	require.NoError(t, err, "Jaeger's 'no traces found' is an empty answer, not an error")
	assert.Empty(t, res.Records)
	assert.Equal(t, f.Since, res.From)
	assert.Equal(t, f.Until, res.To)
}

func TestJaegerUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	src, err := NewJaegerSource("http://" + addr)
	require.NoError(t, err)
	_, err = src.Fetch(context.Background(), Filter{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unreachable")
	assert.NotContains(t, err.Error(), "\n")
}

func TestJaegerBadAnswers(t *testing.T) {
	cases := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"server error", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, `{"error":{"httpCode":500,"message":"storage down"}}`, 500)
		}, "storage down"},
		{"not json", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hello</html>") }, "malformed"},
		{"bad traces", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v3/services" {
				io.WriteString(w, `{"services":["a"]}`)
				return
			}
			io.WriteString(w, `{"result":{"resourceSpans":"x"}}`)
		}, "malformed /api/v3/traces response"},
		{"no routes at all", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "/api/services"},
		// A collector's health_check extension answers every path.
		{"health check", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, `{"status":"Server available","upSince":"2026-11-28T10:00:00Z","uptime":"1m"}`)
		}, `/api/v3/services answered without "services": is this a Jaeger query service?`},
		{"legacy services without data", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/services" {
				io.WriteString(w, `{"status":"ok"}`)
				return
			}
			http.NotFound(w, r)
		}, `/api/services answered without "data"`},
		{"traces without result", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/api/v3/services" {
				io.WriteString(w, `{"services":["a"]}`)
				return
			}
			io.WriteString(w, `{"status":"Server available"}`)
		}, `/api/v3/traces answered without "result"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			src, _ := NewJaegerSource(srv.URL)
			_, err := src.Fetch(context.Background(), Filter{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestJaegerNoServices: a Jaeger that holds nothing answers {} (its
// encoder leaves the empty list out), an empty result, not an error.
func TestJaegerNoServices(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v3/services" {
			io.WriteString(w, `{}`)
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	src, _ := NewJaegerSource(srv.URL)
	res, err := src.Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	assert.Empty(t, res.Records)
}

func TestNewJaegerSourceValidates(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:16686", "ftp://x", "http://", "::"} {
		_, err := NewJaegerSource(u)
		assert.Error(t, err, u)
	}
	_, err := NewJaegerSource("http://127.0.0.1:1", WithJaegerSearchLimit(0))
	assert.Error(t, err)
}

// TestJaegerBoundsBeyondRFC3339 asks a real Jaeger for ranges reaching
// past the years RFC 3339 can write: Jaeger refuses 10000-01-01 with a
// 400, so the source must ask for 9999-12-31T23:59:59.999999999Z instead.
func TestJaegerBoundsBeyondRFC3339(t *testing.T) {
	j := fedJaeger(t)
	for _, legacy := range []bool{false, true} {
		// The scenario's services only: other tests send later spans.
		opts := []JaegerOption{WithJaegerService(scenario.SupportService, scenario.CareService)}
		if legacy {
			opts = append(opts, WithJaegerLegacyAPI())
		}
		src, err := NewJaegerSource(j.QueryURL, opts...)
		require.NoError(t, err)
		f := scenarioWindow()
		f.Until = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
		res, err := src.Fetch(context.Background(), f)
		require.NoError(t, err, "legacy=%v", legacy)
		assert.Len(t, res.Records, scenario.CallCount, "legacy=%v", legacy)
		assert.Equal(t, time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), res.To, "legacy=%v", legacy)
	}
}

// TestJaegerSearchDepth runs a Jaeger whose memory store holds at most 10
// traces: it refuses every search for the default 1000 (and one more).
// The source asks for fewer at a time, reads every trace and says why.
func TestJaegerSearchDepth(t *testing.T) {
	if jaegertest.Bin() == "" {
		t.Skip("SKIPPING REAL-JAEGER TEST: set " + jaegertest.EnvBin)
	}
	ctx := context.Background()
	j, err := jaegertest.StartMaxTraces(ctx, jaegertest.Bin(), 10)
	require.NoError(t, err)
	defer j.Stop()
	td := edgeTraces()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post("http://"+j.OTLPHTTP+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	window := Filter{Since: edgeStart, Until: edgeStart.Add(time.Minute)}
	for _, legacy := range []bool{false, true} {
		opts := []JaegerOption{WithJaegerService(edgeService)}
		if legacy {
			opts = append(opts, WithJaegerLegacyAPI())
		}
		src := mustJaeger(t, j.QueryURL, opts...)
		var res *Result
		require.Eventually(t, func() bool {
			res, err = src.Fetch(ctx, window)
			return err == nil && len(res.Records) == td.SpanCount()
		}, 10*time.Second, 100*time.Millisecond, "legacy %v: %v", legacy, err)
		require.NotEmpty(t, res.Warnings)
		assert.Contains(t, res.Warnings[0], "jaeger refuses searches for 1001 traces")
	}
}

// TestJaegerUnknownService: a service Jaeger does not list finds nothing,
// and the result says why instead of reading as "no calls".
func TestJaegerUnknownService(t *testing.T) {
	j := fedJaeger(t)
	for _, opts := range [][]JaegerOption{{WithJaegerService("care-agnet")}, {WithJaegerService("care-agnet"), WithJaegerLegacyAPI()}} {
		res, err := mustJaeger(t, j.QueryURL, opts...).Fetch(context.Background(), scenarioWindow())
		require.NoError(t, err)
		assert.Empty(t, res.Records)
		require.Len(t, res.Warnings, 1)
		assert.Contains(t, res.Warnings[0], `jaeger does not know service "care-agnet"`)
	}
	res, err := mustJaeger(t, j.QueryURL, WithJaegerService(scenario.SupportService, scenario.CareService)).Fetch(context.Background(), scenarioWindow())
	require.NoError(t, err)
	assert.Empty(t, res.Warnings, "known services")
}
