package bandit

import (
	"math"
	"math/rand/v2"
)

// Synthetic environments for the convergence tests. EDP follows a simple
// physical shape: power P(u) = p0 + p1·u³ (u = f/fmax, dynamic power ∝ f·V²
// with V ∝ f) times the squared time per token t(u). The reward is AGFT's,
// against a baseline of 0.9 × the EDP at the highest clock.

const (
	envFeatures = 8 // 7 context features + bias
)

func envArms() []Arm {
	var arms []Arm
	for f := 345; f <= 1980; f += 15 {
		arms = append(arms, Arm{SMMHz: f})
	}
	return arms // 110 arms, as on an H100 above 345 MHz
}

// regime is one stationary workload: a mean context and an EDP curve.
type regime struct {
	x0   float64 // mean of the load feature that distinguishes regimes
	edp  func(u, x1 float64) float64
	tpot func(u float64) float64
}

// smoothRegime: time per token a + b/u, the compute share b moving a little
// with the context; optimum in the interior of the range.
func smoothRegime(x0 float64) regime {
	t := func(u, x1 float64) float64 { return 0.55 + (0.45+0*x1)/u }
	return regime{
		x0:   x0,
		edp:  func(u, x1 float64) float64 { return (90 + 400*u*u*u) * t(u, x1) * t(u, x1) },
		tpot: func(u float64) float64 { return 0.02 * t(u, 0) },
	}
}

// kneeRegime: a roofline knee, t = max(a, b/u); the EDP optimum sits on the
// kink, where a smooth model is biased.
func kneeRegime(x0 float64) regime {
	t := func(u, x1 float64) float64 { return math.Max(0.9, (0.75+0*x1)/u) }
	return regime{
		x0:   x0,
		edp:  func(u, x1 float64) float64 { return (150 + 300*u*u*u) * t(u, x1) * t(u, x1) },
		tpot: func(u float64) float64 { return 0.02 * t(u, 0) },
	}
}

type synthEnv struct {
	rng  *rand.Rand
	fmax float64
	reg  regime
	norm float64 // EDP at the top clock, so rewards are relative
	// noise is the log-normal σ of a window's EDP.
	noise float64
}

func newSynthEnv(seed uint64, reg regime, noise float64) *synthEnv {
	e := &synthEnv{rng: rand.New(rand.NewPCG(seed, 77)), fmax: 1980, noise: noise}
	e.setRegime(reg)
	return e
}

func (e *synthEnv) setRegime(r regime) {
	e.reg = r
	e.norm = r.edp(1, 0)
}

func (e *synthEnv) context(dst []float64) []float64 {
	dst = dst[:0]
	dst = append(dst, e.reg.x0+0.1*e.rng.NormFloat64())
	for i := 1; i < envFeatures-1; i++ {
		dst = append(dst, 0.5*e.rng.NormFloat64())
	}
	return append(dst, 1)
}

func reward(edpRel float64) float64 { return 2 * (1 - math.Min(2, edpRel/0.9)) }

// step returns the observation for running arm a in context x.
func (e *synthEnv) step(a Arm, x []float64) Observation {
	u := float64(a.SMMHz) / e.fmax
	edp := e.reg.edp(u, x[1]) / e.norm * math.Exp(e.noise*e.rng.NormFloat64()-e.noise*e.noise/2)
	tpot := e.reg.tpot(u) * (1 + 0.05*e.rng.NormFloat64())
	return Observation{Arm: a, Context: x, Reward: reward(edp), EDP: edp, TPOT: tpot, TTFT: 10 * tpot}
}

// bestStatic is the clock with the highest expected reward over the
// regime's context distribution, by Monte Carlo without noise.
func bestStatic(reg regime, arms []Arm) int {
	rng := rand.New(rand.NewPCG(1, 2))
	x1s := make([]float64, 500)
	for i := range x1s {
		x1s[i] = 0.5 * rng.NormFloat64()
	}
	norm := reg.edp(1, 0)
	best, bestR := 0, math.Inf(-1)
	for _, a := range arms {
		u := float64(a.SMMHz) / 1980
		var s float64
		for _, x1 := range x1s {
			s += reward(reg.edp(u, x1) / norm)
		}
		if s > bestR {
			best, bestR = a.SMMHz, s
		}
	}
	return best
}
