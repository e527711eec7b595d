package query

import (
	"fmt"
	"strings"
	"time"

	"github.com/otelaudit/otelaudit/auditlog"
)

// dateLayout is the plain-date form accepted on the command line.
const dateLayout = "2006-01-02"

// ParseTime parses a command-line time: RFC 3339 (with or without
// fractional seconds, any offset, "T" and "Z" in either case as RFC 3339
// §5.6 allows) or a plain date such as 2026-11-26, taken as midnight UTC.
// When upper is true a plain date names the whole day, so the returned
// instant is the following midnight: used as an exclusive upper bound,
// "--until 2026-11-26" then includes every call made on that day.
//
// The result is in UTC and within the instants an RFC 3339 timestamp can
// name (years 0000 to 9999): a bound beyond them, such as the end of the
// day 9999-12-31 or 9999-12-31T23:30:00-01:00, is held to the nearest of
// them (9999-12-31T23:59:59.999999999Z), so that it can be sent to Jaeger,
// compared with record timestamps and printed as RFC 3339. An empty
// string returns the zero time.
func ParseTime(s string, upper bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(dateLayout, s); err == nil {
		if upper {
			t = t.AddDate(0, 0, 1)
		}
		return clampRFC3339(t), nil
	}
	t, err := time.Parse(time.RFC3339Nano, strings.Map(upperTZ, s))
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339 (2026-11-26T14:00:00Z) or a date (2026-11-26)", s)
	}
	return clampRFC3339(t), nil
}

// upperTZ maps the lowercase "t" and "z" RFC 3339 allows to the uppercase
// letters time.Parse expects, and leaves every other rune alone.
func upperTZ(r rune) rune {
	switch r {
	case 't':
		return 'T'
	case 'z':
		return 'Z'
	}
	return r
}

// minRFC3339 and maxRFC3339 are the first and last instants an RFC 3339
// timestamp (a four-digit year) can name.
func minRFC3339() time.Time { return time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC) }
func maxRFC3339() time.Time { return time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC) }

// clampRFC3339 returns t in UTC, held to the instants RFC 3339 can name.
func clampRFC3339(t time.Time) time.Time {
	t = t.UTC()
	if lo := minRFC3339(); t.Before(lo) {
		return lo
	}
	if hi := maxRFC3339(); t.After(hi) {
		return hi
	}
	return t
}

// timeKey renders t in the record timestamp layout, so that it compares
// with Record.Timestamp as a string; ok is false when t lies outside the
// years 0000–9999, whose text would not sort with the timestamps
// ("10000-01-01…" < "2026-…"), and the caller must not compare it as text.
func timeKey(t time.Time) (key string, ok bool) {
	t = t.UTC()
	if t.Before(minRFC3339()) || t.After(maxRFC3339()) {
		return "", false
	}
	return t.Format(auditlog.TimeFormat), true
}

// recordTime parses a record timestamp; the zero time when it is malformed.
func recordTime(r *auditlog.Record) time.Time {
	t, err := time.Parse(time.RFC3339Nano, r.Timestamp)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
