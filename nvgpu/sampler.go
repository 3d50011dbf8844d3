package nvgpu

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// SamplerConfig says how often a Sampler reads the GPU.
type SamplerConfig struct {
	// PowerEvery is the instant-power poll period (default 20 ms: five
	// reads per ~100 ms sensor step, so a change is timed within ±10 ms).
	PowerEvery time.Duration
	// CounterEvery is how many power polls pass between energy-counter reads
	// (default 250, i.e. every 5 s at 20 ms). The counter costs ~3.9 ms of
	// CPU per read, so reading it rarely is what keeps the meter cheap.
	CounterEvery int
	// Ticks, when set, replaces the real ticker (tests, virtual time).
	Ticks <-chan time.Time
	// Now stamps counter reads; nil means time.Now.
	Now func() time.Time
}

// Sampler feeds a Meter from a Reader until its context ends.
type Sampler struct {
	reader Reader
	meter  *Meter
	cfg    SamplerConfig
	log    *slog.Logger
}

// NewSampler builds a Sampler; zero config fields take their defaults.
func NewSampler(r Reader, m *Meter, cfg SamplerConfig, logger *slog.Logger) (*Sampler, error) {
	if r == nil || m == nil {
		return nil, fmt.Errorf("sampler needs a Reader and a Meter")
	}
	if cfg.PowerEvery == 0 {
		cfg.PowerEvery = 20 * time.Millisecond
	}
	if cfg.CounterEvery == 0 {
		cfg.CounterEvery = 250
	}
	if cfg.PowerEvery < 0 || cfg.CounterEvery < 0 {
		return nil, fmt.Errorf("sampler periods must be positive, got PowerEvery %v CounterEvery %d", cfg.PowerEvery, cfg.CounterEvery)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Sampler{reader: r, meter: m, cfg: cfg, log: logger}, nil
}

// Run polls until ctx ends and returns ctx's error. Read errors are logged
// (rate-limited) and skipped: a window that loses its readings is refused
// by Meter.Energy rather than guessed.
func (s *Sampler) Run(ctx context.Context) error {
	ticks := s.cfg.Ticks
	if ticks == nil {
		tk := time.NewTicker(s.cfg.PowerEvery)
		defer tk.Stop()
		ticks = tk.C
	}
	var n, powerErrs, counterErrs int
	// Read the counter on the first tick so calibration starts at once.
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case _, ok := <-ticks:
			if !ok {
				return nil
			}
		}
		r, err := s.reader.InstantPower(ctx)
		if err != nil && ctx.Err() != nil {
			return ctx.Err() // shutting down: not a sensor failure
		}
		if err != nil {
			powerErrs++
			if powerErrs == 1 || powerErrs%500 == 0 {
				s.log.Warn("instant power read failed", "err", err, "failures", powerErrs)
			}
		} else {
			s.meter.Observe(r)
		}
		if n%s.cfg.CounterEvery == 0 {
			before := s.cfg.Now()
			mJ, err := s.reader.EnergyCounter(ctx)
			after := s.cfg.Now()
			if err != nil {
				counterErrs++
				if counterErrs == 1 || counterErrs%50 == 0 {
					s.log.Warn("energy counter read failed", "err", err, "failures", counterErrs)
				}
			} else {
				// The call takes milliseconds; its midpoint is the best stamp.
				s.meter.ObserveCounter(before.Add(after.Sub(before)/2), mJ)
			}
		}
		n++
	}
}
