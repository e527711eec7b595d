package auditlog

import (
	"crypto/rand"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

type testKeys struct {
	signer    note.Signer
	verifier  note.Verifier
	verifiers note.Verifiers
	skey      string
	vkey      string
}

func newTestKeys(t testing.TB, name string) testKeys {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return testKeys{signer: s, verifier: v, verifiers: note.VerifierList(v), skey: skey, vkey: vkey}
}

// testRecord returns a tool-call record; i makes its span id unique.
func testRecord(i int, class string) *Record {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Add(time.Duration(i) * time.Second)
	days := 365
	turn := int64(i % 10)
	return &Record{
		Timestamp:      ts.Format(TimeFormat),
		TraceID:        fmt.Sprintf("%032x", i/4+1),
		SpanID:         fmt.Sprintf("%016x", i+1),
		DurationMS:     float64(i%1000) / 7,
		Operation:      "execute_tool",
		ToolName:       []string{"access_patient_record", "charge_payment", "search_docs"}[i%3],
		ToolCallID:     fmt.Sprintf("call_%d", i),
		ToolType:       "function",
		Arguments:      []byte(fmt.Sprintf(`{"patient_id":"P-%d","q":"x"}`, i%50)),
		ResultSummary:  []byte(`{"status":"ok"}`),
		ConversationID: fmt.Sprintf("conv-%d", i/10),
		TurnNumber:     &turn,
		Model:          "gpt-4o",
		Agent:          Agent{Name: "bot", ID: "a1"},
		UserID:         fmt.Sprintf("user-%d", i%7),
		UserRoles:      []string{"nurse"},
		Trigger:        "user_request",
		Purpose:        "treatment",
		Subject:        Subject{Type: "patient", ID: fmt.Sprintf("P-%d", i%50)},
		Success:        i%9 != 0,
		Attribution:    Attribution{Initiator: fmt.Sprintf("user-%d", i%7), InitiatorType: InitiatorUser, InitiatorRole: "nurse", Model: "gpt-4o", Trigger: "user_request"},
		Retention:      Retention{Class: class, Days: days, RetainUntil: ts.AddDate(0, 0, days).Format(TimeFormat)},
		Source:         Source{Convention: "genai", Service: "agent"},
	}
}

func testRecords(from, n int, class string) []*Record {
	out := make([]*Record, n)
	for i := range out {
		out[i] = testRecord(from+i, class)
	}
	return out
}

// runWriters runs write(w) for w in [0, writers) at once and fails the
// test with the errors they return, once all have returned.
func runWriters(t *testing.T, writers int, write func(w int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			if err := write(w); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		t.FailNow()
	}
}
