package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/assembly"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/rotate"
	"github.com/gputune/gputune/internal/safefile"
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

// buildLoop assembles one loop (internal/assembly) and loads its saved
// model.
func buildLoop(s stackSpec) (*control.Loop, error) {
	st, err := assembly.Build(assembly.Spec{
		Config: s.cfg, Reader: s.reader, Controller: s.ctl, Source: s.source, Meter: s.meter,
		Clock: s.clock, Logger: s.log, Go: s.goFn, Demo: s.demo, DataDir: s.cfg.DataDir(),
	})
	if err != nil {
		return nil, err
	}
	loop, policy, modelPath, facts := st.Loop, st.Policy, st.ModelPath, st.Facts
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
			// Kept aside, never overwritten: the fresh model saves to
			// modelPath, and an imported model that fails here is the
			// operator's to look at.
			aside := fmt.Sprintf("%s.bad-%s", modelPath, time.Now().UTC().Format("20060102T150405Z"))
			if rerr := os.Rename(modelPath, aside); rerr != nil {
				return nil, fmt.Errorf("saved model %s does not load (%w) and could not be moved aside: %w", modelPath, err, rerr)
			}
			s.log.Warn("saved model not used: kept aside, starting fresh", "path", modelPath, "kept_as", aside, "err", err)
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
		Dir:      filepath.Join(cfg.LogDir(), safefile.Name(facts.Name)),
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
