package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/sim"
)

// NameStaticBest is the static-best policy's name in results.
const NameStaticBest = "static-best"

// Target is one of the project's goals (issue 7 §5), met or not, with the
// numbers that decide it.
type Target struct {
	Name   string `json:"name"`
	Met    bool   `json:"met"`
	Detail string `json:"detail"`
	// Applicable is false where the scenario cannot decide it (a policy did
	// not run, or the target belongs to another scenario).
	Applicable bool `json:"applicable"`
}

// assemble turns runs into the report: metrics, static-best, regret,
// savings, convergence and targets.
func assemble(sc Scenario, runs map[string]run, obj control.Objective) *Report {
	rep := &Report{Scenario: scenarioInfo(sc), OracleNote: OracleNote, runs: runs}
	var statics []run
	for _, r := range runs {
		if r.mhz > 0 {
			statics = append(statics, r)
		}
	}
	slices.SortFunc(statics, func(a, b run) int { return cmp.Compare(a.mhz, b.mhz) })

	var results []PolicyResult
	add := func(name string) {
		if r, ok := runs[name]; ok {
			results = append(results, measure(r, obj))
		}
	}
	add(PolicyDefault)
	rep.StaticBestMHz = bestStatic(runs, obj)
	if rep.StaticBestMHz > 0 {
		p := measure(runs[staticName(rep.StaticBestMHz)], obj)
		p.Name, p.Sweep = NameStaticBest, ""
		results = append(results, p)
	}
	add(PolicyAGFT)
	add(PolicyGPUTune)
	add(PolicyOracle)
	for _, s := range statics {
		p := measure(s, obj)
		p.Sweep = s.sweep
		results = append(results, p)
	}

	find := func(name string) *PolicyResult {
		for i := range results {
			if results[i].Name == name {
				return &results[i]
			}
		}
		return nil
	}
	def, best, orc := find(PolicyDefault), find(NameStaticBest), find(PolicyOracle)
	eligible := []run{}
	if def != nil {
		for _, s := range statics {
			if s.truth.SLOAttainment() >= def.SLOAttainment-0.01 {
				eligible = append(eligible, s)
			}
		}
	}
	for i := range results {
		p := &results[i]
		p.Regret, p.GapClosed = math.NaN(), math.NaN()
		p.EnergySavingVsDefault, p.ObjectiveSavingVsDefault = math.NaN(), math.NaN()
		p.EnergySavingVsStaticBest, p.ObjectiveSavingVsStaticBest = math.NaN(), math.NaN()
		if orc != nil {
			p.Regret = p.Objective/orc.Objective - 1
		}
		if def != nil {
			p.EnergySavingVsDefault = 1 - p.EnergyJ/def.EnergyJ
			p.ObjectiveSavingVsDefault = 1 - p.Objective/def.Objective
			if orc != nil && def.Objective != orc.Objective {
				p.GapClosed = (def.Objective - p.Objective) / (def.Objective - orc.Objective)
			}
		}
		if best != nil {
			p.EnergySavingVsStaticBest = 1 - p.EnergyJ/best.EnergyJ
			p.ObjectiveSavingVsStaticBest = 1 - p.Objective/best.Objective
		}
		if p.Name == PolicyGPUTune || p.Name == PolicyAGFT {
			p.Segments = convergence(obj, runs[p.Name], eligible)
			if len(p.Segments) > 0 {
				p.ConvergeRounds = p.Segments[0].Rounds
			}
		}
	}
	rep.Policies = results
	rep.Targets = targets(sc, results)
	return rep
}

func scenarioInfo(sc Scenario) ScenarioInfo {
	wl := sc.Workload
	info := ScenarioInfo{Name: sc.Name, Workload: wl.Name, GPUProfile: cmp.Or(sc.GPUProfile, sim.DefaultProfile),
		Params: cmp.Or(sc.Params, sim.DefaultParams), Seed: sc.Seed, RateScale: cmp.Or(wl.RateScale, 1),
		SLOTTFTS: sc.Config.SLO.TTFTLimitS, SLOTPOTS: sc.Config.SLO.TPOTLimitS,
		Objective: sc.Config.Control.Objective, Oracle: sc.Oracle, PeriodS: sc.Config.Control.Period.Seconds(),
		DurationS: sc.Duration.Seconds()}
	if wl.Trace != nil {
		info.Trace, info.Requests = wl.Trace.Name, wl.Trace.Len()
		if info.DurationS == 0 {
			info.DurationS = wl.Trace.Span().Seconds()
		}
	}
	return info
}

// targets states the project's goals for this scenario.
func targets(sc Scenario, ps []PolicyResult) []Target {
	get := func(n string) (PolicyResult, bool) {
		for _, p := range ps {
			if p.Name == n {
				return p, true
			}
		}
		return PolicyResult{}, false
	}
	g, okG := get(PolicyGPUTune)
	d, okD := get(PolicyDefault)
	o, okO := get(PolicyOracle)
	b, okB := get(NameStaticBest)
	a, okA := get(PolicyAGFT)
	var ts []Target
	t := Target{Name: "gputune closes >= 80% of the default -> greedy-oracle objective gap", Applicable: okG && okD && okO}
	if t.Applicable {
		t.Met = g.GapClosed >= 0.8
		t.Detail = fmt.Sprintf("gap closed %.0f%% (default %.4g, gputune %.4g, greedy-oracle %.4g)", 100*g.GapClosed, d.Objective, g.Objective, o.Objective)
	}
	ts = append(ts, t)
	t = Target{Name: "gputune objective <= static-best's at equal or better SLO attainment", Applicable: okG && okB}
	if t.Applicable {
		t.Met = g.Objective <= b.Objective && g.SLOAttainment >= b.SLOAttainment
		t.Detail = fmt.Sprintf("gputune %.4g at %.2f%% SLO, static-best (%d MHz) %.4g at %.2f%%", g.Objective, 100*g.SLOAttainment, b.MHz, b.Objective, 100*b.SLOAttainment)
	}
	ts = append(ts, t)
	t = Target{Name: "gputune SLO attainment within 1 point of default's (tight-SLO scenario)", Applicable: okG && okD}
	if t.Applicable {
		t.Met = g.SLOAttainment >= d.SLOAttainment-0.01
		t.Detail = fmt.Sprintf("gputune %.2f%%, default %.2f%%", 100*g.SLOAttainment, 100*d.SLOAttainment)
		if !strings.Contains(sc.Name, "tight") {
			t.Detail += " (checked here too; the target names the tight-SLO scenario)"
		}
	}
	ts = append(ts, t)
	t = Target{Name: "gputune converges in <= 60 rounds and in fewer than agft", Applicable: okG && okA}
	if t.Applicable {
		gr, ar := roundsText(g.ConvergeRounds), roundsText(a.ConvergeRounds)
		t.Met = g.ConvergeRounds != nil && *g.ConvergeRounds <= 60 &&
			(a.ConvergeRounds == nil || *g.ConvergeRounds < *a.ConvergeRounds)
		t.Detail = fmt.Sprintf("gputune %s, agft %s (first %s segment)", gr, ar, time.Duration(SegmentLength)*time.Second)
	}
	ts = append(ts, t)
	return ts
}

func roundsText(r *int) string {
	if r == nil {
		return "did not converge"
	}
	return fmt.Sprintf("%d rounds", *r)
}

// arrivalRate bins the scenario's arrivals (trace replays only).
func arrivalRate(sc Scenario, binS float64) []RatePoint {
	t := sc.Workload.Trace
	if t == nil {
		return nil
	}
	scale := 1.0
	if ts := sc.Workload.TimeScale; ts > 0 {
		scale *= ts
	}
	if rs := sc.Workload.RateScale; rs > 0 {
		scale /= rs
	}
	n := int(t.Span().Seconds()*scale/binS) + 1
	counts := make([]float64, n)
	for _, at := range t.At {
		i := int(at.Seconds() * scale / binS)
		if i < n {
			counts[i]++
		}
	}
	out := make([]RatePoint, n)
	for i, c := range counts {
		out[i] = RatePoint{T: (float64(i) + 0.5) * binS, ReqPerS: c / binS}
	}
	return out
}
