package bench

import (
	"context"
	"maps"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/sim"
)

// TestSimConvergence is issue 5's third convergence environment: the
// simulator on a stationary workload (Poisson arrivals at the conversation
// trace's mean rate, 5.5 req/s, H100 nominal), one 10-minute segment, the
// real control loop. The best static clock comes from a sweep like the
// benchmark's (coarse grid, then every step around the best); rounds to
// converge use the project's definition (bandit.ConvergeRound) over the
// learner's decision windows. Arrivals are the same for every seed; the
// seed changes the learners. It takes ~20 s on 2 cores, so it runs only when
// GPUTUNE_SIM_CONVERGENCE is set:
//
//	GPUTUNE_SIM_CONVERGENCE=1 go test ./internal/bench -run SimConvergence -v
func TestSimConvergence(t *testing.T) {
	if os.Getenv("GPUTUNE_SIM_CONVERGENCE") == "" {
		t.Skip("set GPUTUNE_SIM_CONVERGENCE=1 to run (~20 s)")
	}
	seeds := 5
	if s, err := strconv.Atoi(os.Getenv("GPUTUNE_SIM_CONVERGENCE_SEEDS")); err == nil && s > 0 {
		seeds = s
	}
	ctx := context.Background()
	sc := Scenario{Name: "poisson-stationary", Duration: 10 * time.Minute,
		Workload: sim.Workload{Name: sim.WorkloadPoisson, Rate: 5.5, Seed: 1},
		Seed:     1, Config: config.Default(), Oracle: OracleGreedy}
	base, err := sim.New(sc.simConfig())
	if err != nil {
		t.Fatal(err)
	}
	obj := control.Objective(sc.Config.Control.Objective)
	clocks := base.GPU().Facts().CoreClocksMHz

	statics := map[int]run{}
	sweep := func(mhz int) {
		if _, ok := statics[mhz]; ok {
			return
		}
		r, err := runLoop(ctx, sc, &base, staticName(mhz), nil)
		if err != nil {
			t.Fatal(err)
		}
		r.mhz = mhz
		statics[mhz] = r
	}
	for i := len(clocks) - 1; i >= 0; i -= staticCoarseSteps {
		sweep(clocks[i])
	}
	bestOf := func() int {
		best, bestObj := 0, math.Inf(1)
		for mhz, r := range statics {
			if o := segmentObjective(obj, r.windows, 0, SegmentLength); o < bestObj {
				best, bestObj = mhz, o
			}
		}
		return best
	}
	i := slices.Index(clocks, bestOf())
	for j := max(0, i-staticRefineSteps); j <= min(len(clocks)-1, i+staticRefineSteps); j++ {
		sweep(clocks[j])
	}
	staticRuns := slices.Collect(maps.Values(statics))
	t.Logf("best static clock over the segment: %d MHz", bestOf())

	median := map[string]float64{}
	for _, policy := range []string{PolicyGPUTune, PolicyAGFT} {
		var rounds []float64
		converged := 0
		var lastDist float64
		for seed := 1; seed <= seeds; seed++ {
			s := sc
			s.Seed = uint64(seed)
			r, err := runLoop(ctx, s, &base, policy, nil)
			if err != nil {
				t.Fatal(err)
			}
			segs := convergence(obj, r, staticRuns)
			if len(segs) == 0 || segs[0].Windows == 0 {
				t.Fatalf("%s seed %d: no decision windows in the segment", policy, seed)
			}
			seg := segs[0]
			// A run that never converges counts as the segment's length, as
			// in bandit's convergence table.
			n := float64(seg.Windows)
			if seg.Rounds != nil {
				n = float64(*seg.Rounds)
				converged++
			}
			rounds = append(rounds, n)
			lastDist += meanDistance(r.windows, seg.BestMHz, 100) / float64(seeds)
		}
		q1, med, q3 := quartiles(rounds)
		median[policy] = med
		t.Logf("%-8s rounds median %5.0f  IQR [%5.0f, %5.0f]  converged %d/%d  mean |f−best| last 100 decisions %5.1f MHz",
			policy, med, q1, q3, converged, seeds, lastDist)
	}
	if median[PolicyGPUTune] > median[PolicyAGFT] {
		t.Errorf("gputune needs more rounds than agft on the stationary simulator: median %v vs %v",
			median[PolicyGPUTune], median[PolicyAGFT])
	}
}

// meanDistance is the mean |commanded − best| over the last n decision
// windows.
func meanDistance(ws []Window, best, n int) float64 {
	var d []float64
	for _, w := range ws {
		if isDecision(w.Mode) {
			d = append(d, math.Abs(float64(w.CmdMHz-best)))
		}
	}
	if len(d) > n {
		d = d[len(d)-n:]
	}
	var s float64
	for _, v := range d {
		s += v
	}
	return s / math.Max(float64(len(d)), 1)
}

// quartiles returns the 25th, 50th and 75th percentiles (linear
// interpolation).
func quartiles(v []float64) (q1, med, q3 float64) {
	s := slices.Clone(v)
	sort.Float64s(s)
	at := func(p float64) float64 {
		x := p * float64(len(s)-1)
		lo := int(math.Floor(x))
		hi := min(lo+1, len(s)-1)
		return s[lo] + (x-float64(lo))*(s[hi]-s[lo])
	}
	return at(0.25), at(0.5), at(0.75)
}
