package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/nvgpu/gpugroup"
	"github.com/gputune/gputune/scrape"
)

// tuningUnits splits the selected GPUs into what gets one loop each: every
// gpu.groups entry (a tensor-parallel server's GPUs, one clock for all) and
// every selected GPU in no group, in the order of the selection.
func tuningUnits(selected []int, groups [][]int) ([][]int, error) {
	owner := map[int]int{}
	for gi, g := range groups {
		for _, idx := range g {
			if prev, dup := owner[idx]; dup {
				return nil, fmt.Errorf("%w: gpu.groups: GPU %d is in group %d and group %d; a GPU can be in one group only",
					config.ErrInvalid, idx, prev, gi)
			}
			if !slices.Contains(selected, idx) {
				return nil, fmt.Errorf("%w: gpu.groups[%d] names GPU %d, which gpu.devices (--gpu) does not select",
					config.ErrInvalid, gi, idx)
			}
			owner[idx] = gi
		}
	}
	var units [][]int
	done := map[int]bool{}
	for _, idx := range selected {
		gi, grouped := owner[idx]
		switch {
		case !grouped:
			units = append(units, []int{idx})
		case !done[gi]:
			units = append(units, groups[gi])
			done[gi] = true
		}
	}
	return units, nil
}

// unitLabel names a unit as the TUI's GPU selector shows it: "2", or
// "0+1" for a group.
func unitLabel(unit []int) string {
	parts := make([]string, len(unit))
	for i, idx := range unit {
		parts[i] = strconv.Itoa(idx)
	}
	return strings.Join(parts, "+")
}

// startUnit opens and claims (unless --dry-run) the GPUs of one unit and
// builds its loop; a unit of several GPUs is driven as one through
// gpugroup. On failure every claim it took is given back.
func startUnit(ctx context.Context, cfg config.Config, f *runFlags, be backend, group *restore.Group, log *slog.Logger, unit []int) (t tuned, err error) {
	dir := cfg.GPU.RunDir
	if dir == "" {
		dir = restore.DefaultDir()
	}
	var (
		readers  []nvgpu.Reader
		ctls     []nvgpu.Controller
		releases []func(context.Context) error
	)
	releaseAll := func(ctx context.Context) error {
		var errs []error
		for _, r := range releases {
			errs = append(errs, r(ctx))
		}
		return errors.Join(errs...)
	}
	defer func() {
		if err != nil {
			_ = releaseAll(ctx)
		}
	}()
	for _, idx := range unit {
		d, err := be.open(ctx, idx)
		if err != nil {
			return t, err
		}
		facts := d.dev.Facts()
		readers = append(readers, d.dev)
		if cfg.Control.DryRun {
			reportLocks(dir, facts, log)
			continue
		}
		claim, err := restore.Acquire(ctx, dir, restore.GPUID{Index: idx, UUID: facts.UUID}, d.dev,
			restore.AcquireOptions{Takeover: cfg.GPU.Takeover, Log: log})
		if err != nil {
			return t, err
		}
		group.OnPanic(claim.Release)
		ctls = append(ctls, claim)
		releases = append(releases, claim.Release)
	}

	var reader nvgpu.Reader = readers[0]
	var ctl nvgpu.Controller
	if len(ctls) > 0 {
		ctl = ctls[0]
	}
	if len(unit) > 1 {
		g, err := gpugroup.New(readers, ctls)
		if err != nil {
			return t, fmt.Errorf("%w: gpu.groups %v: %w", config.ErrInvalid, unit, err)
		}
		reader = g
		if len(ctls) > 0 {
			ctl = g
		}
		log.Info("tensor-parallel group: one clock for all its GPUs, energy summed", "gpus", unit, "uuid", g.Facts().UUID)
	}
	t.facts = reader.Facts()
	t.label = unitLabel(unit)
	if len(releases) > 0 {
		t.release = releaseAll
	}

	// A group is one server: it reads its first member's URL.
	metricsURL := cfg.Scrape.MetricsURLFor(unit[0])
	log.Info("scraping the inference server", "gpus", unit, "metrics_url", metricsURL)
	source, err := scrape.NewHTTPSource(metricsURL, scrapeOptions(cfg)...)
	if err != nil {
		return t, fmt.Errorf("%w: %v", config.ErrInvalid, err)
	}
	meter, err := nvgpu.NewMeter(nvgpu.DefaultMeterConfig())
	if err != nil {
		return t, err
	}
	sampler, err := nvgpu.NewSampler(reader, meter, nvgpu.SamplerConfig{}, log)
	if err != nil {
		return t, err
	}
	group.Go(fmt.Sprintf("sampler-gpu%d", t.facts.Index), sampler.Run)
	t.loop, err = buildLoop(stackSpec{cfg: cfg, reader: reader, ctl: ctl, source: source, clock: control.WallClock{},
		meter: meter, resetModel: f.resetModel, log: log, goFn: group.Go})
	return t, err
}

// scrapeOptions configures a loop's metrics source: its timeout, and the
// per-request TPOT buckets only when the SLO counts that signal (the
// default, inter-token latency, does not need them, and parsing them is a
// fifth of a scrape's cost).
func scrapeOptions(cfg config.Config, extra ...scrape.HTTPOption) []scrape.HTTPOption {
	opts := []scrape.HTTPOption{scrape.WithTimeout(cfg.Scrape.Timeout.Duration)}
	if setting.TPOTSource(cfg.SLO.TPOTSignal) == setting.TPOTPerRequest {
		opts = append(opts, scrape.WithParserOptions(scrape.WithTPOTBuckets()))
	}
	return append(opts, extra...)
}
