package scenario

import (
	"context"
	"crypto/rand"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/mod/sumdb/note"

	"github.com/otelaudit/otelaudit/auditlog"
	"github.com/otelaudit/otelaudit/internal/toolspan"
)

// Origin names the chains of the stores tests build.
const Origin = "example.com/otelaudit/test"

// Keys makes a fresh note key pair: the encoded signer and verifier keys
// (as keygen writes them) and their parsed forms.
func Keys(name string) (skey, vkey string, signer note.Signer, verifiers note.Verifiers, err error) {
	skey, vkey, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return
	}
	if signer, err = note.NewSigner(skey); err != nil {
		return
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return
	}
	return skey, vkey, signer, note.VerifierList(v), nil
}

// Records maps every tool span of tds to a record as the audit exporter
// does, with the retention class the default policy gives it (Classify),
// in arrival order.
func Records(tds []ptrace.Traces) []auditlog.Record {
	var out []auditlog.Record
	for _, td := range tds {
		rss := td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					r, ok := toolspan.Map(rss.At(i).Resource(), sss.At(j).Scope(), spans.At(k), toolspan.Options{})
					if !ok {
						continue
					}
					Classify(&r)
					out = append(out, r)
				}
			}
		}
	}
	return out
}

// Classify sets a record's retention with auditlog.DefaultPolicy: here,
// healthcare for patient subjects and patient tools, else general.
func Classify(r *auditlog.Record) {
	t, _ := time.Parse(time.RFC3339Nano, r.Timestamp)
	r.Retention = auditlog.DefaultPolicy().Retention(r.ToolName, r.Subject.Type, t)
}

// WriteStore writes recs to a new store in dir, batch records per Append,
// sealing segments past segmentMaxBytes, and closes it (which writes the
// final checkpoints).
func WriteStore(dir string, signer note.Signer, recs []auditlog.Record, batch int, segmentMaxBytes int64) error {
	st, err := auditlog.Open(dir, auditlog.WithOrigin(Origin), auditlog.WithSigner(signer),
		auditlog.WithSegmentMaxBytes(segmentMaxBytes), auditlog.WithDedupWindow(0))
	if err != nil {
		return err
	}
	for i := 0; i < len(recs); i += batch {
		ptrs := make([]*auditlog.Record, 0, batch)
		for j := i; j < min(i+batch, len(recs)); j++ {
			r := recs[j]
			ptrs = append(ptrs, &r)
		}
		if _, err := st.Append(context.Background(), ptrs); err != nil {
			st.Close()
			return err
		}
	}
	return st.Close()
}
