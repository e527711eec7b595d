package agenttest

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// notExported matches the count of Provider.Shutdown's error.
var notExported = regexp.MustCompile(`(\d+) spans not exported`)

// CheckExport runs run, an agent's run function, against receivers over
// OTLP/HTTP and gRPC that require a bearer token, once with the token and
// once with a wrong one. With the token the receiver must get wantSpans
// spans and the output hold summary and the receiver's URL; with the
// wrong one run must fail saying that wantSpans spans were not exported
// (added up over the agent's providers), no span may be accepted, and
// the output must not hold summary.
func CheckExport(t *testing.T, run func(ctx context.Context, w io.Writer) error, wantSpans int, summary string) {
	t.Helper()
	for _, protocol := range []string{"http", "grpc"} {
		for _, token := range []string{"s3cret-token", "wrong-token"} {
			t.Run(protocol+" "+token, func(t *testing.T) {
				r := NewReceiver(t, protocol, "s3cret-token")
				r.PointAt(t, token)
				var out bytes.Buffer
				err := run(context.Background(), &out)
				if token != "s3cret-token" {
					checkRefused(t, err, r, wantSpans, out.String(), summary)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if n := len(r.Spans()); n != wantSpans {
					t.Errorf("receiver got %d spans, want %d", n, wantSpans)
				}
				if !strings.Contains(out.String(), summary) || !strings.Contains(out.String(), r.URL) {
					t.Errorf("output lacks %q and %s:\n%s", summary, r.URL, out.String())
				}
			})
		}
	}
}

func checkRefused(t *testing.T, err error, r *Receiver, wantSpans int, out, summary string) {
	t.Helper()
	if err == nil {
		t.Fatalf("run succeeded although the receiver refused every export; output:\n%s", out)
	}
	lost := 0
	for _, m := range notExported.FindAllStringSubmatch(err.Error(), -1) {
		n, _ := strconv.Atoi(m[1])
		lost += n
	}
	if lost != wantSpans {
		t.Errorf("error says %d spans not exported, want %d: %v", lost, wantSpans, err)
	}
	if n := len(r.Spans()); n != 0 || r.Refused() == 0 {
		t.Errorf("receiver accepted %d spans and refused %d requests", n, r.Refused())
	}
	if strings.Contains(out, summary) {
		t.Errorf("summary printed despite the failure:\n%s", out)
	}
}
