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
	rung := newSteadyPolicy(t, 1).coldStartRung()
	rungOf := func(f int) int { return int(math.Round((float64(f) - centre) / rung)) }
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

// TestColdStartRungsSpanTheRange: the design's first pass spans the same
// share of the GPU's supported range on every GPU: rungs of 120 MHz on the
// H100's 345–1,980 MHz, of 88 MHz on the A100's 210–1,410 (where 120 MHz
// rungs put the later passes' lowest clock, 570 MHz, at +90 % of the best
// static clock's EDP). Operator bounds centre the design in them and hold
// its clocks inside, with the GPU's rung. The exploration radius scales
// with the range as the rungs do (checkExploreRadius).
func TestColdStartRungsSpanTheRange(t *testing.T) {
	for _, c := range []struct {
		name           string
		minMHz, maxMHz int
		gpuRangeMHz    int // 0: the arms' range
		rungMHz        float64
		radiusMHz      int
	}{
		{"H100", 345, 1980, 0, 120, 150},
		{"A100", 210, 1410, 0, 1200.0 * 120 / 1635, 110},
		{"H100 within 900–1,500 MHz", 900, 1500, 1635, 120, 150},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := newRangePolicy(t, c.minMHz, c.maxMHz, c.gpuRangeMHz)
			centre := float64(c.minMHz+c.maxMHz) / 2
			var scores []ArmScore
			var played []int
			for range len(coldStartRungs) * steadyExploreHold {
				var dec Decision
				dec, scores = p.Decide([]float64{0, 1}, nil, scores)
				if n := len(played); n == 0 || played[n-1] != dec.Arm.SMMHz {
					played = append(played, dec.Arm.SMMHz)
				}
			}
			if len(played) != len(coldStartRungs) {
				t.Fatalf("played %v: want one clock per rung of %v", played, coldStartRungs)
			}
			for i, f := range played {
				want := min(max(centre+float64(coldStartRungs[i])*c.rungMHz, float64(c.minMHz)), float64(c.maxMHz))
				if math.Abs(float64(f)-want) > 7.5 {
					t.Errorf("rung %+d: played %d MHz, want the step nearest %.1f", coldStartRungs[i], f, want)
				}
			}
			checkExploreRadius(t, newRangePolicy(t, c.minMHz, c.maxMHz, c.gpuRangeMHz), c.radiusMHz)
		})
	}
}

// checkExploreRadius: the uniform exploration draws reach as far from the
// exploit clock as radiusMHz and no farther. That is the configured
// radius on the H100's supported range and the same share of any other
// GPU's: 150 MHz on the H100, 110 on the A100 (where the objective's curve
// is as much narrower).
func checkExploreRadius(t *testing.T, g *gputune, radiusMHz int) {
	t.Helper()
	if r := g.exploreRadius(); r != radiusMHz {
		t.Fatalf("exploration radius %d MHz, want %d", r, radiusMHz)
	}
	for i := range g.safe {
		g.safe[i] = true
	}
	arms := g.arms
	exploit := len(arms) / 2
	far := 0
	for range 2000 {
		i := g.drawNear(exploit)
		if i < 0 {
			t.Fatal("no arm drawn")
		}
		d := arms[i].SMMHz - arms[exploit].SMMHz
		if d < 0 {
			d = -d
		}
		if d > radiusMHz {
			t.Fatalf("drew %d MHz, %d MHz from the exploit clock %d: beyond the radius %d", arms[i].SMMHz, d, arms[exploit].SMMHz, radiusMHz)
		}
		far = max(far, d)
	}
	if far < radiusMHz-15 {
		t.Errorf("the farthest draw is %d MHz from the exploit clock: want the whole radius, %d MHz", far, radiusMHz)
	}
}

// newRangePolicy is a gputune policy over every 15 MHz core clock from
// minMHz to maxMHz, on a GPU whose supported range is gpuRangeMHz (0: the
// arms' range), with the SLO limits ignored.
func newRangePolicy(t *testing.T, minMHz, maxMHz, gpuRangeMHz int) *gputune {
	t.Helper()
	var arms []Arm
	for f := minMHz; f <= maxMHz; f += 15 {
		arms = append(arms, Arm{SMMHz: f})
	}
	cfg := DefaultConfig(PolicyGPUTune, 2)
	cfg.SLOMode = SLOIgnore
	cfg.ClockRangeMHz = gpuRangeMHz
	p, err := New(PolicyGPUTune, cfg, arms, 1)
	if err != nil {
		t.Fatal(err)
	}
	return p.(*gputune)
}
