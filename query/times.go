package query

import (
	"fmt"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// dateLayout is the plain-date form accepted on the command line.
const dateLayout = "2006-01-02"

// ParseTime parses a command-line time: RFC 3339 (with or without
// fractional seconds, any offset) or a plain date such as 2026-11-26, taken
// as midnight UTC. When upper is true a plain date names the whole day, so
// the returned instant is the following midnight: used as an exclusive upper
// bound, "--until 2026-11-26" then includes every call made on that day.
// The result is in UTC. An empty string returns the zero time.
func ParseTime(s string, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(dateLayout, s); err == nil {
		if upper {
			t = t.AddDate(0, 0, 1)
		}
		return t.UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339 (2026-11-26T14:00:00Z) or a date (2026-11-26)", s)
	}
	return t.UTC(), nil
}

// formatTime renders t in the record timestamp layout, so that it compares
// with Record.Timestamp as a string.
func formatTime(t time.Time) string {
	return t.UTC().Format(auditlog.TimeFormat)
}

// recordTime parses a record timestamp; the zero time when it is malformed.
func recordTime(r *auditlog.Record) time.Time {
	t, err := time.Parse(time.RFC3339Nano, r.Timestamp)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
