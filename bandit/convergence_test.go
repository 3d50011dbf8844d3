package bandit

import (
	"fmt"
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
		// a stronger baseline than AGFT itself, to show the gap is not W7.
		{"agft+bias", PolicyAGFT, func() Config {
			c := DefaultConfig(PolicyAGFT, envFeatures)
			c.Bias = false
			c.TPOTLimit = 0.2
			return c
		}},
	}
}

// runSegments runs one policy through stationary segments and returns, per
// segment, the rounds to converge (ok=false: not within the segment).
func runSegments(t testing.TB, v policyVariant, seed uint64, segs []regime, segLen int) (rounds []int, ok []bool) {
	arms := envArms()
	p, err := New(v.name, v.cfg(), arms, seed)
	if err != nil {
		t.Fatal(err)
	}
	env := newSynthEnv(seed, segs[0])
	x := make([]float64, 0, envFeatures)
	scores := make([]ArmScore, 0, len(arms))
	chosen := make([]int, segLen)
	for _, reg := range segs {
		env.setRegime(reg)
		best := bestStatic(reg, arms)
		for r := 0; r < segLen; r++ {
			x = env.context(x)
			var d Decision
			d, scores = p.Decide(x, nil, scores)
			chosen[r] = d.Arm.SMMHz
			p.Update(env.step(d.Arm, x))
		}
		rr, conv := ConvergeRound(chosen, best, 15)
		rounds, ok = append(rounds, rr), append(ok, conv)
	}
	return rounds, ok
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
	seeds := 20
	if raceEnabled || testing.Short() {
		seeds = 3
	}
	envs := []struct {
		name   string
		segs   []regime
		segLen int
	}{
		{"smooth", []regime{smoothRegime(0)}, 700},
		{"non-smooth", []regime{smoothRegime(-1), kneeRegime(1), smoothRegime(-1)}, 600},
	}
	results := map[string]map[string][]int{}
	for _, env := range envs {
		results[env.name] = map[string][]int{}
		for s, reg := range env.segs {
			t.Logf("%s segment %d: best static clock %d MHz", env.name, s, bestStatic(reg, envArms()))
		}
		for _, v := range convergenceVariants() {
			perSeg := make([][]int, len(env.segs))
			conv := make([]int, len(env.segs))
			for seed := 1; seed <= seeds; seed++ {
				rounds, ok := runSegments(t, v, uint64(seed), env.segs, env.segLen)
				for s := range rounds {
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
				line := fmt.Sprintf("%-10s seg %d  %-9s median %4d  IQR [%4d, %4d]  converged %2d/%d",
					env.name, s, v.label, med, q1, q3, conv[s], seeds)
				t.Log(line)
				results[env.name][fmt.Sprintf("%s/%d", v.label, s)] = perSeg[s]
			}
		}
	}
	// The claim the package makes: on the smooth environment gputune's
	// median is below faithful AGFT's.
	_, g, _ := quartiles(results["smooth"]["gputune/0"])
	_, a, _ := quartiles(results["smooth"]["agft/0"])
	if g >= a {
		t.Errorf("smooth: gputune median %d rounds is not below agft's %d", g, a)
	}
}

func TestConvergeRound(t *testing.T) {
	flat := func(n, f int) []int {
		v := make([]int, n)
		for i := range v {
			v[i] = f
		}
		return v
	}
	mixed := append(flat(50, 900), flat(150, 1500)...)
	noisy := flat(200, 1500)
	for i := 0; i < 200; i += 10 {
		noisy[i] = 600 // 10 % off: still converged from the start
	}
	tooNoisy := flat(200, 1500)
	for i := 0; i < 200; i += 5 {
		tooNoisy[i] = 600
	}
	tests := []struct {
		name   string
		chosen []int
		round  int
		ok     bool
	}{
		{"at once", flat(100, 1500), 0, true},
		{"neighbour step counts", flat(100, 1515), 0, true},
		{"two steps off never", flat(300, 1530), 0, false},
		{"after a detour", mixed, 40, true},
		{"10 % misses allowed", noisy, 0, true},
		{"20 % misses not", tooNoisy, 0, false},
		{"too short", flat(99, 1500), 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := ConvergeRound(tt.chosen, 1500, 15)
			if r != tt.round || ok != tt.ok {
				t.Errorf("ConvergeRound = (%d, %v), want (%d, %v)", r, ok, tt.round, tt.ok)
			}
		})
	}
}
