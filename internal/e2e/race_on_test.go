//go:build race

package e2e

import "time"

// raceEnabled builds the binary under test with -race too, so a data race
// in the CLI's wiring fails the run instead of hiding out of process.
const raceEnabled = true

// waitLimit bounds every wait on a gputune process (harness_test.go). Under
// the race detector the demo's 10 simulated minutes take ~30 s on an idle
// 2-core machine: its loop runs each cycle with the simulation standing
// still (sim.Lockstep), so the detector's slowdown of the loop adds to the
// wall time, and the e2e tests run in parallel.
const waitLimit = 120 * time.Second
