package toolspan

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"unicode/utf8"

	"github.com/otelaudit/otelaudit/auditlog"
)

const (
	// MaxFieldBytes bounds each string field of a record other than the
	// payloads (a user id, a status message, a service name): a longer
	// value keeps its first bytes and ends with a mark giving its size and
	// SHA-256, "…[cut: N bytes, sha256:HEX]".
	MaxFieldBytes = 16 << 10
	// MaxListBytes bounds the elements of a list field (user_roles,
	// redaction.paths) together; the elements past it are replaced by one
	// "…[cut: N more]".
	MaxListBytes = 64 << 10
	// MaxMaxPayloadBytes is the largest Options.MaxPayloadBytes a record
	// written to a store may use (4 MiB).
	//
	// With it, MaxFieldBytes and MaxListBytes, every record line stays
	// below auditlog.MaxRecordBytes (16 MiB), the longest line the
	// verifier and the readers take: two payloads of at most 4 MiB each,
	// and under 30 string fields and two lists, each at most 6 times its
	// bytes once escaped ("\u0001" for a control byte), add up to less
	// than 12 MiB (TestBoundedRecordSize).
	MaxMaxPayloadBytes = 4 << 20
)

// boundFields cuts the string and list fields of r that are over their
// bounds. A record is built from span attributes any sender chooses, and a
// line longer than auditlog.MaxRecordBytes would be one no verifier reads.
// It costs one length comparison per field when nothing is over.
func boundFields(r *auditlog.Record) {
	for _, p := range [...]*string{
		&r.ToolName, &r.ToolCallID, &r.ToolType, &r.ConversationID, &r.Model,
		&r.Agent.Name, &r.Agent.ID, &r.UserID,
		&r.Session.ID, &r.Session.ClientAddress, &r.Session.UserAgent,
		&r.Trigger, &r.Purpose, &r.Subject.Type, &r.Subject.ID, &r.BreakGlassReason,
		&r.Source.Service, &r.Source.Scope,
	} {
		if len(*p) > MaxFieldBytes {
			*p = cutField(*p)
		}
	}
	if r.Error != nil && (len(r.Error.Type) > MaxFieldBytes || len(r.Error.Message) > MaxFieldBytes) {
		e := *r.Error
		if len(e.Type) > MaxFieldBytes {
			e.Type = cutField(e.Type)
		}
		if len(e.Message) > MaxFieldBytes {
			e.Message = cutField(e.Message)
		}
		r.Error = &e
	}
	r.UserRoles = boundList(r.UserRoles)
	r.Redaction.Paths = boundList(r.Redaction.Paths)
}

// cutField returns the first bytes of s, cut at a character boundary, and
// a mark with its size and SHA-256, MaxFieldBytes in all at most: what is
// kept still reads, and the hash ties it to the value the span carried.
func cutField(s string) string {
	sum := sha256.Sum256([]byte(s))
	mark := "…[cut: " + strconv.Itoa(len(s)) + " bytes, sha256:" + hex.EncodeToString(sum[:]) + "]"
	n := MaxFieldBytes - len(mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

// boundList bounds each element of l as a field, and keeps them while
// they fit in MaxListBytes together; the rest become one
// "…[cut: N more]". l is copied only when something is cut.
func boundList(l []string) []string {
	total := 0
	var out []string
	for i, e := range l {
		if len(e) > MaxFieldBytes {
			e = cutField(e)
			if out == nil {
				out = append(make([]string, 0, len(l)), l[:i]...)
			}
		}
		if total += len(e); total > MaxListBytes {
			if out == nil {
				out = append(make([]string, 0, i+1), l[:i]...)
			}
			return append(out[:i], "…[cut: "+strconv.Itoa(len(l)-i)+" more]")
		}
		if out != nil {
			out = append(out, e)
		}
	}
	if out != nil {
		return out
	}
	return l
}
