package redact

import (
	"strings"
	"testing"
)

// benchTexts are ordinary tool results and messages with nothing to
// redact, so that every rule reads all of them: a traceback with a log
// line, an HTML page, a YAML config and a JSON result.
var benchTexts = []struct {
	name    string
	text    string
	payload bool
}{
	{"traceback", strings.Repeat(`Traceback (most recent call last):
  File "/app/agent/tools.py", line 214, in run_tool
    result = client.call(name="search", query=query, limit=20, timeout=30.0)
  File "/usr/lib/python3.12/site-packages/httpx/_client.py", line 1054, in send
    raise ConnectTimeout("timed out after 30s: GET https://api.example.com/v2/search?q=weather&page=2")
httpx.ConnectTimeout: timed out after 30s
2026-11-28T12:30:00.123Z level=error msg="tool call failed" tool=search attempt=3 elapsed_ms=30012 user_id=u-17
`, 4), false},
	{"html", "<!doctype html><html><head><meta charset=\"utf-8\"><title>Results</title></head><body>" +
		strings.Repeat(`<div class="result"><h2><a href="https://example.com/a?id=42&amp;ref=search">A result title</a></h2><p>Some text about the weather in <b>Paris</b>, 12&deg;C, 50% rain.</p><input type="text" name="q" value="weather"></div>`, 12) +
		"</body></html>", false},
	{"yaml", strings.Repeat(`service:
  name: search
  replicas: 3
  description: |
    Searches the web and returns the top results
    with their titles and links.
  ports: [8080, 9090]
  env:
    - name: LOG_LEVEL
      value: info
`, 8), false},
	{"json", `{"results":[` + strings.Repeat(`{"title":"A result title","url":"https://example.com/a?id=42&ref=search","snippet":"Some text about the weather in Paris, 12°C, 50% rain.","score":0.87,"tags":["weather","paris"]},`, 12) +
		`{"title":"last"}],"query":"weather","took_ms":123}`, true},
}

// BenchmarkFreeText measures the redaction of ordinary text that holds
// nothing to redact, each kind on its own.
func BenchmarkFreeText(b *testing.B) {
	r := newTestRedactor(b)
	for _, bt := range benchTexts {
		b.Run(bt.name, func(b *testing.B) {
			b.SetBytes(int64(len(bt.text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, n, _ := redactString(r, bt.text, bt.payload); n != 0 {
					b.Fatalf("%d redactions", n)
				}
			}
		})
	}
}
