package bench

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/assembly"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/sim"
)

// PolicyOracle is the receding-horizon reference's name in results.
const PolicyOracle = "horizon-oracle"

// Horizon is the receding-horizon reference's method. Its defaults are fixed
// by the bench's specification so that no later change can weaken the
// reference; --oracle may change them for experiments only.
type Horizon struct {
	// Replan is how often the clock is chosen again.
	Replan time.Duration
	// Hold is how long each candidate clock is played in a rollout; Tail
	// how long the static-best clock is played after it. Without the tail
	// a rollout books the backlog a low clock leaves to nobody, and the
	// reference collapses where load is high (the A100).
	Hold, Tail time.Duration
	// Stride: the candidates are every Stride-th supported clock from the
	// highest down, plus the previous choice and its two neighbours.
	Stride int
}

// DefaultHorizon is the reference's fixed method.
func DefaultHorizon() Horizon {
	return Horizon{Replan: 3 * time.Second, Hold: 10 * time.Second, Tail: 20 * time.Second, Stride: 4}
}

// ParseHorizon reads --oracle: empty for the defaults, else comma-separated
// key=value pairs among replan, hold, tail (durations) and stride (an
// integer) that override them.
func ParseHorizon(spec string) (Horizon, error) {
	h := DefaultHorizon()
	if strings.TrimSpace(spec) == "" {
		return h, nil
	}
	for kv := range strings.SplitSeq(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return h, fmt.Errorf("--oracle %q: want key=value pairs (replan=3s,hold=10s,tail=20s,stride=4)", kv)
		}
		var err error
		switch k {
		case "replan":
			h.Replan, err = time.ParseDuration(v)
		case "hold":
			h.Hold, err = time.ParseDuration(v)
		case "tail":
			h.Tail, err = time.ParseDuration(v)
		case "stride":
			h.Stride, err = strconv.Atoi(v)
		default:
			return h, fmt.Errorf("--oracle: unknown key %q (want replan, hold, tail or stride)", k)
		}
		if err != nil {
			return h, fmt.Errorf("--oracle %s: %w", k, err)
		}
	}
	if h.Replan <= 0 || h.Hold <= 0 || h.Tail < 0 || h.Stride < 1 {
		return h, fmt.Errorf("--oracle %q: replan and hold must be positive, tail not negative, stride at least 1", spec)
	}
	return h, nil
}

// horizonText is the method a spec stands for, as results record it.
func horizonText(spec string) string {
	h, err := ParseHorizon(spec)
	if err != nil {
		return spec
	}
	return h.String()
}

func (h Horizon) String() string {
	return fmt.Sprintf("replan=%s,hold=%s,tail=%s,stride=%d", h.Replan, h.Hold, h.Tail, h.Stride)
}

// horizonPlan is what one decision needs: the state to plan from and the
// cost's constants.
type horizonPlan struct {
	h       Horizon
	tailMHz int     // the static-best clock played after the hold
	lambda  float64 // J per request-second in the server: E/D of static-best
}

// rollout is the additive cost of playing mhz for Hold and then tailMHz for
// Tail from s, on a copy made in scratch: ΔE + λ·(Σ end-to-end latency of
// the requests it finished + Σ ages of those still in the server), less the
// ages at the start (the same for every candidate). By Little's law the
// delay term is the time integral of the requests in the server.
//
// Both terms only grow as the rollout goes on, so a rollout whose cost so
// far is already above bound() (the cheapest complete rollout so far) can
// never be the cheapest: it stops there and returns +Inf. The choice is
// the same as without stopping; it only costs less.
func (p *horizonPlan) rollout(ctx context.Context, s, scratch *sim.Sim, mhz int, bound func() float64) float64 {
	s.CloneInto(scratch)
	c := scratch
	t0 := c.Truth()
	e0, d0 := t0.EnergyJ, e2eSum(t0)-c.InServerAgeS()
	cost := func() float64 {
		t := c.Truth()
		return t.EnergyJ - e0 + p.lambda*(e2eSum(t)+c.InServerAgeS()-d0)
	}
	play := func(mhz int, d time.Duration) bool {
		if c.GPU().LockedMHz() != mhz {
			_ = c.GPU().LockCoreClock(ctx, mhz)
		}
		for left := d; left > 0; left -= rolloutCheck {
			c.Step(min(left, rolloutCheck))
			if cost() > bound() {
				return false
			}
		}
		return true
	}
	if !play(mhz, p.h.Hold) || !play(p.tailMHz, p.h.Tail) {
		return math.Inf(1)
	}
	return cost()
}

// rolloutCheck is how often a rollout compares its cost so far with the
// cheapest complete one.
const rolloutCheck = 2 * time.Second

// candidates is every stride-th clock from the highest down, plus prev and
// its neighbours, in ascending order without repeats.
func candidates(clocks []int, stride, prev int) []int {
	var out []int
	for i := len(clocks) - 1; i >= 0; i -= stride {
		out = append(out, clocks[i])
	}
	if i := slices.Index(clocks, prev); i >= 0 {
		for _, j := range []int{i - 1, i, i + 1} {
			if j >= 0 && j < len(clocks) {
				out = append(out, clocks[j])
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// decider evaluates candidates on workers goroutines, each with its own
// scratch simulation, so that a decision allocates nothing once warm.
type decider struct {
	plan    horizonPlan
	scratch []sim.Sim
	costs   []float64
	order   []int
	best    atomic.Uint64 // float64 bits: the cheapest complete rollout so far
}

func newDecider(plan horizonPlan, workers int) *decider {
	return &decider{plan: plan, scratch: make([]sim.Sim, max(workers, 1))}
}

// bound is the cheapest complete rollout so far (+Inf before the first).
func (d *decider) bound() float64 { return math.Float64frombits(d.best.Load()) }

// lower makes c the bound if it is cheaper.
func (d *decider) lower(c float64) {
	for {
		old := d.best.Load()
		if !(c < math.Float64frombits(old)) || d.best.CompareAndSwap(old, math.Float64bits(c)) {
			return
		}
	}
}

// decide returns the cheapest candidate from s (ties: the higher clock).
// Candidates nearest prev go first: the last choice is usually near the
// best, so the bound is tight early and most rollouts stop short.
func (d *decider) decide(ctx context.Context, s *sim.Sim, cands []int, prev int) int {
	n := len(cands)
	d.costs = slices.Grow(d.costs[:0], n)[:n]
	d.order = slices.Grow(d.order[:0], n)[:n]
	for i := range d.order {
		d.order[i] = i
	}
	slices.SortStableFunc(d.order, func(a, b int) int { return cmp.Compare(abs(cands[a]-prev), abs(cands[b]-prev)) })
	d.best.Store(math.Float64bits(math.Inf(1)))
	eval := func(w, k int) {
		i := d.order[k]
		d.costs[i] = d.plan.rollout(ctx, s, &d.scratch[w], cands[i], d.bound)
		d.lower(d.costs[i])
	}
	if len(d.scratch) == 1 {
		for k := range n {
			eval(0, k)
		}
	} else {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := range d.scratch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := int(next.Add(1) - 1); k < n; k = int(next.Add(1) - 1) {
					eval(w, k)
				}
			}()
		}
		wg.Wait()
	}
	best := 0
	for i := range cands {
		if d.costs[i] <= d.costs[best] {
			best = i
		}
	}
	return cands[best]
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// runHorizon is the receding-horizon reference: every Replan it tries each
// candidate clock on a cloned simulator (clairvoyant about the trace's
// future arrivals, which the clone carries) and locks the cheapest; the
// loop's idle rule applies between decisions. sb is the static-best run
// (its clock is the rollouts' tail and its E/D the cost's λ).
func runHorizon(ctx context.Context, sc Scenario, base *sim.Sim, sb run, workers int, progress func(float64)) (run, error) {
	h, err := ParseHorizon(sc.Oracle)
	if err != nil {
		return run{}, fmt.Errorf("%w: %w", ErrScenario, err)
	}
	s := base.Clone()
	facts := s.GPU().Facts()
	arms, err := assembly.Arms(sc.Config, facts)
	if err != nil {
		return run{}, err
	}
	var clocks []int
	for _, a := range arms {
		if a.MemMHz == 0 {
			clocks = append(clocks, a.SMMHz)
		}
	}
	idleMHz := clocks[0]
	if c := sc.Config.GPU.IdleClockMHz; c > 0 {
		idleMHz = nvgpu.Snap(facts.CoreClocksMHz, c)
	}
	plan := horizonPlan{h: h, tailMHz: sb.mhz, lambda: lambdaOf(sb)}
	if plan.tailMHz == 0 {
		plan.tailMHz = clocks[len(clocks)-1]
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	d := newDecider(plan, workers)
	period := sc.Config.Control.Period.Duration
	limit := runLimit(sc, base)
	idleAfter := sc.Config.Control.IdleWindows
	var tr tracker
	chosen, current := plan.tailMHz, 0
	idle, nextPlan := 0, time.Duration(0)
	lock := func(mhz int) {
		if mhz != current {
			current = mhz
			_ = s.GPU().LockCoreClock(ctx, mhz)
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			return run{}, err
		}
		mode := "oracle"
		switch {
		case idle >= idleAfter:
			mode = string(control.ModeIdle)
			lock(idleMHz)
			nextPlan = s.Now() // plan as soon as work comes back
		case s.Now() >= nextPlan:
			chosen = d.decide(ctx, &s, candidates(clocks, h.Stride, chosen), chosen)
			nextPlan = s.Now() + h.Replan
			fallthrough
		default:
			lock(chosen)
		}
		before := s.Truth()
		s.Step(period)
		tr.record(&s, current, mode)
		after := s.Truth()
		if after.Running+after.Waiting == 0 && after.OutputTokens == before.OutputTokens && after.PromptTokens == before.PromptTokens {
			idle++
		} else {
			idle = 0
		}
		now := s.Now()
		if progress != nil {
			progress(min(now.Seconds()/(limit-drainLimit).Seconds(), 1))
		}
		if s.Done() || now >= limit {
			break
		}
	}
	_ = s.GPU().ResetCoreClock(ctx)
	return run{name: PolicyOracle, windows: tr.windows, truth: s.Truth(), step: clockStep(facts)}, nil
}

// lambdaOf is E/D of a run: joules per second of request time in the
// server (D = Σ end-to-end latency). At the optimum of E·D/N² with N fixed
// by the trace, minimising E + λ·D with this λ is the same problem.
func lambdaOf(r run) float64 {
	if d := e2eSum(r.truth); d > 0 {
		return r.truth.EnergyJ / d
	}
	return 0
}
