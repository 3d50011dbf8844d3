package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/loopkit"
	"github.com/gputune/gputune/internal/rotate"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

// stackSpec is what one tuning loop is built from, live or in the demo.
type stackSpec struct {
	cfg        config.Config
	reader     nvgpu.Reader
	ctl        nvgpu.Controller // nil: read-only
	source     scrape.Source
	clock      control.Clock
	meter      control.EnergyMeter
	demo       bool
	resetModel bool
	log        *slog.Logger
	goFn       func(name string, f func(ctx context.Context) error)
}

// buildLoop assembles one loop and loads its saved model.
func buildLoop(s stackSpec) (*control.Loop, error) {
	windower, err := loopkit.NewWindower(s.cfg)
	if err != nil {
		return nil, err
	}
	facts := s.reader.Facts()
	arms, err := control.Arms(facts, s.cfg.GPU)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", config.ErrInvalid, err)
	}
	// A static clock this GPU does not offer is bad input (exit 2), not a
	// failed run.
	if name, mhz, _ := config.ParsePolicy(s.cfg.Control.Policy); name == "static" && !slices.Contains(facts.CoreClocksMHz, mhz) {
		return nil, fmt.Errorf("%w: --policy static:%d: %s does not offer %d MHz; the nearest clock is %d MHz",
			config.ErrInvalid, mhz, facts.Name, mhz, nvgpu.Snap(facts.CoreClocksMHz, mhz))
	}
	policy, err := loopkit.NewPolicy(s.cfg, arms)
	if err != nil {
		return nil, err
	}
	modelPath := ""
	if policy != nil {
		modelPath = control.ModelPath(s.cfg.DataDir(), config.SanitizeModelName(facts.Name), facts.UUID, policy.Name())
	}
	loop, err := control.New(control.Deps{
		Config: s.cfg, Reader: s.reader, Controller: s.ctl, Source: s.source, Windower: windower,
		Meter: s.meter, Policy: policy, Logger: s.log.With("gpu", facts.Index), Clock: s.clock,
		Go: s.goFn, Demo: s.demo, ModelPath: modelPath,
	})
	if err != nil {
		return nil, err
	}
	if policy == nil || s.resetModel {
		return loop, nil
	}
	e, err := control.LoadModel(modelPath, facts.Name, time.Now())
	switch {
	case errors.Is(err, control.ErrNoModel):
		s.log.Info("no saved model: learning from scratch", "path", modelPath)
	case err != nil:
		s.log.Warn(err.Error())
	default:
		if err := loop.Restore(e); err != nil {
			s.log.Warn("saved model not used: starting fresh", "path", modelPath, "err", err)
		} else {
			s.log.Info("loaded saved model", "path", modelPath, "rounds", e.Meta.Rounds)
		}
	}
	return loop, nil
}

// decisionLog opens the per-GPU-model JSON-lines series every mode writes
// to, so an experiment driven from the keyboard is recorded too. It rotates
// at log.decision_file_mb and keeps log.decision_files files per GPU.
func decisionLog(cfg config.Config, facts nvgpu.Facts, log *slog.Logger) (*rotate.File, error) {
	f, err := rotate.Open(rotate.Options{
		Dir:      filepath.Join(cfg.LogDir(), config.SanitizeModelName(facts.Name)),
		Prefix:   "decisions-",
		Suffix:   fmt.Sprintf("-gpu%d.jsonl", facts.Index),
		MaxBytes: int64(cfg.Log.DecisionFileMB) << 20,
		Keep:     cfg.Log.DecisionFiles,
		PruneFailed: func(err error) {
			log.Warn("old decision logs could not be deleted", "err", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("decision log: %w", err)
	}
	return f, nil
}
