package redactiontest

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelaudit/otelaudit/internal/attrkey"
)

// Lookalike is a top-level span attribute that must come out unchanged.
type Lookalike struct {
	Span  int // index of the span in the batch
	Key   string
	Value pcommon.Value
}

// Batch is one generated ptrace.Traces and what it planted.
type Batch struct {
	Traces ptrace.Traces
	// Secrets are the needles that must not appear in any output byte.
	Secrets []string
	// Ordinary are values that must appear in the output unchanged.
	Ordinary []string
	// Lookalikes must come out unchanged, with their types.
	Lookalikes []Lookalike
	// SpanSecrets[i] counts the secrets planted in span i; the processor
	// must report at least as many redactions on it.
	SpanSecrets []int
}

// Generator makes batches of tool-call spans.
type Generator struct {
	rng   *rand.Rand
	b     *Batch
	span  int
	count int // secrets planted in the current span
	// MaxSpansPerBatch bounds the spans of one batch (default 4).
	MaxSpansPerBatch int
}

// NewGenerator returns a deterministic generator for seed.
func NewGenerator(seed uint64) *Generator {
	return &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), MaxSpansPerBatch: 4}
}

// Next returns a new batch of 1 to MaxSpansPerBatch spans under one
// resource.
func (g *Generator) Next() Batch {
	b := Batch{Traces: ptrace.NewTraces()}
	g.b = &b
	rs := b.Traces.ResourceSpans().AppendEmpty()
	ra := rs.Resource().Attributes()
	ra.PutStr(attrkey.ServiceName, "agent-"+randString(g.rng, alnum, 4))
	resSecrets := 0
	if g.rng.IntN(8) == 0 {
		ra.PutStr(sensitiveKey(g.rng), g.secret(secretValue(g.rng)))
		resSecrets = 1
	}
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("otelaudit/instrumentation")
	n := 1 + g.rng.IntN(max(1, g.MaxSpansPerBatch))
	for i := 0; i < n; i++ {
		g.span = i
		g.count = resSecrets
		g.fillSpan(ss.Spans().AppendEmpty())
		b.SpanSecrets = append(b.SpanSecrets, g.count)
	}
	return b
}

func (g *Generator) secret(v string) string {
	g.b.Secrets = append(g.b.Secrets, v)
	g.count++
	return v
}

func (g *Generator) ordinary(v string) string {
	g.b.Ordinary = append(g.b.Ordinary, v)
	return v
}

// detected returns free text that carries one value a built-in detector (or
// the key=value rule for text) must catch, and records its needle.
func (g *Generator) detected() string {
	pre := []string{"see ", "note: ", "customer said ", ""}[g.rng.IntN(4)]
	switch g.rng.IntN(8) {
	case 0:
		return pre + "card " + g.secret(cardNumber(g.rng)) + " please"
	case 1:
		return pre + "ssn " + g.secret(ssn(g.rng))
	case 2:
		return pre + "mail " + g.secret(email(g.rng)) + "."
	case 3:
		return pre + "jwt=" + g.secret(jwt(g.rng))
	case 4:
		return pre + "Authorization: Bearer " + g.secret(bearerToken(g.rng))
	case 5:
		return pre + "key id " + g.secret(awsKey(g.rng)) + " used"
	case 6:
		block, body := pemKey(g.rng)
		g.secret(body)
		return pre + block
	default:
		return pre + spell(g.rng, []string{"db", "password"}) + "=" + g.secret(randString(g.rng, alnum, 18)) + " retry"
	}
}

// tree returns a random JSON object nesting up to depth levels.
func (g *Generator) tree(depth int) object {
	var o object
	n := 2 + g.rng.IntN(4)
	for i := 0; i < n; i++ {
		var m member
		switch k := g.rng.IntN(10); {
		case k < 2:
			m = member{ordinaryKey(g.rng), g.ordinary(ordinaryValue(g.rng))}
		case k == 2:
			m = member{lookalikeKeys[g.rng.IntN(len(lookalikeKeys))], number(strconv.Itoa(g.rng.IntN(5000)))}
		case k == 3:
			m = member{sensitiveKey(g.rng), g.secret(secretValue(g.rng))}
		case k == 4:
			key, word := piiKey(g.rng)
			m = member{key, g.secret(piiValue(g.rng, word))}
		case k == 5:
			m = member{ordinaryKey(g.rng), g.detected()}
		case k == 6:
			// A container under a sensitive key: every leaf is masked.
			m = member{sensitiveKey(g.rng), object{
				{"user", g.secret("u-" + randString(g.rng, alnum, 12))},
				{"values", array{g.secret(secretValue(g.rng)), number(strconv.Itoa(10000000 + g.rng.IntN(1e6)))}},
			}}
		case depth > 0 && k == 7:
			m = member{ordinaryKey(g.rng), g.tree(depth - 1)}
		case depth > 0 && k == 8:
			arr := array{}
			for j := 0; j < 1+g.rng.IntN(3); j++ {
				arr = append(arr, g.tree(depth-1))
			}
			m = member{"items", arr}
		case depth > 0:
			m = member{"payload", embedded{g.tree(depth - 1)}}
		default:
			m = member{ordinaryKey(g.rng), literal([]string{"true", "false", "null"}[g.rng.IntN(3)])}
		}
		o = append(o, m)
	}
	return o
}

func (g *Generator) fillSpan(span ptrace.Span) {
	rng := g.rng
	tool := []string{"charge_payment", "access_patient_record", "send_email", "search_web"}[rng.IntN(4)]
	span.SetName("execute_tool " + tool)
	var tid [16]byte
	var sid [8]byte
	for i := range tid {
		tid[i] = byte(rng.IntN(256))
	}
	for i := range sid {
		sid[i] = byte(rng.IntN(256))
	}
	span.SetTraceID(tid)
	span.SetSpanID(sid)
	span.SetKind(ptrace.SpanKindInternal)
	span.SetStartTimestamp(pcommon.Timestamp(1_700_000_000_000_000_000 + rng.Int64N(1e15)))
	span.SetEndTimestamp(span.StartTimestamp() + pcommon.Timestamp(rng.Int64N(1e9)))

	a := span.Attributes()
	a.PutStr(attrkey.GenAIOperationName, attrkey.OperationExecuteTool)
	a.PutStr(attrkey.GenAIToolName, tool)
	a.PutStr(attrkey.GenAIToolCallID, "call_"+randString(rng, alnum, 12))
	a.PutStr(attrkey.GenAIConversationID, "conv-"+randString(rng, alnum, 8))
	a.PutStr(attrkey.UserID, "user-"+randString(rng, alnum, 6))
	a.PutInt(attrkey.TurnNumber, int64(rng.IntN(20)))

	for i := 0; i < 1+rng.IntN(3); i++ {
		key := lookalikeKeys[rng.IntN(len(lookalikeKeys))]
		if _, dup := a.Get(key); dup {
			continue
		}
		v := pcommon.NewValueEmpty()
		if rng.IntN(2) == 0 {
			v.SetInt(int64(rng.IntN(100000)))
		} else {
			v.SetStr(g.ordinary(ordinaryValue(rng)))
		}
		v.CopyTo(a.PutEmpty(key))
		g.b.Lookalikes = append(g.b.Lookalikes, Lookalike{Span: g.span, Key: key, Value: v})
	}
	for i := 0; i < rng.IntN(3); i++ {
		key, word := sensitiveKey(rng), ""
		if rng.IntN(3) == 1 {
			key, word = piiKey(rng)
		}
		if _, dup := a.Get(key); dup {
			continue
		}
		switch {
		case word != "":
			a.PutStr(key, g.secret(piiValue(rng, word)))
		case rng.IntN(2) == 0:
			a.PutStr(key, g.secret(secretValue(rng)))
		default:
			sl := a.PutEmptySlice(key)
			for j := 0; j < 1+rng.IntN(3); j++ {
				sl.AppendEmpty().SetStr(g.secret(secretValue(rng)))
			}
		}
	}

	payloads := attrkey.PayloadAttributes()
	args := payloads[rng.IntN(len(payloads))]
	doc := g.tree(rng.IntN(6))
	var root node = doc
	if rng.IntN(5) == 0 {
		root = array{doc, g.tree(1)}
	}
	a.PutStr(args, string(appendNode(nil, root)))
	if rng.IntN(3) == 0 {
		// A map-valued payload attribute.
		other := payloads[rng.IntN(len(payloads))]
		if other != args {
			m := a.PutEmptyMap(other)
			m.PutStr(sensitiveKey(rng), g.secret(secretValue(rng)))
			m.PutStr(ordinaryKey(rng), g.ordinary(ordinaryValue(rng)))
			inner := m.PutEmptyMap("nested")
			inner.PutStr("text", g.detected())
		}
	}
	if rng.IntN(2) == 0 {
		ev := span.Events().AppendEmpty()
		ev.SetName("exception")
		ev.Attributes().PutStr("exception.type", "ToolError")
		ev.Attributes().PutStr("exception.message", fmt.Sprintf("tool %s failed: %s; args %s",
			tool, g.detected(), appendNode(nil, object{{sensitiveKey(rng), g.secret(secretValue(rng))}})))
	}
	if rng.IntN(4) == 0 {
		l := span.Links().AppendEmpty()
		l.SetTraceID(tid)
		l.Attributes().PutStr(sensitiveKey(rng), g.secret(secretValue(rng)))
	}
	if rng.IntN(10) == 0 {
		span.Status().SetCode(ptrace.StatusCodeError)
		span.Status().SetMessage(g.detected())
	}
}
