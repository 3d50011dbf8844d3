package bench

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gputune/gputune/sim"
)

// SuiteDefaultDuration is the trace prefix (and synthetic arrival time) the
// suite runs by default: the horizon reference simulates about 280 seconds
// (28 rollouts of 30 s every 3 s) per second of the run, and the whole set (8 workloads × 3
// parameter sets) must finish in under 8 minutes on 2 cores, so the suite
// runs the first 10 minutes unless --duration says otherwise. The output
// says so.
const SuiteDefaultDuration = 10 * time.Minute

// SuiteSeeds is the default number of policy seeds per suite row.
const SuiteSeeds = 3

// SuiteScenarios derives the standard set from base (its trace, SLOs,
// objective and duration): the conversation trace with base's SLOs, with
// tight SLOs (TTFT 0.5 s, TPOT 30 ms at p99), at 3× the request rate, the
// bursty, ramp and phases synthetic workloads, a stationary Poisson load,
// and the A100 profile. A synthetic workload draws its arrivals from one
// workload seed (base's), so that across policy seeds only the learners
// change and the seed-free rows run once, as a trace's do.
func SuiteScenarios(base Scenario) []Scenario {
	conv := base
	conv.Name = "azure-conv"
	tight := base
	tight.Name = "tight-slo"
	tight.Config.SLO.TTFTLimitS, tight.Config.SLO.TPOTLimitS, tight.Config.SLO.Percentile = 0.5, 0.030, 0.99
	rate := base
	rate.Name = "rate-3x"
	rate.Workload.RateScale = 3 * max(base.Workload.RateScale, 1)
	synthetic := func(name string) Scenario {
		s := base
		s.Name = name
		s.Workload = sim.Workload{Name: name, Seed: max(base.Seed, 1)}
		return s
	}
	a100 := base
	a100.Name = "a100"
	a100.GPUProfile = "a100-sxm"
	return []Scenario{conv, tight, rate, synthetic(sim.WorkloadBursty), synthetic(sim.WorkloadRamp),
		synthetic(sim.WorkloadPhases), synthetic(sim.WorkloadPoisson), a100}
}

// SuiteRow is one scenario and parameter set, aggregated over seeds.
type SuiteRow struct {
	Scenario      string `json:"scenario"`
	Params        string `json:"sim_params"`
	SimParamsHash string `json:"sim_params_hash"`
	Seeds         int    `json:"seeds"`
	// SeedFree says the workload's arrivals do not depend on the policy
	// seed: the default, static, power-cap and horizon-oracle rows ran once.
	SeedFree      bool          `json:"seed_free"`
	StaticBestMHz []int         `json:"static_best_mhz"`
	PowerCapBestW []float64     `json:"power_cap_best_w"`
	Policies      []SuiteMetric `json:"policies"`
	Targets       []Target      `json:"targets"`
}

// SuiteMetric is one policy's mean and standard deviation over seeds.
type SuiteMetric struct {
	Name             string `json:"name"`
	Objective        MeanSD `json:"objective"`
	EnergyPerToken   MeanSD `json:"energy_per_token_j"`
	EDPPerToken      MeanSD `json:"edp_per_token"`
	TTFTP99          MeanSD `json:"ttft_p99_s"`
	TPOTP99          MeanSD `json:"tpot_p99_s"`
	SLOAttainment    MeanSD `json:"slo_attainment"`
	Throughput       MeanSD `json:"throughput_tok_s"`
	EnergySaving     MeanSD `json:"energy_saving_vs_default"`
	Saving           MeanSD `json:"saving_vs_default"`
	GapVsStaticBest  MeanSD `json:"gap_vs_static_best"`
	HeadroomCaptured MeanSD `json:"headroom_captured"`
	GapAt60s         MeanSD `json:"gap_at_60s"`
	GapAt120s        MeanSD `json:"gap_at_120s"`
	GapAt300s        MeanSD `json:"gap_at_300s"`
	TWithin1pct      MeanSD `json:"t_within_1pct_s"`
	TWithin2pct      MeanSD `json:"t_within_2pct_s"`
	// Recovery pools every load change of every seed; Unrecovered counts
	// the changes never recovered from, out of RecoveryChanges.
	Recovery        MeanSD  `json:"recovery_s"`
	RecoveryMax     float64 `json:"recovery_max_s"`
	Unrecovered     int     `json:"unrecovered_changes"`
	RecoveryChanges int     `json:"recovery_changes"`
	results         []PolicyResult
}

// MeanSD is a mean and a sample standard deviation (NaN: none).
type MeanSD struct {
	Mean float64 `json:"mean"`
	SD   float64 `json:"sd"`
	N    int     `json:"n"`
}

func meanSD(xs []float64) MeanSD {
	var s, n float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s += x
			n++
		}
	}
	m := MeanSD{Mean: math.NaN(), SD: math.NaN(), N: int(n)}
	if n == 0 {
		return m
	}
	m.Mean = s / n
	if n > 1 {
		var v float64
		for _, x := range xs {
			if !math.IsNaN(x) && !math.IsInf(x, 0) {
				v += (x - m.Mean) * (x - m.Mean)
			}
		}
		m.SD = math.Sqrt(v / (n - 1))
	}
	return m
}

func (m MeanSD) String() string {
	if math.IsNaN(m.Mean) {
		return "-"
	}
	if math.IsNaN(m.SD) {
		return fmt.Sprintf("%.4g", m.Mean)
	}
	return fmt.Sprintf("%.4g±%.2g", m.Mean, m.SD)
}

// SuiteReport is a whole suite run.
type SuiteReport struct {
	Command    string     `json:"command"`
	DurationS  float64    `json:"duration_s"`
	OracleNote string     `json:"oracle_note"`
	Rows       []SuiteRow `json:"rows"`
	WallS      float64    `json:"wall_s"`
	first      *Report
}

// RunSuite runs every suite scenario under every parameter set and seeds
// seeds (base.Seed, base.Seed+1, …).
func RunSuite(ctx context.Context, base Scenario, seeds int, opt Options, progress func(float64)) (*SuiteReport, error) {
	return RunSet(ctx, SuiteScenarios(base), sim.ParamSetNames(), seeds, opt, progress)
}

// RunSet runs each scenario under each parameter set (empty: the
// scenario's own) for seeds seeds, and aggregates over seeds.
func RunSet(ctx context.Context, scs []Scenario, params []string, seeds int, opt Options, progress func(float64)) (*SuiteReport, error) {
	start := time.Now()
	if len(scs) == 0 || seeds < 1 {
		return nil, fmt.Errorf("%w: nothing to run (scenarios %d, seeds %d)", ErrScenario, len(scs), seeds)
	}
	base := scs[0]
	if len(params) == 0 {
		params = []string{base.Params}
	}
	rep := &SuiteReport{DurationS: base.Duration.Seconds(), OracleNote: OracleNote}
	total := float64(len(scs) * len(params) * seeds)
	done := 0.0
	for _, sc := range scs {
		for _, ps := range params {
			sc := sc
			sc.Params = ps
			row := SuiteRow{Scenario: sc.Name, Params: ps, Seeds: seeds, SeedFree: seedFree(sc)}
			o := opt
			o.reuse = &runCache{}
			var reports []*Report
			for k := range seeds {
				sc.Seed = base.Seed + uint64(k)
				o.Progress = func(f float64) {
					if progress != nil {
						progress((done + f) / total)
					}
				}
				r, err := Run(ctx, sc, o)
				if err != nil {
					return nil, fmt.Errorf("suite %s/%s seed %d: %w", sc.Name, ps, sc.Seed, err)
				}
				if rep.first == nil {
					rep.first = r
				}
				reports = append(reports, r)
				row.SimParamsHash = r.SimParamsHash
				row.StaticBestMHz = append(row.StaticBestMHz, r.StaticBestMHz)
				row.PowerCapBestW = append(row.PowerCapBestW, r.PowerCapBestW)
				done++
			}
			row.Policies = aggregate(reports)
			row.Targets = suiteTargets(sc, row.Policies)
			rep.Rows = append(rep.Rows, row)
		}
	}
	rep.WallS = time.Since(start).Seconds()
	return rep, nil
}

func aggregate(reports []*Report) []SuiteMetric {
	var out []SuiteMetric
	for _, name := range mainRows() {
		m := SuiteMetric{Name: name}
		for _, r := range reports {
			if p, ok := r.Policy(name); ok {
				m.results = append(m.results, p)
			}
		}
		if len(m.results) == 0 {
			continue
		}
		col := func(f func(PolicyResult) float64) MeanSD {
			xs := make([]float64, len(m.results))
			for i, p := range m.results {
				xs[i] = f(p)
			}
			return meanSD(xs)
		}
		m.Objective = col(func(p PolicyResult) float64 { return p.Objective })
		m.EnergyPerToken = col(func(p PolicyResult) float64 { return p.EnergyPerTokenJ })
		m.EDPPerToken = col(func(p PolicyResult) float64 { return p.EDPPerToken })
		m.TTFTP99 = col(func(p PolicyResult) float64 { return p.TTFTP99S })
		m.TPOTP99 = col(func(p PolicyResult) float64 { return p.TPOTP99S })
		m.SLOAttainment = col(func(p PolicyResult) float64 { return p.SLOAttainment })
		m.Throughput = col(func(p PolicyResult) float64 { return p.ThroughputTokS })
		m.EnergySaving = col(func(p PolicyResult) float64 { return p.EnergySavingVsDefault })
		m.Saving = col(func(p PolicyResult) float64 { return p.SavingVsDefault })
		m.GapVsStaticBest = col(func(p PolicyResult) float64 { return p.GapVsStaticBest })
		m.HeadroomCaptured = col(func(p PolicyResult) float64 { return p.HeadroomCaptured })
		m.GapAt60s = col(func(p PolicyResult) float64 { return p.GapAt60s })
		m.GapAt120s = col(func(p PolicyResult) float64 { return p.GapAt120s })
		m.GapAt300s = col(func(p PolicyResult) float64 { return p.GapAt300s })
		m.TWithin1pct = col(func(p PolicyResult) float64 { return p.TWithin1pctS })
		m.TWithin2pct = col(func(p PolicyResult) float64 { return p.TWithin2pctS })
		var rec []float64
		m.RecoveryMax = math.NaN()
		for _, p := range m.results {
			for _, x := range p.RecoveryS {
				m.RecoveryChanges++
				if math.IsNaN(x) {
					m.Unrecovered++
					continue
				}
				rec = append(rec, x)
				if math.IsNaN(m.RecoveryMax) || x > m.RecoveryMax {
					m.RecoveryMax = x
				}
			}
		}
		m.Recovery = meanSD(rec)
		out = append(out, m)
	}
	return out
}

// mainRows are the rows of a table, in order.
func mainRows() []string {
	return []string{PolicyDefault, NameStaticBest, NamePowerCapBest, PolicyAGFT, PolicyGPUTune, PolicyOracle}
}

// seedFree says whether a scenario's arrivals are the same for every policy
// seed: a trace replay, or a synthetic workload with its own seed.
func seedFree(sc Scenario) bool { return sc.Workload.Trace != nil || sc.Workload.Seed != 0 }

// suiteTargets judges the targets on the means over seeds.
func suiteTargets(sc Scenario, ms []SuiteMetric) []Target {
	var ps []PolicyResult
	for _, m := range ms {
		p := PolicyResult{Name: m.Name, Objective: m.Objective.Mean, SLOAttainment: m.SLOAttainment.Mean}
		if len(m.results) > 0 {
			p.MHz = m.results[0].MHz
		}
		ps = append(ps, p)
	}
	return targets(sc, ps)
}

// WriteTable prints the suite's tables.
func (s *SuiteReport) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "suite: %d rows, trace prefix and synthetic length %s (default %s: the full set on the whole trace is too slow for 2 cores), mean±sd over seeds; fractions (0.03 = 3 %%), a positive gap is worse than static-best\n",
		len(s.Rows), time.Duration(s.DurationS*float64(time.Second)), SuiteDefaultDuration)
	for _, row := range s.Rows {
		once := ""
		if row.SeedFree {
			once = "; arrivals do not depend on the seed: default, sweeps and horizon-oracle ran once"
		}
		fmt.Fprintf(&b, "\n### %s / %s (sim params %s, %d seeds, static-best %v MHz, power-cap-best %v W%s)\n\n",
			row.Scenario, row.Params, row.SimParamsHash, row.Seeds, row.StaticBestMHz, row.PowerCapBestW, once)
		tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
		fmt.Fprintln(tw, "| policy\t| objective\t| J/tok\t| TTFT p99 s\t| TPOT p99 s\t| SLO\t| saving vs default\t| gap vs static-best\t| headroom captured\t| gap@60s\t| gap@120s\t| gap@300s\t| T1% s\t| T2% s\t| recovery s\t|")
		fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|")
		for _, m := range row.Policies {
			fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t|\n", m.Name, m.Objective, m.EnergyPerToken,
				m.TTFTP99, m.TPOTP99, m.SLOAttainment, m.Saving, m.GapVsStaticBest, m.HeadroomCaptured,
				m.GapAt60s, m.GapAt120s, m.GapAt300s, withNever(m.TWithin1pct, len(m.results)), withNever(m.TWithin2pct, len(m.results)), m.recoveryText())
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		b.WriteString("\n")
		for _, t := range row.Targets {
			if !t.Applicable || (strings.Contains(t.Name, "tight-SLO") && row.Scenario != "tight-slo") {
				continue
			}
			mark := "NOT MET"
			if t.Met {
				mark = "met"
			}
			fmt.Fprintf(&b, "- target %s: %s — %s\n", mark, t.Name, t.Detail)
		}
	}
	fmt.Fprintf(&b, "\nnote: %s\nnote: every number comes from the simulator, not a real GPU\nwall time %.0f s\n", OracleNote, s.WallS)
	_, err := io.WriteString(w, b.String())
	return err
}

// withNever prints a time metric with how many seeds never reached it.
func withNever(m MeanSD, seeds int) string {
	if m.N == seeds {
		return m.String()
	}
	return fmt.Sprintf("%s (never in %d/%d)", m, seeds-m.N, seeds)
}

// recoveryText is the mean recovery, the worst one and the changes never
// recovered from.
func (m SuiteMetric) recoveryText() string {
	if m.RecoveryChanges == 0 {
		return "-"
	}
	s := fmt.Sprintf("%s, max %s", m.Recovery, secs(m.RecoveryMax))
	if m.Unrecovered > 0 {
		s += fmt.Sprintf(", never %d/%d", m.Unrecovered, m.RecoveryChanges)
	}
	return s
}

// WriteFiles writes suite.json, and the first run's results and plots.
func (s *SuiteReport) WriteFiles(dir string) error {
	b, err := MarshalJSON(s)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "suite.json"), b, 0o644); err != nil {
		return err
	}
	if s.first != nil {
		if err := s.first.WriteJSON(dir); err != nil {
			return err
		}
		return s.first.WritePlots(dir)
	}
	return nil
}
