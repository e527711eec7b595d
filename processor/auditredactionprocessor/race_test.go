//go:build race

package auditredactionprocessor

const raceEnabled = true
