package bandit

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDesignPassAtNewLoadLevel: once the model decides, a shift in load to
// a level more than repassFactor beyond the design's makes the policy play
// one later pass of the design (−2 to +3 rungs around the centre, in order)
// at the new level; a shift within that factor does not, and neither does
// the same shift for a model whose design ran elsewhere (loaded from a
// file, its means follow the new load at once).
func TestDesignPassAtNewLoadLevel(t *testing.T) {
	arms := envArms()
	for _, c := range []struct {
		name          string
		before, after float64 // demand, tok/s
		imported      bool
		wantPass      bool
	}{
		{"a quarter of the load", 3000, 700, false, true},
		{"two thirds of the load", 3000, 2000, false, false},
		{"a quarter, model loaded from a file", 3000, 700, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			pol := newSteadyPolicy(t, 1)
			env := &heldEnv{demand: c.before, rng: rand.New(rand.NewPCG(1, 2))}
			env.batch = env.heldBatch(1980)
			h := &heldStep{pol: pol, env: env, steady: true}
			for range 800 {
				h.next()
			}
			if !pol.steady.ready() {
				t.Fatal("the model is not ready after 800 windows")
			}
			if c.imported {
				state, err := pol.MarshalState()
				if err != nil {
					t.Fatal(err)
				}
				pol = newSteadyPolicy(t, 1)
				if err := pol.UnmarshalState(state); err != nil {
					t.Fatal(err)
				}
				h.pol = pol
			}
			alarms := pol.steady.change.alarms
			// A sharp shift: the batch is at once where the new demand
			// holds it (the pass starts on the level of the block that
			// raised the alarm).
			env.demand = c.after
			env.batch = env.heldBatch(float64(h.prev))
			var played []int // the clock of each decision after the shift
			for range 600 {
				played = append(played, h.next().Arm.SMMHz)
			}
			// A restored model's means keep little of the saved load, so
			// they follow the new one without an alarm.
			if d, _ := pol.steady.means(); c.imported && (d < 0.9*c.after || d > 1.1*c.after) {
				t.Fatalf("restored model's demand %.0f tok/s after the shift to %.0f", d, c.after)
			} else if !c.imported && pol.steady.change.alarms == alarms {
				t.Fatalf("no shift detected from %.0f to %.0f tok/s", c.before, c.after)
			}
			var pass []int
			for _, r := range coldStartLater {
				pass = append(pass, pol.designArm(r))
			}
			var want []int
			for _, i := range pass {
				for range steadyExploreHold {
					want = append(want, arms[i].SMMHz)
				}
			}
			got := false
			for i := range played {
				if i+len(want) <= len(played) && slices.Equal(played[i:i+len(want)], want) {
					got = true
					break
				}
			}
			if got != c.wantPass {
				t.Errorf("%.0f → %.0f tok/s: design pass %v played = %v, want %v (clocks after the shift %v)",
					c.before, c.after, want, got, c.wantPass, played[:min(len(played), 120)])
			}
		})
	}
}
