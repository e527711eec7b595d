package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkmcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/otelaudit/otelaudit/examples/internal/agenttest"
)

func TestRunServesAndFlushes(t *testing.T) {
	agenttest.ClearEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// run locks its writes; the test reads after run has returned.
	out := &bytes.Buffer{}
	urls := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, "127.0.0.1:0", out, func(url string) { urls <- url }) }()
	var url string
	select {
	case url = <-urls:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the server did not start")
	}

	// An uninstrumented client: the server still audits the call.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	client := sdkmcp.NewClient(&sdkmcp.Implementation{Name: "plain", Version: "1"}, nil)
	cs, err := client.Connect(ctx, &sdkmcp.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cs.CallTool(ctx, &sdkmcp.CallToolParams{Name: "access_patient_record", Arguments: map[string]any{"patient_id": "P-1002"},
		Meta: sdkmcp.Meta{"otelaudit/user.id": "u-1", "otelaudit/purpose": "billing"}})
	if err != nil || res.IsError {
		t.Fatalf("CallTool = %+v, %v", res, err)
	}
	_ = cs.Close()
	hc.CloseIdleConnections()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	text := out.String()
	for _, want := range []string{
		"mcpserver: serving MCP on " + url,
		"tools/call access_patient_record  server  [ok]",
		"user.id                      u-1",
		"audit.purpose                billing",
		"audit.subject.id             P-1002",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
}

func TestRunRefusesNonLoopback(t *testing.T) {
	agenttest.ClearEnv(t)
	err := run(context.Background(), "0.0.0.0:0", &bytes.Buffer{}, nil)
	if err == nil || !strings.Contains(err.Error(), "loopback address only") {
		t.Errorf("run on 0.0.0.0: %v", err)
	}
}
