package sim

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// The methods below have the nvgpu.Reader and nvgpu.Controller signatures so
// a thin wrapper (which adds locking, since GPU itself is not safe for
// concurrent use) can hand the simulated GPU to gputune's control loop.

// virtualEpochUnix anchors virtual time for PowerReading.At.
const virtualEpochUnix = 1_800_000_000

// Facts reports the profile as NVML would. It allocates the clock lists.
func (g *GPU) Facts() nvgpu.Facts {
	p := g.phys.prof
	return nvgpu.Facts{
		Index:            0,
		UUID:             "GPU-sim-" + p.Name,
		Name:             p.Marketing,
		Driver:           "sim",
		CoreClocksMHz:    p.CoreClocks(),
		MemClocksMHz:     append([]int(nil), p.MemClocksMHz...),
		MemLockSupported: p.MemLockSupported,
		PowerLimitW:      g.limitW,
		PowerMinW:        p.PowerMinW,
		PowerMaxW:        p.PowerMaxW,
		EnergyCounter:    true,
		InstantPower:     true,
		Simulated:        true,
	}
}

// Sample is one cheap read: SM clock on the 15 MHz grid, the 1 s moving
// average power (GetPowerUsage), temperature, utilisation and event reasons.
func (g *GPU) Sample(ctx context.Context) (nvgpu.Sample, error) {
	if err := ctx.Err(); err != nil {
		return nvgpu.Sample{}, err
	}
	var e, busy float64
	for i := range g.slotEnergy {
		e += g.slotEnergy[i]
		busy += g.slotBusy[i]
	}
	// The current slot is partly filled; the oldest one stands in for the
	// rest of the window, as a ring buffer of a hardware average would.
	window := float64(avgSlots-1)*avgSlotLength.Seconds() + (avgSlotLength - (g.slotEnd - g.now)).Seconds()
	return nvgpu.Sample{
		SMClockMHz:  g.gridClock(),
		MemClockMHz: g.memMHz(),
		PowerAvgW:   e / max(window, avgSlotLength.Seconds()),
		TempC:       math.Round(g.tempDie),
		UtilGPU:     min(busy/max(window, 1e-9), 1),
		EventReason: g.reasons,
	}, nil
}

// gridClock rounds the effective clock down to the profile's 15 MHz grid.
func (g *GPU) gridClock() int {
	p := g.phys.prof
	steps := int(math.Floor((g.smMHz - float64(p.MinCoreMHz) + 1e-6) / float64(p.CoreStepMHz)))
	return p.MinCoreMHz + max(steps, 0)*p.CoreStepMHz
}

// InstantPower is NVML field 186: the power over the last ~100 ms update
// interval plus sensor noise, changing only at those updates.
func (g *GPU) InstantPower(ctx context.Context) (nvgpu.PowerReading, error) {
	if err := ctx.Err(); err != nil {
		return nvgpu.PowerReading{}, err
	}
	return nvgpu.PowerReading{At: time.Unix(virtualEpochUnix, 0).UTC().Add(g.instAt), MilliWatts: g.instMW}, nil
}

// EnergyCounter is the total energy in mJ since "driver load", latched every
// ~100 ms (64–128 ms).
func (g *GPU) EnergyCounter(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return g.counterMJ, nil
}

// LockCoreClock locks the SM clock to mhz after the clock latency.
func (g *GPU) LockCoreClock(ctx context.Context, mhz int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := g.phys.prof
	if !p.SupportsCoreClock(mhz) {
		return fmt.Errorf("sim %s: SM clock %d MHz (supported: %d–%d MHz in %d MHz steps): %w",
			p.Name, mhz, p.MinCoreMHz, p.MaxCoreMHz, p.CoreStepMHz, nvgpu.ErrUnsupportedClock)
	}
	g.schedule(mhz)
	return nil
}

// ResetCoreClock returns the SM clock to the default governor after the
// clock latency.
func (g *GPU) ResetCoreClock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.schedule(0)
	return nil
}

func (g *GPU) schedule(mhz int) {
	if g.latency == 0 {
		g.lockMHz, g.pending = mhz, false
		return
	}
	g.pending, g.pendingMHz, g.pendingAt = true, mhz, g.now+g.latency
}

// LockMemClock locks the memory clock; nvgpu.ErrNotSupported where the
// profile refuses memory locks.
func (g *GPU) LockMemClock(ctx context.Context, mhz int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p := g.phys.prof
	if !p.MemLockSupported {
		return fmt.Errorf("sim %s: memory clock lock: %w", p.Name, nvgpu.ErrNotSupported)
	}
	if !p.SupportsMemClock(mhz) {
		return fmt.Errorf("sim %s: memory clock %d MHz (supported: %v): %w", p.Name, mhz, p.MemClocksMHz, nvgpu.ErrUnsupportedClock)
	}
	g.memLockMHz = mhz
	return nil
}

// ResetMemClock returns the memory clock to its default.
func (g *GPU) ResetMemClock(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.memLockMHz = 0
	return nil
}
