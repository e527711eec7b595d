package toolspan

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Map turns a tool-call span into an audit record. It returns false, and a
// zero Record, for spans that are not tool calls of a recognised convention
// (see the package documentation).
//
// Map fills every Record field except ChainID, Seq, PrevHash, Hash and
// Retention, which belong to the store and the retention policy, and
// Source.Client, which only the receiving collector knows. It never fails:
// missing attributes leave fields empty, strings are made valid UTF-8, and
// Arguments and ResultSummary are canonical JSON bounded by
// opts.MaxPayloadBytes.
func Map(res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span, opts Options) (auditlog.Record, bool) {
	var r auditlog.Record
	ok := mapSpan(&r, res, scope, span, opts, nil)
	return r, ok
}

// mapSpan is Map writing into *r, which it overwrites whole (with the zero
// Record for spans that are not tool calls), taking memory from mem (nil:
// the heap, piece by piece).
func mapSpan(r *auditlog.Record, res pcommon.Resource, scope pcommon.InstrumentationScope, span ptrace.Span, opts Options, mem *arena) bool {
	var a attrs
	a.scan(span.Attributes())
	name := span.Name()
	conv := detect(&a, name)
	if conv == "" {
		*r = auditlog.Record{}
		return false
	}

	*r = auditlog.Record{
		V:         auditlog.FormatVersion,
		Operation: attrkey.OperationExecuteTool,
	}
	// No duration without a start: end - 0 would be the decades since 1970.
	if start, end := span.StartTimestamp(), span.EndTimestamp(); end > start && start != 0 {
		r.DurationMS = float64(end-start) / 1e6
	}
	r.TraceID, r.SpanID, r.ParentSpanID, r.Timestamp = spanStrings(mem, span)

	r.ToolName = toolName(&a, conv, name)
	r.ToolCallID = toolCallID(&a, conv)
	r.ToolType = a.str(sToolType)
	limit := opts.payloadLimit()
	r.Arguments = firstPayload(mem, &a, limit, argumentSlots(conv))
	r.ResultSummary = firstPayload(mem, &a, limit, resultSlots(conv))

	r.ConversationID = a.first(sConversationID, sMetaConversationID)
	if r.ConversationID == "" && conv == ConventionOpenInference {
		// OpenInference has no conversation attribute: its session.id is
		// the conversation thread (Phoenix's sessions), and without it
		// such an agent would have no timeline and no conversation hold.
		r.ConversationID = a.str(sSessionID)
	}
	r.TurnNumber = turnNumber(mem, &a)
	r.Model = a.first(sRequestModel, sResponseModel, sOIModel, sVercelModel)
	r.Agent = auditlog.Agent{Name: a.str(sAgentName), ID: a.str(sAgentID)}
	r.UserID = a.first(sUserID, sMetaUserID, sEnduserID)
	r.UserRoles = stringList(mem, &a, sUserRoles)
	r.Session = auditlog.Session{
		ID:            a.first(sSessionID, sMCPSessionID, sMetaSessionID),
		ClientAddress: a.str(sClientAddress),
		UserAgent:     a.str(sUserAgent),
	}

	r.Trigger = a.str(sTrigger)
	r.Purpose = a.str(sPurpose)
	r.Subject = auditlog.Subject{Type: a.str(sSubjectType), ID: a.str(sSubjectID)}
	r.BreakGlass = boolValue(&a, sBreakGlass)
	r.BreakGlassReason = a.str(sBreakGlassReason)

	r.Success, r.Error = outcome(mem, &a, span)

	r.Redaction.Paths = stringList(mem, &a, sRedactionPaths)
	if n, ok := intValue(&a, sRedactionCount); ok {
		r.Redaction.Count = n
	} else {
		// The processor always sets both; a span that carries only the
		// paths still says how many values were removed.
		r.Redaction.Count = int64(len(r.Redaction.Paths))
	}

	r.Source = auditlog.Source{
		Convention: conv,
		Service:    serviceName(res),
		Scope:      validUTF8(scope.Name()),
	}
	boundFields(r)
	r.Attribution = attribution(mem, r)
	return true
}

// IsToolSpan reports whether Map would accept span, without building the
// record.
func IsToolSpan(span ptrace.Span) bool {
	var a attrs
	a.scan(span.Attributes())
	return detect(&a, span.Name()) != ""
}

// detect returns the convention of a tool span, "" for any other span. MCP
// is checked first because MCP tools/call spans also carry
// gen_ai.operation.name=execute_tool.
func detect(a *attrs, name string) string {
	switch {
	case rawStr(a, sMCPMethod) == attrkey.MCPMethodToolsCall:
		return ConventionMCP
	case rawStr(a, sOperationName) == attrkey.OperationExecuteTool:
		return ConventionGenAI
	case strings.EqualFold(rawStr(a, sOISpanKind), "TOOL"):
		return ConventionOpenInference
	case strings.EqualFold(rawStr(a, sTLSpanKind), "tool"):
		return ConventionTraceloop
	case name == vercelToolCallSpan || rawStr(a, sVercelOperation) == vercelToolCallSpan:
		return ConventionVercelAI
	}
	return ""
}

// rawStr returns a string-typed attribute as it is, "" otherwise.
func rawStr(a *attrs, s slot) string {
	v, ok := a.get(s)
	if !ok || v.Type() != pcommon.ValueTypeStr {
		return ""
	}
	return v.Str()
}

func toolName(a *attrs, conv, spanName string) string {
	var primary slot
	switch conv {
	case ConventionOpenInference:
		primary = sOIToolName
	case ConventionTraceloop:
		primary = sTLEntityName
	case ConventionVercelAI:
		primary = sVercelName
	default:
		primary = sToolName
	}
	if n := a.first(primary, sToolName, sOIToolName, sVercelName, sOIFunctionName); n != "" {
		return n
	}
	if conv == ConventionTraceloop || strings.EqualFold(rawStr(a, sTLSpanKind), "tool") {
		if n := a.str(sTLEntityName); n != "" {
			return n
		}
	}
	// The conventions name spans after the tool: "execute_tool {tool}"
	// (GenAI), "tools/call {tool}" (MCP), "{tool}.tool" (Traceloop), and
	// OpenInference instrumentations use the tool name itself.
	n := validUTF8(spanName)
	switch {
	case strings.HasPrefix(n, "execute_tool "):
		return strings.TrimSpace(n[len("execute_tool "):])
	case strings.HasPrefix(n, attrkey.MCPMethodToolsCall+" "):
		return strings.TrimSpace(n[len(attrkey.MCPMethodToolsCall)+1:])
	case conv == ConventionTraceloop && strings.HasSuffix(n, ".tool"):
		return n[:len(n)-len(".tool")]
	case conv == ConventionOpenInference:
		return n
	}
	return ""
}

func toolCallID(a *attrs, conv string) string {
	if id := a.first(sToolCallID, sVercelID, sOIToolCallID, sOIToolID); id != "" {
		return id
	}
	if conv == ConventionMCP {
		// The JSON-RPC id identifies the request within its MCP session,
		// which is the closest thing to a call id MCP has.
		return a.str(sJSONRPCRequestID)
	}
	return ""
}

type payloadSlot struct {
	s    slot
	mode unwrap
}

var (
	genaiArgs   = []payloadSlot{{s: sToolCallArgs}, {s: sVercelArgs}, {s: sVercelInput}, {s: sOIInput}, {s: sOIFunctionArgs}, {s: sTLEntityInput, mode: unwrapTraceloopInput}}
	oiArgs      = []payloadSlot{{s: sOIInput}, {s: sOIFunctionArgs}, {s: sToolCallArgs}, {s: sVercelArgs}, {s: sVercelInput}, {s: sTLEntityInput, mode: unwrapTraceloopInput}}
	tlArgs      = []payloadSlot{{s: sTLEntityInput, mode: unwrapTraceloopInput}, {s: sToolCallArgs}, {s: sOIInput}, {s: sVercelArgs}, {s: sVercelInput}, {s: sOIFunctionArgs}}
	genaiResult = []payloadSlot{{s: sToolCallResult}, {s: sVercelResult}, {s: sVercelOutput}, {s: sOIOutput}, {s: sTLEntityOutput, mode: unwrapTraceloopOutput}}
	oiResult    = []payloadSlot{{s: sOIOutput}, {s: sToolCallResult}, {s: sVercelResult}, {s: sVercelOutput}, {s: sTLEntityOutput, mode: unwrapTraceloopOutput}}
	tlResult    = []payloadSlot{{s: sTLEntityOutput, mode: unwrapTraceloopOutput}, {s: sToolCallResult}, {s: sOIOutput}, {s: sVercelResult}, {s: sVercelOutput}}
)

// argumentSlots lists where a convention keeps tool arguments, its own
// attribute first and the other conventions' after it, because bridges
// (such as OpenInference's processor for Vercel AI SDK spans) add one
// convention's attributes to another's spans.
func argumentSlots(conv string) []payloadSlot {
	switch conv {
	case ConventionOpenInference:
		return oiArgs
	case ConventionTraceloop:
		return tlArgs
	}
	return genaiArgs // GenAI, MCP and Vercel (whose own slots come next)
}

func resultSlots(conv string) []payloadSlot {
	switch conv {
	case ConventionOpenInference:
		return oiResult
	case ConventionTraceloop:
		return tlResult
	}
	return genaiResult
}

// firstPayload encodes the first slot that holds a non-empty value.
func firstPayload(mem *arena, a *attrs, limit int, slots []payloadSlot) json.RawMessage {
	for _, ps := range slots {
		v, ok := a.get(ps.s)
		if !ok || v.Type() == pcommon.ValueTypeEmpty || (v.Type() == pcommon.ValueTypeStr && v.Str() == "") {
			continue
		}
		return payload(mem, v, limit, ps.mode)
	}
	return nil
}

// turnNumber reads audit.turn_number from an int, an integral double or a
// decimal string; anything else, and a number beyond ±(2^53−1), leaves it
// unknown (see intValue).
func turnNumber(mem *arena, a *attrs) *int64 {
	n, ok := intValue(a, sTurnNumber)
	if !ok {
		return nil
	}
	return mem.int64(n)
}

// maxExactInt is the largest integer every JSON number holds exactly
// (an IEEE 754 double; RFC 8785 writes numbers as doubles): 2^53 − 1.
const maxExactInt = 1<<53 - 1

// intValue reads the integer attribute of slot s from an int, an integral
// double or a decimal string. An integer beyond ±maxExactInt is refused: a
// record's canonical JSON would hold a rounded value (2^63 − 1 became
// 9223372036854776000, which no int64 holds, so every reader of the store
// failed on a record verify passed), and no turn or count is that large.
func intValue(a *attrs, s slot) (int64, bool) {
	v, ok := a.get(s)
	if !ok {
		return 0, false
	}
	var n int64
	switch v.Type() {
	case pcommon.ValueTypeInt:
		n = v.Int()
	case pcommon.ValueTypeDouble:
		f := v.Double()
		if f != math.Trunc(f) || f < -maxExactInt || f > maxExactInt {
			return 0, false
		}
		n = int64(f)
	case pcommon.ValueTypeStr:
		var err error
		if n, err = strconv.ParseInt(strings.TrimSpace(v.Str()), 10, 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	if n < -maxExactInt || n > maxExactInt {
		return 0, false
	}
	return n, true
}

func boolValue(a *attrs, s slot) bool {
	v, ok := a.get(s)
	if !ok {
		return false
	}
	switch v.Type() {
	case pcommon.ValueTypeBool:
		return v.Bool()
	case pcommon.ValueTypeInt:
		return v.Int() != 0
	case pcommon.ValueTypeStr:
		b, err := strconv.ParseBool(strings.TrimSpace(v.Str()))
		return err == nil && b
	}
	return false
}

// stringList reads a string array, or a comma-separated string, dropping
// empty entries; nil when there are none.
func stringList(mem *arena, a *attrs, s slot) []string {
	v, ok := a.get(s)
	if !ok {
		return nil
	}
	var out []string
	switch v.Type() {
	case pcommon.ValueTypeSlice:
		sl := v.Slice()
		if sl.Len() > 0 {
			out = mem.strings(sl.Len())
		}
		for i := 0; i < sl.Len(); i++ {
			if e := strings.TrimSpace(valueString(sl.At(i))); e != "" {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			out = nil
		}
	case pcommon.ValueTypeStr:
		list := validUTF8(v.Str())
		n := 0
		for e := range strings.SplitSeq(list, ",") {
			if strings.TrimSpace(e) != "" {
				n++
			}
		}
		if n == 0 {
			return nil
		}
		out = mem.strings(n)
		for e := range strings.SplitSeq(list, ",") {
			if e = strings.TrimSpace(e); e != "" {
				out = append(out, e)
			}
		}
	}
	return out
}

// outcome derives success and error: a span failed when its status is Error
// or it carries error.type. The message is the status message, else the
// message of the first exception event. The error takes memory from mem
// (nil: the heap).
func outcome(mem *arena, a *attrs, span ptrace.Span) (bool, *auditlog.Error) {
	status := span.Status()
	errType := a.str(sErrorType)
	if status.Code() != ptrace.StatusCodeError && errType == "" {
		return true, nil
	}
	e := mem.error()
	e.Type, e.Message = errType, validUTF8(status.Message())
	if e.Type == "" || e.Message == "" {
		events := span.Events()
		for i := 0; i < events.Len(); i++ {
			ev := events.At(i)
			if ev.Name() != eventException {
				continue
			}
			at := ev.Attributes()
			if e.Type == "" {
				if v, ok := at.Get(keyExceptionType); ok {
					e.Type = valueString(v)
				}
			}
			if e.Message == "" {
				if v, ok := at.Get(keyExceptionMsg); ok {
					e.Message = valueString(v)
				}
			}
			break
		}
	}
	return false, e
}

func serviceName(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get(attrkey.ServiceName); ok {
		return valueString(v)
	}
	return ""
}

// spanStrings renders the span's three ids as lowercase hex ("" for an
// empty id) and its start time (TimestampTime) with auditlog.TimeFormat, in a single piece
// of memory from mem (nil: one allocation).
func spanStrings(mem *arena, span ptrace.Span) (trace, id, parent, start string) {
	tid, sid, pid := span.TraceID(), span.SpanID(), span.ParentSpanID()
	var buf [64 + len(auditlog.TimeFormat)]byte
	putHex8(buf[0:16], tid[0:8])
	putHex8(buf[16:32], tid[8:16])
	putHex8(buf[32:48], sid[:])
	putHex8(buf[48:64], pid[:])
	var all string
	if ts := span.StartTimestamp(); ts <= math.MaxInt64 {
		// Without building a time.Time: every int64 of nanoseconds is
		// a year between 1970 and 2262.
		putUnixNano(buf[64:], int64(ts))
		all = mem.string(buf[:])
		start = all[64:]
	} else {
		all = mem.string(buf[:64])
		start = formatTime(mem, TimestampTime(ts))
	}
	trace, id, parent = all[0:32], all[32:48], all[48:64]
	if tid.IsEmpty() {
		trace = ""
	}
	if sid.IsEmpty() {
		id = ""
	}
	if pid.IsEmpty() {
		parent = ""
	}
	return trace, id, parent, start
}

// TimestampTime is the instant of an OTLP timestamp, in UTC. OTLP's
// timestamps are unsigned nanoseconds since 1970 (fixed64), up to
// 2554-07-21; pcommon.Timestamp.AsTime reads those from 2^63 on, after
// 2262-04-11, as negative, times between 1677 and 1970.
func TimestampTime(ts pcommon.Timestamp) time.Time {
	return time.Unix(int64(ts/1e9), int64(ts%1e9)).UTC()
}

// putHex8 writes the 16 lowercase hex digits of the eight bytes b into
// dst, four bytes per word: each byte's nibbles are spread into bytes of
// their own, and the nibbles from 10 up moved from after '9' to 'a'.
func putHex8(dst, b []byte) {
	put := func(dst []byte, x uint64) {
		x = (x | x<<16) & 0x0000ffff0000ffff
		x = (x | x<<8) & 0x00ff00ff00ff00ff
		x = (x | x<<4) & 0x0f0f0f0f0f0f0f0f
		letters := (x + 0x0606060606060606) >> 4 & 0x0101010101010101 // 1 where the nibble is >= 10
		binary.BigEndian.PutUint64(dst, x+0x3030303030303030+letters*('a'-'0'-10))
	}
	put(dst[0:8], uint64(binary.BigEndian.Uint32(b[0:4])))
	put(dst[8:16], uint64(binary.BigEndian.Uint32(b[4:8])))
}

// putUnixNano writes the instant ns nanoseconds after the Unix epoch
// (ns >= 0) with auditlog.TimeFormat into b, which has room for it. The
// date comes from the day number by Hinnant's civil-from-days algorithm
// (http://howardhinnant.github.io/date_algorithms.html), in place of
// time.Time's Date and Clock.
func putUnixNano(b []byte, ns int64) {
	const nsPerDay = 86400 * 1e9
	days, rest := ns/nsPerDay, ns%nsPerDay
	z := days + 719468 // days since 0000-03-01
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	year := yoe + era*400
	if mp >= 10 {
		month = mp - 9
		year++
	}
	sec := int(rest / 1e9)
	putDateTime(b, int(year), int(month), int(day), sec/3600, sec/60%60, sec%60, int(rest%1e9))
}

// putDateTime writes a UTC date and time (year 0-9999) with
// auditlog.TimeFormat into b, which has room for it.
func putDateTime(b []byte, year, month, day, hour, minute, sec, ns int) {
	b = b[:len(auditlog.TimeFormat)]
	put2(b[0:2], year/100)
	put2(b[2:4], year%100)
	b[4] = '-'
	put2(b[5:7], month)
	b[7] = '-'
	put2(b[8:10], day)
	b[10] = 'T'
	put2(b[11:13], hour)
	b[13] = ':'
	put2(b[14:16], minute)
	b[16] = ':'
	put2(b[17:19], sec)
	b[19] = '.'
	putFraction(b[20:29], ns)
	b[29] = 'Z'
}

// putFraction writes ns (0-999999999) as nine digits into b.
func putFraction(b []byte, ns int) {
	put2(b[0:2], ns/1e7)
	put2(b[2:4], ns/1e5%100)
	put2(b[4:6], ns/1e3%100)
	put2(b[6:8], ns/10%100)
	b[8] = byte('0' + ns%10)
}

// FormatTime renders t in UTC with auditlog.TimeFormat. It writes the
// digits itself, several times faster than time.Time.Format, because it
// runs for every record; years outside 0-9999 take the general route.
func FormatTime(t time.Time) string { return formatTime(nil, t) }

// formatTime is FormatTime taking memory from mem (nil: the heap).
func formatTime(mem *arena, t time.Time) string {
	var b [len(auditlog.TimeFormat)]byte
	if !putTime(b[:], t) {
		return t.UTC().Format(auditlog.TimeFormat)
	}
	return mem.string(b[:])
}

// twoDigits holds "00" to "99".
const twoDigits = "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"

// put2 writes v (0-99) as two digits into b.
func put2(b []byte, v int) {
	b[0], b[1] = twoDigits[2*v], twoDigits[2*v+1]
}

// putTime writes t in UTC with auditlog.TimeFormat into b, which has room
// for it, and reports false, writing nothing, for years outside 0-9999.
func putTime(b []byte, t time.Time) bool {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return false
	}
	hour, minute, sec := t.Clock()
	putDateTime(b, year, int(month), day, hour, minute, sec, t.Nanosecond())
	return true
}
