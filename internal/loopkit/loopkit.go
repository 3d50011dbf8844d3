// Package loopkit assembles the pieces of one control loop from the
// configuration, so that the tuning command, the demo and the benchmark
// build their policies and windowers the same way.
package loopkit

import (
	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/scrape"
)

// NewPolicy builds the configured policy over arms; nil for the default
// governor and static policies, which learn nothing.
func NewPolicy(cfg config.Config, arms []bandit.Arm) (bandit.Policy, error) {
	name, _, err := config.ParsePolicy(cfg.Control.Policy)
	if err != nil {
		return nil, err
	}
	if name != bandit.PolicyGPUTune && name != bandit.PolicyAGFT {
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
		SLOMode:        bandit.SLOMode(cfg.SLO.Mode),
		TTFTLimit:      cfg.SLO.TTFTLimitS,
		TPOTLimit:      cfg.SLO.TPOTLimitS,
		Objective:      cfg.Control.Objective,
		MemoryClock:    arms[0].MemMHz != 0,
		ClockStepMHz:   step,
	}
	if cfg.Bandit.Forgetting == 0 && name == bandit.PolicyAGFT {
		bc.Forgetting = 1 // AGFT never forgets
	}
	return bandit.New(name, bc, arms, cfg.Bandit.Seed)
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
