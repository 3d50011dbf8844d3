package bandit

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestChangeDetectorFollowsStepInLoad: the served rate steps from one level
// to another; the demand mean must reach the new level within a minute of
// windows (it took ~5 minutes with the means' memory alone), and a
// stationary load of the same noise must raise no alarm in an hour.
func TestChangeDetectorFollowsStepInLoad(t *testing.T) {
	cases := []struct {
		name          string
		before, after float64
	}{
		{"up", 800, 2000},
		{"down", 2000, 900},
		{"small-up", 1000, 1300},
	}
	arms := envArms()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newSteadyModel(DefaultConfig(PolicyGPUTune, 2), arms, []int{0}, len(arms))
			rng := rand.New(rand.NewPCG(1, 2))
			// A window's rate scatters ~15 % around the level and is
			// correlated from one window to the next, as a batch is.
			noise := 0.0
			window := func(level float64) {
				noise = 0.8*noise + 0.6*0.15*rng.NormFloat64()
				rate := level * math.Exp(noise)
				s.update(arms[40], 40, 40, 40, Steady{Batch: 10, GenTokS: rate, PowerW: 300, StepS: 10 / rate})
			}
			for range 3000 {
				window(c.before)
			}
			if s.change.alarms != 0 {
				t.Fatalf("%d alarms on a stationary load of 3,000 windows", s.change.alarms)
			}
			within := -1
			for w := range 600 {
				window(c.after)
				if d, _ := s.means(); within < 0 && math.Abs(d/c.after-1) < 0.05 {
					within = w
				}
			}
			t.Logf("%.0f → %.0f tok/s: demand mean within 5 %% after %d windows, %d alarms", c.before, c.after, within, s.change.alarms)
			if within < 0 || within > 200 {
				t.Errorf("demand mean within 5 %% of the new level after %d windows, want ≤ 200 (1 minute)", within)
			}
		})
	}
}

// TestChangeDetectorQuietOnNoise: an hour of a stationary, noisy rate
// raises at most one alarm. A false alarm costs little (the means re-learn
// the same level from a few windows), a missed shift minutes.
func TestChangeDetectorQuietOnNoise(t *testing.T) {
	arms := envArms()
	for seed := range uint64(5) {
		s := newSteadyModel(DefaultConfig(PolicyGPUTune, 2), arms, []int{0}, len(arms))
		rng := rand.New(rand.NewPCG(seed, 9))
		noise := 0.0
		for range 12000 {
			noise = 0.8*noise + 0.6*0.15*rng.NormFloat64()
			rate := 1500 * math.Exp(noise)
			s.update(arms[40], 40, 40, 40, Steady{Batch: 10, GenTokS: rate, PowerW: 300, StepS: 10 / rate})
		}
		if s.change.alarms > 1 {
			t.Errorf("seed %d: %d alarms in 12,000 stationary windows", seed, s.change.alarms)
		}
	}
}
