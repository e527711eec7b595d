package mcp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
)

// tokenHeader links a request's calls, as Handler saw them, to the
// middleware: the SDK hands the request's header to the middleware in
// RequestExtra. Handler removes any value a client sends.
const tokenHeader = "X-Otelaudit-Exchange"

// The MCP headers of the streamable HTTP transport.
const (
	sessionIDHeader       = "Mcp-Session-Id"
	protocolVersionHeader = "Mcp-Protocol-Version"
)

// maxRecordedBytes bounds the part of a response Handler keeps to find the
// error of a refused call.
const maxRecordedBytes = 1 << 20

// Handler returns h, an MCP streamable HTTP handler
// (sdkmcp.NewStreamableHTTPHandler), wrapped so that ServerMiddleware adds
// to the span of each tools/call request in a POST its jsonrpc.request.id,
// client.address and client.port (of the connection: forwarding headers
// are not trusted), user_agent.original and the network attributes; and so
// that a tools/call request the SDK refuses before any middleware runs (a
// body that is not JSON, parameters that do not decode, a missing id, a
// header mismatch) is recorded as a failed span, with the JSON-RPC error
// code or else the HTTP status as error.type and http.response.status_code,
// instead of being lost. Bodies up to WithMaxRequestBytes are inspected;
// other requests pass through untouched. With a nil *Auditor, Handler
// returns h.
//
//	http.Handle("/mcp", auditor.Handler(sdkmcp.NewStreamableHTTPHandler(getServer, nil)))
func (a *Auditor) Handler(h http.Handler) http.Handler {
	if a == nil || h == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { a.serveHTTP(h, w, r) })
}

func (a *Auditor) serveHTTP(h http.Handler, w http.ResponseWriter, r *http.Request) {
	r.Header.Del(tokenHeader)
	if r.Method != http.MethodPost || r.Body == nil || r.Body == http.NoBody {
		h.ServeHTTP(w, r)
		return
	}
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, a.maxBody+1))
	// The handler reads the body as if nothing had: what was read, then
	// the rest, or the read error again.
	r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(body), r.Body), c: r.Body}
	if err != nil || int64(len(body)) > a.maxBody {
		h.ServeHTTP(w, r)
		return
	}
	calls := parseCalls(body)
	if len(calls) == 0 {
		h.ServeHTTP(w, r)
		return
	}
	p := httpPeer(r)
	for _, in := range calls {
		in.peer, in.start = p, start
	}
	ex := &exchange{calls: calls}
	tok := rand.Text()
	r.Header.Set(tokenHeader, tok)
	a.byToken.Store(tok, ex)
	rec := &recorder{ResponseWriter: w, want: ex.unclaimed}
	func() {
		defer a.byToken.Delete(tok)
		h.ServeHTTP(rec, r)
	}()
	a.settle(r, ex, rec)
}

type replayBody struct {
	io.Reader
	c io.Closer
}

func (b *replayBody) Close() error { return b.c.Close() }

// exchange holds the tools/call requests of one HTTP request.
type exchange struct {
	calls []*inbound // immutable; their claimed flags change
}

// claim marks and returns the unclaimed call with the tool name and
// arguments given, or, failing that, the first unclaimed one with the name.
func (e *exchange) claim(name string, args json.RawMessage) *inbound {
	var byName *inbound
	for _, in := range e.calls {
		if in.name != name || in.claimed.Load() {
			continue
		}
		if bytes.Equal(in.args, args) && in.claimed.CompareAndSwap(false, true) {
			return in
		}
		if byName == nil {
			byName = in
		}
	}
	if byName != nil && byName.claimed.CompareAndSwap(false, true) {
		return byName
	}
	return nil
}

func (e *exchange) unclaimed() bool {
	for _, in := range e.calls {
		if !in.claimed.Load() {
			return true
		}
	}
	return false
}

// parseCalls returns the tools/call requests of a POST body: one JSON-RPC
// message or a batch. A body that is not JSON but names tools/call is
// returned as one call with the whole body as its parameters.
func parseCalls(body []byte) []*inbound {
	trimmed := bytes.TrimSpace(body)
	if !json.Valid(trimmed) {
		if bytes.Contains(body, []byte(methodToolsCall)) || bytes.Contains(body, []byte(`tools\/call`)) {
			return []*inbound{{params: body}}
		}
		return nil
	}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var batch []json.RawMessage
		if json.Unmarshal(trimmed, &batch) != nil {
			return nil
		}
		var calls []*inbound
		for _, m := range batch {
			if in := parseCall(m); in != nil {
				calls = append(calls, in)
			}
		}
		return calls
	}
	if in := parseCall(trimmed); in != nil {
		return []*inbound{in}
	}
	return nil
}

// parseCall returns the request of one JSON-RPC message if it is a
// tools/call request.
func parseCall(msg json.RawMessage) *inbound {
	var env struct {
		ID     json.RawMessage `json:"id"`
		Method any             `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	if json.Unmarshal(msg, &env) != nil || env.Method != methodToolsCall {
		return nil
	}
	in := &inbound{params: env.Params}
	if len(env.ID) > 0 {
		var v any
		if json.Unmarshal(env.ID, &v) == nil && v != nil {
			in.id, _ = jsonrpc.MakeID(v)
		}
	}
	var p struct {
		Name      any             `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if json.Unmarshal(env.Params, &p) == nil {
		in.name, _ = p.Name.(string)
		in.args = p.Arguments
	}
	return in
}

// settle records each call of ex that no middleware claimed and that the
// response refused: with the JSON-RPC error the response carries for it,
// or else the HTTP error status. An unclaimed call answered otherwise is
// left alone: the client may have gone before the SDK dispatched it, and
// the middleware will record it when it runs.
func (a *Auditor) settle(r *http.Request, ex *exchange, rec *recorder) {
	var resps []*jsonrpc.Response
	parsed := false
	status := rec.status()
	for _, in := range ex.calls {
		if in.claimed.Load() {
			continue
		}
		if !parsed {
			resps, parsed = rec.responses(), true
		}
		var err error
		if in.id.IsValid() {
			for _, resp := range resps {
				if resp.ID == in.id && resp.Error != nil {
					err = resp.Error
					break
				}
			}
		}
		if err == nil && status >= http.StatusBadRequest {
			err = &httpError{status: status, msg: rec.text(status)}
		}
		if err == nil {
			continue
		}
		a.reject(context.WithoutCancel(r.Context()), &rejection{
			in:              in,
			sessionID:       r.Header.Get(sessionIDHeader),
			protocolVersion: r.Header.Get(protocolVersionHeader),
			header:          r.Header,
			token:           auth.TokenInfoFromContext(r.Context()),
			err:             err,
			attrs:           []attribute.KeyValue{semconv.HTTPResponseStatusCode(status)},
		})
	}
}

// recorder passes a response through, keeping its status and, while want
// says so, the first maxRecordedBytes of its body.
type recorder struct {
	http.ResponseWriter
	want func() bool
	code int
	buf  bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 && code >= 200 {
		r.code = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	if room := maxRecordedBytes - r.buf.Len(); room > 0 && r.want() {
		r.buf.Write(p[:min(len(p), room)])
	}
	return r.ResponseWriter.Write(p)
}

// Flush and FlushError flush the response being written, as
// http.ResponseController asks.
func (r *recorder) Flush() { _ = r.FlushError() }

func (r *recorder) FlushError() error { return http.NewResponseController(r.ResponseWriter).Flush() }

// Unwrap gives http.ResponseController the response writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

// responses returns the JSON-RPC responses in the recorded body, of an
// application/json or a text/event-stream response.
func (r *recorder) responses() []*jsonrpc.Response {
	var out []*jsonrpc.Response
	add := func(data []byte) {
		data = bytes.TrimSpace(data)
		if len(data) == 0 {
			return
		}
		msgs := []json.RawMessage{data}
		if data[0] == '[' && json.Unmarshal(data, &msgs) != nil {
			return
		}
		for _, m := range msgs {
			if msg, err := jsonrpc.DecodeMessage(m); err == nil {
				if resp, ok := msg.(*jsonrpc.Response); ok {
					out = append(out, resp)
				}
			}
		}
	}
	body := r.buf.Bytes()
	if !strings.HasPrefix(r.Header().Get("Content-Type"), "text/event-stream") {
		add(body)
		return out
	}
	// Server-sent events: the data lines of each event, up to a blank line.
	var data []byte
	for line := range bytes.Lines(body) {
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0:
			add(data)
			data = nil
		case bytes.HasPrefix(line, []byte("data:")):
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, bytes.TrimPrefix(line[len("data:"):], []byte(" "))...)
		}
	}
	add(data)
	return out
}

// text returns the first line of a plain-text error body, or the status
// text.
func (r *recorder) text(status int) string {
	body := r.buf.Bytes()
	if ct := r.Header().Get("Content-Type"); strings.HasPrefix(ct, "text/plain") && len(body) > 0 {
		line, _, _ := bytes.Cut(body, []byte("\n"))
		if s := strings.TrimSpace(string(line)); s != "" {
			return bound(s, maxErrorBytes)
		}
	}
	return http.StatusText(status)
}
