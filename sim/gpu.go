package sim

import (
	"math"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// GPU is the simulated GPU's state: a value type that clones by plain
// assignment. It points only at immutable profile and parameter tables; its
// noise comes from a generator whose state is a field, so a clone continues
// the same deterministic sequence independently of the original.
type GPU struct {
	phys physics

	now     time.Duration // virtual time since start
	ctxHeld bool          // a process holds a CUDA context
	limitW  float64

	// Clocks: lockMHz is the SM lock in effect (0: none); a lock or reset
	// takes effect latency after it was asked for.
	lockMHz    int
	memLockMHz int
	pending    bool
	pendingMHz int
	pendingAt  time.Duration
	latency    time.Duration

	// Ground truth as of the last Advance.
	smMHz    float64
	powerW   float64
	memW     float64
	energyJ  float64
	reasons  uint64
	busy     bool
	tempDie  float64
	tempSink float64
	ambient  float64
	powFast  float64 // power filtered with the die's time constant

	noise rng

	// last caches the clock, step time and power of the last Work evaluated:
	// an engine calls StepTime and then Advance with the same Work, and
	// decode steps repeat, so most evaluations are cache hits.
	last evalCache

	// NVML artefacts. The energy counter and instant power latch on their
	// own jittered ~100 ms schedules; GetPowerUsage averages ten 100 ms slots.
	counterBaseMJ uint64
	counterMJ     uint64
	nextCounterAt time.Duration
	instMW        uint32
	instAt        time.Duration
	nextInstAt    time.Duration
	instMarkJ     float64
	slotEnergy    [avgSlots]float64
	slotBusy      [avgSlots]float64
	slot          int
	slotEnd       time.Duration
}

const (
	avgSlots      = 10
	avgSlotLength = 100 * time.Millisecond
	// DefaultClockLatency is how long a lock or reset takes to apply.
	DefaultClockLatency = 30 * time.Millisecond
	// DefaultSeed seeds NewGPU's noise.
	DefaultSeed uint64 = 1
)

// NewGPU builds a GPU from a profile name ("h100-sxm", "a100-sxm"; empty
// means h100-sxm) and a parameter-set name ("nominal", "pessimistic",
// "optimistic"; empty means nominal), seeded with DefaultSeed. It starts
// idle with a CUDA context held, as an inference server's GPU does.
func NewGPU(profile, params string) (GPU, error) {
	return NewGPUSeeded(profile, params, DefaultSeed)
}

// NewGPUSeeded is NewGPU with an explicit noise seed.
func NewGPUSeeded(profile, params string, seed uint64) (GPU, error) {
	prof, err := LookupProfile(profile)
	if err != nil {
		return GPU{}, err
	}
	set, err := LookupParams(params)
	if err != nil {
		return GPU{}, err
	}
	return newGPU(prof, set, seed), nil
}

// newGPU builds a GPU from tables the caller guarantees are valid and will
// never modify (the calibration tests pass fitted copies).
func newGPU(prof *Profile, set *ParamSet, seed uint64) GPU {
	base := newRNG(seed ^ 0x9e3779b97f4a7c15)
	g := GPU{
		phys:       newPhysics(prof, set),
		ctxHeld:    true,
		limitW:     prof.PowerLimitW,
		latency:    DefaultClockLatency,
		memLockMHz: 0,
		noise:      newRNG(seed),
		// A driver loaded some time ago: the counter does not start at 0.
		counterBaseMJ: 1_000_000 + base.next()%1_000_000_000,
		slotEnd:       avgSlotLength,
	}
	g.SetAmbient(prof.Thermal.AmbientC)
	g.counterMJ = g.counterBaseMJ
	g.nextCounterAt = g.counterInterval()
	g.nextInstAt = g.counterInterval()
	return g
}

// SetAmbient sets the cooling air temperature and settles the die and sink
// at the idle steady state for it (a GPU that has been idle a while).
func (g *GPU) SetAmbient(c float64) {
	th := &g.phys.prof.Thermal
	f := g.targetClock(false)
	t := c
	var p float64
	for range 20 { // fixed point: leakage depends on temperature
		p, _ = g.phys.powerFor(Work{}, f, g.memMHz(), t)
		t = c + (th.RSinkAmbient+th.RDieSink)*p
	}
	g.ambient = c
	g.tempSink = c + th.RSinkAmbient*p
	g.tempDie = t
	g.powFast = p
	g.powerW = p
	g.smMHz = f
	for i := range g.slotEnergy {
		g.slotEnergy[i] = p * avgSlotLength.Seconds()
	}
	g.instMW = uint32(p * 1000)
}

// SetContextHeld says whether a process holds a CUDA context: with one the
// default governor keeps the boost clock through idle (~120 W on H100);
// without, it drops to the idle clock (~75 W).
func (g *GPU) SetContextHeld(held bool) { g.ctxHeld = held }

// SetClockLatency sets how long a clock lock or reset takes to apply.
// Negative values are treated as zero.
func (g *GPU) SetClockLatency(d time.Duration) { g.latency = max(d, 0) }

// Now is the GPU's virtual time since start.
func (g *GPU) Now() time.Duration { return g.now }

// Profile and Params name what the GPU simulates.
func (g *GPU) Profile() *Profile { return g.phys.prof }
func (g *GPU) Params() *ParamSet { return g.phys.set }

// ParamsHash is ParamsHash for this GPU's profile and parameter set.
func (g *GPU) ParamsHash() string { return hashOf(g.phys.prof, g.phys.set) }

// Ground truth, as of the last Advance.

// SMClockMHz is the SM clock in effect (continuous: under the power cap the
// firmware dithers between 15 MHz steps; this is the time average).
func (g *GPU) SMClockMHz() float64 { return g.smMHz }

// PowerW is the true board power.
func (g *GPU) PowerW() float64 { return g.powerW }

// MemPowerW is the true memory-domain (HBM) power.
func (g *GPU) MemPowerW() float64 { return g.memW }

// EnergyJ is the true energy since the GPU was built, in joules.
func (g *GPU) EnergyJ() float64 { return g.energyJ }

// TempC is the die temperature.
func (g *GPU) TempC() float64 { return g.tempDie }

// EventReasons is the clock event reason bitmask (nvgpu.Reason*).
func (g *GPU) EventReasons() uint64 { return g.reasons }

// LockedMHz is the SM lock in effect (0: default governor).
func (g *GPU) LockedMHz() int { return g.lockMHz }

func (g *GPU) memMHz() int {
	if g.memLockMHz != 0 {
		return g.memLockMHz
	}
	return g.phys.prof.DefaultMemMHz()
}

// targetClock is what the lock or the default governor asks for, before the
// power cap.
func (g *GPU) targetClock(busy bool) float64 {
	switch {
	case g.lockMHz != 0:
		return float64(g.lockMHz)
	case busy || g.ctxHeld:
		return float64(g.phys.prof.MaxCoreMHz)
	default:
		return float64(g.phys.prof.IdleCoreMHz)
	}
}

// evalCache is the last evaluation of the physics for one Work.
type evalCache struct {
	valid    bool
	work     Work
	target   float64
	mem      int
	tempC    float64 // temperature the cap was solved at
	f        float64
	capped   bool
	stepS    float64
	powerNoT float64 // power less the temperature (leakage) term
	memW     float64
	// kernelShare is the share of the step during which kernels run (not
	// host time): what NVML's utilisation counts as busy.
	kernelShare float64
}

// capResolveC is how far the die may drift before a capped clock is solved
// again: 0.5 °C moves leakage by ~0.5 W, the clock by ~1 MHz.
const capResolveC = 0.5

// eval is the clock, step time and power of w now, after the power cap.
func (g *GPU) eval(w Work) (f float64, capped bool, stepS, power, memW float64) {
	target, mem := g.targetClock(!w.IsIdle()), g.memMHz()
	c := &g.last
	if c.valid && c.work == w && c.target == target && c.mem == mem {
		p := c.powerNoT + g.phys.leak(c.f, g.tempDie)
		if (!c.capped && p <= g.limitW) || (c.capped && math.Abs(g.tempDie-c.tempC) < capResolveC) {
			return c.f, c.capped, c.stepS, p, c.memW
		}
	}
	// Uncapped (the common case) needs one evaluation at the target.
	f = target
	stepS, power, memW = g.phys.stepAndPower(w, f, mem, g.tempDie)
	if power > g.limitW {
		f, capped = g.phys.capClockAbove(w, target, power, mem, g.tempDie, g.limitW), true
		stepS, power, memW = g.phys.stepAndPower(w, f, mem, g.tempDie)
	}
	share := 1.0
	if stepS > 0 {
		share = 1 - g.phys.set.HostStepS/stepS
		if !w.ServerStep {
			share = 1
		}
	}
	*c = evalCache{valid: true, work: w, target: target, mem: mem, tempC: g.tempDie, f: f, capped: capped,
		stepS: stepS, powerNoT: power - g.phys.leak(f, g.tempDie), memW: memW, kernelShare: share}
	return f, capped, stepS, power, memW
}

// StepTime is how long w takes at the clock in effect now, including any
// power-cap throttling that w itself causes.
func (g *GPU) StepTime(w Work) time.Duration {
	if w.IsIdle() {
		return 0
	}
	_, _, s, _, _ := g.eval(w)
	return time.Duration(s * float64(time.Second))
}

// Advance runs w (zero Work: idle) for d: it integrates energy, moves the
// temperature, applies due clock changes and updates the NVML artefacts.
// A non-positive d does nothing.
func (g *GPU) Advance(d time.Duration, w Work) {
	busy := !w.IsIdle()
	for d > 0 {
		if g.pending && g.now >= g.pendingAt {
			g.lockMHz = g.pendingMHz
			g.pending = false
		}
		chunk := min(d, g.slotEnd-g.now, g.nextCounterAt-g.now, g.nextInstAt-g.now)
		if g.pending {
			chunk = min(chunk, g.pendingAt-g.now)
		}
		chunk = max(chunk, 1) // events due now are handled below
		g.integrate(chunk, w, busy)
		d -= chunk
		g.now += chunk
		g.fireEvents()
	}
}

// integrate holds the clock and power constant over dt (at most ~100 ms
// because of the artefact schedules) and moves the temperature exactly.
func (g *GPU) integrate(dt time.Duration, w Work, busy bool) {
	f, capped, _, p, mem := g.eval(w)
	g.smMHz, g.powerW, g.memW, g.busy = f, p, mem, busy
	g.reasons = 0
	switch {
	case capped:
		g.reasons |= nvgpu.ReasonSWPowerCap
	case g.lockMHz != 0 && g.lockMHz < g.phys.prof.MaxCoreMHz:
		g.reasons |= nvgpu.ReasonAppClocksSetting
	}
	if !busy && !g.ctxHeld && g.lockMHz == 0 {
		g.reasons |= nvgpu.ReasonGPUIdle
	}
	sec := dt.Seconds()
	e := p * sec
	g.energyJ += e
	g.slotEnergy[g.slot] += e
	if busy {
		g.slotBusy[g.slot] += sec * g.last.kernelShare
	}
	th := &g.phys.prof.Thermal
	g.powFast += (p - g.powFast) * (1 - math.Exp(-sec/th.TauDieS))
	sinkTarget := g.ambient + th.RSinkAmbient*p
	g.tempSink += (sinkTarget - g.tempSink) * (1 - math.Exp(-sec/th.TauSinkS))
	g.tempDie = g.tempSink + th.RDieSink*g.powFast
}

// fireEvents handles the artefact schedules that fall due at g.now.
func (g *GPU) fireEvents() {
	if g.now >= g.slotEnd {
		g.slot = (g.slot + 1) % avgSlots
		g.slotEnergy[g.slot] = 0
		g.slotBusy[g.slot] = 0
		g.slotEnd += avgSlotLength
	}
	if g.now >= g.nextCounterAt {
		g.counterMJ = g.counterBaseMJ + uint64(g.energyJ*1000)
		g.nextCounterAt = g.now + g.counterInterval()
	}
	if g.now >= g.nextInstAt {
		span := (g.now - g.instAt).Seconds()
		avg := g.powerW
		if span > 0 {
			avg = (g.energyJ - g.instMarkJ) / span
		}
		// Sensor noise: ~1.5 W plus 0.5% of reading, one sigma (the probe's
		// instant field scatters by a few watts at a steady load).
		avg += g.noise.normal() * (1.5 + 0.005*avg)
		g.instMW = uint32(max(avg, 0) * 1000)
		g.instAt = g.now
		g.instMarkJ = g.energyJ
		g.nextInstAt = g.now + g.counterInterval()
	}
}

// counterInterval draws the time to the next counter or instant-power
// update: median 100 ms, within 64–128 ms as the probe measured.
func (g *GPU) counterInterval() time.Duration {
	ms := 100 + 8*g.noise.normal()
	ms = min(max(ms, 64), 128)
	return time.Duration(ms * float64(time.Millisecond))
}
