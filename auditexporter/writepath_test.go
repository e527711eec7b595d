package auditexporter

import (
	"testing"
	"time"
)

// TestRetainUntilMatchesAddDate checks the shortcut against AddDate around
// leap days, year ends, the Unix epoch, far dates and zones with daylight
// saving time (the result is in UTC whatever the zone of start).
func TestRetainUntilMatchesAddDate(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("UTC-5", -5*3600)
	}
	starts := []time.Time{
		time.Date(2026, 1, 1, 10, 15, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 999999999, time.UTC),
		time.Date(2023, 12, 31, 0, 0, 0, 1, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(2026, 3, 8, 1, 30, 0, 0, ny), // the night clocks move
		time.Date(2026, 11, 1, 1, 30, 0, 0, ny),
		time.Date(9999, 12, 31, 12, 0, 0, 0, time.UTC),
		time.Unix(0, 1767262500_123456789),
	}
	for _, start := range starts {
		for _, days := range []int{1, 30, 365, 366, 2190, 2555, 36525, maxDurationDays, maxDurationDays + 1, 1_000_000} {
			want := start.UTC().AddDate(0, 0, days)
			if got := retainUntil(start, days); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("retainUntil(%v, %d) = %v, want %v", start, days, got, want)
			}
		}
	}
}
