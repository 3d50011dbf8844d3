// Command worker is the restore tests' stand-in for gputune: it wires the
// supervisor, signal context, Group and Claim exactly as main.go should, on
// the recordgpu fake (GPUTUNE_FAKE_GPU), locks clocks, then ends the way
// -mode says so the test can check the clocks were given back.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/nvgpu/recordgpu"
)

const (
	exitPanic = 70 // EX_SOFTWARE
	exitBusy  = 3
)

func main() {
	os.Exit(run())
}

func run() int {
	var cfg config
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.IntVar(&cfg.gpu, "gpu", 0, "fake GPU index")
	fs.IntVar(&cfg.coreMHz, "core", 1200, "core clock to lock")
	fs.IntVar(&cfg.memMHz, "mem", 1593, "memory clock to lock (0: none)")
	fs.StringVar(&cfg.mode, "mode", "wait", "wait|print|stuck|panic-main|panic-group|panic-raw|exit|fatal")
	fs.BoolVar(&cfg.takeover, "takeover", false, "take the GPU over from a running instance")
	fs.DurationVar(&cfg.stoppedLimit, "stopped-limit", 0, "supervisor: kill a worker stopped this long (0: default)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("pid", os.Getpid())
	callLog, ok := recordgpu.FromEnv()
	if !ok {
		log.Error("set " + recordgpu.EnvVar)
		return 2
	}
	opener := func(_ context.Context, gpu restore.GPUID) (nvgpu.Controller, error) {
		return recordgpu.OpenUUID(callLog, gpu.UUID)
	}
	if !restore.IsWorker() {
		return restore.Supervise(context.Background(), restore.Options{Opener: opener, Log: log, StoppedLimit: cfg.stoppedLimit})
	}
	err := work(log, callLog, cfg)
	var pe *restore.PanicError
	var se *restore.SignalError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &pe):
		return exitPanic
	case errors.As(err, &se):
		log.Info("stopped", "cause", err)
		return se.ExitCode()
	case errors.Is(err, restore.ErrBusy):
		log.Error("refused", "err", err)
		return exitBusy
	default:
		log.Error("failed", "err", err)
		return 1
	}
}

type config struct {
	gpu, coreMHz, memMHz int
	mode                 string
	takeover             bool
	stoppedLimit         time.Duration
}

func work(log *slog.Logger, callLog string, cfg config) (err error) {
	ctx, stop := restore.NotifyContext(context.Background())
	defer stop()
	g, ctx := restore.NewGroup(ctx, log)

	dev, err := recordgpu.Open(callLog, cfg.gpu)
	if err != nil {
		return err
	}
	gpu := restore.GPUID{Index: cfg.gpu, UUID: dev.Facts().UUID}
	claim, err := restore.Acquire(ctx, restore.DefaultDir(), gpu, dev, restore.AcquireOptions{Takeover: cfg.takeover, Log: log})
	if err != nil {
		return err
	}
	defer func() {
		if rerr := claim.Release(context.Background()); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	g.OnPanic(claim.Release)
	defer g.Guard("main", &err)

	if err := claim.LockCoreClock(ctx, cfg.coreMHz); err != nil {
		return err
	}
	if cfg.memMHz != 0 {
		if err := claim.LockMemClock(ctx, cfg.memMHz); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "worker ready pid=%d\n", os.Getpid())

	switch cfg.mode {
	case "wait":
	case "stuck":
		// A restore that hangs (a wedged driver): only the supervisor's
		// forced kill gets the clocks back.
		<-ctx.Done()
		select {}
	case "print":
		g.Go("printer", func(ctx context.Context) error {
			t := time.NewTicker(5 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
					// Once the reader is gone the write fails with EPIPE:
					// stop in order, as gputune's decision writer does.
					if _, err := fmt.Fprintln(os.Stdout, "tick"); restore.BrokenPipe(err) {
						return &restore.SignalError{Signal: syscall.SIGPIPE}
					}
				}
			}
		})
	case "panic-main":
		panic("injected panic in the main goroutine")
	case "panic-group":
		g.Go("injected", func(context.Context) error { panic("injected panic in a Group goroutine") })
	case "panic-raw":
		go func() { panic("injected panic in a goroutine not started through Group") }()
	case "exit":
		os.Exit(7)
	case "fatal":
		var mu sync.Mutex
		mu.Unlock() // fatal error: unrecoverable, no deferred code runs
	default:
		return fmt.Errorf("unknown -mode %q", cfg.mode)
	}
	<-ctx.Done()
	if werr := g.Wait(); werr != nil {
		return werr
	}
	return context.Cause(ctx)
}
