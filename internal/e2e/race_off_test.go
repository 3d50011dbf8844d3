//go:build !race

package e2e

import "time"

const raceEnabled = false

// waitLimit bounds every wait on a gputune process (harness_test.go). The
// happy path takes well under a second per step, and the demo's 10
// simulated minutes ~15 s; a loaded 2-core machine needs headroom.
const waitLimit = 30 * time.Second
