package agentkit

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// listExporter prints each span as a header line, its service.name, its
// attributes sorted by key and its events, one per line; a batch is one
// Write, so that providers sharing a Locked writer do not interleave.
type listExporter struct {
	w io.Writer
}

func (e *listExporter) ExportSpans(_ context.Context, spans []sdktrace.ReadOnlySpan) error {
	var b strings.Builder
	for _, s := range spans {
		status := "ok"
		if s.Status().Code == codes.Error {
			status = "ERROR: " + s.Status().Description
		}
		service := ""
		if v, ok := s.Resource().Set().Value(semconv.ServiceNameKey); ok {
			service = v.AsString()
		}
		fmt.Fprintf(&b, "%s  %s  [%s]  %s  trace=%s span=%s parent=%s\n", s.Name(), s.SpanKind(), status,
			s.EndTime().Sub(s.StartTime()).Round(time.Microsecond), s.SpanContext().TraceID(), s.SpanContext().SpanID(), s.Parent().SpanID())
		fmt.Fprintf(&b, "    %-28s %s\n", semconv.ServiceNameKey, service)
		attrs := slices.Clone(s.Attributes())
		slices.SortFunc(attrs, func(a, b attribute.KeyValue) int { return strings.Compare(string(a.Key), string(b.Key)) })
		for _, kv := range attrs {
			fmt.Fprintf(&b, "    %-28s %s\n", kv.Key, kv.Value.String())
		}
		for _, ev := range s.Events() {
			fmt.Fprintf(&b, "    event %s\n", ev.Name)
		}
	}
	_, err := io.WriteString(e.w, b.String())
	return err
}

func (*listExporter) Shutdown(context.Context) error { return nil }

// newJSONExporter returns the SDK's stdout exporter writing indented JSON
// to w.
func newJSONExporter(w io.Writer) (sdktrace.SpanExporter, error) {
	return stdouttrace.New(stdouttrace.WithWriter(w), stdouttrace.WithPrettyPrint())
}

// Locked returns a writer that passes each Write to w under a lock, for
// providers and progress lines that share one writer.
func Locked(w io.Writer) io.Writer { return &lockedWriter{w: w} }

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
