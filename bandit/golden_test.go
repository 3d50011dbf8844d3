package bandit

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenCase is one seeded run of gputune whose every decision is pinned, so
// that a change meant only to make the policy faster is shown not to change
// what it decides.
type goldenCase struct {
	name string
	mems []int
	cfg  func() Config
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"gputune-110", []int{0}, func() Config {
			c := DefaultConfig(PolicyGPUTune, envFeatures)
			c.TPOTLimit, c.TTFTLimit = 0.2, 2.5
			return c
		}},
		{"gputune-220", []int{1593, 2619}, func() Config {
			c := DefaultConfig(PolicyGPUTune, envFeatures)
			c.MemoryClock = true
			c.TPOTLimit = 0.2
			return c
		}},
	}
}

// runGolden runs 2,000 rounds: a smooth EDP curve, then a roofline knee, with
// window weights, a forced exploration burst and a mid-run SLO change, and
// writes one line per round (chosen arm, whether it explored, and that arm's
// score) plus the final score table.
func runGolden(t *testing.T, gc goldenCase) []string {
	t.Helper()
	var arms []Arm
	for _, m := range gc.mems {
		for f := 345; f <= 1980; f += 15 {
			arms = append(arms, Arm{SMMHz: f, MemMHz: m})
		}
	}
	p, err := New(PolicyGPUTune, gc.cfg(), arms, 7)
	if err != nil {
		t.Fatal(err)
	}
	env := newSynthEnv(11, smoothRegime(0.2), 0.02)
	x := make([]float64, 0, envFeatures)
	scores := make([]ArmScore, 0, len(arms))
	var lines []string
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	const rounds = 2000
	for r := 0; r < rounds; r++ {
		switch r {
		case 700:
			p.ForceExplore(5)
		case 900:
			p.SetLimits(2.5, 0.05)
		case 1000:
			env.setRegime(kneeRegime(0.2))
		case 1300:
			p.SetLimits(0, 0.2)
		}
		x = env.context(x)
		var d Decision
		d, scores = p.Decide(x, nil, scores)
		i := -1
		for j := range scores {
			if scores[j].Arm == d.Arm {
				i = j
			}
		}
		if i < 0 {
			t.Fatalf("round %d: chosen arm %v is not in the score table", r, d.Arm)
		}
		maxUCB := math.Inf(-1)
		for _, s := range scores {
			maxUCB = max(maxUCB, s.UCB)
		}
		s := scores[i]
		lines = append(lines, fmt.Sprintf("round %d %d %d %v %d %v | %s %s %s %s %s",
			r, d.Arm.SMMHz, d.Arm.MemMHz, d.Explore, d.SafeArms, d.Violation,
			g(s.Pred), g(s.Bonus), g(maxUCB), g(s.TTFTUpper), g(s.TPOTUpper)))
		obs := env.step(d.Arm, x)
		if d.Arm.MemMHz == 2619 {
			obs.Reward -= 0.05 // the higher memory clock costs energy
		}
		obs.Weight = 0.5 + math.Abs(x[1])
		p.Update(obs)
	}
	for _, s := range scores {
		lines = append(lines, fmt.Sprintf("arm %d %d %d %s %q %d | %s %s %s %s %s %s %s %s",
			s.SMMHz, s.MemMHz, s.Pulls, s.State, s.Reason, s.Round,
			g(s.Pred), g(s.Bonus), g(s.UCB), g(s.PredTTFT), g(s.TTFTUpper), g(s.PredTPOT), g(s.TPOTUpper), g(s.LastReward)))
	}
	return lines
}

// TestDecisionsGolden compares every decision with testdata/<case>.golden,
// written by `go test ./bandit -run TestDecisionsGolden -update`. Arms,
// flags, states and reasons must match exactly; scores to a relative 1e-6,
// the slack that reordered floating-point sums need.
func TestDecisionsGolden(t *testing.T) {
	for _, gc := range goldenCases() {
		t.Run(gc.name, func(t *testing.T) {
			got := runGolden(t, gc)
			path := filepath.Join("testdata", gc.name+".golden")
			if *updateGolden {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := readGolden(t, path)
			if len(want) != len(got) {
				t.Fatalf("%d lines, golden has %d", len(got), len(want))
			}
			bad := 0
			for i := range want {
				if msg := compareGoldenLine(want[i], got[i]); msg != "" {
					t.Errorf("line %d: %s\n want %s\n  got %s", i+1, msg, want[i], got[i])
					if bad++; bad >= 5 {
						t.FailNow()
					}
				}
			}
		})
	}
}

func readGolden(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (write it with -update)", err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// compareGoldenLine wants the part before "|" equal and the numbers after it
// equal to a relative 1e-6 (absolute 1e-9 near zero, NaN only with NaN).
func compareGoldenLine(want, got string) string {
	wh, wn, _ := strings.Cut(want, "|")
	gh, gn, _ := strings.Cut(got, "|")
	if wh != gh {
		return "decision differs"
	}
	wf, gf := strings.Fields(wn), strings.Fields(gn)
	if len(wf) != len(gf) {
		return "number of scores differs"
	}
	for i := range wf {
		w, err1 := strconv.ParseFloat(wf[i], 64)
		v, err2 := strconv.ParseFloat(gf[i], 64)
		if err1 != nil || err2 != nil {
			return fmt.Sprintf("score %d is not a number", i)
		}
		if math.IsNaN(w) || math.IsNaN(v) {
			if math.IsNaN(w) != math.IsNaN(v) {
				return fmt.Sprintf("score %d: %v vs %v", i, w, v)
			}
			continue
		}
		if d := math.Abs(w - v); d > 1e-9 && d > 1e-6*math.Abs(w) {
			return fmt.Sprintf("score %d: %v vs %v", i, w, v)
		}
	}
	return ""
}
