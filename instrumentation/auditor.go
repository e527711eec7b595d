package instrumentation

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/otelaudit/otelaudit/instrumentation/internal/payload"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

const (
	// maxStatusBytes bounds the span status message.
	maxStatusBytes = 1024
	// maxStackBytes bounds the stack trace of a panic's exception event.
	maxStackBytes = 16 << 10
	// errorTypePanic is the error.type of a call whose handler panicked.
	errorTypePanic = "panic"
	// Members of the marker recorded for arguments that are not valid JSON.
	invalidJSONKey = "_invalid_json"
	sizeKey        = "_size"
	resultSizeKey  = "_result_size"
)

// errAborted ends the span of a handler that called runtime.Goexit.
var errAborted = errors.New("instrumentation: handler did not return (runtime.Goexit)")

// Auditor records tool calls as execute_tool spans. Create one with New; it
// is immutable and safe for concurrent use. A nil *Auditor runs handlers
// without recording anything.
type Auditor struct {
	tracer trace.Tracer
	kind   trace.SpanStartOption // the span kind of every call, made once
	enc    *payload.Encoder
	tools  map[string]*toolPolicy
	// def is the policy of tools not in tools, with an empty name (the
	// caller names the call), and the base that declared tools start from.
	def *toolPolicy
	// recording is whether the last span started was recording. While it
	// is, arguments are encoded before the span starts and passed with its
	// start attributes, which spares the SDK a second copy of them; when
	// spans are not recorded (a no-op provider, sampled out), arguments are
	// not encoded at all.
	recording atomic.Bool
	// kvs recycles the start attribute slices: the trace API copies
	// start attributes (trace.NewSpanStartConfig), so a slice is free
	// again once Start returns.
	kvs sync.Pool
	// spanNames caches the span names of undeclared tools, at most
	// maxSpanNames of them, so that a call of a known name costs no
	// string concatenation: a map replaced, never changed, under
	// spanNamesMu, and read without a lock.
	spanNames   atomic.Pointer[map[string]string]
	spanNamesMu sync.Mutex
	// panicFlush bounds the provider flush after a panic; 0: none.
	panicFlush time.Duration
}

// maxSpanNames bounds the span names an Auditor caches, against a model
// that invents a new tool name at every call.
const maxSpanNames = 256

// startKVs is the largest start attribute slice kept for reuse.
const startKVs = 64

// New returns an Auditor configured by opts, or an error naming the option
// and value that are not acceptable.
func New(opts ...Option) (*Auditor, error) {
	c := newConfig(opts)
	if c.tp == nil {
		c.tp = otel.GetTracerProvider()
	}
	if !c.args.valid() || c.args == CaptureDefault {
		return nil, fmt.Errorf("instrumentation: WithArgumentCapture(%d): unknown value", c.args)
	}
	if !c.result.valid() || c.result == CaptureDefault {
		return nil, fmt.Errorf("instrumentation: WithResultCapture(%d): unknown value", c.result)
	}
	if c.maxBytes < payload.MinMaxBytes || c.maxBytes > payload.MaxMaxBytes {
		return nil, fmt.Errorf("instrumentation: WithMaxPayloadBytes(%d): must be between %d and %d", c.maxBytes, payload.MinMaxBytes, payload.MaxMaxBytes)
	}
	if c.maxDepth < 1 || c.maxDepth > payload.MaxMaxDepth {
		return nil, fmt.Errorf("instrumentation: WithMaxDepth(%d): must be between 1 and %d", c.maxDepth, payload.MaxMaxDepth)
	}
	switch {
	case len(c.mask) > payload.MaxMaskLen:
		return nil, fmt.Errorf("instrumentation: WithMask(%q): longer than %d bytes", c.mask, payload.MaxMaskLen)
	case c.mask == "":
		return nil, fmt.Errorf("instrumentation: WithMask(\"\"): must not be empty: a masked value would read as an empty one")
	case !utf8.ValidString(c.mask):
		return nil, fmt.Errorf("instrumentation: WithMask(%q): not valid UTF-8", c.mask)
	}
	if c.panicFlush < 0 {
		return nil, fmt.Errorf("instrumentation: WithPanicFlushTimeout(%v): must not be negative", c.panicFlush)
	}
	terms := c.sensitive
	if !c.noDefaultSecrets {
		terms = append(DefaultSensitiveKeys(), c.sensitive...)
	}
	sensitive, err := payload.NewSensitiveMatcher(terms)
	if err != nil {
		return nil, fmt.Errorf("instrumentation: WithSensitiveKeys: %w", err)
	}
	patterns := DefaultResultKeys()
	if c.resultKeysSet {
		patterns = c.resultKeys
	}
	keys, err := payload.NewKeyMatcher(patterns)
	if err != nil {
		return nil, fmt.Errorf("instrumentation: WithResultKeys: %w", err)
	}
	enc, err := payload.NewEncoder(payload.Config{
		Sensitive: sensitive,
		Mask:      c.mask,
		MaxBytes:  c.maxBytes,
		MaxDepth:  c.maxDepth,
	})
	if err != nil {
		return nil, fmt.Errorf("instrumentation: %w", err)
	}
	a := &Auditor{
		tracer: c.tp.Tracer(ScopeName,
			trace.WithInstrumentationVersion(Version()),
			trace.WithSchemaURL(semconv.SchemaURL)),
		kind:  trace.WithSpanKind(trace.SpanKindInternal),
		enc:   enc,
		tools: make(map[string]*toolPolicy, len(c.tools)),
		def:   &toolPolicy{typ: DefaultToolType, args: c.args, result: c.result, keys: keys},

		panicFlush: c.panicFlush,
	}
	a.recording.Store(true)
	for _, t := range c.tools {
		p, err := a.compile(t)
		if err != nil {
			return nil, fmt.Errorf("instrumentation: WithTools: %w", err)
		}
		if _, dup := a.tools[t.Name]; dup {
			return nil, fmt.Errorf("instrumentation: WithTools: tool %q: declared twice", t.Name)
		}
		a.tools[t.Name] = p
	}
	return a, nil
}

// Execute runs fn as the tool called tool with args and records the call as
// one span, whose context fn receives. It returns what fn returns.
//
// args are recorded as JSON (see WithArgumentCapture): a map, slice or
// struct as encoding/json would write it, a json.RawMessage or a string
// holding a JSON object or array as that JSON. An error from fn marks the
// span as failed. If fn panics, the panic is recorded and then continues.
// An empty tool name or a nil fn is recorded as a failed call and returned
// as ErrNoToolName or ErrNilHandler without running anything.
func (a *Auditor) Execute(ctx context.Context, tool string, args any, fn func(context.Context) (any, error), opts ...CallOption) (any, error) {
	return a.do(ctx, nil, tool, args, fn, opts)
}

// Run is Auditor.Execute for a handler with typed arguments and result: it
// runs fn(ctx, args) as the tool called tool and records the call.
func Run[A, R any](ctx context.Context, a *Auditor, tool string, args A, fn func(context.Context, A) (R, error), opts ...CallOption) (R, error) {
	var res R
	if fn == nil {
		_, err := a.do(ctx, nil, tool, args, nil, opts)
		return res, err
	}
	_, err := a.do(ctx, nil, tool, args, func(ctx context.Context) (any, error) {
		var err error
		res, err = fn(ctx, args)
		return res, err
	}, opts)
	return res, err
}

// do runs fn for a tool call with policy pol (nil: looked up by name).
func (a *Auditor) do(ctx context.Context, pol *toolPolicy, tool string, args any, fn func(context.Context) (any, error), opts []CallOption) (result any, err error) {
	if ctx == nil {
		ctx = context.Background()
	}
	var invalid error
	switch {
	case tool == "" && pol == nil:
		invalid = ErrNoToolName
	case fn == nil:
		invalid = ErrNilHandler
	}
	if a == nil {
		if invalid != nil {
			return nil, invalid
		}
		return fn(ctx)
	}
	ctx, c := a.start(ctx, pol, tool, args, opts)
	if invalid != nil {
		c.End(nil, invalid)
		return nil, invalid
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		if r := recover(); r != nil {
			c.endPanic(r, debug.Stack())
			panic(r)
		}
		c.End(nil, errAborted)
	}()
	result, err = fn(ctx)
	returned = true
	c.End(result, err)
	return result, err
}

// ToolCall is a tool call in progress, started with Auditor.Start. Its
// methods may be called on a nil *ToolCall, and do nothing then.
type ToolCall struct {
	a    *Auditor
	span trace.Span
	pol  *toolPolicy // shared, read-only
	id   string
	// recording is the span's IsRecording at the start: asked once, since
	// the SDK takes the span's lock to answer.
	recording bool
	ended     atomic.Bool
	// idBuf holds a generated id, so that it costs no allocation of its own.
	idBuf [callIDLen]byte
	// startOpts and endKVs hold the options of the span's start and the
	// attributes End sets, for the same reason: a local array passed to
	// the Tracer or the Span, interfaces, would escape.
	startOpts [2]trace.SpanStartOption
	endKVs    [2]attribute.KeyValue
}

// Start records the start of a call of tool with args, for calls whose
// execution does not fit Execute's callback. It returns a context holding
// the call's span, for the work of the call, and the ToolCall, which must be
// ended with End (or EndPanic) exactly once; later calls do nothing.
//
// A nil *Auditor returns ctx and a nil *ToolCall.
func (a *Auditor) Start(ctx context.Context, tool string, args any, opts ...CallOption) (context.Context, *ToolCall) {
	if ctx == nil {
		ctx = context.Background()
	}
	if a == nil {
		return ctx, nil
	}
	return a.start(ctx, nil, tool, args, opts)
}

func (a *Auditor) start(ctx context.Context, pol *toolPolicy, tool string, args any, opts []CallOption) (context.Context, *ToolCall) {
	c := &ToolCall{a: a, pol: pol}
	name, span := "", ""
	if pol != nil {
		name, span = pol.name, pol.spanName
	} else {
		c.pol, name, span = a.policy(tool)
	}
	var cfg callConfig
	cfg.apply(opts)
	c.id = cfg.toolCallID
	if c.id == "" {
		newCallID(&c.idBuf)
		c.id = unsafe.String(&c.idBuf[0], len(c.idBuf))
	} else {
		c.id = validUTF8(c.id)
	}
	typ := c.pol.typ
	if cfg.toolType != "" {
		typ = validUTF8(cfg.toolType)
	}

	at := attributionFrom(ctx)
	n := 13 + len(cfg.attrs)
	if at != nil {
		n += len(at.kvs)
	}
	pooled, _ := a.kvs.Get().(*[]attribute.KeyValue)
	if pooled == nil {
		pooled = new([]attribute.KeyValue)
	}
	kvs := slices.Grow((*pooled)[:0], n)
	kvs = append(kvs, semconv.GenAIOperationNameExecuteTool)
	if name != "" {
		kvs = append(kvs, semconv.GenAIToolName(name))
	}
	kvs = append(kvs,
		semconv.GenAIToolCallID(c.id),
		semconv.GenAIToolType(typ),
	)
	if c.pol.desc != "" {
		kvs = append(kvs, semconv.GenAIToolDescription(c.pol.desc))
	}
	if at != nil {
		kvs = append(kvs, at.kvs...)
	}
	if cfg.trigger != "" {
		kvs = append(kvs, attribute.String(attrkey.Trigger, validUTF8(string(cfg.trigger))))
	}
	if cfg.purpose != "" {
		kvs = append(kvs, attribute.String(attrkey.Purpose, validUTF8(cfg.purpose)))
	}
	if cfg.subjectType != "" {
		kvs = append(kvs, attribute.String(attrkey.SubjectType, validUTF8(cfg.subjectType)))
	}
	if cfg.subjectID != "" {
		kvs = append(kvs, attribute.String(attrkey.SubjectID, validUTF8(cfg.subjectID)))
	}
	if cfg.breakGlass {
		kvs = append(kvs, attribute.Bool(attrkey.BreakGlass, true))
		if cfg.breakGlassReason != "" {
			kvs = append(kvs, attribute.String(attrkey.BreakGlassReason, validUTF8(cfg.breakGlassReason)))
		}
	}
	hint := a.recording.Load()
	if hint {
		if s, ok := a.encodeArgs(c.pol, args); ok {
			kvs = append(kvs, semconv.GenAIToolCallArgumentsKey.String(s))
		}
	}
	kvs = append(kvs, cfg.attrs...)

	c.startOpts = [2]trace.SpanStartOption{a.kind, trace.WithAttributes(kvs...)}
	sctx, s := a.tracer.Start(ctx, span, c.startOpts[:]...)
	c.recording = s.IsRecording()
	if !c.recording {
		if psc := trace.SpanContextFromContext(ctx); psc.IsValid() && !psc.IsSampled() {
			// The parent was sampled out, and with it this call: a
			// parent-based sampler (the SDK's default) follows the
			// traceparent's flag, which a caller, an MCP peer or an
			// upstream gateway sets. A tool call is audited whatever the
			// trace's sampling, so it starts a trace of its own, linked to
			// the parent's. A sampler that records it under that parent
			// (see the README) keeps it in the parent's trace.
			s.End()
			sctx, s = a.tracer.Start(ctx, span, a.kind, trace.WithAttributes(kvs...),
				trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: psc}))
			c.recording = s.IsRecording()
		}
	}
	ctx, c.span = sctx, s
	c.startOpts = [2]trace.SpanStartOption{}
	if cap(kvs) <= startKVs {
		// Drop the references to the call's strings before the slice is
		// reused.
		clear(kvs)
		*pooled = kvs[:0]
		a.kvs.Put(pooled)
	}
	if c.recording != hint {
		a.recording.Store(c.recording)
		if c.recording {
			// The guess was wrong: add the arguments now.
			if s, ok := a.encodeArgs(c.pol, args); ok {
				c.span.SetAttributes(semconv.GenAIToolCallArgumentsKey.String(s))
			}
		}
	}
	return ctx, c
}

// ID returns the call's gen_ai.tool.call.id: the one given with
// WithToolCallID, or the one generated.
func (c *ToolCall) ID() string {
	if c == nil {
		return ""
	}
	return c.id
}

// End records the outcome of the call and ends its span: the result summary
// (see WithResultCapture), and, when err is not nil, status Error with
// err's message and error.type (the value of an ErrorType() string method
// of err or an error it wraps, else err's Go type).
func (c *ToolCall) End(result any, err error) {
	if c == nil || !c.ended.CompareAndSwap(false, true) {
		return
	}
	if c.recording {
		kvs := &c.endKVs
		n := 0
		if c.pol.result != CaptureOff {
			kvs[n] = semconv.GenAIToolCallResultKey.String(c.a.encodeResult(c.pol, result, err))
			n++
		}
		if err != nil {
			kvs[n] = semconv.ErrorTypeKey.String(errorType(err))
			n++
			c.span.SetStatus(codes.Error, cut(errorMessage(err), maxStatusBytes))
		}
		c.span.SetAttributes(kvs[:n]...)
	}
	c.span.End()
}

// EndPanic records that the call's work panicked with v and ends its span:
// status Error, error.type "panic" and an "exception" event with the value's
// type, message and the current stack. Call it from the deferred function
// that recovered v, then let the panic continue.
func (c *ToolCall) EndPanic(v any) {
	c.endPanic(v, debug.Stack())
}

func (c *ToolCall) endPanic(v any, stack []byte) {
	if c == nil || !c.ended.CompareAndSwap(false, true) {
		return
	}
	if c.recording {
		msg := cut(fmt.Sprint(v), maxStatusBytes)
		c.span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
			semconv.ExceptionType(typeName(v)),
			semconv.ExceptionMessage(msg),
			semconv.ExceptionStacktrace(cut(string(stack), maxStackBytes)),
		))
		kvs := []attribute.KeyValue{semconv.ErrorTypeKey.String(errorTypePanic)}
		if c.pol.result != CaptureOff {
			kvs = append(kvs, semconv.GenAIToolCallResultKey.String(
				c.a.encodeResult(c.pol, nil, errors.New("panic: "+msg))))
		}
		c.span.SetAttributes(kvs...)
		c.span.SetStatus(codes.Error, cut("panic: "+msg, maxStatusBytes))
	}
	c.span.End()
	if c.recording && c.a.panicFlush > 0 {
		flush(c.span.TracerProvider(), c.a.panicFlush)
	}
}

// flush asks tp to export the spans it holds, waiting at most d: a panic
// that nothing recovers ends the process before a batching processor's
// next export, and before main's deferred Shutdown.
func flush(tp trace.TracerProvider, d time.Duration) {
	f, ok := tp.(interface{ ForceFlush(context.Context) error })
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	_ = f.ForceFlush(ctx) // nothing to tell: the panic continues
}

// typeName names the Go type of a panic value as the SDK does.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	if t.PkgPath() == "" || t.Name() == "" {
		return t.String()
	}
	return t.PkgPath() + "." + t.Name()
}

// callIDLen is the length of a generated call id.
const callIDLen = len("call_") + 32

// newCallID writes "call_" and 128 random bits in hex to b. The bits come
// from the runtime's per-thread ChaCha8 generator: unpredictable, and
// without a system call or a lock.
func newCallID(b *[callIDLen]byte) {
	var r [16]byte
	binary.LittleEndian.PutUint64(r[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(r[8:], rand.Uint64())
	copy(b[:], "call_")
	hex.Encode(b[5:], r[:])
}

// jsonText returns a string that holds a JSON object or array as that JSON,
// so that it is recorded (and masked) as JSON rather than as one string: the
// GenAI conventions ask instrumentations to deserialise such strings.
func jsonText(v any) any {
	var s string
	if x, ok := v.(string); ok {
		s = x
	} else if b, ok := payload.Bytes(v); ok {
		// What HTTP bodies and SDKs hand over, of any named []byte type:
		// as JSON when it holds JSON, and never as the base64
		// encoding/json would write, in which no key or detector
		// downstream could find a secret.
		s = unsafe.String(unsafe.SliceData(b), len(b))
		v = b
	} else {
		return v
	}
	s = strings.TrimPrefix(s, "\ufeff") // a byte order mark before JSON
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	if i < len(s) && (s[i] == '{' || s[i] == '[') {
		if raw := json.RawMessage(s); payload.Validate(raw) == nil {
			return raw
		}
	}
	return v
}

// encodeArgs returns the gen_ai.tool.call.arguments value of args, and false
// when nothing is to be recorded.
func (a *Auditor) encodeArgs(p *toolPolicy, args any) (string, bool) {
	if p.args == CaptureOff || args == nil {
		return "", false
	}
	v := jsonText(args)
	raw, isRaw := v.(json.RawMessage)
	if isRaw && len(raw) == 0 {
		return "", false
	}
	if p.args == CaptureSummary {
		return a.enc.Summarize(v, payload.SummaryOptions{Keys: p.keys, SizeKey: sizeKey, LargeAt: a.enc.MaxBytes()}), true
	}
	if !isRaw {
		out, _ := a.enc.Encode(v)
		return out, true
	}
	out, _, err := a.enc.EncodeRaw(raw)
	if err != nil {
		// Record that the arguments were unusable and why, not their bytes,
		// which could hold a secret no key marks.
		out, _ = a.enc.Encode(map[string]any{invalidJSONKey: err.Error(), sizeKey: len(raw)})
	}
	return out, true
}

// encodeResult returns the gen_ai.tool.call.result value of a call.
func (a *Auditor) encodeResult(p *toolPolicy, result any, err error) string {
	v := jsonText(result)
	o := payload.SummaryOptions{
		Keys:    p.keys,
		Outcome: true,
		Success: err == nil,
		SizeKey: resultSizeKey,
		LargeAt: a.enc.MaxBytes(),
	}
	if err != nil {
		o.Err = errorMessage(err)
	}
	if p.result == CaptureFull && err == nil {
		if raw, ok := v.(json.RawMessage); ok {
			if out, truncated, err := a.enc.EncodeRaw(raw); err == nil && !truncated {
				return out
			}
		} else if out, truncated := a.enc.Encode(v); !truncated {
			return out
		}
		o.Force = true
	}
	return a.enc.Summarize(v, o)
}
