package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/loopkit"
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
			s.log.Info("loaded saved model", "path", modelPath, "rounds", e.Meta.Rounds, "converged", e.Meta.Converged)
		}
	}
	return loop, nil
}

// decisionLog opens the per-GPU-model JSON-lines file every mode writes to,
// so an experiment driven from the keyboard is recorded too.
func decisionLog(cfg config.Config, facts nvgpu.Facts, now time.Time) (*os.File, error) {
	dir := filepath.Join(cfg.LogDir(), config.SanitizeModelName(facts.Name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("decision log: %w", err)
	}
	name := fmt.Sprintf("decisions-%s-gpu%d.jsonl", now.UTC().Format("20060102T150405Z"), facts.Index)
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("decision log: %w", err)
	}
	return f, nil
}
