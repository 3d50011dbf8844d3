package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/internal/bench"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/sim"
)

// benchFlags are `gputune bench`'s flags.
type benchFlags struct {
	fs                                          *flag.FlagSet
	configPath, trace, workload, profile, param string
	objective, oracle, out, policies, model     string
	exportModel                                 string
	duration                                    time.Duration
	seed                                        uint64
	seeds                                       int
	sloTTFT, sloTPOT, rateScale                 float64
	suite                                       bool
}

func newBenchFlags(std IO) *benchFlags {
	f := &benchFlags{fs: flag.NewFlagSet("gputune bench", flag.ContinueOnError)}
	fs := f.fs
	fs.SetOutput(std.Err)
	fs.StringVar(&f.configPath, "config", "", "config file for the loop's settings (default ./tuner.toml when present)")
	fs.StringVar(&f.trace, "trace", "", "replay a trace in the Azure CSV format (TIMESTAMP,ContextTokens,GeneratedTokens); default: the embedded Azure conversation trace")
	fs.StringVar(&f.workload, "workload", "", "instead of a trace: "+strings.Join(sim.WorkloadNames(), ", ")+" (synthetic ones need --duration)")
	fs.StringVar(&f.profile, "gpu-profile", sim.DefaultProfile, "simulated GPU: "+strings.Join(sim.ProfileNames(), ", "))
	fs.StringVar(&f.param, "sim-params", sim.DefaultParams, "simulator parameter set: "+strings.Join(sim.ParamSetNames(), ", "))
	fs.DurationVar(&f.duration, "duration", 0, fmt.Sprintf("run only this prefix of the trace (synthetic: this long); 0: the whole trace (suite: %s)", bench.SuiteDefaultDuration))
	fs.Uint64Var(&f.seed, "seed", 1, "seed of the learning policies and synthetic workloads")
	fs.IntVar(&f.seeds, "seeds", 1, fmt.Sprintf("run this many seeds (seed, seed+1, …) and report mean ± sd (suite: %d)", bench.SuiteSeeds))
	fs.Float64Var(&f.sloTTFT, "slo-ttft", 0, "time-to-first-token limit in seconds (default: the config's, 2.0)")
	fs.Float64Var(&f.sloTPOT, "slo-tpot", 0, "time-per-output-token limit in seconds (default: the config's, 0.25)")
	fs.Float64Var(&f.rateScale, "rate-scale", 1, "multiply the request rate (2: twice the requests per second)")
	fs.StringVar(&f.objective, "objective", "", "edp (energy-delay product per token, default) or energy (joules per token)")
	fs.StringVar(&f.oracle, "oracle", "", "experiments only: override horizon-oracle's fixed method, e.g. replan=3s,hold=10s,tail=20s,stride=4 (empty: those defaults)")
	fs.StringVar(&f.exportModel, "export-model", "", "write the gputune policy's model to this file at the end of its run (for --import-model)")
	fs.StringVar(&f.model, "import-model", "", "start the gputune policy from this saved model FILE (warm start), as gputune model import would")
	fs.StringVar(&f.out, "out", "bench-out", "folder for results.json and the plots")
	fs.BoolVar(&f.suite, "suite", false, "run the standard set: conversation trace, tight SLOs, 3x rate, bursty, ramp, phases, Poisson, A100; each under every parameter set")
	fs.StringVar(&f.policies, "policies", "", "comma-separated subset of "+strings.Join(bench.AllPolicies(), ",")+" (default: all)")
	return f
}

// scenario turns the flags into a validated scenario.
func (f *benchFlags) scenario() (bench.Scenario, error) {
	cfg, _, err := config.Load(f.configPath)
	if err != nil {
		return bench.Scenario{}, err
	}
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if set["slo-ttft"] {
		cfg.SLO.TTFTLimitS = f.sloTTFT
	}
	if set["slo-tpot"] {
		cfg.SLO.TPOTLimitS = f.sloTPOT
	}
	if set["objective"] {
		cfg.Control.Objective = f.objective
	}
	if err := cfg.Validate(); err != nil {
		return bench.Scenario{}, err
	}
	if !(f.rateScale > 0) {
		return bench.Scenario{}, fmt.Errorf("%w: --rate-scale must be positive, got %g", errUsage, f.rateScale)
	}
	if f.seeds < 1 {
		return bench.Scenario{}, fmt.Errorf("%w: --seeds must be at least 1, got %d", errUsage, f.seeds)
	}
	if _, err := bench.ParseHorizon(f.oracle); err != nil {
		return bench.Scenario{}, fmt.Errorf("%w: %w", errUsage, err)
	}
	if f.trace != "" && f.workload != "" && f.workload != sim.WorkloadAzureConv {
		return bench.Scenario{}, fmt.Errorf("%w: give --trace or --workload, not both", errUsage)
	}
	dur := f.duration
	if f.suite && !set["duration"] {
		dur = bench.SuiteDefaultDuration
	}
	sc := bench.Scenario{Name: "custom", Duration: dur, GPUProfile: f.profile, Params: f.param, Seed: f.seed,
		Config: cfg, Oracle: f.oracle, SaveModel: f.exportModel}
	if f.exportModel != "" && (f.suite || f.seeds > 1) {
		return sc, fmt.Errorf("%w: --export-model saves one run's model: not with --suite or --seeds", errUsage)
	}
	if f.model != "" {
		e, err := importModel(f.model, f.profile)
		if err != nil {
			return sc, err
		}
		sc.Warm, sc.WarmFrom = &e, f.model
	}
	sc.Workload = sim.Workload{Name: f.workload, RateScale: f.rateScale}
	switch {
	case f.trace != "":
		t, err := sim.LoadTrace(f.trace)
		if err != nil {
			return sc, fmt.Errorf("%w: --trace: %w", errUsage, err)
		}
		sc.Workload.Name, sc.Workload.Trace, sc.Name = sim.WorkloadAzureConv, t, "trace"
	case f.workload == "" || f.workload == sim.WorkloadAzureConv:
		t, err := sim.AzureConvTrace()
		if err != nil {
			return sc, err
		}
		sc.Workload.Name, sc.Workload.Trace, sc.Name = sim.WorkloadAzureConv, t, "azure-conv"
	default:
		sc.Name = f.workload
	}
	if sc.Workload.Trace != nil {
		if sc.Workload.Trace, err = bench.TracePrefix(sc.Workload.Trace, dur); err != nil {
			return sc, fmt.Errorf("%w: %w", errUsage, err)
		}
	}
	if err := sc.Validate(); err != nil {
		return sc, fmt.Errorf("%w: %w", errUsage, err)
	}
	return sc, nil
}

func (f *benchFlags) policyList() []string {
	if f.policies == "" {
		return nil
	}
	var out []string
	for p := range strings.SplitSeq(f.policies, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// runBench is `gputune bench`: every policy on the simulator in virtual time,
// side by side. It holds no real GPU at all: the only controller it builds is
// the simulated GPU's.
func runBench(ctx context.Context, args []string, std IO) error {
	f := newBenchFlags(std)
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, f.fs.Arg(0))
	}
	sc, err := f.scenario()
	if err != nil {
		return err
	}
	opt := bench.Options{Policies: f.policyList()}
	for _, p := range opt.Policies {
		if !slices.Contains(bench.AllPolicies(), p) {
			return fmt.Errorf("%w: --policies: unknown policy %q (choose from %s)", errUsage, p, strings.Join(bench.AllPolicies(), ", "))
		}
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	bar := bench.NewProgress(std.Err, "bench")
	if f.suite || f.seeds > 1 {
		seeds := f.seeds
		set := false
		f.fs.Visit(func(fl *flag.Flag) { set = set || fl.Name == "seeds" })
		if f.suite && !set {
			seeds = bench.SuiteSeeds
		}
		var rep *bench.SuiteReport
		if f.suite {
			rep, err = bench.RunSuite(ctx, sc, seeds, opt, bar.Set)
		} else {
			rep, err = bench.RunSet(ctx, []bench.Scenario{sc}, nil, seeds, opt, bar.Set)
		}
		bar.Done()
		if err != nil {
			return benchErr(err)
		}
		rep.Command = "gputune bench " + strings.Join(args, " ")
		if err := rep.WriteTable(std.Out); err != nil {
			return err
		}
		return rep.WriteFiles(f.out)
	}
	opt.Progress = bar.Set
	rep, err := bench.Run(ctx, sc, opt)
	bar.Done()
	if err != nil {
		return benchErr(err)
	}
	if err := rep.WriteTable(std.Out); err != nil {
		return err
	}
	if err := rep.WriteJSON(f.out); err != nil {
		return err
	}
	if err := rep.WritePlots(f.out); err != nil {
		return err
	}
	fmt.Fprintf(std.Err, "wrote %s/results.json, %s\n", f.out, strings.Join(bench.PlotFiles, ", "))
	return nil
}

// importModel reads a saved model for the gputune row and checks that it
// was learned on the simulated GPU's model.
func importModel(path, profile string) (bandit.Envelope, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return bandit.Envelope{}, fmt.Errorf("%w: --import-model: %w", errUsage, err)
	}
	e, err := bandit.UnmarshalEnvelope(data)
	if err != nil {
		return e, fmt.Errorf("%w: --import-model %s: %w", errUsage, path, err)
	}
	g, err := sim.NewGPU(profile, "")
	if err != nil {
		return e, fmt.Errorf("%w: --gpu-profile: %w", errUsage, err)
	}
	if err := e.Check(g.Facts().Name, e.ServedModel); err != nil {
		return e, fmt.Errorf("%w: --import-model %s: %w", errUsage, path, err)
	}
	if e.Policy != bandit.PolicyGPUTune {
		return e, fmt.Errorf("%w: --import-model %s holds a %q model; the gputune row needs a %q one", errUsage, path, e.Policy, bandit.PolicyGPUTune)
	}
	return e, nil
}

func benchErr(err error) error {
	if errors.Is(err, bench.ErrScenario) {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	return err
}
