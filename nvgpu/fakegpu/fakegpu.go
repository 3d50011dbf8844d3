// Package fakegpu is an in-memory GPU that implements nvgpu.Reader and
// nvgpu.Controller with the measurement artefacts of a real H100 (see
// ../../../shared/data/h100-nvml-probe/README.md): an energy counter in mJ
// that steps every 64–128 ms, an instant-power field that steps every
// ~100 ms and sees only part of each period, with sensor noise, and a
// GetPowerUsage that is a 1 s moving average. It records every lock and
// reset so tests can assert on them. It never touches real hardware.
package fakegpu

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// PowerTrace is the true power in watts at offset t since the fake's start.
type PowerTrace func(t time.Duration) float64

// Constant is a flat power trace.
func Constant(watts float64) PowerTrace { return func(time.Duration) float64 { return watts } }

// Config describes a fake GPU. Zero fields take H100 defaults.
type Config struct {
	Index int
	Name  string
	UUID  string
	// CoreClocksMHz defaults to 345–1980 MHz in 15 MHz steps.
	CoreClocksMHz []int
	// MemClocksMHz defaults to 1593 and 2619 MHz.
	MemClocksMHz []int
	// RefuseMemLock makes LockMemClock return nvgpu.ErrNotSupported.
	RefuseMemLock bool
	// NoPermission makes every lock and reset return nvgpu.ErrNoPermission.
	NoPermission bool
	// Power is the true power; default a flat 120 W.
	Power PowerTrace
	// Now is the fake's clock; default time.Now. Pass a virtual clock to
	// drive the fake in simulated time.
	Now func() time.Time
	// Seed makes sensor noise and update jitter reproducible.
	Seed uint64
	// SensorNoiseW is the standard deviation of the instant field's noise
	// (default 1.5 W; the H100 idle trace wobbles by ~1 W).
	SensorNoiseW float64
	// SensorGain scales what the instant field reports (default 1): a
	// biased sensor that the meter's counter calibration must correct.
	SensorGain float64
	// SensorWindow is the part of each ~100 ms period the instant field
	// averages (default 25 ms, as Yang et al. report for A100/H100), ending
	// SensorDelay (default 8 ms) before the value is published.
	SensorWindow, SensorDelay time.Duration
}

// Call is one recorded controller call.
type Call struct {
	Op  string // "lock-core", "reset-core", "lock-mem", "reset-mem"
	MHz int    // the requested clock for locks, 0 for resets
	Err error  // what the fake returned
}

// Resolution of the internal power integration.
const tick = time.Millisecond

// GPU is the fake device. It is safe for concurrent use.
type GPU struct {
	mu    sync.Mutex
	cfg   Config
	facts nvgpu.Facts
	rng   *rand.Rand

	start   time.Time
	simT    time.Duration // integrated up to here
	cumJ    float64       // true energy up to simT
	history []float64     // ring of per-tick mean watts over the last second
	histPos int
	histSum float64

	counterMJ   uint64
	nextCounter time.Duration

	instantMW   uint32
	nextInstant time.Duration
	instantAt   time.Time

	coreLocked, memLocked int
	calls                 []Call
}

// New builds a fake GPU.
func New(cfg Config) *GPU {
	if cfg.Name == "" {
		cfg.Name = "NVIDIA H100 80GB HBM3 (fake)"
	}
	if cfg.UUID == "" {
		cfg.UUID = fmt.Sprintf("GPU-fake-%04d", cfg.Index)
	}
	if cfg.CoreClocksMHz == nil {
		for f := 345; f <= 1980; f += 15 {
			cfg.CoreClocksMHz = append(cfg.CoreClocksMHz, f)
		}
	}
	if cfg.MemClocksMHz == nil {
		cfg.MemClocksMHz = []int{1593, 2619}
	}
	cfg.CoreClocksMHz = slices.Sorted(slices.Values(cfg.CoreClocksMHz))
	cfg.MemClocksMHz = slices.Sorted(slices.Values(cfg.MemClocksMHz))
	if cfg.Power == nil {
		cfg.Power = Constant(120)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SensorNoiseW == 0 {
		cfg.SensorNoiseW = 1.5
	}
	if cfg.SensorGain == 0 {
		cfg.SensorGain = 1
	}
	if cfg.SensorWindow == 0 {
		cfg.SensorWindow = 25 * time.Millisecond
	}
	if cfg.SensorDelay == 0 {
		cfg.SensorDelay = 8 * time.Millisecond
	}
	g := &GPU{
		cfg: cfg,
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		facts: nvgpu.Facts{
			Index: cfg.Index, UUID: cfg.UUID, Name: cfg.Name, Driver: "fake",
			CoreClocksMHz: slices.Clone(cfg.CoreClocksMHz), MemClocksMHz: slices.Clone(cfg.MemClocksMHz),
			MemLockSupported: !cfg.RefuseMemLock,
			PowerLimitW:      700, PowerMinW: 200, PowerMaxW: 700,
			EnergyCounter: true, InstantPower: true,
		},
		history: make([]float64, int(time.Second/tick)),
		start:   cfg.Now(),
	}
	// Start mid-period, like a process attaching to a running driver.
	g.nextCounter = time.Duration(g.rng.Int64N(int64(100 * time.Millisecond)))
	g.nextInstant = time.Duration(g.rng.Int64N(int64(100 * time.Millisecond)))
	p := cfg.Power(0)
	g.instantMW = uint32(math.Max(0, p*cfg.SensorGain) * 1000)
	g.instantAt = g.start
	for i := range g.history {
		g.history[i] = p
	}
	g.histSum = p * float64(len(g.history))
	return g
}

// advance integrates the true power up to now and fires the sensor updates
// that fell in between.
func (g *GPU) advance() time.Time {
	now := g.cfg.Now()
	target := now.Sub(g.start)
	for g.simT+tick <= target {
		w := g.cfg.Power(g.simT + tick/2)
		g.simT += tick
		g.cumJ += w * tick.Seconds()
		g.histSum += w - g.history[g.histPos]
		g.history[g.histPos] = w
		g.histPos = (g.histPos + 1) % len(g.history)
		if g.simT >= g.nextCounter {
			g.counterMJ = uint64(g.cumJ * 1000)
			// Measured: median 100 ms, range 64–128 ms.
			g.nextCounter += 100*time.Millisecond + g.jitter(36*time.Millisecond, 28*time.Millisecond)
		}
		if g.simT >= g.nextInstant {
			g.instantMW = g.sensorMW()
			g.instantAt = g.start.Add(g.simT)
			g.nextInstant += 100*time.Millisecond + g.jitter(4*time.Millisecond, 4*time.Millisecond)
		}
	}
	return now
}

// jitter is uniform in [-below, +above].
func (g *GPU) jitter(below, above time.Duration) time.Duration {
	return time.Duration(g.rng.Int64N(int64(below+above)+1)) - below
}

// sensorMW averages the true power over the sensor window that ended
// SensorDelay ago, then adds noise and the sensor's gain.
func (g *GPU) sensorMW() uint32 {
	n := int(g.cfg.SensorWindow / tick)
	skip := int(g.cfg.SensorDelay / tick)
	var sum float64
	for i := 0; i < n; i++ {
		idx := (g.histPos - 1 - skip - i + 2*len(g.history)) % len(g.history)
		sum += g.history[idx]
	}
	w := sum/float64(n)*g.cfg.SensorGain + g.rng.NormFloat64()*g.cfg.SensorNoiseW
	return uint32(math.Max(0, w) * 1000)
}

// TrueEnergyJ is the exact energy used in [from, to], integrated the same
// way the fake integrates it internally. Tests compare meter estimates
// against it.
func (g *GPU) TrueEnergyJ(from, to time.Time) float64 {
	a := from.Sub(g.start).Truncate(tick)
	b := to.Sub(g.start).Truncate(tick)
	var j float64
	for x := a; x < b; x += tick {
		j += g.cfg.Power(x+tick/2) * tick.Seconds()
	}
	return j
}

// Start is the fake's time zero (the PowerTrace's offset 0).
func (g *GPU) Start() time.Time { return g.start }

// Facts implements nvgpu.Reader.
func (g *GPU) Facts() nvgpu.Facts {
	return g.facts.Clone()
}

// Sample implements nvgpu.Reader.
func (g *GPU) Sample(ctx context.Context) (nvgpu.Sample, error) {
	if err := ctx.Err(); err != nil {
		return nvgpu.Sample{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance()
	core := g.cfg.CoreClocksMHz[len(g.cfg.CoreClocksMHz)-1]
	if g.coreLocked != 0 {
		core = g.coreLocked
	}
	mem := g.cfg.MemClocksMHz[len(g.cfg.MemClocksMHz)-1]
	if g.memLocked != 0 {
		mem = g.memLocked
	}
	var reasons uint64
	if g.coreLocked != 0 {
		reasons |= nvgpu.ReasonAppClocksSetting
	}
	avg := g.histSum / float64(len(g.history))
	return nvgpu.Sample{
		SMClockMHz: core, MemClockMHz: mem, PowerAvgW: avg,
		TempC: 40 + avg/20, UtilGPU: math.Min(1, avg/500), EventReason: reasons,
	}, nil
}

// InstantPower implements nvgpu.Reader.
func (g *GPU) InstantPower(ctx context.Context) (nvgpu.PowerReading, error) {
	if err := ctx.Err(); err != nil {
		return nvgpu.PowerReading{}, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.advance()
	return nvgpu.PowerReading{At: now, MilliWatts: g.instantMW}, nil
}

// EnergyCounter implements nvgpu.Reader.
func (g *GPU) EnergyCounter(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance()
	return g.counterMJ, nil
}

// LockCoreClock implements nvgpu.Controller.
func (g *GPU) LockCoreClock(ctx context.Context, mhz int) error {
	return g.control(ctx, "lock-core", mhz, func() error {
		if !slices.Contains(g.cfg.CoreClocksMHz, mhz) {
			return fmt.Errorf("fake core clock %d MHz: %w", mhz, nvgpu.ErrUnsupportedClock)
		}
		g.coreLocked = mhz
		return nil
	})
}

// ResetCoreClock implements nvgpu.Controller.
func (g *GPU) ResetCoreClock(ctx context.Context) error {
	return g.control(ctx, "reset-core", 0, func() error { g.coreLocked = 0; return nil })
}

// LockMemClock implements nvgpu.Controller.
func (g *GPU) LockMemClock(ctx context.Context, mhz int) error {
	return g.control(ctx, "lock-mem", mhz, func() error {
		if g.cfg.RefuseMemLock {
			return fmt.Errorf("fake memory clock lock: %w", nvgpu.ErrNotSupported)
		}
		if !slices.Contains(g.cfg.MemClocksMHz, mhz) {
			return fmt.Errorf("fake memory clock %d MHz: %w", mhz, nvgpu.ErrUnsupportedClock)
		}
		g.memLocked = mhz
		return nil
	})
}

// ResetMemClock implements nvgpu.Controller.
func (g *GPU) ResetMemClock(ctx context.Context) error {
	return g.control(ctx, "reset-mem", 0, func() error { g.memLocked = 0; return nil })
}

func (g *GPU) control(ctx context.Context, op string, mhz int, apply func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var err error
	if g.cfg.NoPermission {
		err = fmt.Errorf("fake %s: %w", op, nvgpu.ErrNoPermission)
	} else {
		err = apply()
	}
	g.calls = append(g.calls, Call{Op: op, MHz: mhz, Err: err})
	return err
}

// Calls returns every controller call so far, in order.
func (g *GPU) Calls() []Call {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.calls)
}

// Locked reports the clocks locked now (0 = not locked).
func (g *GPU) Locked() (coreMHz, memMHz int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.coreLocked, g.memLocked
}

// Compile-time proof that the fake is a full device.
var (
	_ nvgpu.Reader     = (*GPU)(nil)
	_ nvgpu.Controller = (*GPU)(nil)
)
