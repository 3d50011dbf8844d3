package bench

import (
	"context"
	"sync"
	"time"

	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
	"github.com/gputune/gputune/sim"
)

// simDevice serves one simulation, in process and in virtual time, as the
// GPU (nvgpu.Reader and nvgpu.Controller), the server's metrics
// (scrape.Source) and the loop's clock. It is the only controller the
// benchmark ever holds: nothing here can reach a real GPU.
type simDevice struct {
	mu    sync.Mutex
	s     sim.Sim
	facts nvgpu.Facts
}

var (
	_ nvgpu.Reader     = (*simDevice)(nil)
	_ nvgpu.Controller = (*simDevice)(nil)
	_ scrape.Source    = (*simDevice)(nil)
)

func newSimDevice(s sim.Sim) *simDevice {
	return &simDevice{s: s, facts: s.GPU().Facts()}
}

// step advances the simulation by dt.
func (d *simDevice) step(dt time.Duration) {
	d.mu.Lock()
	d.s.Step(dt)
	d.mu.Unlock()
}

// with runs f on the simulation under the lock.
func (d *simDevice) with(f func(s *sim.Sim)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.s)
}

func (d *simDevice) Facts() nvgpu.Facts { return d.facts }

func (d *simDevice) Sample(ctx context.Context) (nvgpu.Sample, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.GPU().Sample(ctx)
}

func (d *simDevice) InstantPower(ctx context.Context) (nvgpu.PowerReading, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.GPU().InstantPower(ctx)
}

func (d *simDevice) EnergyCounter(ctx context.Context) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.GPU().EnergyCounter(ctx)
}

func (d *simDevice) LockCoreClock(ctx context.Context, mhz int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.GPU().LockCoreClock(ctx, mhz)
}

func (d *simDevice) ResetCoreClock(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.GPU().ResetCoreClock(ctx)
}

func (d *simDevice) LockMemClock(ctx context.Context, mhz int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.GPU().LockMemClock(ctx, mhz)
}

func (d *simDevice) ResetMemClock(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.GPU().ResetMemClock(ctx)
}

// Fetch is what a scrape of the simulated server's /metrics would parse to.
func (d *simDevice) Fetch(ctx context.Context) (scrape.Sample, error) {
	if err := ctx.Err(); err != nil {
		return scrape.Sample{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.Metrics(), nil
}

// Now is the simulation's virtual time: the loop's clock.
func (d *simDevice) Now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.s.WallNow()
}

// After fires at once: the benchmark drives Cycle itself and never waits.
func (d *simDevice) After(dur time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- d.Now().Add(dur)
	return ch
}
