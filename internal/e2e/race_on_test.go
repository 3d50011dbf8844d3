//go:build race

package e2e

// raceEnabled builds the binary under test with -race too, so a data race
// in the CLI's wiring fails the run instead of hiding out of process.
const raceEnabled = true
