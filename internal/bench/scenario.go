// Package bench is `gputune bench`: it runs the real control loop in virtual
// time on the simulator, through an in-process metrics source, for several
// policies on the same workload, parameter set and seed, and reports
// energy, latency, SLO attainment, savings, the gap to the best static clock
// over time and the headroom a receding-horizon reference shows, as a table, results.json and plots. It never touches a
// real GPU: the only controller it holds is the simulated GPU's.
package bench

import (
	"errors"
	"fmt"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/sim"
)

// ErrScenario marks a scenario the user must fix (bad flag values).
var ErrScenario = errors.New("invalid benchmark scenario")

// Scenario is one workload on one simulated GPU and parameter set, judged by
// one objective and one pair of SLO limits.
type Scenario struct {
	Name string
	// Workload is the simulator workload (a trace or a synthetic one);
	// Trace, when set, is already cut to Duration.
	Workload sim.Workload
	// Duration is the trace prefix (or synthetic arrival time) to run;
	// zero: the whole trace.
	Duration   time.Duration
	GPUProfile string
	Params     string
	// Seed seeds the learning policies and synthetic workloads; a trace
	// replay's arrivals are the trace's own.
	Seed uint64
	// Config carries the loop's settings: SLO limits and percentile,
	// objective, period, warm-up and the bandit options.
	Config config.Config
	// Oracle overrides the horizon reference's method for experiments
	// (ParseHorizon); empty: its fixed defaults.
	Oracle string
	// Warm, when set, is the saved model the gputune policy starts from.
	Warm *bandit.Envelope
	// WarmFrom names Warm's file, for the record.
	WarmFrom string
	// SaveModel, when set, is where the gputune row's model is written at
	// the end of its run (for a later warm start).
	SaveModel string
}

// Validate reports what to fix, wrapped in ErrScenario.
func (s Scenario) Validate() error {
	var errs []error
	if _, err := sim.LookupProfile(s.GPUProfile); s.GPUProfile != "" && err != nil {
		errs = append(errs, fmt.Errorf("--gpu-profile: %w", err))
	}
	if _, err := sim.LookupParams(s.Params); s.Params != "" && err != nil {
		errs = append(errs, fmt.Errorf("--sim-params: %w", err))
	}
	if s.Duration < 0 {
		errs = append(errs, errors.New("--duration must not be negative"))
	}
	if _, err := ParseHorizon(s.Oracle); err != nil {
		errs = append(errs, err)
	}
	if s.Warm != nil && s.Warm.Policy != bandit.PolicyGPUTune {
		errs = append(errs, fmt.Errorf("--import-model: the file holds a %q model; the gputune row needs a %q one", s.Warm.Policy, bandit.PolicyGPUTune))
	}
	if s.Workload.RateScale < 0 || s.Workload.TimeScale < 0 {
		errs = append(errs, errors.New("--rate-scale must be positive"))
	}
	if s.Workload.Trace == nil && s.Workload.Name != sim.WorkloadAzureConv && s.Duration == 0 {
		errs = append(errs, fmt.Errorf("workload %q never ends by itself: give --duration", s.Workload.Name))
	}
	if err := s.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrScenario, errors.Join(errs...))
}

// simConfig is the simulator configuration every policy of the scenario
// starts from.
func (s Scenario) simConfig() sim.Config {
	wl := s.Workload
	wl.Loop = false
	if wl.Seed == 0 {
		wl.Seed = s.Seed
	}
	if wl.Trace == nil && s.Duration > 0 {
		wl.Duration = s.Duration
	}
	return sim.Config{
		GPUProfile: s.GPUProfile, Params: s.Params, Workload: wl,
		SLO: sim.SLO{TTFT: seconds(s.Config.SLO.TTFTLimitS), TPOT: seconds(s.Config.SLO.TPOTLimitS)},
	}
}

// TracePrefix returns the requests of t that arrive before d (all of t when
// d is zero). The result shares nothing mutable with t.
func TracePrefix(t *sim.Trace, d time.Duration) (*sim.Trace, error) {
	if d <= 0 || t.Span() < d {
		return t, nil
	}
	n := 0
	for n < len(t.At) && t.At[n] < d {
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: --duration %s keeps no request of the trace", ErrScenario, d)
	}
	return &sim.Trace{Name: t.Name, At: t.At[:n:n], Prompt: t.Prompt[:n:n], Output: t.Output[:n:n]}, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
