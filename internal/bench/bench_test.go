package bench

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/sim"
)

// shortScenario is the first few minutes of the conversation trace.
func shortScenario(t *testing.T, d time.Duration) Scenario {
	t.Helper()
	if raceEnabled {
		// The race detector makes the simulator ~30x slower; every check
		// here holds on any slice.
		d = min(d, 20*time.Second)
	}
	tr, err := sim.AzureConvTrace()
	if err != nil {
		t.Fatal(err)
	}
	if tr, err = TracePrefix(tr, d); err != nil {
		t.Fatal(err)
	}
	return Scenario{Name: "short", Workload: sim.Workload{Name: sim.WorkloadAzureConv, Trace: tr},
		Seed: 1, Config: config.Default()}
}

// The report of one short run is shared by the consistency tests.
func shortReport(t *testing.T) *Report {
	t.Helper()
	opt := Options{}
	if raceEnabled {
		// The horizon reference's rollouts are too slow under the race
		// detector; TestHorizonBeatsStaticBest checks it outside it.
		opt.Policies = []string{PolicyDefault, PolicyStatic, PolicyPowerCap, PolicyAGFT, PolicyGPUTune}
	}
	rep, err := Run(context.Background(), shortScenario(t, 3*time.Minute), opt)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestShortRun checks one short run of every policy (3 minutes of the
// conversation trace; 20 s under the race detector) for sane, internally consistent numbers.
func TestShortRun(t *testing.T) {
	rep := shortReport(t)
	t.Run("consistent", func(t *testing.T) { checkConsistent(t, rep) })
	t.Run("default never locks", func(t *testing.T) { checkDefaultNeverLocks(t, rep) })
	t.Run("static runs at its clock", func(t *testing.T) { checkStaticClock(t, rep) })
	t.Run("static-best", func(t *testing.T) { checkStaticBest(t, rep) })
	t.Run("power caps", func(t *testing.T) { checkPowerCaps(t, rep) })
	t.Run("results.json", func(t *testing.T) { checkResultsJSON(t, rep) })
}

func checkConsistent(t *testing.T, rep *Report) {
	requests := float64(rep.Scenario.Requests)
	def, ok := rep.Policy(PolicyDefault)
	if !ok {
		t.Fatal("no default")
	}
	for _, p := range rep.Policies {
		t.Run(p.Name, func(t *testing.T) {
			if p.Requests != requests {
				t.Errorf("finished %v requests, the slice has %v", p.Requests, requests)
			}
			if math.Abs(p.EnergyPerTokenJ-p.EnergyJ/p.OutputTokens) > 1e-12 {
				t.Errorf("energy per token %v != %v/%v", p.EnergyPerTokenJ, p.EnergyJ, p.OutputTokens)
			}
			want := p.EnergyJ / p.OutputTokens * p.E2EMeanS * p.Requests / p.OutputTokens
			if math.Abs(p.EDPPerToken-want) > 1e-9*want || p.Objective != p.EDPPerToken {
				t.Errorf("EDP per token %v, want (E/N)·(Σe2e/N) = %v; objective %v", p.EDPPerToken, want, p.Objective)
			}
			if !(p.SLOAttainment >= 0 && p.SLOAttainment <= 1) {
				t.Errorf("SLO attainment %v outside [0,1]", p.SLOAttainment)
			}
			if !(p.TTFTP99S >= p.TTFTMeanS*0.5 && p.TPOTP99S > 0) {
				t.Errorf("TTFT p99 %v mean %v, TPOT p99 %v", p.TTFTP99S, p.TTFTMeanS, p.TPOTP99S)
			}
			if math.Abs(p.SavingVsDefault-(1-p.Objective/def.Objective)) > 1e-12 {
				t.Errorf("saving vs default %v inconsistent", p.SavingVsDefault)
			}
			if sb, ok := rep.Policy(NameStaticBest); ok && math.Abs(p.GapVsStaticBest-(p.Objective/sb.Objective-1)) > 1e-12 {
				t.Errorf("gap vs static-best %v inconsistent", p.GapVsStaticBest)
			}
			switch {
			case rep.Scenario.DurationS < 60:
				if !math.IsNaN(p.GapAt60s) {
					t.Errorf("gap at 60 s %v measured on a %v s run", p.GapAt60s, rep.Scenario.DurationS)
				}
			default:
				for _, g := range []float64{p.GapAt60s, p.GapAt120s} {
					if !(g > -0.5 && g < 5) {
						t.Errorf("cumulative gap %v: not measured or absurd", g)
					}
				}
			}
		})
	}
	if def.SavingVsDefault != 0 || def.EnergySavingVsDefault != 0 {
		t.Errorf("default saves %v against itself", def.SavingVsDefault)
	}
	sb, _ := rep.Policy(NameStaticBest)
	if sb.GapVsStaticBest != 0 || (sb.GapAt60s != 0 && rep.Scenario.DurationS >= 60) || sb.TWithin1pctS > 1 {
		t.Errorf("static-best against itself: gap %v, at 60 s %v, within 1%% after %v s", sb.GapVsStaticBest, sb.GapAt60s, sb.TWithin1pctS)
	}
	if orc, ok := rep.Policy(PolicyOracle); ok && orc.Objective < sb.Objective && orc.HeadroomCaptured != 1 {
		t.Errorf("horizon-oracle captures %v of its own headroom", orc.HeadroomCaptured)
	}
}

func checkPowerCaps(t *testing.T, rep *Report) {
	n := 0
	for _, p := range rep.Policies {
		if p.PowerLimitW == 0 || p.Sweep == "" {
			continue
		}
		n++
		for _, w := range rep.Windows(capName(p.PowerLimitW)) {
			if w.CmdMHz != 0 {
				t.Fatalf("power cap %g W locked %d MHz", p.PowerLimitW, w.CmdMHz)
			}
			// The governor holds power under the limit; a window may
			// overshoot it only while the cap settles.
			if w.PowerW > p.PowerLimitW*1.05 {
				t.Errorf("power cap %g W: window at %.1f s drew %.0f W", p.PowerLimitW, w.EndS, w.PowerW)
				break
			}
		}
	}
	if n < 10 {
		t.Errorf("power-limit sweep has %d runs", n)
	}
	pc, ok := rep.Policy(NamePowerCapBest)
	if !ok {
		t.Fatal("no power-cap-best")
	}
	for _, p := range rep.Policies {
		if p.PowerLimitW > 0 && p.Sweep != "" && p.Objective < pc.Objective && p.SLOAttainment >= pc.SLOAttainment {
			t.Errorf("power cap %g W (%v) beats power-cap-best %g W (%v)", p.PowerLimitW, p.Objective, pc.PowerLimitW, pc.Objective)
		}
	}
}

func checkDefaultNeverLocks(t *testing.T, rep *Report) {
	for _, w := range rep.Windows(PolicyDefault) {
		if w.CmdMHz != 0 {
			t.Fatalf("default commanded %d MHz at %.1f s", w.CmdMHz, w.EndS)
		}
	}
}

func checkStaticClock(t *testing.T, rep *Report) {
	n := 0
	for _, p := range rep.Policies {
		if p.Sweep == "" {
			continue
		}
		n++
		for _, w := range rep.Windows(staticName(p.MHz)) {
			if w.Mode != string(control.ModeExploit) {
				continue
			}
			// A lock takes effect after the clock latency; under the power
			// cap the clock may only be lower.
			if w.CmdMHz != p.MHz || w.ClockMHz > float64(p.MHz)+0.5 {
				t.Fatalf("static:%d window at %.1f s: commanded %d, in effect %.1f", p.MHz, w.EndS, w.CmdMHz, w.ClockMHz)
			}
			if !w.Capped && math.Abs(w.ClockMHz-float64(p.MHz)) > 0.5 {
				t.Fatalf("static:%d runs at %.1f MHz at %.1f s and the power cap is not the reason", p.MHz, w.ClockMHz, w.EndS)
			}
		}
	}
	if n < 10 {
		t.Fatalf("only %d static clocks swept", n)
	}
}

func checkStaticBest(t *testing.T, rep *Report) {
	def, _ := rep.Policy(PolicyDefault)
	best, ok := rep.Policy(NameStaticBest)
	if !ok {
		t.Fatal("no static-best")
	}
	if best.SLOAttainment < def.SLOAttainment-0.01 {
		t.Fatalf("static-best attainment %v more than 1 point under default's %v", best.SLOAttainment, def.SLOAttainment)
	}
	refined := 0
	for _, p := range rep.Policies {
		if p.Sweep == "refine" {
			refined++
		}
		if p.Sweep != "" && p.SLOAttainment >= def.SLOAttainment-0.01 && p.Objective < best.Objective {
			t.Errorf("static:%d (%v) beats static-best %d (%v)", p.MHz, p.Objective, best.MHz, best.Objective)
		}
	}
	if refined == 0 {
		t.Error("no refinement around the coarse best")
	}
}

// A horizon decision locks the candidate whose rollout costs least, and
// trying candidates never moves the state they were cloned from.
func TestHorizonDecisionIsCheapestRollout(t *testing.T) {
	sc := shortScenario(t, 50*time.Second)
	base, err := sim.New(sc.simConfig())
	if err != nil {
		t.Fatal(err)
	}
	base.Step(45 * time.Second) // a busy state
	ctx := context.Background()
	clocks := base.GPU().Facts().CoreClocksMHz
	plan := horizonPlan{h: DefaultHorizon(), tailMHz: 990, lambda: 250}
	if raceEnabled {
		plan.h.Hold, plan.h.Tail = time.Second, 2*time.Second
	}
	cands := candidates(clocks, plan.h.Stride, 990)
	if len(cands) < 26 || len(cands) > 32 {
		t.Errorf("%d candidates, want about 26", len(cands))
	}
	before := base.Truth()
	for _, workers := range []int{1, 2} {
		d := newDecider(plan, workers)
		got := d.decide(ctx, &base, cands, 990)
		var scratch sim.Sim
		inf := func() float64 { return math.Inf(1) }
		cost := func(mhz int) float64 { return plan.rollout(ctx, &base, &scratch, mhz, inf) }
		gc := cost(got)
		for _, c := range cands {
			if cc := cost(c); cc < gc {
				t.Errorf("workers %d: chose %d MHz (cost %v), %d MHz costs %v", workers, got, gc, c, cc)
			}
		}
	}
	if after := base.Truth(); after.EnergyJ != before.EnergyJ || after.OutputTokens != before.OutputTokens {
		t.Fatal("a rollout changed the state it was cloned from")
	}
}

func TestParseHorizon(t *testing.T) {
	for _, tt := range []struct {
		spec string
		want Horizon
		ok   bool
	}{
		{"", DefaultHorizon(), true},
		{"replan=1s,stride=2", Horizon{Replan: time.Second, Hold: 10 * time.Second, Tail: 20 * time.Second, Stride: 2}, true},
		{"tail=0s", Horizon{Replan: 3 * time.Second, Hold: 10 * time.Second, Stride: 4}, true},
		{"greedy", Horizon{}, false},
		{"hold=-1s", Horizon{}, false},
		{"depth=3", Horizon{}, false},
	} {
		got, err := ParseHorizon(tt.spec)
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("ParseHorizon(%q) = %+v, %v", tt.spec, got, err)
		}
	}
}

func checkResultsJSON(t *testing.T, rep *Report) {
	dir := t.TempDir()
	if err := rep.WriteJSON(dir); err != nil {
		t.Fatal(err)
	}
	if err := rep.WritePlots(dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range PlotFiles {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() < 1000 {
			t.Errorf("plot %s: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Hash     string           `json:"sim_params_hash"`
		Policies []map[string]any `json:"policies"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("results.json is not JSON: %v", err)
	}
	if doc.Hash == "" {
		t.Error("no sim_params_hash")
	}
	names := map[string]bool{}
	keys := []string{"name", "objective", "energy_j", "energy_per_token_j", "edp_per_token", "ttft_p99_s",
		"tpot_p99_s", "slo_attainment", "throughput_tok_s", "saving_vs_default", "gap_vs_static_best",
		"headroom_captured", "gap_at_60s", "gap_at_120s", "gap_at_300s", "t_within_1pct_s", "t_within_2pct_s", "recovery_s"}
	for _, p := range doc.Policies {
		for _, k := range keys {
			if _, ok := p[k]; !ok {
				t.Errorf("policy %v lacks %q", p["name"], k)
			}
		}
		if _, ok := p["converge_rounds"]; ok {
			t.Errorf("policy %v still reports converge_rounds", p["name"])
		}
		name, _ := p["name"].(string)
		names[name] = true
		if name == NameStaticBest || len(name) > 7 && name[:7] == "static:" {
			if mhz, _ := p["mhz"].(float64); mhz <= 0 {
				t.Errorf("%s has no mhz", name)
			}
		}
	}
	want := []string{"default", "static-best", "power-cap-best", "agft", "gputune", "horizon-oracle"}
	if raceEnabled {
		want = want[:5]
	}
	for _, n := range want {
		if !names[n] {
			t.Errorf("no policy %q in results.json", n)
		}
	}
}

func TestPoliciesSubsetAndBadScenario(t *testing.T) {
	sc := shortScenario(t, time.Minute)
	rep, err := Run(context.Background(), sc, Options{Policies: []string{PolicyGPUTune}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Policies) != 1 || rep.Policies[0].Name != PolicyGPUTune {
		t.Fatalf("asked for gputune alone, got %d policies", len(rep.Policies))
	}
	bad := []Scenario{
		func() Scenario { s := sc; s.Params = "bogus"; return s }(),
		func() Scenario { s := sc; s.GPUProfile = "v100"; return s }(),
		func() Scenario { s := sc; s.Oracle = "perfect"; return s }(),
		func() Scenario { s := sc; s.Workload = sim.Workload{Name: sim.WorkloadPoisson}; return s }(),
	}
	for _, s := range bad {
		if _, err := Run(context.Background(), s, Options{}); err == nil {
			t.Errorf("scenario %+v accepted", s.Name)
		}
	}
	if _, err := Run(context.Background(), sc, Options{Policies: []string{"oracle-of-delphi"}}); err == nil {
		t.Error("unknown policy accepted")
	}
}

func TestSuiteAggregatesSeeds(t *testing.T) {
	sc := shortScenario(t, time.Minute)
	rep, err := RunSet(context.Background(), []Scenario{sc}, nil, 2, Options{Policies: []string{PolicyDefault, PolicyGPUTune}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Rows) != 1 || len(rep.Rows[0].Policies) != 2 {
		t.Fatalf("rows %+v", rep.Rows)
	}
	for _, m := range rep.Rows[0].Policies {
		if m.Objective.N != 2 {
			t.Errorf("%s aggregated %d seeds, want 2", m.Name, m.Objective.N)
		}
	}
	if _, err := MarshalJSON(rep); err != nil {
		t.Fatal(err)
	}
}

func TestMeanSD(t *testing.T) {
	cases := []struct {
		in       []float64
		mean, sd float64
	}{
		{[]float64{1, 2, 3}, 2, 1},
		{[]float64{5}, 5, math.NaN()},
		{[]float64{math.NaN(), 4, 6}, 5, math.Sqrt2},
	}
	for _, c := range cases {
		m := meanSD(c.in)
		if m.Mean != c.mean || !(m.SD == c.sd || math.IsNaN(m.SD) && math.IsNaN(c.sd)) && math.Abs(m.SD-c.sd) > 1e-12 {
			t.Errorf("meanSD(%v) = %+v, want %v ± %v", c.in, m, c.mean, c.sd)
		}
	}
}

func TestMarshalJSONWritesNaNAsNull(t *testing.T) {
	b, err := MarshalJSON(struct {
		A float64 `json:"a"`
		B *int    `json:"b"`
		C string  `json:"c,omitempty"`
	}{A: math.NaN()})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["a"] != nil || m["b"] != nil || len(m) != 2 {
		t.Fatalf("got %s", b)
	}
}

// A synthetic workload's request rate comes from the arrivals its windows
// counted, binned, without the drain after the last arrival.
func TestWindowRate(t *testing.T) {
	ws := []Window{{EndS: 10, Arrived: 30}, {EndS: 20, Arrived: 60}, {EndS: 35, Arrived: 15}, {EndS: 50}, {EndS: 65}}
	got := windowRate(ws, 30)
	want := []RatePoint{{T: 15, ReqPerS: 3}, {T: 45, ReqPerS: 0.5}}
	if !slices.Equal(got, want) {
		t.Errorf("windowRate = %v, want %v", got, want)
	}
	if windowRate(nil, 30) != nil {
		t.Error("no windows: want no rate")
	}
}
