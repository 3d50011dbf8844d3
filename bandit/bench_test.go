package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

func benchArms(memClocks []int) []Arm {
	var arms []Arm
	for _, m := range memClocks {
		for f := 345; f <= 1980; f += 15 {
			arms = append(arms, Arm{SMMHz: f, MemMHz: m})
		}
	}
	return arms
}

// target: gputune/110=50us gputune/220=100us agft/110=50us gputune+steady/110=100us gputune+steady/220=200us
//
// The steady rows' windows carry operating points and the queue (arrivals
// and completions), so the steady-state model and the planner decide; the
// planner re-plans every planEvery decisions, and the rows average over
// that.
func BenchmarkDecide(b *testing.B) {
	cases := []struct {
		name   string
		policy string
		mems   []int
		steady bool // observations carry operating points (steady.go)
	}{
		{"gputune/110", PolicyGPUTune, []int{0}, false},
		{"gputune/220", PolicyGPUTune, []int{1593, 2619}, false},
		{"agft/110", PolicyAGFT, []int{0}, false},
		{"gputune+steady/110", PolicyGPUTune, []int{0}, true},
		{"gputune+steady/220", PolicyGPUTune, []int{1593, 2619}, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			cfg := DefaultConfig(c.policy, 8)
			cfg.MemoryClock = c.mems[0] != 0
			cfg.TTFTLimit, cfg.TPOTLimit = 2, 0.1
			arms := benchArms(c.mems)
			p, err := New(c.policy, cfg, arms, 1)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			const nCtx = 64
			ctx := make([][]float64, nCtx)
			for i := range ctx {
				ctx[i] = make([]float64, 8)
				for j := 0; j < 7; j++ {
					ctx[i][j] = rng.NormFloat64()
				}
				ctx[i][7] = 1
			}
			scores := make([]ArmScore, 0, len(arms))
			env := &queueEnv{heldEnv: heldEnv{rng: rand.New(rand.NewPCG(3, 4))}, rate: 7}
			prev := 0
			step := func(i int) {
				x := ctx[i%nCtx]
				d, s := p.Decide(x, nil, scores)
				scores = s
				u := float64(d.Arm.SMMHz) / 1980
				o := Observation{Arm: d.Arm, Context: x, Reward: 1 - (u-0.6)*(u-0.6) + 0.05*x[0],
					EDP: 1 + (u-0.6)*(u-0.6), TTFT: 0.3 / u, TPOT: 0.02 / u}
				if c.steady {
					o.Steady = env.window(float64(d.Arm.SMMHz), d.Arm.SMMHz != prev)
					prev = d.Arm.SMMHz
				}
				p.Update(o)
			}
			for i := 0; i < 1000; i++ { // reach steady state: sweep done, rings full
				step(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				step(i)
			}
		})
	}
}

// BenchmarkContextQuad is the per-decision projection of the reward model's
// P (p = 88) with one context.
func BenchmarkContextQuad(b *testing.B) {
	const d, k = 8, 11
	p := d * k
	rng := rand.New(rand.NewPCG(1, 2))
	m := make([]float64, p*p)
	for i := range m {
		m[i] = rng.NormFloat64()
	}
	x := make([]float64, d)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	tmp, out := make([]float64, k*k), make([]float64, k*k)
	b.ReportAllocs()
	for b.Loop() {
		contextQuad(m, x, k, tmp, out)
	}
}

// BenchmarkRidgeUpdate is one reward-model update (p = 88, 40 non-zero
// entries in φ), refactorisation every 64 updates included.
func BenchmarkRidgeUpdate(b *testing.B) {
	const d, k = 8, 11
	r := newRidge(d*k, 0.05, 0.995, 64)
	rng := rand.New(rand.NewPCG(1, 2))
	x, g, phi := make([]float64, d), make([]float64, k), make([]float64, d*k)
	b.ReportAllocs()
	for b.Loop() {
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		clear(g)
		s := rng.IntN(k - 4)
		g[0] = 1
		for l := 1; l <= 4; l++ {
			g[s+l] = rng.Float64()
		}
		kron(x, g, phi)
		r.update(phi, rng.NormFloat64(), 1)
	}
}

// BenchmarkPlan is one plan: every arm the steady-state model may choose
// integrated over the horizon, at 110 and 220 arms, after 3,000 windows of
// a queue.
//
// target: 110=1ms 220=1ms
func BenchmarkPlan(b *testing.B) {
	for _, c := range []struct {
		name string
		mems []int
	}{{"110", []int{0}}, {"220", []int{1593, 2619}}} {
		b.Run(c.name, func(b *testing.B) {
			t, minSE := plannedPolicy(b, c.mems)
			s := t.steady
			p, p2 := s.prefill()
			base := steadyChoice(t, minSE)
			b.ReportAllocs()
			planned := 0
			for b.Loop() {
				if t.plan(base, minSE, p, p2) >= 0 {
					planned++
				}
			}
			if planned == 0 {
				b.Fatal("no plan was made")
			}
		})
	}
}

// steadyChoice is the arm the steady-state model chooses (its lowest value
// among those within steadySEFactor of minSE); -1 for none.
func steadyChoice(t *gputune, minSE float64) int {
	s, best := t.steady, -1
	for i, v := range s.value {
		if finite(v) && s.se[i] <= steadySEFactor*minSE && (best < 0 || v < s.value[best]) {
			best = i
		}
	}
	return best
}

// plannedPolicy is a gputune policy after 3,000 windows of queueEnv, and
// the smallest standard error of its steady-state values.
func plannedPolicy(tb testing.TB, mems []int) (*gputune, float64) {
	cfg := DefaultConfig(PolicyGPUTune, 2)
	cfg.SLOMode = SLOIgnore
	cfg.MemoryClock = mems[0] != 0
	p, err := New(PolicyGPUTune, cfg, benchArms(mems), 1)
	if err != nil {
		tb.Fatal(err)
	}
	t := p.(*gputune)
	env := &queueEnv{heldEnv: heldEnv{rng: rand.New(rand.NewPCG(3, 4))}, rate: 7}
	x := []float64{0, 1}
	var scores []ArmScore
	prev := 0
	for range 3000 {
		var d Decision
		d, scores = t.Decide(x, nil, scores)
		st := env.window(float64(d.Arm.SMMHz), d.Arm.SMMHz != prev)
		prev = d.Arm.SMMHz
		t.Update(Observation{Arm: d.Arm, Context: x, TTFT: math.NaN(), TPOT: math.NaN(), Steady: st})
	}
	minSE := math.Inf(1)
	for i, v := range t.steady.value {
		if finite(v) {
			minSE = min(minSE, t.steady.se[i])
		}
	}
	if math.IsInf(minSE, 1) {
		tb.Fatal("the steady-state model values no arm after 3,000 windows")
	}
	return t, minSE
}
