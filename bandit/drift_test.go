package bandit

import (
	"fmt"
	"testing"
)

// retrackRound is the first round r of a segment after which the chosen
// clock stays within ±tol MHz of best in at least 90 of the next 100
// windows: whether a policy found an optimum's neighbourhood in these
// synthetic environments (the product itself reports no convergence).
func retrackRound(chosen []int, best, tol int) (int, bool) {
	const window, need = 100, 90
	if tol < 0 || len(chosen) < window {
		return 0, false
	}
	near := func(f int) int {
		if abs(f-best) <= tol {
			return 1
		}
		return 0
	}
	in := 0
	for _, f := range chosen[:window] {
		in += near(f)
	}
	for r := 0; ; r++ {
		if in >= need {
			return r, true
		}
		if r+window >= len(chosen) {
			return 0, false
		}
		in += near(chosen[r+window]) - near(chosen[r])
	}
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
		// bound is the rounds gputune may take to settle within ±coarseMHz
		// of the new best clock after the change. The strict ±1 step
		// (±15 MHz) and ±45 MHz figures are logged, not asserted: on the
		// knee the B-spline model's smoothed optimum sits a few steps left
		// of the kink (see docs/gputune-policy.md).
		bound     = 300
		coarseMHz = 120
	)
	seeds := 6
	if testing.Verbose() {
		seeds = 20
	}
	segs := []regime{smoothRegime(0), kneeRegime(0)}
	best := []int{bestStatic(segs[0], envArms()), bestStatic(segs[1], envArms())}
	for _, v := range convergenceVariants() {
		var near, coarse []int
		within := 0
		for seed := 1; seed <= seeds; seed++ {
			chosen := runChosen(t, v, uint64(seed), segs, []int{driftAt, after}, 0.08)
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
		q1, med, q3 := quartiles(near)
		c1, cmed, c3 := quartiles(coarse)
		t.Log(fmt.Sprintf("drift %d→%d MHz  %-9s re-track ±45 MHz median %3d IQR [%3d, %3d]; ±%d MHz median %3d IQR [%3d, %3d], within %d rounds in %2d/%d",
			best[0], best[1], v.label, med, q1, q3, coarseMHz, cmed, c1, c3, bound, within, seeds))
		// Most seeds, not all: in a few the settled arm sits just outside
		// ±120 MHz at the segment's end (17/20 at the time of writing).
		if v.label == "gputune" && within*5 < seeds*4 {
			t.Errorf("gputune re-tracked (±%d MHz) within %d rounds in only %d of %d seeds", coarseMHz, bound, within, seeds)
		}
	}
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
