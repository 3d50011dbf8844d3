// Package assembly builds a control loop from the application's
// configuration: the one place where the tuning command, the demo and the
// benchmark turn a config.Config into the loop's typed control.Config, its
// policy and its windower, so that control itself reads no configuration
// format.
package assembly

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/safefile"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

// Spec is what one loop is built from besides the configuration: the GPU,
// the metrics source, the meter and the clock, live or simulated.
type Spec struct {
	Config     config.Config
	Reader     nvgpu.Reader
	Controller nvgpu.Controller // nil: read-only
	Source     scrape.Source
	Meter      control.EnergyMeter
	Clock      control.Clock // nil: the wall clock
	Logger     *slog.Logger  // nil: discarded
	Go         func(name string, f func(ctx context.Context) error)
	Demo       bool
	// DataDir is where the learned model is kept (control.ModelPath);
	// empty: the model is not saved.
	DataDir string
	// NewPolicy replaces the configured learning policy (a test's
	// scripted policy); nil: NewPolicy.
	NewPolicy func(arms []bandit.Arm) (bandit.Policy, error)
}

// Stack is an assembled loop and what it was built with.
type Stack struct {
	Loop      *control.Loop
	Facts     nvgpu.Facts
	Policy    bandit.Policy // nil for the default governor and static policies
	ModelPath string        // where the model is saved; empty: not saved
}

// Build assembles one loop. Bad configuration (a clock the GPU does not
// offer, bounds that leave no clock) wraps config.ErrInvalid.
func Build(s Spec) (Stack, error) {
	lc, err := LoopConfig(s.Config)
	if err != nil {
		return Stack{}, err
	}
	facts := s.Reader.Facts()
	arms, err := control.Arms(facts, lc.Clocks)
	if err != nil {
		return Stack{}, fmt.Errorf("%w: %v", config.ErrInvalid, err)
	}
	if p := lc.Policy; p.Kind == setting.PolicyStatic && !slices.Contains(facts.CoreClocksMHz, p.MHz) {
		return Stack{}, fmt.Errorf("%w: --policy static:%d: %s does not offer %d MHz; the nearest clock is %d MHz",
			config.ErrInvalid, p.MHz, facts.Name, p.MHz, nvgpu.Snap(facts.CoreClocksMHz, p.MHz))
	}
	var policy bandit.Policy
	switch {
	case s.NewPolicy != nil:
		policy, err = s.NewPolicy(arms)
	default:
		policy, err = newPolicy(s.Config, lc, facts, arms)
	}
	if err != nil {
		return Stack{}, err
	}
	windower, err := NewWindower(s.Config)
	if err != nil {
		return Stack{}, err
	}
	st := Stack{Facts: facts, Policy: policy}
	if policy != nil && s.DataDir != "" {
		st.ModelPath = control.ModelPath(s.DataDir, safefile.Name(facts.Name), facts.UUID, policy.Name())
	}
	log := s.Logger
	if log != nil {
		log = log.With("gpu", facts.Index)
	}
	st.Loop, err = control.New(control.Deps{
		Config: lc, Reader: s.Reader, Controller: s.Controller, Source: s.Source, Windower: windower,
		Meter: s.Meter, Policy: policy, Logger: log, Clock: s.Clock,
		Go: s.Go, Demo: s.Demo, ModelPath: st.ModelPath,
	})
	if err != nil {
		return Stack{}, err
	}
	return st, nil
}

// LoopConfig is the part of cfg the loop reads, typed; the policy is parsed
// here (setting.ParsePolicy) and nowhere else on the way to a loop.
func LoopConfig(cfg config.Config) (control.Config, error) {
	policy, err := setting.ParsePolicy(cfg.Control.Policy)
	if err != nil {
		return control.Config{}, fmt.Errorf("%w: control.policy: %w", config.ErrInvalid, err)
	}
	tpot, err := setting.ParseTPOTSource(cfg.SLO.TPOTSignal)
	if err != nil {
		return control.Config{}, fmt.Errorf("%w: slo.tpot_signal: %w", config.ErrInvalid, err)
	}
	c := cfg.Control
	return control.Config{
		Policy:                policy,
		Objective:             control.Objective(c.Objective),
		Period:                c.Period.Duration,
		SwitchSettle:          c.SwitchSettle.Duration,
		Watchdog:              c.Watchdog.Duration,
		SaveInterval:          c.SaveInterval.Duration,
		WarmupWindows:         c.WarmupWindows,
		IdleWindows:           c.IdleWindows,
		EmergencyClearWindows: c.EmergencyClearWindows,
		BacklogWindows:        c.BacklogWindows,
		BacklogCharge:         c.BacklogCharge,
		MinTokensPerWindow:    c.MinTokensPerWindow,
		DryRun:                c.DryRun,
		ScrapeTimeout:         cfg.Scrape.Timeout.Duration,
		StaleAfter:            cfg.Scrape.StaleAfter.Duration,
		SLO: control.SLO{
			Mode:       bandit.SLOMode(cfg.SLO.Mode),
			TTFTLimitS: cfg.SLO.TTFTLimitS,
			TPOTLimitS: cfg.SLO.TPOTLimitS,
			TPOTSource: tpot,
		},
		Clocks: control.ClockBounds{
			MinMHz:  cfg.GPU.ClockMinMHz,
			MaxMHz:  cfg.GPU.ClockMaxMHz,
			StepMHz: cfg.GPU.ClockStepMHz,
			IdleMHz: cfg.GPU.IdleClockMHz,
			Memory:  cfg.GPU.MemoryClocks,
		},
	}, nil
}

// Arms is the arm set cfg allows on a GPU with facts.
func Arms(cfg config.Config, facts nvgpu.Facts) ([]bandit.Arm, error) {
	lc, err := LoopConfig(cfg)
	if err != nil {
		return nil, err
	}
	return control.Arms(facts, lc.Clocks)
}

// NewPolicy builds the configured learning policy over arms on a GPU with
// facts; nil for the default governor and static policies, which learn
// nothing.
func NewPolicy(cfg config.Config, facts nvgpu.Facts, arms []bandit.Arm) (bandit.Policy, error) {
	lc, err := LoopConfig(cfg)
	if err != nil {
		return nil, err
	}
	return newPolicy(cfg, lc, facts, arms)
}

func newPolicy(cfg config.Config, lc control.Config, facts nvgpu.Facts, arms []bandit.Arm) (bandit.Policy, error) {
	kind := lc.Policy.Kind
	if !kind.Learns() {
		return nil, nil
	}
	step := 15
	if len(arms) > 1 && arms[1].SMMHz > arms[0].SMMHz {
		step = arms[1].SMMHz - arms[0].SMMHz
	}
	bc := bandit.Config{
		Features:       control.NumFeatures,
		Bias:           true,
		InitialAlpha:   cfg.Bandit.InitialAlpha,
		Forgetting:     cfg.Bandit.Forgetting,
		ActionPruning:  cfg.Bandit.ActionPruning,
		ExtremePruning: cfg.Bandit.ExtremePruning,
		SLOMode:        lc.SLO.Mode,
		TTFTLimit:      lc.SLO.TTFTLimitS,
		TPOTLimit:      lc.SLO.TPOTLimitS,
		Objective:      string(lc.Objective),
		MemoryClock:    arms[0].MemMHz != 0,
		ClockStepMHz:   step,
	}
	if c := facts.CoreClocksMHz; len(c) > 1 {
		bc.ClockRangeMHz = c[len(c)-1] - c[0]
	}
	if cfg.Bandit.Forgetting == 0 && kind == setting.PolicyAGFT {
		bc.Forgetting = 1 // AGFT never forgets
	}
	return bandit.New(string(kind), bc, arms, cfg.Bandit.Seed)
}

// NewWindower builds the window statistics the loop reads, with the
// configured tail window and SLO percentile.
func NewWindower(cfg config.Config) (*scrape.Windower, error) {
	wcfg := scrape.DefaultWindowConfig()
	wcfg.TailWindow = cfg.Scrape.TailWindow.Duration
	wcfg.TailMinObs = cfg.Scrape.TailMinObservations
	wcfg.TailQuantile = cfg.SLO.Percentile
	return scrape.NewWindower(wcfg)
}
