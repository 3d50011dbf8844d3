package control

import (
	"time"

	"github.com/gputune/gputune/scrape"
)

// Clock is the loop's time source: the wall clock live, the simulator's
// virtual clock in the demo, and a stepped clock in the benchmark.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// WallClock is the real clock.
type WallClock struct{}

// Now returns time.Now.
func (WallClock) Now() time.Time { return time.Now() }

// After returns time.After.
func (WallClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Windower turns consecutive samples into window statistics
// (scrape.Windower implements it).
type Windower interface {
	Next(s scrape.Sample) (scrape.Window, error)
}

// EnergyMeter measures a window's GPU energy with an error bound
// (nvgpu.Meter implements it).
type EnergyMeter interface {
	Energy(start, end time.Time) (joules, errBoundJ float64, err error)
}
