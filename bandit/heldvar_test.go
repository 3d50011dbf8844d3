package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHeldVarMatchesDirect: the per-arm quadratic forms, kept up to date by
// rank-one corrections and recomputed on refactorisation, give the same
// prediction variance as the fit's full quadratic form.
func TestHeldVarMatchesDirect(t *testing.T) {
	arms := benchArms([]int{0})
	s := newSteadyModel(DefaultConfig(PolicyGPUTune, 2), arms, []int{0}, len(arms))
	rng := rand.New(rand.NewPCG(3, 5))
	check := func(when int) {
		if s.varT.stale {
			s.varT.recompute(s.tput, s.basis)
		}
		for range 20 {
			i := rng.IntN(len(arms))
			s.setZ(rng.Float64()*3, rng.Float64())
			s.kron(s.z, s.basis[i*s.k:(i+1)*s.k], s.phi)
			want := s.tput.variance(s.phi)
			got := s.varT.quad(i, s.z)
			if math.Abs(got-want) > 1e-6*math.Abs(want)+1e-12 {
				t.Fatalf("after %d updates, arm %d: variance %g, want %g", when, i, got, want)
			}
		}
	}
	check(0)
	for n := 1; n <= 300; n++ {
		i := rng.IntN(len(arms))
		b := 2 + 20*rng.Float64()
		rate := 1000 * math.Exp(0.1*rng.NormFloat64())
		s.update(arms[i], i, i, i, Steady{Batch: b, PrefillTokS: 3000 * rng.Float64(), GenTokS: rate, PowerW: 300, StepS: b / rate})
		if n%7 == 0 {
			check(n)
		}
	}
}
