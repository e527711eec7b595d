package query

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// OTLPFileSource reads OTLP JSON trace files: the collector file exporter's
// format (one ExportTraceServiceRequest JSON object per line) and a single
// OTLP/HTTP JSON request body, pretty-printed or not. Tool spans are mapped
// to records with the audit exporter's mapping; other spans are ignored.
//
// Files are read anew on every Fetch, streaming: only matching records are
// kept in memory. Safe for concurrent use.
type OTLPFileSource struct {
	paths []string
	opts  toolspan.Options
}

// OTLPOption tunes an OTLPFileSource.
type OTLPOption func(*OTLPFileSource)

// WithOTLPMaxPayloadBytes sets the payload limit of the span mapping, which
// should equal the audit exporter's max_payload_bytes when reconciling
// (default toolspan.DefaultMaxPayloadBytes, the exporter's default).
func WithOTLPMaxPayloadBytes(n int) OTLPOption {
	return func(s *OTLPFileSource) { s.opts.MaxPayloadBytes = n }
}

// NewOTLPFileSource returns a source over the given files, read in order.
func NewOTLPFileSource(paths []string, opts ...OTLPOption) *OTLPFileSource {
	s := &OTLPFileSource{paths: append([]string(nil), paths...)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Kind returns SourceOTLPJSON.
func (s *OTLPFileSource) Kind() string { return SourceOTLPJSON }

// Fetch reads every file and returns the matching tool-call records. An
// unreadable file, a compressed or binary file, or malformed JSON is an
// error naming the file and line.
func (s *OTLPFileSource) Fetch(ctx context.Context, f Filter) (*Result, error) {
	c := newRecordCollector(f, s.opts)
	for _, p := range s.paths {
		if err := readOTLPFile(ctx, p, c.add); err != nil {
			return nil, err
		}
	}
	// The files are read whole: the range covered is the filter's.
	return &Result{Source: SourceOTLPJSON, Records: c.records(), From: f.Since, To: f.Until, Integrity: notChecked("OTLP JSON"),
		Conflicts: c.conflicts, Warnings: c.warnings}, nil
}

// readOTLPFile decodes the JSON values of one file in sequence and passes
// each as traces to add.
func readOTLPFile(ctx context.Context, path string, add func(ptrace.Traces)) error {
	fh, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("cannot read OTLP JSON file: %w", err)
	}
	defer fh.Close()
	return DecodeOTLPJSON(ctx, path, fh, add)
}

// utf8BOM is the UTF-8 encoding of U+FEFF, the byte order mark.
var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// DecodeOTLPJSON decodes a stream of OTLP JSON trace requests (JSON lines,
// or one JSON document) from r, calling add for each. name labels errors,
// which give the line where the bad value starts.
func DecodeOTLPJSON(ctx context.Context, name string, r io.Reader, add func(ptrace.Traces)) error {
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(4)
	if bytes.HasPrefix(head, utf8BOM) {
		// Editors on Windows (and PowerShell's Out-File) start UTF-8
		// text with a byte order mark, which JSON forbids but RFC 8259
		// lets a parser ignore; the key files are read the same way.
		br.Discard(len(utf8BOM))
		head, _ = br.Peek(4)
	}
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return fmt.Errorf("%s: gzip-compressed file: decompress it first (otelaudit reads OTLP JSON)", name)
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return fmt.Errorf("%s: zstd-compressed file: decompress it first (otelaudit reads OTLP JSON)", name)
	}
	lc := &lineCounter{r: br, line: 1}
	dec := json.NewDecoder(lc)
	var u ptrace.JSONUnmarshaler
	for values := 0; ; values++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var raw json.RawMessage
		// More skips the whitespace before the next value, so that the
		// offset below is where that value starts.
		dec.More()
		start := lc.lineAt(dec.InputOffset())
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			if values == 0 {
				return fmt.Errorf("%s: not OTLP JSON: the file is empty", name)
			}
			return nil
		}
		if err != nil {
			var syn *json.SyntaxError
			if errors.As(err, &syn) {
				return fmt.Errorf("%s:%d: malformed JSON: %v", name, lc.lineAt(syn.Offset), err)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("%s:%d: truncated JSON value", name, start)
			}
			return fmt.Errorf("%s:%d: %w", name, start, err)
		}
		if len(raw) == 0 || raw[0] != '{' {
			return fmt.Errorf("%s:%d: expected an OTLP JSON object (ExportTraceServiceRequest), found %s", name, start, preview(raw))
		}
		td, err := u.UnmarshalTraces(raw)
		if err != nil {
			return fmt.Errorf("%s:%d: not OTLP JSON traces: %v", name, start, err)
		}
		if td.ResourceSpans().Len() == 0 {
			// The unmarshaler skips members it does not know: tell an
			// empty request from JSON that is not a request at all.
			if td, err = emptyOrWrapped(raw); err != nil {
				return fmt.Errorf("%s:%d: %v", name, start, err)
			}
		}
		add(td)
		lc.forget(dec.InputOffset())
	}
}

// emptyOrWrapped reads a JSON object in which the OTLP unmarshaler found
// no resource spans. It is an empty request when it has a resourceSpans
// member or no member at all (pdata writes empty traces as {}); Jaeger's
// /api/v3 answer {"result": <request>} is read as the request it wraps;
// anything else is not OTLP JSON.
func emptyOrWrapped(raw []byte) (ptrace.Traces, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return ptrace.Traces{}, fmt.Errorf("not OTLP JSON traces: %v", err)
	}
	_, camel := top["resourceSpans"]
	_, snake := top["resource_spans"]
	if camel || snake || len(top) == 0 {
		return ptrace.NewTraces(), nil
	}
	if inner, ok := top["result"]; ok && len(top) == 1 && bytes.HasPrefix(inner, []byte("{")) {
		var u ptrace.JSONUnmarshaler
		td, err := u.UnmarshalTraces(inner)
		if err != nil {
			return ptrace.Traces{}, fmt.Errorf("not OTLP JSON traces: result: %v", err)
		}
		if td.ResourceSpans().Len() > 0 {
			return td, nil
		}
		if _, err := emptyOrWrapped(inner); err != nil {
			return ptrace.Traces{}, fmt.Errorf("%v (in result)", err)
		}
		return td, nil
	}
	return ptrace.Traces{}, errors.New("not OTLP JSON: no resourceSpans")
}

func preview(raw []byte) string {
	if len(raw) > 20 {
		return fmt.Sprintf("%q…", raw[:20])
	}
	return fmt.Sprintf("%q", raw)
}

// lineCounter records the offsets of newlines it passes so that a byte
// offset can be turned into a line number.
type lineCounter struct {
	r       io.Reader
	off     int64
	line    int     // lines before the first remembered newline, plus one
	newline []int64 // offsets of the newlines seen and not forgotten
}

func (l *lineCounter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			l.newline = append(l.newline, l.off+int64(i))
		}
	}
	l.off += int64(n)
	return n, err
}

// lineAt returns the 1-based line of a byte offset.
func (l *lineCounter) lineAt(off int64) int {
	lo, hi := 0, len(l.newline)
	for lo < hi {
		m := (lo + hi) / 2
		if l.newline[m] < off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return l.line + lo
}

// forget drops the newlines before off, which no later lookup asks for, so
// that memory stays bounded on files with millions of lines.
func (l *lineCounter) forget(off int64) {
	i := 0
	for i < len(l.newline) && l.newline[i] < off {
		i++
	}
	l.line += i
	l.newline = append(l.newline[:0], l.newline[i:]...)
}
