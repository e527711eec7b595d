//go:build !race

package toolspan

// raceEnabled is true when the tests run with -race, under which sync.Pool
// (the canonicaliser keeps its scratch space in one) drops items at random.
const raceEnabled = false
