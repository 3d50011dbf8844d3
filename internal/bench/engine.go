package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/sim"
)

// Policy groups that --policies selects from.
// Those named like a loop policy run that policy (control/setting).
const (
	PolicyDefault  = string(setting.PolicyDefault)
	PolicyStatic   = string(setting.PolicyStatic) // the clock sweep and static-best
	PolicyPowerCap = "power-cap"                  // the power-limit sweep and power-cap-best
	PolicyAGFT     = string(setting.PolicyAGFT)
	PolicyGPUTune  = string(setting.PolicyGPUTune)
)

// AllPolicies is every policy group, in table order.
func AllPolicies() []string {
	return []string{PolicyDefault, PolicyStatic, PolicyPowerCap, PolicyAGFT, PolicyGPUTune, PolicyOracle}
}

// Static sweep: a coarse grid every staticCoarseSteps clock steps (the
// maximum included), then every step within ±staticRefineSteps of the best.
const (
	staticCoarseSteps = 6
	staticRefineSteps = 3
)

// Power-limit sweep: every capCoarseW from the highest allowed limit down
// to the lowest, then capCoarseW/2 either side of the best.
const capCoarseW = 50.0

// Options set how a benchmark runs, not what it measures.
type Options struct {
	// Policies is the subset of AllPolicies to run; empty: all.
	Policies []string
	// Workers bounds the policies run at once; 0: GOMAXPROCS.
	Workers int
	// Progress, when set, is told the overall fraction done.
	Progress func(frac float64)

	// reuse holds runs that do not depend on the seed (the default
	// governor, statics, power caps and the oracle on a trace replay),
	// shared across a suite's seeds; nil: run everything.
	reuse *runCache
}

// runCache keeps seed-independent runs by policy name.
type runCache struct {
	mu   sync.Mutex
	runs map[string]run
}

func (c *runCache) get(name string) (run, bool) {
	if c == nil {
		return run{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.runs[name]
	return r, ok
}

func (c *runCache) put(name string, r run) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs == nil {
		c.runs = map[string]run{}
	}
	c.runs[name] = r
}

// Report is one scenario's results.
type Report struct {
	Scenario      ScenarioInfo   `json:"scenario"`
	SimParamsHash string         `json:"sim_params_hash"`
	OracleNote    string         `json:"oracle_note"`
	StaticBestMHz int            `json:"static_best_mhz,omitempty"`
	PowerCapBestW float64        `json:"power_cap_best_w,omitempty"`
	Policies      []PolicyResult `json:"policies"`
	Targets       []Target       `json:"targets,omitempty"`
	WallS         float64        `json:"wall_s"`

	runs map[string]run
	rate []RatePoint
}

// ScenarioInfo records what was run.
type ScenarioInfo struct {
	Name       string  `json:"name"`
	Workload   string  `json:"workload"`
	Trace      string  `json:"trace,omitempty"`
	DurationS  float64 `json:"duration_s"`
	Requests   int     `json:"requests,omitempty"`
	GPUProfile string  `json:"gpu_profile"`
	Params     string  `json:"sim_params"`
	Seed       uint64  `json:"seed"`
	RateScale  float64 `json:"rate_scale"`
	SLOTTFTS   float64 `json:"slo_ttft_s"`
	SLOTPOTS   float64 `json:"slo_tpot_s"`
	Objective  string  `json:"objective"`
	Oracle     string  `json:"oracle"`
	// ImportedModel is the model file the gputune policy started from.
	ImportedModel string  `json:"imported_model,omitempty"`
	PeriodS       float64 `json:"period_s"`
}

// RatePoint is the request arrival rate over one bin, for plots.
type RatePoint struct {
	T, ReqPerS float64
}

// Policy returns the named policy's result.
func (r *Report) Policy(name string) (PolicyResult, bool) {
	for _, p := range r.Policies {
		if p.Name == name {
			return p, true
		}
	}
	return PolicyResult{}, false
}

// Windows returns a policy's per-window record (nil if it did not run).
func (r *Report) Windows(name string) []Window { return r.runs[name].windows }

// Run runs every selected policy on sc and measures them.
func Run(ctx context.Context, sc Scenario, opt Options) (*Report, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	base, err := sim.New(sc.simConfig())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScenario, err)
	}
	hash, err := sim.ParamsHash(sc.GPUProfile, sc.Params)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrScenario, err)
	}
	want := map[string]bool{}
	for _, p := range opt.Policies {
		if !slices.Contains(AllPolicies(), p) {
			return nil, fmt.Errorf("%w: --policies: unknown policy %q (choose from %v)", ErrScenario, p, AllPolicies())
		}
		want[p] = true
	}
	if len(want) == 0 {
		for _, p := range AllPolicies() {
			want[p] = true
		}
	}

	if want[PolicyStatic] || want[PolicyPowerCap] || want[PolicyOracle] {
		// The sweeps are judged against the default governor's attainment.
		want[PolicyDefault] = true
	}
	if want[PolicyOracle] {
		// Its rollouts end on static-best's clock and its λ is static-best's.
		want[PolicyStatic] = true
	}

	ex := newExecutor(ctx, opt)
	if !seedFree(sc) {
		opt.reuse = nil // these arrivals change with the seed
	}
	ex.reuse = opt.reuse
	// Longest first: the learners take longest.
	for _, name := range []string{PolicyGPUTune, PolicyAGFT, PolicyDefault} {
		if want[name] {
			ex.submit(name, func(p func(float64)) (run, error) { return runLoop(ctx, sc, &base, name, p) })
		}
	}
	clocks := base.GPU().Facts().CoreClocksMHz
	staticRun := func(mhz int, sweep string) func(func(float64)) (run, error) {
		return func(p func(float64)) (run, error) {
			r, err := runLoop(ctx, sc, &base, staticName(mhz), p)
			r.mhz, r.sweep = mhz, sweep
			return r, err
		}
	}
	capRun := func(w float64, sweep string) func(func(float64)) (run, error) {
		return func(p func(float64)) (run, error) {
			b := base.Clone()
			if err := b.GPU().SetPowerLimitW(w); err != nil {
				return run{}, err
			}
			r, err := runLoop(ctx, sc, &b, PolicyDefault, p)
			r.name, r.powerW, r.sweep = capName(w), w, sweep
			return r, err
		}
	}
	coarse := map[int]bool{}
	if want[PolicyStatic] {
		for _, c := range coarseGrid(clocks) {
			coarse[c] = true
		}
		for _, c := range slices.Sorted(maps.Keys(coarse)) {
			ex.submit(staticName(c), staticRun(c, "coarse"))
		}
	}
	facts := base.GPU().Facts()
	coarseCaps := map[float64]bool{}
	if want[PolicyPowerCap] {
		for _, w := range capGrid(facts.PowerMinW, facts.PowerMaxW) {
			coarseCaps[w] = true
		}
		for _, w := range slices.Sorted(maps.Keys(coarseCaps)) {
			ex.submit(capName(w), capRun(w, "coarse"))
		}
	}
	// Announce the later jobs, so that progress does not jump backwards.
	later := 0.0
	if want[PolicyStatic] {
		later += 2 * staticRefineSteps
	}
	if want[PolicyPowerCap] {
		later += 2
	}
	if want[PolicyOracle] {
		later += oracleWeight
	}
	ex.expect(later)
	runs, err := ex.wait()
	if err != nil {
		return nil, err
	}
	obj := control.Objective(sc.Config.Control.Objective)
	if want[PolicyStatic] {
		for _, c := range refineAround(clocks, bestStatic(runs, obj)) {
			if !coarse[c] {
				ex.submit(staticName(c), staticRun(c, "refine"))
			}
		}
	}
	if want[PolicyPowerCap] {
		if best := bestCap(runs, obj); best > 0 {
			for _, w := range []float64{best - capCoarseW/2, best + capCoarseW/2} {
				if w >= facts.PowerMinW && w <= facts.PowerMaxW && !coarseCaps[w] {
					ex.submit(capName(w), capRun(w, "refine"))
				}
			}
		}
	}
	if runs, err = ex.wait(); err != nil {
		return nil, err
	}
	if want[PolicyOracle] {
		sb, ok := runs[staticName(bestStatic(runs, obj))]
		if !ok {
			sb = runs[PolicyDefault] // no static clock kept the SLOs: the tail is the highest clock
		}
		workers := opt.Workers
		ex.submit(PolicyOracle, func(p func(float64)) (run, error) { return runHorizon(ctx, sc, &base, sb, workers, p) })
		if runs, err = ex.wait(); err != nil {
			return nil, err
		}
	}
	rep := assemble(sc, runs, obj)
	rep.SimParamsHash = hash
	rep.rate = arrivalRate(sc, runs[PolicyDefault], 30)
	rep.WallS = time.Since(start).Seconds()
	return rep, nil
}

// capGrid is the power-limit sweep's first pass: every capCoarseW from hi
// down, and lo.
func capGrid(lo, hi float64) []float64 {
	var out []float64
	for w := hi; w > lo; w -= capCoarseW {
		out = append(out, w)
	}
	return append(out, lo)
}

func capName(w float64) string { return "power-cap:" + strconv.FormatFloat(w, 'f', -1, 64) }

// bestCap is the power limit with the best objective among those whose SLO
// attainment is within 1 point of the default governor's; 0 when none is.
func bestCap(runs map[string]run, obj control.Objective) float64 {
	def, ok := runs[PolicyDefault]
	if !ok {
		return 0
	}
	floor := def.truth.SLOAttainment() - 0.01
	best, bestObj := 0.0, math.Inf(1)
	for _, r := range runs {
		if r.powerW == 0 || !(r.truth.SLOAttainment() >= floor) {
			continue
		}
		t := r.truth
		o := objective(obj, t.EnergyJ, e2eSum(t), t.OutputTokens)
		if o < bestObj || (o == bestObj && r.powerW > best) {
			best, bestObj = r.powerW, o
		}
	}
	return best
}

// coarseGrid is the static sweep's first pass: every staticCoarseSteps-th
// clock from the highest down.
func coarseGrid(clocks []int) []int {
	var out []int
	for i := len(clocks) - 1; i >= 0; i -= staticCoarseSteps {
		out = append(out, clocks[i])
	}
	return out
}

// refineAround is the sweep's second pass: every clock within
// staticRefineSteps of best (none when best is not a clock).
func refineAround(clocks []int, best int) []int {
	i := slices.Index(clocks, best)
	if i < 0 {
		return nil
	}
	return clocks[max(0, i-staticRefineSteps):min(len(clocks), i+staticRefineSteps+1)]
}

func staticName(mhz int) string { return setting.StaticPolicy(mhz).String() }

// bestStatic is the static clock with the best objective among those whose
// SLO attainment is within 1 point of the default governor's; 0 when none is.
func bestStatic(runs map[string]run, obj control.Objective) int {
	def, ok := runs[PolicyDefault]
	if !ok {
		return 0
	}
	floor := def.truth.SLOAttainment() - 0.01
	best, bestObj := 0, math.Inf(1)
	for _, r := range runs {
		if r.mhz == 0 || !(r.truth.SLOAttainment() >= floor) {
			continue
		}
		t := r.truth
		o := objective(obj, t.EnergyJ, e2eSum(t), t.OutputTokens)
		if o < bestObj || (o == bestObj && r.mhz > best) {
			best, bestObj = r.mhz, o
		}
	}
	return best
}

// executor runs jobs on a bounded number of goroutines and tracks progress.
type executor struct {
	ctx     context.Context
	sem     chan struct{}
	mu      sync.Mutex
	wg      sync.WaitGroup
	runs    map[string]run
	errs    []error
	frac    map[string]float64 // done fraction × weight, per job
	total   float64            // Σ weight of the jobs submitted
	notify  func(float64)
	pending float64 // Σ weight of the jobs announced but not submitted
	reuse   *runCache
}

// oracleWeight is horizon-oracle's share of the progress bar against one
// loop run's 1: its rollouts cost about as much as 30 runs of the loop.
const oracleWeight = 30

func newExecutor(ctx context.Context, opt Options) *executor {
	n := opt.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return &executor{ctx: ctx, sem: make(chan struct{}, n), runs: map[string]run{}, frac: map[string]float64{}, notify: opt.Progress}
}

// expect announces jobs that will be submitted later, so progress does not
// jump backwards.
func (e *executor) expect(n float64) {
	e.mu.Lock()
	e.pending += n
	e.mu.Unlock()
}

func (e *executor) submit(name string, job func(progress func(float64)) (run, error)) {
	w := weight(name)
	e.mu.Lock()
	e.total += w
	e.pending = max(e.pending-w, 0)
	e.frac[name] = 0
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		select {
		case e.sem <- struct{}{}:
		case <-e.ctx.Done():
			e.fail(e.ctx.Err())
			return
		}
		defer func() { <-e.sem }()
		seedFree := name != PolicyGPUTune && name != PolicyAGFT
		r, cached := run{}, false
		if seedFree {
			r, cached = e.reuse.get(name)
		}
		if !cached {
			var err error
			r, err = job(func(f float64) { e.progress(name, f) })
			if err != nil {
				e.fail(fmt.Errorf("%s: %w", name, err))
				return
			}
			if seedFree {
				e.reuse.put(name, r)
			}
		}
		e.mu.Lock()
		e.runs[name] = r
		e.mu.Unlock()
		e.progress(name, 1)
	}()
}

func (e *executor) fail(err error) {
	e.mu.Lock()
	e.errs = append(e.errs, err)
	e.mu.Unlock()
}

func (e *executor) progress(name string, f float64) {
	if e.notify == nil {
		return
	}
	e.mu.Lock()
	e.frac[name] = f * weight(name)
	var sum float64
	for _, v := range e.frac {
		sum += v
	}
	total := e.total + e.pending
	e.mu.Unlock()
	e.notify(sum / total)
}

func weight(name string) float64 {
	if name == PolicyOracle {
		return oracleWeight
	}
	return 1
}

// wait waits for every job submitted so far and returns all runs so far.
func (e *executor) wait() (map[string]run, error) {
	e.wg.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := errors.Join(e.errs...); err != nil {
		return nil, err
	}
	return maps.Clone(e.runs), nil
}
