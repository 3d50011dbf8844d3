package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/gputune/gputune/internal/buildinfo"
	"strings"

	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/probe"
	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu"
)

// runProbe is `gputune probe`: what gputune sees on this machine. It is
// read-only: it gets no controller and changes nothing to find out.
func runProbe(ctx context.Context, args []string, std IO) error {
	fs := flag.NewFlagSet("gputune probe", flag.ContinueOnError)
	fs.SetOutput(std.Err)
	def := loadQuiet()
	url := fs.String("metrics-url", def.Scrape.MetricsURL, "the inference server's Prometheus endpoint")
	gpu := fs.Int("gpu", 0, "GPU index")
	asJSON := fs.Bool("json", false, `print one JSON object with keys "version", "revision", "gpu" and "metrics"`)
	runDir := fs.String("run-dir", "", "folder of gputune's state files (default /run/gputune as root)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *gpu < 0 {
		return fmt.Errorf("%w: --gpu must be a GPU index (0, 1, ...)", errUsage)
	}
	log := newLogger(config.Default(), std.Err, true)
	be := newBackend(log)
	opts := probe.Options{MetricsURL: *url}
	d, err := be.open(ctx, *gpu)
	if err != nil {
		opts.ReaderErr = err
	} else {
		defer d.close()
		var reader nvgpu.Reader = d.dev // the reader side only
		opts.Reader = reader
		dir := *runDir
		if dir == "" {
			dir = restore.DefaultDir()
		}
		opts.LockStatus = lockStatus(dir, reader.Facts().UUID)
	}
	rep := probe.Run(ctx, opts)
	bi := buildinfo.Read()
	rep.Version, rep.Revision = bi.Version, bi.Revision
	if *asJSON {
		err = rep.WriteJSON(std.Out)
	} else {
		err = rep.WriteText(std.Out)
	}
	if err != nil {
		return err
	}
	if !rep.OK() {
		return exitStatus(exitFailure)
	}
	return nil
}

// lockStatus says, without touching anything, whether a gputune holds the
// GPU or left a stale lock.
func lockStatus(dir, uuid string) string {
	entries, err := restore.Inspect(dir)
	if err != nil {
		return "unknown (" + err.Error() + ")"
	}
	for _, e := range entries {
		if !strings.EqualFold(e.UUID, uuid) {
			continue
		}
		switch {
		case e.Held:
			return fmt.Sprintf("held by gputune pid %d (core %d MHz, memory %d MHz locked)", e.State.PID, e.State.CoreLockedMHz, e.State.MemLockedMHz)
		case e.Stale:
			return fmt.Sprintf("stale lock from pid %d: run gputune reset --gpu %d", e.State.PID, e.State.GPUIndex)
		}
	}
	return "none"
}

// loadQuiet is the configuration for subcommands that only need defaults
// (./tuner.toml when present and valid, else the built-ins).
func loadQuiet() config.Config {
	cfg, _, err := config.Load("")
	if err != nil || cfg.Validate() != nil {
		return config.Default()
	}
	return cfg
}
