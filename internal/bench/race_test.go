//go:build race

package bench

// raceEnabled shortens the slices the tests run.
const raceEnabled = true
