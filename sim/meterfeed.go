package sim

import (
	"context"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// How often a simulated GPU's sensors are read into an energy meter, in
// simulated time: nvgpu.Sampler's defaults (instant power every 20 ms, the
// energy counter every 250 polls). The benchmark and the live simulation
// feed their meters alike, so the demo measures what the benchmark does.
const (
	MeterPowerEvery   = 20 * time.Millisecond
	MeterCounterEvery = 5 * time.Second
)

// Observer receives a simulated GPU's sensor readings; *nvgpu.Meter is one.
type Observer interface {
	Observe(nvgpu.PowerReading)
	ObserveCounter(at time.Time, mJ uint64)
}

// ObservePower gives obs the GPU's instant power as NVML would report it
// now, stamped on the Sim's clock.
func (s *Sim) ObservePower(obs Observer) {
	if r, err := s.gpu.InstantPower(context.Background()); err == nil {
		r.At = s.gpuStamp(r.At)
		obs.Observe(r)
	}
}

// CounterFeed reads the energy counter into a meter at most once every
// MeterCounterEvery; the first call reads it.
type CounterFeed struct{ next time.Duration }

// Observe gives obs a counter read if one is due.
func (c *CounterFeed) Observe(s *Sim, obs Observer) {
	now := s.Now()
	if now < c.next {
		return
	}
	if mJ, err := s.gpu.EnergyCounter(context.Background()); err == nil {
		obs.ObserveCounter(s.WallNow(), mJ)
	}
	c.next = now + MeterCounterEvery
}
