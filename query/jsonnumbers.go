package query

import (
	"strconv"

	"github.com/otelaudit/otelaudit/auditlog"
)

// maxExactInteger is the largest integer every JSON number (an IEEE 754
// double, RFC 8785) holds exactly: 2^53 − 1.
const maxExactInteger = 1<<53 - 1

// asStored sets the integers of a record mapped from a span to the values
// the audit store holds for the same span. A record's canonical JSON (RFC
// 8785) writes numbers as doubles, so the exporter stores audit.turn_number
// 2^62 + 1 as 4611686018427388000 and the store reads that back: a trace
// source must give the same number, or sources and reconcile disagree.
func asStored(r *auditlog.Record) {
	if r.TurnNumber != nil {
		if n := storedInt(*r.TurnNumber); n != *r.TurnNumber {
			r.TurnNumber = &n
		}
	}
	r.Redaction.Count = storedInt(r.Redaction.Count)
}

// storedInt returns the integer that reading back the canonical JSON of v
// gives: v itself up to 2^53 − 1, else the shortest decimal of the nearest
// double, as RFC 8785 (and auditlog's encoder) writes it.
func storedInt(v int64) int64 {
	if v >= -maxExactInteger && v <= maxExactInteger {
		return v
	}
	n, err := strconv.ParseInt(strconv.FormatFloat(float64(v), 'f', -1, 64), 10, 64)
	if err != nil {
		return v // beyond int64 once rounded: the store cannot read it either
	}
	return n
}
