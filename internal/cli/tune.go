package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/exporter"
	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/internal/safefile"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/tui"
)

// runTune is `gputune [flags]`: tune real GPUs, or simulated ones with --demo.
func runTune(ctx context.Context, args []string, std IO) error {
	f := newRunFlags("gputune")
	cfg, err := f.parse(args, std.Out)
	if err != nil {
		return err
	}
	if cfg.Demo.Enabled {
		return runSession(ctx, demoDirs(cfg), f, std, nil)
	}
	be := newBackend(nil)
	// A run that may lock clocks runs as a worker under a supervisor that
	// restores them whatever ends the worker (SIGKILL and OOM included).
	if !cfg.Control.DryRun && !restore.IsWorker() {
		log := newLogger(cfg, std.Err, true)
		log.Info("configuration", "file", configSource(f.configRead))
		// A worker stopped (SIGSTOP) for ten watchdog periods is killed
		// and its clocks reset: its own watchdog cannot run while stopped.
		code := restore.Supervise(ctx, restore.Options{Opener: backendWithLog(be, log).opener(), RunDir: cfg.GPU.RunDir, Log: log,
			StoppedLimit: 10 * cfg.Control.Watchdog.Duration})
		if code = supervisedStatus(code); code != exitOK {
			return exitStatus(code)
		}
		return nil
	}
	return runSession(ctx, cfg, f, std, &be)
}

// demoDirs keeps the demo's models and decision logs in a folder of their
// own under the data folder, apart from real GPUs': a simulated H100 must
// never warm-start a real one, nor its logs mix with theirs.
func demoDirs(cfg config.Config) config.Config {
	cfg.Log.DataDir = filepath.Join(cfg.DataDir(), "demo")
	return cfg
}

func backendWithLog(b backend, log *slog.Logger) backend { b.log = log; return b }

// newLogger logs to stderr headless; with the TUI on, to a file under the
// log folder (stderr would garble the screen).
func newLogger(cfg config.Config, stderr io.Writer, headless bool) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	w := toJournal(stderr)
	if !headless {
		if err := os.MkdirAll(cfg.LogDir(), 0o750); err == nil {
			// Never through a symlink: root would append wherever it points.
			if f, err := safefile.OpenAppend(filepath.Join(cfg.LogDir(), "gputune.log"), 0o640); err == nil {
				w = f
			}
		}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// tuned is one running loop and what must happen when it stops.
type tuned struct {
	loop    *control.Loop
	facts   nvgpu.Facts
	label   string                      // the GPU index, or a group's joined by "+"
	release func(context.Context) error // give the GPU back (claim), may be nil
}

// runSession runs the loops (one per GPU) with the TUI or headless output
// until the user quits, a signal arrives or --duration passes. be is nil in
// the demo, which opens no GPU at all.
func runSession(ctx context.Context, cfg config.Config, f *runFlags, std IO, be *backend) (err error) {
	headless := !cfg.TUI.Enabled
	log := newLogger(cfg, std.Err, headless)
	// NotifyContext ignores SIGPIPE: a broken socket must not stop tuning,
	// and a closed stdout is caught where the decisions are written.
	ctx, stop := restore.NotifyContext(ctx)
	defer stop()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	group, gctx := restore.NewGroup(ctx, log)
	defer group.Guard("main", &err)
	if !restore.IsWorker() {
		log.Info("configuration", "file", configSource(f.configRead), "data_dir", cfg.DataDir(), "log_dir", cfg.LogDir())
	}
	// totals sums what the run did, for the summary the TUI leaves on the
	// terminal when it quits.
	totals := exporter.New(exporter.Options{})
	showedTUI := false

	var loops []tuned
	var clock control.Clock = control.WallClock{}
	defer func() {
		// Give every GPU back, whatever happened above.
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		defer rcancel()
		var giveBack error
		for _, t := range loops {
			if cerr := t.loop.Close(rctx); cerr != nil {
				giveBack = errors.Join(giveBack, cerr)
			}
			if t.release != nil {
				if rerr := t.release(rctx); rerr != nil {
					giveBack = errors.Join(giveBack, fmt.Errorf("giving GPU %d back: %w", t.facts.Index, rerr))
				}
			}
		}
		if giveBack != nil {
			// A clock not given back outranks every other exit status.
			var st exitStatus
			if errors.As(err, &st) {
				err = nil
			}
			err = errors.Join(err, giveBack, errClocksLocked)
			return
		}
		if len(loops) > 0 {
			log.Info("stopped: every clock given back", "gpus", len(loops), "why", stopReason(ctx, err))
		}
		if showedTUI {
			fmt.Fprintln(std.Out, summaryLine(totals.Totals(), len(loops), giveBack))
		}
	}()

	if be == nil {
		loops, clock, err = startDemo(gctx, cfg, f, group, log)
	} else {
		loops, err = startReal(gctx, cfg, f, *be, group, log)
	}
	if err != nil {
		return err
	}
	if f.listen != "" {
		if err := serveMetrics(cfg, f, loops, group, log); err != nil {
			return err
		}
	}
	if !headless {
		follow(totals, loops, group)
	}

	for _, t := range loops {
		group.Go(fmt.Sprintf("loop-gpu%d", t.facts.Index), t.loop.Run)
	}
	if f.duration > 0 {
		group.Go("duration", func(ctx context.Context) error {
			select {
			case <-ctx.Done():
			case <-clock.After(f.duration):
				cancel(nil)
			}
			return nil
		})
	}

	if fault := faultWanted(); fault != "" && len(loops) > 0 {
		injectFault(gctx, fault, loops[0].loop, group)
		if fault == "main" && awaitFirstLock(gctx, loops[0].loop) {
			panic("injected panic in the main goroutine (" + faultEnv + ")")
		}
	}

	for _, t := range loops {
		var logFile io.WriteCloser
		if f, lerr := decisionLog(cfg, t.facts, log); lerr != nil {
			log.Warn("no decision log", "err", lerr)
		} else {
			logFile = f
		}
		var stdout io.Writer
		if headless {
			stdout = std.Out
		}
		sub := t.loop.Subscribe(256)
		group.Go(fmt.Sprintf("decisions-gpu%d", t.facts.Index), func(context.Context) error {
			// Drains until the loop closes the feed, so every decision
			// is written even while the run stops.
			writeDecisions(sub, stdout, logFile, cancel, log)
			return nil
		})
	}

	if !headless && len(loops) > 0 {
		showedTUI = true
		terr := tui.Run(gctx, tui.Options{
			GPUs:     tuiFeeds(loops),
			ReadOnly: cfg.Control.DryRun,
			NoColor:  cfg.TUI.NoColor || os.Getenv("NO_COLOR") != "",
			ASCII:    cfg.TUI.ASCII,
			Input:    std.In,
			Output:   std.Out,
		})
		cancel(nil)
		if terr != nil {
			err = errors.Join(err, terr)
		}
	}
	<-gctx.Done()
	werr := group.Wait()
	var perr *restore.PanicError
	if errors.As(werr, &perr) {
		return werr
	}
	// Stopped by a signal, q or --duration: an orderly stop, exit 0 once
	// the deferred give-back above has worked (as node_exporter and
	// dcgm-exporter exit 0 on SIGTERM), so systemd and Kubernetes do not
	// count `systemctl stop` or a pod deletion as a failure.
	return nil
}

// tuiFeeds gives the TUI every loop, in the order of --gpu, so its GPU
// selector lists them all and sends each command to the loop shown.
func tuiFeeds(loops []tuned) []tui.GPUFeed {
	feeds := make([]tui.GPUFeed, len(loops))
	for i, t := range loops {
		label := t.label
		if label == "" {
			label = strconv.Itoa(t.facts.Index)
		}
		loop := t.loop
		feeds[i] = tui.GPUFeed{Label: label, Snapshots: loop.Subscribe(1), Send: func(c control.Command) { loop.Send(c) }}
	}
	return feeds
}

// writeDecisions writes every snapshot as a JSON line to stdout (headless)
// and to the decision log. A closed stdout (`gputune --no-tui | head`) stops
// the run in order, as SIGPIPE would: clocks are given back.
func writeDecisions(sub <-chan control.Snapshot, stdout io.Writer, logFile io.WriteCloser, stop context.CancelCauseFunc, log *slog.Logger) {
	if logFile != nil {
		defer logFile.Close()
	}
	logFailing := false
	for snap := range sub {
		if stdout == nil && logFile == nil {
			continue // drain: the loop must never block on its subscribers
		}
		line, err := control.MarshalJSONLine(snap)
		if err != nil {
			log.Warn("decision not encodable: skipped", "round", snap.Round, "err", err)
			continue
		}
		if stdout != nil {
			if _, err := stdout.Write(line); err != nil {
				log.Info("stdout closed: stopping", "err", err)
				stdout = nil
				var cause error
				if restore.BrokenPipe(err) {
					cause = &restore.SignalError{Signal: syscall.SIGPIPE}
				}
				stop(cause)
			}
		}
		if logFile != nil {
			// A failed write (full disk) drops the line whole; the log
			// resumes by itself once the write succeeds again.
			_, err := logFile.Write(line)
			switch {
			case err != nil && !logFailing:
				log.Warn("decision log write failed: dropping decisions until it succeeds", "err", err)
			case err == nil && logFailing:
				log.Info("decision log writing again")
			}
			logFailing = err != nil
		}
	}
}

// startReal opens the GPUs, claims each (unless --dry-run) and builds a loop
// per GPU, or per gpu.groups entry, against the server's /metrics over HTTP.
func startReal(ctx context.Context, cfg config.Config, f *runFlags, be backend, group *restore.Group, log *slog.Logger) ([]tuned, error) {
	be.log = log
	indices, err := be.indices(cfg.GPU.Devices)
	if err != nil {
		return nil, err
	}
	units, err := tuningUnits(indices, cfg.GPU.Groups)
	if err != nil {
		return nil, err
	}
	if err := checkMetricsURLs(cfg.Scrape, units); err != nil {
		return nil, err
	}
	var out []tuned
	for _, unit := range units {
		t, err := startUnit(ctx, cfg, f, be, group, log, unit)
		if err != nil {
			return out, err
		}
		out = append(out, t)
	}
	return out, nil
}

// reportLocks says, read-only, whether another gputune holds this GPU or a
// stale lock is left; it never resets anything.
func reportLocks(dir string, facts nvgpu.Facts, log *slog.Logger) {
	entries, err := restore.Inspect(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.EqualFold(e.UUID, facts.UUID) {
			continue
		}
		switch {
		case e.Held:
			log.Warn("another gputune holds this GPU", "gpu", facts.Index, "state", e.Path)
		case e.Stale:
			log.Warn("a stale clock lock is left on this GPU (read-only: not reset; run gputune reset)", "gpu", facts.Index, "state", e.Path)
		}
	}
}
