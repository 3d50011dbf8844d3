package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
	"github.com/gputune/gputune/sim"
)

// simWorkload resolves the demo's workload: the embedded Azure trace by
// default, any trace file with --trace, or a synthetic one.
func simWorkload(cfg config.Config, seed uint64, loop bool) (sim.Workload, error) {
	wl := sim.Workload{Name: cfg.Demo.Workload, Loop: loop, Seed: seed}
	switch {
	case cfg.Demo.Trace != "":
		t, err := sim.LoadTrace(cfg.Demo.Trace)
		if err != nil {
			return wl, fmt.Errorf("%w: --trace: %w", config.ErrInvalid, err)
		}
		wl.Name, wl.Trace = sim.WorkloadAzureConv, t
	case cfg.Demo.Workload == sim.WorkloadAzureConv:
		t, err := sim.AzureConvTrace()
		if err != nil {
			return wl, err
		}
		wl.Trace = t
	}
	return wl, nil
}

// startDemo starts one simulated GPU and vLLM server per --sim-gpus, each
// serving /metrics over real HTTP on loopback, and a loop per GPU that reads
// it through HTTP and drives the simulated GPU through the nvgpu
// interfaces. No real GPU is opened; nothing needs root.
func startDemo(ctx context.Context, cfg config.Config, f *runFlags, group *restore.Group, log *slog.Logger) ([]tuned, control.Clock, error) {
	var out []tuned
	var clock control.Clock
	if len(cfg.GPU.Groups) > 0 {
		log.Warn("gpu.groups is not simulated: the demo runs one server and one loop per simulated GPU", "groups", cfg.GPU.Groups)
	}
	if len(cfg.Scrape.MetricsURLs) > 0 {
		log.Warn("scrape.metrics_urls is not used by the demo: each simulated GPU has its own simulated server", "metrics_urls", cfg.Scrape.MetricsURLs)
	}
	for _, i := range f.demoGPUs(cfg) {
		wl, err := simWorkload(cfg, cfg.Bandit.Seed+uint64(i), true)
		if err != nil {
			return out, nil, err
		}
		meter, err := nvgpu.NewMeter(nvgpu.DefaultMeterConfig())
		if err != nil {
			return out, nil, err
		}
		// The simulation feeds the meter itself, at fixed points of
		// simulated time, and waits at zero for the loop: with the loop's
		// Lockstep clock the demo measures and decides the same way every
		// run, whatever the host's timing, and exactly as the benchmark's
		// run of the same scenario does (sim.LiveOptions).
		live, err := sim.StartLive(ctx, sim.Config{
			GPUProfile: cfg.Demo.GPUProfile, Params: cfg.Demo.SimParams, Workload: wl,
			SLO: sim.SLO{TTFT: seconds(cfg.SLO.TTFTLimitS), TPOT: seconds(cfg.SLO.TPOTLimitS)},
		}, sim.LiveOptions{Speed: cfg.Demo.Speed, Tick: liveTick(cfg.Demo.Speed), Meter: meter, StartHeld: true})
		if err != nil {
			return out, nil, fmt.Errorf("%w: demo: %w", config.ErrInvalid, err)
		}
		group.OnPanic(func(context.Context) error { return live.Close() })
		log.Info("demo: simulated GPU and vLLM server", "gpu", i, "metrics_url", live.URL(),
			"profile", cfg.Demo.GPUProfile, "sim_params", cfg.Demo.SimParams, "speed", cfg.Demo.Speed)
		if clock == nil {
			clock = live
		}
		source, err := scrape.NewHTTPSource(live.URL(), scrapeOptions(cfg, scrape.WithClock(live.Now))...)
		if err != nil {
			return out, nil, err
		}
		gpu := newSimGPU(live, i)
		// The demo's loop locks the simulated GPU: gpu is a simulated
		// controller. No NVML controller exists in this mode. Its clock
		// holds the simulation still while it runs a cycle (sim.Lockstep):
		// the speed-up must not multiply the tuner's own latency.
		loop, err := buildLoop(stackSpec{cfg: cfg, reader: gpu, ctl: gpu, source: source, clock: live.Lockstep(),
			meter: meter, demo: true, resetModel: f.resetModel, log: log, goFn: group.Go})
		if err != nil {
			return out, nil, err
		}
		out = append(out, tuned{loop: loop, facts: gpu.Facts(), release: func(context.Context) error { return live.Close() }})
	}
	return out, clock, nil
}

// liveTick is how often the simulation catches up with wall time: every
// 5 ms of simulated time, but no faster than every 200 µs. It paces the
// demo only; where the simulation stops, and so what it computes, is fixed
// in simulated time (sim.Live's advanceTo).
func liveTick(speed float64) time.Duration {
	if !(speed > 0) {
		return time.Millisecond
	}
	return max(time.Duration(float64(5*time.Millisecond)/speed), 200*time.Microsecond)
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
