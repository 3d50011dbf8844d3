package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

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

// NamePowerCapBest is the power-cap-best policy's name in results.
const NamePowerCapBest = "power-cap-best"

// assemble turns runs into the report: metrics, static-best,
// power-cap-best, savings, gaps and targets.
func assemble(sc Scenario, runs map[string]run, obj control.Objective) *Report {
	rep := &Report{Scenario: scenarioInfo(sc), OracleNote: OracleNote, runs: runs}
	var statics, caps []run
	for _, r := range runs {
		switch {
		case r.mhz > 0:
			statics = append(statics, r)
		case r.powerW > 0:
			caps = append(caps, r)
		}
	}
	slices.SortFunc(statics, func(a, b run) int { return cmp.Compare(a.mhz, b.mhz) })
	slices.SortFunc(caps, func(a, b run) int { return cmp.Compare(a.powerW, b.powerW) })

	var results []PolicyResult
	var ser []series // beside results
	add := func(r run, name string) {
		p := measure(r, obj)
		if name != "" {
			p.Name, p.Sweep = name, ""
		}
		results = append(results, p)
		ser = append(ser, newSeries(r.windows))
	}
	addNamed := func(name string) {
		if r, ok := runs[name]; ok {
			add(r, "")
		}
	}
	addNamed(PolicyDefault)
	rep.StaticBestMHz = bestStatic(runs, obj)
	if rep.StaticBestMHz > 0 {
		add(runs[staticName(rep.StaticBestMHz)], NameStaticBest)
	}
	rep.PowerCapBestW = bestCap(runs, obj)
	if rep.PowerCapBestW > 0 {
		add(runs[capName(rep.PowerCapBestW)], NamePowerCapBest)
	}
	addNamed(PolicyAGFT)
	addNamed(PolicyGPUTune)
	addNamed(PolicyOracle)
	for _, r := range append(statics, caps...) {
		add(r, "")
	}

	find := func(name string) int {
		for i := range results {
			if results[i].Name == name {
				return i
			}
		}
		return -1
	}
	def, best, orc := find(PolicyDefault), find(NameStaticBest), find(PolicyOracle)
	var staticSeries []series
	for i := range results {
		if results[i].MHz > 0 && results[i].Sweep != "" {
			staticSeries = append(staticSeries, ser[i])
		}
	}
	var last float64
	for _, x := range ser {
		last = max(last, x.end())
	}
	spans := phaseSpans(sc, last)
	for i := range results {
		p := &results[i]
		p.SavingVsDefault, p.EnergySavingVsDefault = math.NaN(), math.NaN()
		p.GapVsStaticBest, p.EnergySavingVsStaticBest, p.HeadroomCaptured = math.NaN(), math.NaN(), math.NaN()
		p.GapAt60s, p.GapAt120s, p.GapAt300s = math.NaN(), math.NaN(), math.NaN()
		p.TWithin1pctS, p.TWithin2pctS = math.NaN(), math.NaN()
		if def >= 0 {
			d := results[def]
			p.EnergySavingVsDefault = 1 - p.EnergyJ/d.EnergyJ
			p.SavingVsDefault = 1 - p.Objective/d.Objective
		}
		if best >= 0 {
			b, bs := results[best], ser[best]
			p.EnergySavingVsStaticBest = 1 - p.EnergyJ/b.EnergyJ
			p.GapVsStaticBest = p.Objective/b.Objective - 1
			if orc >= 0 && b.Objective > results[orc].Objective {
				p.HeadroomCaptured = (b.Objective - p.Objective) / (b.Objective - results[orc].Objective)
			}
			p.GapAt60s = gapAt(obj, ser[i], bs, 60)
			p.GapAt120s = gapAt(obj, ser[i], bs, 120)
			p.GapAt300s = gapAt(obj, ser[i], bs, 300)
			p.TWithin1pctS = tWithin(obj, ser[i], bs, 0.01)
			p.TWithin2pctS = tWithin(obj, ser[i], bs, 0.02)
		}
		if len(spans) > 0 && len(staticSeries) > 0 {
			end := ser[i].end()
			var sp []phaseSpan
			for _, s := range spans {
				if s.to <= end {
					sp = append(sp, s)
				}
			}
			p.RecoveryS = recovery(obj, ser[i], staticSeries, sp)
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
		Objective: sc.Config.Control.Objective, Oracle: horizonText(sc.Oracle), PeriodS: sc.Config.Control.Period.Seconds(),
		ImportedModel: sc.WarmFrom,
		DurationS:     sc.Duration.Seconds()}
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
	t := Target{Name: "horizon-oracle objective below static-best's at SLO attainment within 0.5 point", Applicable: okO && okB}
	if t.Applicable {
		t.Met = o.Objective < b.Objective && math.Abs(o.SLOAttainment-b.SLOAttainment) <= 0.005
		t.Detail = fmt.Sprintf("horizon-oracle %.4g at %.2f%% SLO, static-best (%d MHz) %.4g at %.2f%%", o.Objective, 100*o.SLOAttainment, b.MHz, b.Objective, 100*b.SLOAttainment)
	}
	ts = append(ts, t)
	t = Target{Name: "gputune objective <= static-best's at equal or better SLO attainment", Applicable: okG && okB}
	if t.Applicable {
		t.Met = g.Objective <= b.Objective && g.SLOAttainment >= b.SLOAttainment
		t.Detail = fmt.Sprintf("gputune %.4g at %.2f%% SLO, static-best (%d MHz) %.4g at %.2f%%", g.Objective, 100*g.SLOAttainment, b.MHz, b.Objective, 100*b.SLOAttainment)
	}
	ts = append(ts, t)
	t = Target{Name: "gputune objective below agft's", Applicable: okG && okA}
	if t.Applicable {
		t.Met = g.Objective < a.Objective
		t.Detail = fmt.Sprintf("gputune %.4g, agft %.4g", g.Objective, a.Objective)
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
	return ts
}

// arrivalRate bins the scenario's arrivals: a trace's own, or, for a
// synthetic workload, those a run saw (its arrivals do not depend on the
// clock).
func arrivalRate(sc Scenario, r run, binS float64) []RatePoint {
	t := sc.Workload.Trace
	if t == nil {
		return windowRate(r.windows, binS)
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

// windowRate bins the arrivals the windows counted, up to the last bin
// with one (the drain after the arrivals end is not load).
func windowRate(ws []Window, binS float64) []RatePoint {
	if len(ws) == 0 {
		return nil
	}
	n := int(ws[len(ws)-1].EndS/binS) + 1
	counts := make([]float64, n)
	for _, w := range ws {
		counts[min(int(w.EndS/binS), n-1)] += w.Arrived
	}
	for n > 0 && counts[n-1] == 0 {
		n--
	}
	counts = counts[:n]
	out := make([]RatePoint, n)
	for i, c := range counts {
		out[i] = RatePoint{T: (float64(i) + 0.5) * binS, ReqPerS: c / binS}
	}
	return out
}
