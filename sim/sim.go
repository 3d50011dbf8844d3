package sim

import (
	"fmt"
	"math"
	"time"

	"github.com/gputune/gputune/scrape"
)

// Config describes one simulation. Zero fields take defaults.
type Config struct {
	// GPUProfile ("h100-sxm") and Params ("nominal") pick the simulated GPU.
	GPUProfile, Params string
	// Model is a model profile name ("llama-3.1-8b").
	Model  string
	Engine EngineConfig
	// Workload says which requests arrive when.
	Workload Workload
	// Flavor is the server the exposition imitates (vllm-v1).
	Flavor scrape.Flavor
	// Epoch is the wall-clock time of virtual time zero: it stamps samples
	// and the exposition's _created series. Zero means the GPU's own
	// virtual epoch (Unix 1.8e9), so that a simulation is reproducible.
	Epoch time.Time
	// SLO sets the limits whose attainment Truth counts exactly.
	SLO SLO
}

// SLO is a pair of per-request latency limits; a zero limit is not checked.
type SLO struct {
	TTFT time.Duration // time to first token
	TPOT time.Duration // mean time per output token after the first
}

// Sim is the whole simulation: GPU, engine and workload, a value advanced
// in virtual time by Step. It holds no goroutines, timers, maps or pointers
// to requests; Clone makes an independent copy.
type Sim struct {
	now      time.Duration
	epoch    time.Time
	flavor   scrape.Flavor
	gpu      GPU
	engine   engine
	arrivals arrivals
}

// New builds a simulation; every name in cfg is checked.
func New(cfg Config) (Sim, error) {
	model, err := LookupModel(cfg.Model)
	if err != nil {
		return Sim{}, err
	}
	profile, params := cfg.GPUProfile, cfg.Params
	if profile == "" {
		profile = "h100-sxm"
	}
	if params == "" {
		params = "nominal"
	}
	gpu, err := NewGPU(profile, params)
	if err != nil {
		return Sim{}, fmt.Errorf("sim GPU: %w", err)
	}
	eng, err := newEngine(model, cfg.Engine, cfg.SLO)
	if err != nil {
		return Sim{}, err
	}
	arr, err := newArrivals(cfg.Workload)
	if err != nil {
		return Sim{}, err
	}
	flavor := cfg.Flavor
	switch flavor {
	case "":
		flavor = scrape.FlavorVLLMV1
	case scrape.FlavorVLLMV1, scrape.FlavorVLLMV0, scrape.FlavorSGLang:
	default:
		return Sim{}, fmt.Errorf("%w %q (the simulator serves %s, %s or %s)", ErrUnknownFlavor, flavor,
			scrape.FlavorVLLMV1, scrape.FlavorVLLMV0, scrape.FlavorSGLang)
	}
	epoch := cfg.Epoch
	if epoch.IsZero() {
		epoch = time.Unix(virtualEpochUnix, 0).UTC()
	}
	return Sim{epoch: epoch, flavor: flavor, gpu: gpu, engine: eng, arrivals: arr}, nil
}

// Clone returns an independent copy: stepping one never changes the other.
// The parsed trace is shared; it never changes.
func (s *Sim) Clone() Sim {
	c := *s
	// Appending to nil skips zeroing the copy; schedule's appends regrow it.
	c.engine.running = append([]request(nil), s.engine.running...)
	c.engine.waiting = s.engine.waiting.clone()
	return c
}

// CloneInto makes dst an independent copy of s, reusing dst's request
// storage: trying many clocks from one state (the benchmark's oracle)
// then allocates nothing. dst must not be s and must not share storage
// with s (a Sim from New, Clone or an earlier CloneInto never does).
func (s *Sim) CloneInto(dst *Sim) {
	running, waiting := dst.engine.running, dst.engine.waiting
	*dst = *s
	dst.engine.running = append(running[:0], s.engine.running...)
	dst.engine.waiting = waiting
	s.engine.waiting.cloneInto(&dst.engine.waiting)
}

// Now is the virtual time since the start.
func (s *Sim) Now() time.Duration { return s.now }

// WallNow is the virtual time as a wall-clock time (Epoch + Now).
func (s *Sim) WallNow() time.Time { return s.epoch.Add(s.now) }

// GPU gives access to the simulated GPU, for wrappers that implement
// nvgpu.Reader and nvgpu.Controller. Changing its clocks between steps is
// how a tuner acts on the simulation.
func (s *Sim) GPU() *GPU { return &s.gpu }

// Done reports whether the workload has ended and every request finished.
func (s *Sim) Done() bool {
	_, more := s.arrivals.peek()
	return !more && !s.engine.inflight && len(s.engine.running) == 0 && s.engine.waiting.len() == 0
}

// Step advances the simulation by dt of virtual time. An engine step that
// does not fit in dt stays in flight and finishes in a later Step; the GPU
// is advanced piece by piece so that its energy is right at every boundary.
func (s *Sim) Step(dt time.Duration) {
	if dt <= 0 {
		return
	}
	s.advance(s.now+dt, untilTarget)
}

// until says where advance may stop before its target.
type until int

const (
	// untilTarget runs to the target.
	untilTarget until = iota
	// untilDone stops earlier once the workload has ended and the last
	// request finished.
	untilDone
)

// advance runs the simulation to target, or, with untilDone, until the
// workload has ended and the last request finished if that comes first.
func (s *Sim) advance(target time.Duration, stop until) {
	e := &s.engine
	for s.now < target {
		if e.inflight {
			d := min(e.remaining, target-s.now)
			s.gpu.Advance(d, e.work)
			s.now += d
			e.remaining -= d
			e.finishDueSubSteps(s.now)
			if e.remaining == 0 {
				e.inflight = false
				e.finishStep(s.now, false)
			}
			continue
		}
		s.admitArrivals()
		if w := e.schedule(s.now); !w.IsIdle() {
			d := s.gpu.StepTime(w)
			// A step takes time even if a GPU model says otherwise;
			// without this the loop could spin at one instant.
			d = max(d, time.Microsecond)
			next, due := s.arrivals.peek()
			k := e.decodeRun(s.now, d, next.at, due)
			e.inflight, e.work, e.stepStart = true, w, s.now
			e.subDur, e.subLeft, e.remaining = d, k-1, time.Duration(k)*d
			continue
		}
		if stop == untilDone && s.Done() {
			return
		}
		next := target
		if p, ok := s.arrivals.peek(); ok && p.at < next {
			next = max(p.at, s.now)
		}
		if next == s.now {
			// A request arriving now was admitted but cannot be scheduled
			// and nothing runs: impossible with requests cut to fit the
			// cache, but never spin.
			next = target
		}
		s.gpu.Advance(next-s.now, Work{})
		s.now = next
	}
}

// admitArrivals moves every request that has arrived by now into the queue.
func (s *Sim) admitArrivals() {
	for {
		p, ok := s.arrivals.peek()
		if !ok || p.at > s.now {
			return
		}
		s.engine.arrive(p)
		s.arrivals.take()
	}
}

// RunUntilDone steps until the workload has ended and the last request has
// finished (stopping at that instant), or until limit of virtual time has
// passed; it reports whether the simulation is done. A looping workload
// never ends.
func (s *Sim) RunUntilDone(limit time.Duration) bool {
	if limit > 0 {
		s.advance(s.now+limit, untilDone)
	}
	return s.Done()
}

// Truth is what really happened, for benchmarks: not visible to a tuner
// that only reads /metrics and NVML.
type Truth struct {
	Elapsed time.Duration
	// EnergyJ is the GPU's true cumulative energy since the start.
	EnergyJ float64
	// Steps is the number of engine steps; BusyS their total duration.
	Steps float64
	BusyS float64

	Arrived, Finished, Preemptions float64
	PromptTokens, OutputTokens     float64
	Running, Waiting               int
	KVUsage                        float64

	// Per finished request: time to first token, mean time per output
	// token after the first (0 for one-token requests) and end-to-end.
	TTFT, TPOT, E2E LatencyDist

	// SLO attainment counts for Config.SLO: finished requests that met
	// the TTFT limit, the TPOT limit, and both.
	SLO                      SLO
	TTFTMet, TPOTMet, SLOMet float64
}

// Truth returns the ground truth so far.
func (s *Sim) Truth() Truth {
	st := &s.engine.stats
	return Truth{
		Elapsed:      s.now,
		EnergyJ:      s.gpu.EnergyJ(),
		Steps:        st.steps,
		BusyS:        st.busy,
		Arrived:      st.arrived,
		Finished:     st.finished,
		Preemptions:  st.preemptions,
		PromptTokens: st.promptTokens,
		OutputTokens: st.genTokens,
		Running:      len(s.engine.running),
		Waiting:      s.engine.waiting.len(),
		KVUsage:      s.engine.kvUsage(),
		TTFT:         st.truthTTFT,
		TPOT:         st.truthTPOT,
		E2E:          st.truthE2E,
		SLO:          st.slo,
		TTFTMet:      st.sloTTFTMet,
		TPOTMet:      st.sloTPOTMet,
		SLOMet:       st.sloMet,
	}
}

// SLOAttainment is the fraction of finished requests that met both limits
// (NaN before any finished).
func (t Truth) SLOAttainment() float64 {
	if t.Finished == 0 {
		return math.NaN()
	}
	return t.SLOMet / t.Finished
}

// JoulesPerOutputToken is the energy per generated token (NaN when none).
func (t Truth) JoulesPerOutputToken() float64 {
	if t.OutputTokens == 0 {
		return math.NaN()
	}
	return t.EnergyJ / t.OutputTokens
}

// gpuStamp moves a timestamp from the GPU's virtual epoch to the Sim's.
func (s *Sim) gpuStamp(at time.Time) time.Time {
	return s.epoch.Add(at.Sub(time.Unix(virtualEpochUnix, 0)))
}
