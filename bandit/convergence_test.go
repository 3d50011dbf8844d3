package bandit

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

type policyVariant struct {
	label string
	name  string
	cfg   func() Config
}

func convergenceVariants() []policyVariant {
	return []policyVariant{
		{"gputune", PolicyGPUTune, func() Config {
			c := DefaultConfig(PolicyGPUTune, envFeatures)
			c.TPOTLimit = 0.2
			return c
		}},
		{"agft", PolicyAGFT, func() Config {
			c := DefaultConfig(PolicyAGFT, envFeatures)
			c.TPOTLimit = 0.2
			return c
		}},
		// AGFT given an intercept (the constant column kept as a feature):
		// a stronger baseline than AGFT itself, to show the gap is not only
		// AGFT's missing intercept.
		{"agft+bias", PolicyAGFT, func() Config {
			c := DefaultConfig(PolicyAGFT, envFeatures)
			c.Bias = false
			c.TPOTLimit = 0.2
			return c
		}},
	}
}

// runSegments runs one policy through stationary segments and returns, per
// segment, the rounds to converge (ok=false: not within the segment) and
// the mean distance in MHz from the best static clock over its last 100
// rounds.
func runSegments(t testing.TB, v policyVariant, seed uint64, segs []regime, best []int, segLen int, noise float64) (rounds []int, ok []bool, dist []float64) {
	arms := envArms()
	p, err := New(v.name, v.cfg(), arms, seed)
	if err != nil {
		t.Fatal(err)
	}
	env := newSynthEnv(seed, segs[0], noise)
	x := make([]float64, 0, envFeatures)
	scores := make([]ArmScore, 0, len(arms))
	chosen := make([]int, segLen)
	for s, reg := range segs {
		env.setRegime(reg)
		for r := 0; r < segLen; r++ {
			x = env.context(x)
			var d Decision
			d, scores = p.Decide(x, nil, scores)
			chosen[r] = d.Arm.SMMHz
			p.Update(env.step(d.Arm, x))
		}
		rr, conv := retrackRound(chosen, best[s], 15)
		rounds, ok = append(rounds, rr), append(ok, conv)
		var sum float64
		for _, f := range chosen[segLen-100:] {
			sum += math.Abs(float64(f - best[s]))
		}
		dist = append(dist, sum/100)
	}
	return rounds, ok, dist
}

// quartiles of the rounds, with unconverged runs counted as the segment
// length (a lower bound on their true value).
func quartiles(v []int) (q1, med, q3 int) {
	s := slices.Clone(v)
	slices.Sort(s)
	at := func(p float64) int { return s[int(p*float64(len(s)-1)+0.5)] }
	return at(0.25), at(0.5), at(0.75)
}

func TestConvergence(t *testing.T) {
	if raceEnabled {
		t.Skip("a long single-goroutine simulation: the race detector has nothing to check and runs it 10× slower")
	}
	// The 20-seed table is printed with -v (go test ./bandit -run
	// Convergence -v); a plain run checks the claim on fewer seeds to keep
	// the package fast.
	seeds := 20
	switch {
	case testing.Short():
		seeds = 3
	case !testing.Verbose():
		seeds = 6
	}
	envs := []struct {
		name   string
		segs   []regime
		segLen int
		noise  float64
	}{
		{"smooth", []regime{smoothRegime(0)}, 600, 0.08},
		{"smooth-2%", []regime{smoothRegime(0)}, 600, 0.02},
		{"non-smooth", []regime{smoothRegime(-1), kneeRegime(1), smoothRegime(-1)}, 500, 0.08},
	}
	results := map[string]map[string][]int{}
	distance := map[string]float64{}
	for _, env := range envs {
		results[env.name] = map[string][]int{}
		best := make([]int, len(env.segs))
		for s, reg := range env.segs {
			best[s] = bestStatic(reg, envArms())
			t.Logf("%s segment %d: best static clock %d MHz", env.name, s, best[s])
		}
		for _, v := range convergenceVariants() {
			perSeg := make([][]int, len(env.segs))
			dists := make([][]float64, len(env.segs))
			conv := make([]int, len(env.segs))
			for seed := 1; seed <= seeds; seed++ {
				rounds, ok, dist := runSegments(t, v, uint64(seed), env.segs, best, env.segLen, env.noise)
				for s := range rounds {
					dists[s] = append(dists[s], dist[s])
					if !ok[s] {
						rounds[s] = env.segLen
					} else {
						conv[s]++
					}
					perSeg[s] = append(perSeg[s], rounds[s])
				}
			}
			for s := range perSeg {
				q1, med, q3 := quartiles(perSeg[s])
				var md float64
				for _, d := range dists[s] {
					md += d
				}
				md /= float64(len(dists[s]))
				t.Log(fmt.Sprintf("%-10s seg %d  %-9s rounds median %4d  IQR [%4d, %4d]  converged %2d/%d  mean |f−best| last 100: %5.1f MHz",
					env.name, s, v.label, med, q1, q3, conv[s], seeds, md))
				results[env.name][fmt.Sprintf("%s/%d", v.label, s)] = perSeg[s]
				distance[env.name+"/"+v.label+fmt.Sprint(s)] = md
			}
		}
	}
	// Rounds are censored at the segment length when a run never meets the
	// strict ±1-step definition, so the claim checked here is the distance
	// from the best static clock at the end of the smooth segment.
	if g, a := distance["smooth/gputune0"], distance["smooth/agft0"]; g >= a {
		t.Errorf("smooth: gputune ends %.1f MHz from the best static clock, agft %.1f", g, a)
	}
	// Settling (settle.go) must turn that closeness into convergence under
	// the strict definition at least where the noise allows resolving a
	// 0.05 %-EDP difference between neighbouring clocks.
	conv := 0
	for _, r := range results["smooth-2%"]["gputune/0"] {
		if r < 600 {
			conv++
		}
	}
	if conv*3 < seeds {
		t.Errorf("smooth-2%%: gputune converged in %d of %d seeds, want at least a third", conv, seeds)
	}
}
