package bench

import (
	"context"
	"math"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/sim"
)

// Oracle search: a coarse grid of every oracleCoarseSteps-th clock (and the
// maximum), then refinement around the best at ±4, ±2 and ±1 steps. The
// greedy oracle is not a bound: it picks the best clock for the next window
// alone, blind to what the choice does to later windows (a low clock leaves
// a queue that a later window pays for).
const oracleCoarseSteps = 8

// oracleEval is one candidate clock tried for one window from a cloned state.
type oracleEval struct {
	mhz    int
	obj    float64 // the window's objective; +Inf when no token came out
	energy float64
	misses float64 // requests finished in the window that broke an SLO limit
}

// runOracle is the greedy oracle: at each decision window it clones the
// simulation, runs the window at candidate clocks, and locks the one with the
// best window objective among those that break no more SLOs than the
// maximum clock does.
func runOracle(ctx context.Context, sc Scenario, base *sim.Sim, progress func(float64)) (run, error) {
	s := base.Clone()
	facts := s.GPU().Facts()
	clocks := facts.CoreClocksMHz
	period := sc.Config.Control.Period.Duration
	obj := control.Objective(sc.Config.Control.Objective)
	limit := runLimit(sc, base)
	full := sc.Oracle == OracleFull

	coarse := []int{}
	for i := len(clocks) - 1; i >= 0; i -= oracleCoarseSteps {
		coarse = append(coarse, i)
	}
	if coarse[len(coarse)-1] != 0 {
		coarse = append(coarse, 0)
	}
	if full {
		coarse = coarse[:0]
		for i := range clocks {
			coarse = append(coarse, i)
		}
	}
	tried := make(map[int]oracleEval, 32)
	var scratch sim.Sim // reused for every candidate window
	try := func(i int) oracleEval {
		if e, ok := tried[i]; ok {
			return e
		}
		e := evalWindow(ctx, &s, &scratch, clocks[i], period, obj)
		tried[i] = e
		return e
	}
	var tr tracker
	current := 0
	for {
		if err := ctx.Err(); err != nil {
			return run{}, err
		}
		clear(tried)
		best := -1
		maxIdx := len(clocks) - 1
		bound := try(maxIdx).misses
		better := func(i int) {
			e := try(i)
			if e.misses > bound {
				return
			}
			if best < 0 || e.obj < tried[best].obj ||
				(e.obj == tried[best].obj && !math.IsInf(e.obj, 1) && e.energy < tried[best].energy) {
				best = i
			}
		}
		for _, i := range coarse {
			better(i)
		}
		if !full {
			for _, d := range []int{4, 2, 1} {
				c := best
				for _, j := range []int{c - d, c + d} {
					if j >= 0 && j <= maxIdx {
						better(j)
					}
				}
			}
		}
		if best < 0 {
			best = maxIdx
		}
		if clocks[best] != current {
			current = clocks[best]
			_ = s.GPU().LockCoreClock(ctx, current)
		}
		s.Step(period)
		tr.record(&s, current, "oracle")
		now := s.Now()
		if progress != nil {
			progress(min(now.Seconds()/limit.Seconds(), 1))
		}
		if s.Done() || now >= limit {
			break
		}
	}
	_ = s.GPU().ResetCoreClock(ctx)
	name := "greedy-oracle"
	r := run{name: name, windows: tr.windows, truth: s.Truth(), step: clockStep(facts)}
	return r, nil
}

// evalWindow runs one window at mhz on a copy of s made in scratch.
func evalWindow(ctx context.Context, s, scratch *sim.Sim, mhz int, period time.Duration, obj control.Objective) oracleEval {
	s.CloneInto(scratch)
	c := scratch
	before := c.Truth()
	if c.GPU().LockedMHz() != mhz {
		_ = c.GPU().LockCoreClock(ctx, mhz)
	}
	m0 := c.Metrics()
	c.Step(period)
	after := c.Truth()
	m1 := c.Metrics()
	e := oracleEval{mhz: mhz, energy: after.EnergyJ - before.EnergyJ,
		misses: (after.Finished - after.SLOMet) - (before.Finished - before.SLOMet)}
	n := after.OutputTokens - before.OutputTokens
	e.obj = math.Inf(1)
	if n > 0 {
		e.obj = e.energy / n
		if obj != control.ObjEnergy {
			// The window's delay per token exactly as the loop measures it
			// from /metrics: (ΔΣTTFT + ΔΣinter-token gaps)/N.
			delay := (m1.TTFT.Sum - m0.TTFT.Sum) + (m1.ITL.Sum - m0.ITL.Sum)
			// Plus what the window leaves behind, as the loop's backlog
			// charge estimates it, here from ground truth: each extra
			// request in the server will cost about one mean end-to-end
			// latency. Without it a greedy choice starves the server near
			// saturation, since the queue it leaves lands on later windows.
			if m := after.E2E.Mean(); m > 0 {
				grew := float64(after.Running+after.Waiting) - float64(before.Running+before.Waiting)
				delay = max(delay+m*grew, 0.25*delay)
			}
			e.obj *= delay / n
		}
	} else if after.Running+after.Waiting == 0 {
		// Nothing to serve: the window's energy is all that differs.
		e.obj = e.energy
	}
	return e
}
