package sim

import (
	"context"
	"sync"
	"time"

	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

// Device serves one simulation, in process and in virtual time, as the GPU
// (nvgpu.Reader and nvgpu.Controller), the server's metrics (scrape.Source)
// and the time now; all its methods are safe for concurrent use. The
// benchmark steps it itself; Live advances it in real time and adds the
// waiting clock. Nothing here can reach a real GPU.
type Device struct {
	mu  sync.Mutex
	sim Sim
}

var (
	_ nvgpu.Reader     = (*Device)(nil)
	_ nvgpu.Controller = (*Device)(nil)
	_ scrape.Source    = (*Device)(nil)
)

// NewDevice serves s.
func NewDevice(s Sim) *Device { return &Device{sim: s} }

// Do runs f on the simulation under the lock (f must not keep s).
func (d *Device) Do(f func(s *Sim)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f(&d.sim)
}

// Now is the simulation's virtual time as a wall-clock time.
func (d *Device) Now() time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.WallNow()
}

// Truth is the simulation's ground truth now.
func (d *Device) Truth() Truth {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.Truth()
}

// Fetch is what a scrape of the simulated server's /metrics would parse to,
// without HTTP.
func (d *Device) Fetch(ctx context.Context) (scrape.Sample, error) {
	if err := ctx.Err(); err != nil {
		return scrape.Sample{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.Metrics(), nil
}

// Facts reports the simulated GPU's facts.
func (d *Device) Facts() nvgpu.Facts {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.gpu.Facts()
}

// Sample is one cheap read of the simulated GPU.
func (d *Device) Sample(ctx context.Context) (nvgpu.Sample, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.gpu.Sample(ctx)
}

// InstantPower is the GPU's instant power as NVML would report it now, its
// timestamp on the simulation's clock (Now).
func (d *Device) InstantPower(ctx context.Context) (nvgpu.PowerReading, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, err := d.sim.gpu.InstantPower(ctx)
	if err != nil {
		return r, err
	}
	r.At = d.sim.gpuStamp(r.At)
	return r, nil
}

// EnergyCounter is the GPU's energy counter in mJ.
func (d *Device) EnergyCounter(ctx context.Context) (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.gpu.EnergyCounter(ctx)
}

// LockCoreClock locks the simulated SM clock.
func (d *Device) LockCoreClock(ctx context.Context, mhz int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.gpu.LockCoreClock(ctx, mhz)
}

// ResetCoreClock returns the simulated SM clock to the default governor.
func (d *Device) ResetCoreClock(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.gpu.ResetCoreClock(ctx)
}

// LockMemClock locks the simulated memory clock.
func (d *Device) LockMemClock(ctx context.Context, mhz int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.gpu.LockMemClock(ctx, mhz)
}

// ResetMemClock returns the simulated memory clock to its default.
func (d *Device) ResetMemClock(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.sim.gpu.ResetMemClock(ctx)
}
