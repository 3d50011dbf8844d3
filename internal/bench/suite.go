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

// SuiteDefaultDuration is the trace prefix the suite runs by default: the
// whole standard set (5 scenarios × 3 parameter sets × 5 seeds) on the full
// 58-minute trace takes far too long on 2 cores, so the suite runs the first
// 20 minutes unless --duration says otherwise. The output says so.
const SuiteDefaultDuration = 20 * time.Minute

// SuiteSeeds is the default number of seeds per suite scenario.
const SuiteSeeds = 5

// SuiteScenarios derives the standard set from base (its trace, SLOs,
// objective and duration): the conversation trace with base's SLOs, with
// tight SLOs (TTFT 0.5 s, TPOT 30 ms at p99), at 3× the request rate, a
// bursty synthetic workload, and the A100 profile.
func SuiteScenarios(base Scenario) []Scenario {
	conv := base
	conv.Name = "azure-conv"
	tight := base
	tight.Name = "tight-slo"
	tight.Config.SLO.TTFTLimitS, tight.Config.SLO.TPOTLimitS, tight.Config.SLO.Percentile = 0.5, 0.030, 0.99
	rate := base
	rate.Name = "rate-3x"
	rate.Workload.RateScale = 3 * max(base.Workload.RateScale, 1)
	bursty := base
	bursty.Name = "bursty"
	bursty.Workload = sim.Workload{Name: sim.WorkloadBursty}
	a100 := base
	a100.Name = "a100"
	a100.GPUProfile = "a100-sxm"
	return []Scenario{conv, tight, rate, bursty, a100}
}

// SuiteRow is one scenario and parameter set, aggregated over seeds.
type SuiteRow struct {
	Scenario      string        `json:"scenario"`
	Params        string        `json:"sim_params"`
	SimParamsHash string        `json:"sim_params_hash"`
	Seeds         int           `json:"seeds"`
	StaticBestMHz []int         `json:"static_best_mhz"`
	Policies      []SuiteMetric `json:"policies"`
	Targets       []Target      `json:"targets"`
}

// SuiteMetric is one policy's mean and standard deviation over seeds.
type SuiteMetric struct {
	Name           string `json:"name"`
	Objective      MeanSD `json:"objective"`
	EnergyPerToken MeanSD `json:"energy_per_token_j"`
	EDPPerToken    MeanSD `json:"edp_per_token"`
	TTFTP99        MeanSD `json:"ttft_p99_s"`
	TPOTP99        MeanSD `json:"tpot_p99_s"`
	SLOAttainment  MeanSD `json:"slo_attainment"`
	Throughput     MeanSD `json:"throughput_tok_s"`
	EnergySaving   MeanSD `json:"energy_saving_vs_default"`
	EDPSaving      MeanSD `json:"objective_saving_vs_default"`
	GapClosed      MeanSD `json:"gap_closed"`
	ConvergeRounds MeanSD `json:"converge_rounds"`
	Converged      int    `json:"converged_seeds"`
	results        []PolicyResult
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
			row := SuiteRow{Scenario: sc.Name, Params: ps, Seeds: seeds}
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
	for _, name := range []string{PolicyDefault, NameStaticBest, PolicyAGFT, PolicyGPUTune, PolicyOracle} {
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
		m.EDPSaving = col(func(p PolicyResult) float64 { return p.ObjectiveSavingVsDefault })
		m.GapClosed = col(func(p PolicyResult) float64 { return p.GapClosed })
		m.ConvergeRounds = col(func(p PolicyResult) float64 {
			if p.ConvergeRounds == nil {
				return math.NaN()
			}
			return float64(*p.ConvergeRounds)
		})
		m.Converged = m.ConvergeRounds.N
		out = append(out, m)
	}
	return out
}

// suiteTargets judges the targets on the means over seeds; a seed that did
// not converge counts against the convergence target.
func suiteTargets(sc Scenario, ms []SuiteMetric) []Target {
	var ps []PolicyResult
	for _, m := range ms {
		p := PolicyResult{Name: m.Name, Objective: m.Objective.Mean, SLOAttainment: m.SLOAttainment.Mean, GapClosed: m.GapClosed.Mean}
		if len(m.results) > 0 {
			p.MHz = m.results[0].MHz
		}
		if m.Name == PolicyGPUTune || m.Name == PolicyAGFT {
			if m.Converged == len(m.results) && m.Converged > 0 {
				r := int(math.Round(m.ConvergeRounds.Mean))
				p.ConvergeRounds = &r
			}
		}
		ps = append(ps, p)
	}
	return targets(sc, ps)
}

// WriteTable prints the suite's tables.
func (s *SuiteReport) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "suite: %d rows, trace prefix %s (default %s: the full set on the whole trace is too slow for 2 cores), mean±sd over seeds\n",
		len(s.Rows), time.Duration(s.DurationS*float64(time.Second)), SuiteDefaultDuration)
	for _, row := range s.Rows {
		fmt.Fprintf(&b, "\n### %s / %s (sim params %s, %d seeds, static-best %v MHz)\n\n", row.Scenario, row.Params, row.SimParamsHash, row.Seeds, row.StaticBestMHz)
		tw := tabwriter.NewWriter(&b, 0, 0, 1, ' ', 0)
		fmt.Fprintln(tw, "| policy\t| objective\t| J/tok\t| TTFT p99 s\t| TPOT p99 s\t| SLO\t| tok/s\t| E saving vs default\t| obj saving vs default\t| gap closed\t| converge (converged seeds)\t|")
		fmt.Fprintln(tw, "|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|---\t|")
		for _, m := range row.Policies {
			name := m.Name
			if name == PolicyOracle {
				name += " (greedy, not a bound)"
			}
			conv := "-"
			if m.Name == PolicyGPUTune || m.Name == PolicyAGFT {
				conv = fmt.Sprintf("%s (%d/%d)", m.ConvergeRounds, m.Converged, len(m.results))
			}
			fmt.Fprintf(tw, "| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t| %s\t|\n", name, m.Objective, m.EnergyPerToken,
				m.TTFTP99, m.TPOTP99, m.SLOAttainment, m.Throughput, m.EnergySaving, m.EDPSaving, m.GapClosed, conv)
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
