package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The noise estimate of a standardised fit is the noise's, even when the
// first predictions, made where the fit had no data, miss by far more; a
// raw fit keeps those misses in its estimate for as long as it remembers.
func TestRidgeNoiseIgnoresExtrapolation(t *testing.T) {
	const noise = 0.05
	truth := func(x float64) float64 { return 5 + 3*x - 4*x*x }
	for _, tc := range []struct {
		standardised bool
		lo, hi       float64 // the noise estimate's accepted range
	}{
		{true, 0.5 * noise, 1.5 * noise},
		{false, 3 * noise, math.Inf(1)},
	} {
		r := newRidge(3, steadyRidge, steadyForgetting, 100)
		r.standardised = tc.standardised
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range 400 {
			// The first windows sit at one end, as a design's first rungs
			// do; the next one is far from them.
			x := 0.1 * rng.Float64()
			if i >= 3 {
				x = rng.Float64()
			}
			r.update([]float64{1, x, x * x}, truth(x)+noise*rng.NormFloat64(), 1)
		}
		if got := r.sigma(0, 0); got < tc.lo || got > tc.hi {
			t.Errorf("standardised %v: noise estimate %.4f, want within [%.3f, %.3f] (noise %.2f)",
				tc.standardised, got, tc.lo, tc.hi, noise)
		}
	}
}
