package query

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelaudit/otelaudit/query/internal/scenario"
)

// TestScenarioGolden keeps testdata/query/scenario.otlp.jsonl equal to what
// the SDK exports for the scenario (run with -update to rewrite it).
func TestScenarioGolden(t *testing.T) {
	got := scenarioJSONL(t, scenarioTraces(t))
	if *update {
		require.NoError(t, os.WriteFile(scenarioFile, got, 0o644))
	}
	want, err := os.ReadFile(scenarioFile)
	require.NoError(t, err, "run go test ./query -run TestScenarioGolden -update")
	assert.Equal(t, string(want), string(got), "scenario changed: run go test ./query -run TestScenarioGolden -update")
}

func TestOTLPFileTimeline(t *testing.T) {
	res, err := NewOTLPFileSource([]string{scenarioFile}).Fetch(context.Background(), Filter{ConversationID: scenario.SupportConversation})
	require.NoError(t, err)
	assert.Equal(t, SourceOTLPJSON, res.Source)
	assert.False(t, res.Integrity.Checked)
	assert.False(t, res.Integrity.Verified)
	tl := Timeline(scenario.SupportConversation, res)
	got := make([]string, 0, len(tl.Calls))
	for _, c := range tl.Calls {
		got = append(got, c.Line)
	}
	assert.Equal(t, scenario.SupportTimeline, got)

	all, err := NewOTLPFileSource([]string{scenarioFile}).Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	assert.Len(t, all.Records, scenario.CallCount, "every tool span and no invoke_agent span")
}

// TestOTLPFileFormats reads the same traces as JSON lines, as one pretty
// OTLP/HTTP body, and split over several files.
func TestOTLPFileFormats(t *testing.T) {
	tds := scenarioTraces(t)
	want := scenarioRecords(t)

	merged := ptraceNew()
	for _, td := range tds {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			rss.At(i).CopyTo(merged.ResourceSpans().AppendEmpty())
		}
	}
	single := scenarioJSONL(t, tds[:1])
	body := scenarioJSONL(t, []ptraceTraces{merged})
	var pretty bytes.Buffer
	require.NoError(t, jsonIndent(&pretty, bytes.TrimSpace(body)))

	cases := map[string][]string{
		"jsonl":       {writeFile(t, "a.jsonl", scenarioJSONL(t, tds))},
		"pretty body": {writeFile(t, "b.json", pretty.Bytes())},
		"crlf":        {writeFile(t, "c.jsonl", bytes.ReplaceAll(scenarioJSONL(t, tds), []byte("\n"), []byte("\r\n")))},
		"split": {
			writeFile(t, "d1.jsonl", scenarioJSONL(t, tds[:len(tds)/2])),
			writeFile(t, "d2.jsonl", scenarioJSONL(t, tds[len(tds)/2:])),
		},
		"redelivered": {writeFile(t, "e.jsonl", append(scenarioJSONL(t, tds), single...))},
		// A byte order mark, as Windows editors and PowerShell write.
		"utf-8 bom":        {writeFile(t, "f.jsonl", append([]byte("\ufeff"), scenarioJSONL(t, tds)...))},
		"utf-8 bom pretty": {writeFile(t, "g.json", append([]byte("\ufeff"), pretty.Bytes()...))},
	}
	for name, paths := range cases {
		t.Run(name, func(t *testing.T) {
			res, err := NewOTLPFileSource(paths).Fetch(context.Background(), Filter{})
			require.NoError(t, err)
			assert.Equal(t, want, res.Records)
		})
	}
}

func TestOTLPFileErrors(t *testing.T) {
	good := string(scenarioJSONL(t, scenarioTraces(t)[:2]))
	cases := []struct {
		name    string
		content string
		path    string
		want    string
	}{
		{name: "missing", path: "/nonexistent/otelaudit/x.json", want: "cannot read OTLP JSON file"},
		{name: "directory", path: os.TempDir(), want: "is a directory"},
		{name: "garbage", content: "hello world\n", want: ":1: malformed JSON"},
		{name: "bad second line", content: good + "{\"resourceSpans\": [}\n", want: ":3: malformed JSON"},
		{name: "truncated", content: good + `{"resourceSpans":[{"resource":{`, want: ":3: truncated JSON value"},
		{name: "array", content: "[1,2]\n", want: ":1: expected an OTLP JSON object"},
		{name: "wrong shape", content: `{"resourceSpans":"nope"}` + "\n", want: ":1: not OTLP JSON traces"},
		{name: "gzip", content: "\x1f\x8b\x08\x00rest", want: "gzip-compressed"},
		{name: "zstd", content: "\x28\xb5\x2f\xfdrest", want: "zstd-compressed"},
		{name: "empty", content: "", want: "not OTLP JSON: the file is empty"},
		{name: "blank", content: "\n\n  \n", want: "not OTLP JSON: the file is empty"},
		{name: "other object", content: `{"foo":1}` + "\n", want: ":1: not OTLP JSON: no resourceSpans"},
		{name: "other object after requests", content: good + `{"foo":1}` + "\n", want: ":3: not OTLP JSON: no resourceSpans"},
		{name: "jaeger error", content: `{"error":{"httpCode":404,"message":"No traces found"}}`, want: ":1: not OTLP JSON: no resourceSpans"},
		{name: "wrapper of other", content: `{"result":{"foo":1}}`, want: ":1: not OTLP JSON: no resourceSpans (in result)"},
		{name: "too deep", content: strings.Repeat("[", 20000) + strings.Repeat("]", 20000), want: "malformed JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.path
			if p == "" {
				p = writeFile(t, "in.json", []byte(c.content))
			}
			_, err := NewOTLPFileSource([]string{p}).Fetch(context.Background(), Filter{})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "\n", "errors are one line")
		})
	}
}

func TestOTLPFileEmptyAndNonTool(t *testing.T) {
	for name, content := range map[string]string{
		"no spans":              `{"resourceSpans":[]}` + "\n",
		"snake case":            `{"resource_spans":[]}`,
		"pdata's empty traces":  `{}`,
		"jaeger's empty answer": `{"result":{"resourceSpans":[]}}`,
		"not a tool":            `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"0102030405060708090a0b0c0d0e0f10","spanId":"0102030405060708","name":"GET /"}]}]}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			res, err := NewOTLPFileSource([]string{writeFile(t, "x.json", []byte(content))}).Fetch(context.Background(), Filter{})
			require.NoError(t, err)
			assert.Empty(t, res.Records)
			assert.NotNil(t, res.Records)
		})
	}
}

// TestOTLPFileInvalidUTF8 feeds a tool span whose attributes hold invalid
// UTF-8: the record must come out valid.
func TestOTLPFileInvalidUTF8(t *testing.T) {
	line := "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"0102030405060708\"," +
		"\"name\":\"execute_tool x\",\"startTimeUnixNano\":\"1000000\",\"endTimeUnixNano\":\"2000000\",\"attributes\":[" +
		"{\"key\":\"gen_ai.operation.name\",\"value\":{\"stringValue\":\"execute_tool\"}}," +
		"{\"key\":\"gen_ai.tool.name\",\"value\":{\"stringValue\":\"x\xff\xfe\"}}," +
		"{\"key\":\"gen_ai.conversation.id\",\"value\":{\"stringValue\":\"c\xc3\"}}]}]}]}]}\n"
	res, err := NewOTLPFileSource([]string{writeFile(t, "u.json", []byte(line))}).Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	require.Len(t, res.Records, 1)
	r := res.Records[0]
	assert.True(t, utf8Valid(r.ToolName) && utf8Valid(r.ConversationID), "%q %q", r.ToolName, r.ConversationID)
}

// TestOTLPFileJaegerAnswer reads a saved /api/v3/traces answer, OTLP JSON
// wrapped in {"result": …}, as the request it wraps.
func TestOTLPFileJaegerAnswer(t *testing.T) {
	var body bytes.Buffer
	for _, line := range lines(string(scenarioJSONL(t, scenarioTraces(t)))) {
		body.WriteString(`{"result":` + line + "}\n")
	}
	res, err := NewOTLPFileSource([]string{writeFile(t, "v3.json", body.Bytes())}).Fetch(context.Background(), Filter{})
	require.NoError(t, err)
	assert.Equal(t, scenarioRecords(t), res.Records)
}
