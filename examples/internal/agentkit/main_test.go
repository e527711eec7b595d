package agentkit

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

func TestExitStatus(t *testing.T) {
	tests := []struct {
		err        error
		wantStatus int
		wantOut    string
	}{
		{err: nil, wantStatus: 0, wantOut: ""},
		{err: errors.New("flush spans to x: refused"), wantStatus: 1, wantOut: "agent: flush spans to x: refused\n"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		var got context.Context
		status := exitStatus(context.Background(), &stderr, "agent", func(ctx context.Context) error { got = ctx; return tt.err })
		if status != tt.wantStatus || stderr.String() != tt.wantOut || got == nil {
			t.Errorf("run error %v: status %d, stderr %q; want %d, %q", tt.err, status, stderr.String(), tt.wantStatus, tt.wantOut)
		}
	}
}
