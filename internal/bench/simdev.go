package bench

import (
	"time"

	"github.com/gputune/gputune/sim"
)

// simDevice is the simulation the benchmark's loop runs against: the
// simulated GPU, metrics and clock of sim.Device, with a clock whose waits
// end at once, because the benchmark steps the simulation and drives
// Cycle itself. It is the only controller the benchmark ever holds:
// nothing here can reach a real GPU.
type simDevice struct{ *sim.Device }

func newSimDevice(s sim.Sim) *simDevice { return &simDevice{sim.NewDevice(s)} }

// After fires at once: the benchmark drives Cycle itself and never waits.
func (d *simDevice) After(dur time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- d.Now().Add(dur)
	return ch
}
