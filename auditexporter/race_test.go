//go:build race

package auditexporter

// raceEnabled is true when the tests run with -race.
const raceEnabled = true
