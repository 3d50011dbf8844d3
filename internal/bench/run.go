package bench

import (
	"context"
	"fmt"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/assembly"
	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/sim"
)

// drainLimit bounds how long a run may go on after the last arrival.
const drainLimit = 15 * time.Minute

// Window is one decision window of one policy's run, as the ground truth saw
// it (the loop itself only sees /metrics and the meter).
type Window struct {
	EndS     float64 // end of the window, seconds since the start
	CmdMHz   int     // core clock commanded for this window (0: default governor)
	ClockMHz float64 // SM clock in effect at the end of the window
	PowerW   float64 // true mean board power over the window
	EnergyJ  float64 // true energy over the window
	Tokens   float64 // output tokens generated in the window
	DelayS   float64 // Σ end-to-end latency of the requests finished in the window
	Arrived  float64 // requests that arrived in the window
	Mode     string  // the loop's mode when it commanded CmdMHz ("oracle" for the oracle)
	// Capped: the power cap held the clock down at the end of the window.
	Capped bool
}

// run is what one policy did over the whole scenario.
type run struct {
	name    string
	mhz     int     // static clock, 0 otherwise
	powerW  float64 // power-cap run's limit, 0 otherwise
	sweep   string  // static: "coarse" or "refine"
	truth   sim.Truth
	windows []Window
	step    int // the GPU's clock step, MHz
}

// tracker records windows from the simulation's ground truth.
type tracker struct {
	prevE, prevTok, prevDelay, prevArrived float64
	prevT                                  time.Duration
	windows                                []Window
}

func (t *tracker) record(s *sim.Sim, cmd int, mode string) {
	tr := s.Truth()
	dt := (tr.Elapsed - t.prevT).Seconds()
	w := Window{EndS: tr.Elapsed.Seconds(), CmdMHz: cmd, ClockMHz: s.GPU().SMClockMHz(),
		EnergyJ: tr.EnergyJ - t.prevE, Tokens: tr.OutputTokens - t.prevTok, DelayS: e2eSum(tr) - t.prevDelay, Mode: mode,
		Arrived: tr.Arrived - t.prevArrived,
		Capped:  s.GPU().EventReasons()&nvgpu.ReasonSWPowerCap != 0}
	if dt > 0 {
		w.PowerW = w.EnergyJ / dt
	}
	t.prevE, t.prevTok, t.prevT, t.prevDelay, t.prevArrived = tr.EnergyJ, tr.OutputTokens, tr.Elapsed, e2eSum(tr), tr.Arrived
	t.windows = append(t.windows, w)
}

// advance runs the simulator for one period of virtual time, feeding the
// meter as the live sampler would (instant power every sim.MeterPowerEvery,
// the energy counter before a cycle once sim.MeterCounterEvery has passed),
// and reports the simulated time and whether every request has finished.
// The demo's live simulation feeds its meter the same way (sim.Live).
func advance(dev *simDevice, meter *nvgpu.Meter, period time.Duration, counter *sim.CounterFeed) (now time.Duration, done bool) {
	dev.Do(func(s *sim.Sim) {
		for left := period; left > 0; left -= sim.MeterPowerEvery {
			s.Step(min(left, sim.MeterPowerEvery))
			s.ObservePower(meter)
		}
		counter.Observe(s, meter)
		now, done = s.Now(), s.Done()
	})
	return now, done
}

// runLoop runs the real control loop with policy ("default", "static:MHZ",
// "agft", "gputune") against a clone of base, cycling once per period of
// virtual time until every request has finished.
func runLoop(ctx context.Context, sc Scenario, base *sim.Sim, policy string, progress func(float64)) (run, error) {
	cfg := sc.Config
	cfg.Control.Policy = policy
	cfg.Bandit.Seed = sc.Seed
	limit := runLimit(sc, base)
	var tr tracker
	dev, err := drive(ctx, sc, base, cfg,
		nil,
		func(snap control.Snapshot, s *sim.Sim) {
			tr.record(s, snap.Ran.FreqMHz, string(snap.Ran.Mode))
			if progress != nil {
				progress(min(s.Now().Seconds()/(limit-drainLimit).Seconds(), 1)) // the arrivals; the drain is short
			}
		})
	if err != nil {
		return run{}, fmt.Errorf("%s: %w", policy, err)
	}
	r := run{name: policy, windows: tr.windows, step: clockStep(dev.Facts())}
	dev.Do(func(s *sim.Sim) { r.truth = s.Truth() })
	return r, nil
}

// drive runs the real control loop with cfg against a clone of base, built
// by internal/assembly as the tuning command builds it (newPolicy, when not
// nil, replaces the configured learning policy), one cycle per period of virtual time until every
// request has finished or the run's limit. After each cycle it calls
// cycle with the snapshot and the simulation.
func drive(ctx context.Context, sc Scenario, base *sim.Sim, cfg config.Config,
	newPolicy func([]bandit.Arm) (bandit.Policy, error), cycle func(control.Snapshot, *sim.Sim)) (*simDevice, error) {
	dev := newSimDevice(base.Clone())
	meter, err := nvgpu.NewMeter(nvgpu.DefaultMeterConfig())
	if err != nil {
		return nil, err
	}
	st, err := assembly.Build(assembly.Spec{Config: cfg, Reader: dev, Controller: dev, Source: dev,
		Meter: meter, Clock: dev, NewPolicy: newPolicy})
	if err != nil {
		return nil, err
	}
	loop := st.Loop
	if sc.Warm != nil && cfg.Control.Policy == PolicyGPUTune {
		if err := loop.Restore(*sc.Warm); err != nil {
			return nil, fmt.Errorf("%w: --import-model: %w", ErrScenario, err)
		}
	}
	period := cfg.Control.Period.Duration
	limit := runLimit(sc, base)
	var counter sim.CounterFeed
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		now, done := advance(dev, meter, period, &counter)
		snap := loop.Cycle(ctx)
		dev.Do(func(s *sim.Sim) { cycle(snap, s) })
		if done || now >= limit {
			break
		}
	}
	if sc.SaveModel != "" && cfg.Control.Policy == PolicyGPUTune {
		e, ok, err := loop.Envelope()
		if err == nil && ok {
			err = control.SaveModel(sc.SaveModel, e)
		}
		if err != nil {
			return nil, fmt.Errorf("--export-model: %w", err)
		}
	}
	if err := loop.Close(ctx); err != nil {
		return nil, fmt.Errorf("closing the loop: %w", err)
	}
	return dev, nil
}

// runLimit is the most virtual time a run may take: the arrivals plus a
// drain allowance.
func runLimit(sc Scenario, base *sim.Sim) time.Duration {
	if t := sc.Workload.Trace; t != nil {
		span := t.Span()
		if ts := sc.Workload.TimeScale; ts > 0 {
			span = time.Duration(float64(span) * ts)
		}
		if rs := sc.Workload.RateScale; rs > 0 {
			span = time.Duration(float64(span) / rs)
		}
		return span + drainLimit
	}
	return sc.Duration + drainLimit
}

func clockStep(f nvgpu.Facts) int {
	if c := f.CoreClocksMHz; len(c) > 1 {
		return c[1] - c[0]
	}
	return 15
}
