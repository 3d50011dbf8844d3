package bandit

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// retrackRound is the first round r of a segment after which the chosen
// clock stays within ±tol MHz of best in at least 90 of the next 100
// windows: the convergence definition with a tolerance, so that it also
// measures whether a policy found the new optimum's neighbourhood.
func retrackRound(chosen []int, best, tol int) (int, bool) {
	return ConvergeRound(chosen, best, tol)
}

// TestDrift changes the workload without any change in the context: the
// EDP curve turns from the smooth shape (best 1050 MHz) into the roofline
// knee (best 1650 MHz) at round driftAt. Only the rewards tell, so only
// forgetting, pruning and the settling rule can move the choice.
func TestDrift(t *testing.T) {
	if raceEnabled {
		t.Skip("a long single-goroutine simulation: the race detector has nothing to check")
	}
	const (
		driftAt = 400
		after   = 400
		// bound is a re-tracking time that is logged, with the strict
		// ±1 step (±15 MHz) and ±45 MHz figures: on the knee the B-spline
		// model's smoothed optimum sits a few steps left of the kink (see
		// docs/gputune-policy.md).
		bound     = 300
		coarseMHz = 120
	)
	const seeds = 20
	segs := []regime{smoothRegime(0), kneeRegime(0)}
	best := []int{bestStatic(segs[0], envArms()), bestStatic(segs[1], envArms())}
	for _, v := range convergenceVariants() {
		var near, coarse []int
		var excess []float64
		within := 0
		for seed := 1; seed <= seeds; seed++ {
			chosen := runChosen(t, v, uint64(seed), segs, []int{driftAt, after}, 0.08)
			excess = append(excess, edpExcess(segs[1], chosen[driftAt+after-100:]))
			r, ok := retrackRound(chosen[driftAt:], best[1], 45)
			if !ok {
				r = after
			}
			near = append(near, r)
			r, ok = retrackRound(chosen[driftAt:], best[1], coarseMHz)
			if !ok {
				r = after
			}
			coarse = append(coarse, r)
			if ok && r <= bound {
				within++
			}
		}
		slices.Sort(excess)
		medExcess := excess[len(excess)/2]
		q1, med, q3 := quartiles(near)
		c1, cmed, c3 := quartiles(coarse)
		t.Log(fmt.Sprintf("drift %d→%d MHz  %-9s re-track ±45 MHz median %3d IQR [%3d, %3d]; ±%d MHz median %3d IQR [%3d, %3d], within %d rounds in %2d/%d; last 100 windows' EDP over the best clock's: median %+.1f%%",
			best[0], best[1], v.label, med, q1, q3, coarseMHz, cmed, c1, c3, bound, within, seeds, 100*medExcess))
		// What following a drift must achieve is a near-best EDP after the
		// change, which agft never reaches (+55 %). How fast the clock
		// re-tracks is a trade-off against settling: before the
		// ExploreMinSE floor, gputune explored in most windows and
		// re-tracked (±120 MHz) within 300 rounds in 18/20 seeds, with a
		// +1.6 % median EDP excess at the end; with it, 11/20 and +3.4 %,
		// while on the simulator's trace segments its gap to the best
		// static clock fell from 9.3 % to 5.9 % (docs/gputune-policy.md).
		// Asserted: the new optimum's neighbourhood is found within the
		// segment in at least half the seeds, and the EDP excess stays
		// under 5 %.
		if v.label == "gputune" {
			found := 0
			for _, r := range coarse {
				if r < after {
					found++
				}
			}
			if found*2 < seeds {
				t.Errorf("gputune re-tracked (±%d MHz) within the %d-round segment in only %d of %d seeds", coarseMHz, after, found, seeds)
			}
			if medExcess > 0.05 {
				t.Errorf("gputune's median EDP over the last 100 windows is %+.1f%% over the best clock's, want under +5%%", 100*medExcess)
			}
		}
	}
}

// edpExcess is the mean EDP of the chosen clocks over the regime's best
// clock's, minus 1, at the context's mean (x1 = 0).
func edpExcess(reg regime, chosen []int) float64 {
	best := math.Inf(1)
	for _, a := range envArms() {
		best = min(best, reg.edp(float64(a.SMMHz)/1980, 0))
	}
	var s float64
	for _, f := range chosen {
		s += reg.edp(float64(f)/1980, 0)
	}
	return s/float64(len(chosen))/best - 1
}

// runChosen runs one policy through consecutive regimes of the given
// lengths and returns the clock chosen in every window.
func runChosen(t testing.TB, v policyVariant, seed uint64, segs []regime, lens []int, noise float64) []int {
	arms := envArms()
	p, err := New(v.name, v.cfg(), arms, seed)
	if err != nil {
		t.Fatal(err)
	}
	env := newSynthEnv(seed, segs[0], noise)
	var x []float64
	scores := make([]ArmScore, 0, len(arms))
	var chosen []int
	for s, reg := range segs {
		env.setRegime(reg)
		for r := 0; r < lens[s]; r++ {
			x = env.context(x)
			var d Decision
			d, scores = p.Decide(x, nil, scores)
			chosen = append(chosen, d.Arm.SMMHz)
			p.Update(env.step(d.Arm, x))
		}
	}
	return chosen
}
