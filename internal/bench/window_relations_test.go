package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/sim"
)

// twoClockPolicy switches at random between two clocks in holds of
// holdWindows decisions, as gputune's exploration does, and keeps the
// steady-state operating point of every window that ran at one clock.
type twoClockPolicy struct {
	clocks [2]int
	rng    *rand.Rand
	cur    int
	left   int
	round  int
	points map[int][]bandit.Steady
}

const holdWindows = 4

func (p *twoClockPolicy) Name() string { return "two-clock" }

func (p *twoClockPolicy) Decide(_ []float64, _ []bandit.Arm, scores []bandit.ArmScore) (bandit.Decision, []bandit.ArmScore) {
	if p.left == 0 {
		p.cur, p.left = p.clocks[p.rng.IntN(2)], holdWindows
	}
	p.left--
	return bandit.Decision{Arm: bandit.Arm{SMMHz: p.cur}}, scores[:0]
}

func (p *twoClockPolicy) Update(o bandit.Observation) {
	p.round++
	if s := o.Steady; !s.Switched && !s.Capped && s.Batch >= 0.5 && s.StepS > 0 && s.PowerW > 0 {
		p.points[o.Arm.SMMHz] = append(p.points[o.Arm.SMMHz], s)
	}
}

func (p *twoClockPolicy) SetSLOMode(bandit.SLOMode)     {}
func (p *twoClockPolicy) SetLimits(float64, float64)    {}
func (p *twoClockPolicy) ForceExplore(int)              {}
func (p *twoClockPolicy) Pruned() []bandit.Pruned       { return nil }
func (p *twoClockPolicy) Round() int                    { return p.round }
func (p *twoClockPolicy) Converged() (bool, int)        { return false, 0 }
func (p *twoClockPolicy) MarshalState() ([]byte, error) { return []byte("{}"), nil }
func (p *twoClockPolicy) UnmarshalState([]byte) error   { return nil }
func (p *twoClockPolicy) Reset()                        {}

// TestWindowRelationsMatchHeldClocks checks the premise of gputune's
// steady-state model (bandit/steady.go): that the throughput and power of
// windows at a clock held only a few decisions, fitted over the running
// batch and the prefill rate and solved for the batch where throughput
// meets demand, say what holding that clock does. A policy switches between
// 960 and 1,170 MHz in 4-decision holds for 10 minutes; each clock's
// windows are fitted separately on [1, u, u², p, p²] (u = ln batch, p the
// prefill rate), as the model does at one clock; and the predicted
// difference in ln(power·batch), EDP per token up to a constant, is compared
// with static runs at the two clocks over the same arrivals.
//
// Measured (4 seeds, 2026-11-27 at 469e4a6): −0.040 from the windows
// against −0.036 held. Fitting the two clocks with a shared p² coefficient
// gives −0.025 instead, a tilt towards the higher clock the size of the bias
// on held-out seeds (the experiment log of docs/gputune-policy.md); the
// tolerance here sits between the two. It fails where short
// holds stop saying what held clocks do: with the simulator's leakage four
// times the measured H100's (an experiment, not a parameter change), the
// heat sink's slow temperature makes the windows say −0.043 against −0.051
// held. Skipped under -race and -short; .ci/run runs it without them.
func TestWindowRelationsMatchHeldClocks(t *testing.T) {
	if raceEnabled || testing.Short() {
		t.Skip("runs 12 ten-minute simulations")
	}
	const lo, hi = 960, 1170
	ctx := context.Background()
	var windowsDJ, heldDJ float64
	const seeds = 4
	for seed := uint64(1); seed <= seeds; seed++ {
		sc, base, err := stationaryScenario(seed)
		if err != nil {
			t.Fatal(err)
		}
		pol := &twoClockPolicy{clocks: [2]int{lo, hi}, rng: rand.New(rand.NewPCG(seed, 3)), points: map[int][]bandit.Steady{}}
		if _, err := drive(ctx, sc, &base, sc.Config,
			func([]bandit.Arm) (bandit.Policy, error) { return pol, nil },
			func(control.Snapshot, *sim.Sim) {}); err != nil {
			t.Fatal(err)
		}
		dj, err := windowObjectiveGap(pol.points[lo], pol.points[hi])
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		held := [2]float64{}
		for k, mhz := range []int{lo, hi} {
			b, p, err := heldMeans(ctx, sc, &base, mhz)
			if err != nil {
				t.Fatal(err)
			}
			held[k] = math.Log(b * p)
		}
		t.Logf("seed %d: J(%d) − J(%d): windows %+.4f, held %+.4f", seed, lo, hi, dj, held[0]-held[1])
		windowsDJ += dj / seeds
		heldDJ += (held[0] - held[1]) / seeds
	}
	t.Logf("mean over %d seeds: windows %+.4f, held %+.4f", seeds, windowsDJ, heldDJ)
	if heldDJ >= 0 {
		t.Fatalf("held runs no longer favour %d over %d MHz (%+.4f): the comparison needs other clocks", lo, hi, heldDJ)
	}
	if math.Abs(windowsDJ-heldDJ) > 0.007 {
		t.Errorf("windows say J(%d) − J(%d) = %+.4f, held runs %+.4f: the window relations no longer say what holding a clock does",
			lo, hi, windowsDJ, heldDJ)
	}
}

// windowObjectiveGap fits ln rate and ln power on [1, u, u², p, p²]
// separately at each clock, solves each for the batch where the rate meets
// the windows' mean demand at their mean prefill rate, and returns
// J(a) − J(b), J = ln P + ln B.
func windowObjectiveGap(a, b []bandit.Steady) (float64, error) {
	var demand, prefill float64
	for _, pts := range [][]bandit.Steady{a, b} {
		for _, s := range pts {
			demand += s.Batch / s.StepS
			prefill += s.PrefillTokS / 1e4
		}
	}
	n := float64(len(a) + len(b))
	demand, prefill = demand/n, prefill/n
	var j [2]float64
	for k, pts := range [][]bandit.Steady{a, b} {
		if len(pts) < 50 {
			return 0, fmt.Errorf("only %d windows at one clock", len(pts))
		}
		rate, power, err := fitRelations(pts)
		if err != nil {
			return 0, err
		}
		at := func(c []float64, u float64) float64 {
			return c[0] + c[1]*u + c[2]*u*u + c[3]*prefill + c[4]*prefill*prefill
		}
		// The rate rises with the batch over the range seen; bisect for it.
		lo, hi := math.Log(0.5), math.Log(256)
		for range 100 {
			mid := (lo + hi) / 2
			if at(rate, mid) < math.Log(demand) {
				lo = mid
			} else {
				hi = mid
			}
		}
		j[k] = at(power, lo) + lo
	}
	return j[0] - j[1], nil
}

func fitRelations(pts []bandit.Steady) (rate, power []float64, err error) {
	x := mat.NewDense(len(pts), 5, nil)
	yr := mat.NewVecDense(len(pts), nil)
	yp := mat.NewVecDense(len(pts), nil)
	for i, s := range pts {
		u, p := math.Log(s.Batch), s.PrefillTokS/1e4
		x.SetRow(i, []float64{1, u, u * u, p, p * p})
		yr.SetVec(i, math.Log(s.Batch/s.StepS))
		yp.SetVec(i, math.Log(s.PowerW))
	}
	var cr, cp mat.VecDense
	if err := cr.SolveVec(x, yr); err != nil {
		return nil, nil, fmt.Errorf("rate fit: %w", err)
	}
	if err := cp.SolveVec(x, yp); err != nil {
		return nil, nil, fmt.Errorf("power fit: %w", err)
	}
	return cr.RawVector().Data, cp.RawVector().Data, nil
}

// heldMeans runs the scenario at a static clock and returns the mean running
// batch and power over minutes 1–10.
func heldMeans(ctx context.Context, sc Scenario, base *sim.Sim, mhz int) (batch, powerW float64, err error) {
	cfg := sc.Config
	cfg.Control.Policy = staticName(mhz)
	var n float64
	_, err = drive(ctx, sc, base, cfg,
		nil,
		func(snap control.Snapshot, s *sim.Sim) {
			if t := s.Now(); t < time.Minute || t > 10*time.Minute || !(snap.PowerW > 0) {
				return
			}
			for _, f := range snap.Features {
				if f.Name == "running" {
					batch += f.Raw
				}
			}
			powerW += snap.PowerW
			n++
		})
	if err != nil {
		return 0, 0, fmt.Errorf("static %d MHz: %w", mhz, err)
	}
	if n == 0 {
		return 0, 0, fmt.Errorf("static %d MHz: no windows with power between minutes 1 and 10", mhz)
	}
	return batch / n, powerW / n, nil
}

// stationaryScenario is a stationary load for one seed (Poisson arrivals at 5.5 req/s, the conversation trace's mean, for
// 10 minutes on the default config) and its simulator.
func stationaryScenario(seed uint64) (Scenario, sim.Sim, error) {
	sc := Scenario{Name: "poisson-stationary", Duration: 10 * time.Minute,
		Workload: sim.Workload{Name: sim.WorkloadPoisson, Rate: 5.5, Seed: seed},
		Seed:     seed, Config: config.Default()}
	base, err := sim.New(sc.simConfig())
	return sc, base, err
}
