package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/assembly"
	"github.com/gputune/gputune/sim"
)

// randomBlocks is a measuring policy, not a tuner: it holds a uniformly
// random clock in [lo, hi] for k decisions at a time and keeps every
// observation the loop trains it on.
type randomBlocks struct {
	arms   []bandit.Arm
	k, n   int
	lo, hi int
	cur    bandit.Arm
	rng    *rand.Rand
	obs    []bandit.Observation
}

func (p *randomBlocks) Name() string { return "random-blocks" }
func (p *randomBlocks) Decide(_ []float64, _ []bandit.Arm, s []bandit.ArmScore) (bandit.Decision, []bandit.ArmScore) {
	if p.n%p.k == 0 {
		for {
			p.cur = p.arms[p.rng.IntN(len(p.arms))]
			if p.cur.SMMHz >= p.lo && p.cur.SMMHz <= p.hi {
				break
			}
		}
	}
	p.n++
	return bandit.Decision{Arm: p.cur, Explore: true}, s[:0]
}
func (p *randomBlocks) Update(o bandit.Observation)   { p.obs = append(p.obs, o) }
func (p *randomBlocks) SetSLOMode(bandit.SLOMode)     {}
func (p *randomBlocks) SetLimits(_, _ float64)        {}
func (p *randomBlocks) ForceExplore(int)              {}
func (p *randomBlocks) Pruned() []bandit.Pruned       { return nil }
func (p *randomBlocks) Round() int                    { return len(p.obs) }
func (p *randomBlocks) Converged() (bool, int)        { return false, 0 }
func (p *randomBlocks) MarshalState() ([]byte, error) { return []byte("{}"), nil }
func (p *randomBlocks) UnmarshalState([]byte) error   { return nil }
func (p *randomBlocks) Reset()                        {}

// windowRecord is what the loop saw of one trained window.
type windowRecord struct {
	mhz                    int
	reward, weight         float64
	energyJ, tokens, delay float64
}

// runMeasuring drives the real loop with pol over the scenario and
// records every window the loop trained pol on.
func runMeasuring(ctx context.Context, t *testing.T, sc Scenario, base *sim.Sim, pol *randomBlocks) []windowRecord {
	t.Helper()
	cfg := sc.Config
	cfg.Control.Policy = bandit.PolicyGPUTune // the loop's reward for gputune, backlog charge included
	var out []windowRecord
	trained := 0
	_, err := drive(ctx, sc, base, cfg,
		func([]bandit.Arm) (bandit.Policy, error) { return pol, nil },
		func(snap control.Snapshot, _ *sim.Sim) {
			if len(pol.obs) > trained && snap.RewardValid {
				o := pol.obs[len(pol.obs)-1]
				delay := snap.EDPPerToken * snap.Tokens * snap.Tokens / snap.EnergyJ
				out = append(out, windowRecord{mhz: snap.Ran.FreqMHz, reward: o.Reward, weight: o.Weight,
					energyJ: snap.EnergyJ, tokens: snap.Tokens, delay: delay})
			}
			trained = len(pol.obs)
		})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRewardBias measures how far the control loop's per-window reward,
// collected while the clock changes, is from what each clock is worth when
// held (docs/gputune-policy.md, "Why per-window rewards mislead"). Over the
// first 10 minutes of the conversation trace it plays a random clock every
// window, then every 20 windows, and prints per 120 MHz bin, relative to
// 1080 MHz: the static runs' −ln(EDP), the token-weighted mean per-window
// reward, and −ln of the 20-window blocks' per-token EDP (ratio of sums).
// About 2 s; it runs only when GPUTUNE_REWARD_BIAS is set:
//
//	GPUTUNE_REWARD_BIAS=1 go test ./internal/bench -run RewardBias -v
func TestRewardBias(t *testing.T) {
	if os.Getenv("GPUTUNE_REWARD_BIAS") == "" {
		t.Skip("set GPUTUNE_REWARD_BIAS=1 to run (~2 s)")
	}
	ctx := context.Background()
	sc := shortScenario(t, 10*time.Minute)
	base, err := sim.New(sc.simConfig())
	if err != nil {
		t.Fatal(err)
	}
	arms, err := assembly.Arms(sc.Config, newSimDevice(base.Clone()).Facts())
	if err != nil {
		t.Fatal(err)
	}
	const lo, hi, bin, ref = 600, 1800, 120, 1080
	var bins []int
	for c := lo; c <= hi; c += bin {
		bins = append(bins, c)
	}
	binOf := func(mhz int) int { return lo + int(math.Round(float64(mhz-lo)/bin))*bin }
	row := func(label string, v map[int]float64) string {
		var b strings.Builder
		fmt.Fprintf(&b, "%-44s", label)
		for _, c := range bins {
			fmt.Fprintf(&b, " %+.2f", v[c]-v[ref])
		}
		return b.String()
	}
	header := fmt.Sprintf("%-44s", "clock MHz")
	for _, c := range bins {
		header += " " + strconv.Itoa(c)
	}
	lines := []string{header}

	truth := map[int]float64{}
	for _, c := range bins {
		r, err := runLoop(ctx, sc, &base, staticName(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		truth[c] = -math.Log(measure(r, control.ObjEDP).Objective)
	}
	lines = append(lines, row("truth: static runs, −ln EDP", truth))

	for _, k := range []int{1, 20} {
		pol := &randomBlocks{arms: arms, k: k, lo: lo - bin/2, hi: hi + bin/2, rng: rand.New(rand.NewPCG(1, 2))}
		recs := runMeasuring(ctx, t, sc, &base, pol)
		sum, wsum := map[int]float64{}, map[int]float64{}
		for _, r := range recs {
			w := r.weight
			if !(w > 0) {
				w = 1
			}
			sum[binOf(r.mhz)] += w * r.reward
			wsum[binOf(r.mhz)] += w
		}
		mean := map[int]float64{}
		for _, c := range bins {
			mean[c] = sum[c] / wsum[c]
		}
		lines = append(lines, row(fmt.Sprintf("loop reward, new clock every %d window(s)", k), mean))
		if k == 1 {
			continue
		}
		// The same windows as blocks: per-token EDP of each run of windows at
		// one clock, as a ratio of sums, weighted by its tokens.
		bsum, btok := map[int]float64{}, map[int]float64{}
		for i := 0; i < len(recs); {
			j := i
			var e, n, d float64
			for ; j < len(recs) && recs[j].mhz == recs[i].mhz; j++ {
				e, n, d = e+recs[j].energyJ, n+recs[j].tokens, d+recs[j].delay
			}
			if n > 0 && e > 0 && d > 0 {
				bsum[binOf(recs[i].mhz)] += n * -math.Log(e/n*d/n)
				btok[binOf(recs[i].mhz)] += n
			}
			i = j
		}
		block := map[int]float64{}
		for _, c := range bins {
			block[c] = bsum[c] / btok[c]
		}
		lines = append(lines, row(fmt.Sprintf("blocks of %d windows, −ln per-token EDP", k), block))
	}
	t.Log("\n" + strings.Join(lines, "\n"))
}
