package bandit

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestColdStartDesignPasses: the design's first pass visits every rung of
// ±4, the later passes only −2 to +3; under a power cap that holds
// every later rung down (none of their windows is fitted) the design goes
// back over the whole ladder, whose lowest rung the cap lets run, and the
// model becomes ready. Without that fallback it never would.
func TestColdStartDesignPasses(t *testing.T) {
	arms := envArms()
	centre := float64(arms[0].SMMHz+arms[len(arms)-1].SMMHz) / 2
	rungOf := func(f int) int { return int(math.Round((float64(f) - centre) / coldStartRungMHz)) }
	for _, c := range []struct {
		name   string
		capMHz float64 // the cap holds every lock above it down; 0: none
	}{
		{"uncapped", 0},
		{"capped above the lowest rung", 800},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := &cappedEnv{heldEnv: heldEnv{demand: 1500, rng: rand.New(rand.NewPCG(1, 2))}, limitW: math.Inf(1)}
			if c.capMHz > 0 {
				env.limitW = env.power(c.capMHz, env.heldBatch(c.capMHz))
			}
			env.batch = env.heldBatch(1980)
			pol := newSteadyPolicy(t, 1)
			var scores []ArmScore
			var rungs []int // the rung of each hold the design starts
			prev := 0
			x := []float64{0, 1}
			for r := 0; r < 2000 && !pol.steady.ready(); r++ {
				var dec Decision
				dec, scores = pol.Decide(x, nil, scores)
				f := dec.Arm.SMMHz
				if f != prev {
					rungs = append(rungs, rungOf(f))
				}
				st := env.window(float64(f), f != prev)
				prev = f
				pol.Update(Observation{Arm: dec.Arm, Context: x, Reward: 0, TTFT: math.NaN(), TPOT: math.NaN(), Steady: st})
			}
			if !pol.steady.ready() {
				t.Fatalf("the model is not ready after 2,000 decisions (design rungs %v)", rungs)
			}
			first := len(coldStartRungs)
			if len(rungs) <= first+len(coldStartLater) || !slices.Equal(rungs[:first], coldStartRungs[:]) {
				t.Fatalf("design rungs %v: want a first pass %v and at least one later pass", rungs, coldStartRungs)
			}
			if c.capMHz == 0 && slices.ContainsFunc(rungs[first:], func(r int) bool { return r > 3 }) {
				t.Errorf("design rungs %v: a rung above +3 after the first pass", rungs)
			}
			revisitsLow := slices.ContainsFunc(rungs[first:], func(r int) bool { return r < -2 })
			if want := c.capMHz > 0; revisitsLow != want {
				t.Errorf("design rungs %v: a rung below −2 after the first pass is %v, want %v", rungs, revisitsLow, want)
			}
		})
	}
}
