package sim

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"
)

// LiveOptions configure a real-time simulation.
type LiveOptions struct {
	// Speed is virtual seconds per wall second (default 1).
	Speed float64
	// Addr is where /metrics listens (default 127.0.0.1:0, a free port).
	Addr string
	// Tick is the wall-clock period of advancing the simulation (default
	// 5 ms).
	Tick time.Duration
	// Meter, when set, receives the simulated GPU's readings from inside
	// the simulation, as the benchmark feeds its meter: instant power every
	// 20 ms of simulated time, and the energy counter when a Lockstep loop
	// wakes 5 s or more after the last read. A sampler polling in wall time
	// instead read the GPU wherever the simulation happened to be, so two
	// demo runs with the same seed measured different windows.
	Meter Observer
	// StartHeld keeps the simulation at time zero until a Lockstep clock
	// first waits, so that the loop's first cycle falls at the same
	// simulated instant in every run, not wherever the simulation had got
	// to while the loop was being built.
	StartHeld bool
}

// Live runs a Sim in real time: one goroutine advances it at Speed× wall
// time and serves the exposition on /metrics over HTTP. Its Device is the
// simulated GPU (nvgpu.Reader, nvgpu.Controller) and the in-process
// scrape.Source; Live adds a virtual clock (Now, After, Sleep) for the
// control loop. All methods are safe for concurrent use.
type Live struct {
	// Device is the simulation; its lock guards the fields below too.
	*Device
	waiters []liveWaiter

	speed     float64
	tick      time.Duration
	meter     Observer
	counter   CounterFeed
	wallStart time.Time
	virtStart time.Duration
	// held is true while a Lockstep clock's loop runs a cycle: the
	// simulation stands still from heldSince until the loop waits again,
	// and that wall time is then added to wallStart.
	held      bool
	heldSince time.Time

	ln     net.Listener
	srv    *http.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
	errMu  sync.Mutex
	srvErr error
}

type liveWaiter struct {
	at time.Duration
	ch chan time.Time
	// hold: when this wait ends, the simulation stands still (Lockstep).
	hold bool
}

// StartLive builds the simulation, listens and starts advancing it. It
// stops when ctx is cancelled or Close is called.
func StartLive(ctx context.Context, cfg Config, opts LiveOptions) (*Live, error) {
	if opts.Speed < 0 || opts.Tick < 0 {
		return nil, fmt.Errorf("live sim: speed and tick must not be negative")
	}
	if opts.Speed == 0 {
		opts.Speed = 1
	}
	if opts.Tick == 0 {
		opts.Tick = 5 * time.Millisecond
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if cfg.Epoch.IsZero() {
		cfg.Epoch = time.Now()
	}
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("live sim: listen on %s: %w", opts.Addr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	l := &Live{
		Device:    NewDevice(s),
		speed:     opts.Speed,
		tick:      opts.Tick,
		meter:     opts.Meter,
		wallStart: time.Now(),
		held:      opts.StartHeld,
		heldSince: time.Now(),
		ln:        ln,
		cancel:    cancel,
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", l.serveMetrics)
	l.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	l.wg.Add(2)
	go func() {
		defer l.wg.Done()
		if err := l.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			l.errMu.Lock()
			l.srvErr = err
			l.errMu.Unlock()
		}
	}()
	go func() {
		defer l.wg.Done()
		l.run(ctx)
	}()
	return l, nil
}

// Close stops the simulation and the HTTP server and waits for both. It
// returns the server's error, if it failed.
func (l *Live) Close() error {
	l.cancel()
	l.wg.Wait()
	l.errMu.Lock()
	defer l.errMu.Unlock()
	return l.srvErr
}

// Addr is the /metrics listener's address.
func (l *Live) Addr() net.Addr { return l.ln.Addr() }

// URL is the full /metrics URL.
func (l *Live) URL() string { return "http://" + l.ln.Addr().String() + "/metrics" }

func (l *Live) run(ctx context.Context) {
	t := time.NewTicker(l.tick)
	defer t.Stop()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = l.srv.Shutdown(ctx) // Close reports Serve's error
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			l.advanceTo(now)
		}
	}
}

// advanceTo steps the simulation towards the virtual time of wall time now,
// stopping at each multiple of MeterPowerEvery (the benchmark's step) and at
// each waiter's deadline (so that After fires at exactly the virtual time
// asked), and at a Lockstep hold. Wall time only decides how far it goes,
// never where it stops: the simulated GPU holds its power over each step,
// so stopping points are part of the result, and with them fixed a run
// with a given seed is the same however the host schedules it.
func (l *Live) advanceTo(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	target := l.virtStart + time.Duration(float64(now.Sub(l.wallStart))*l.speed)
	for !l.held {
		at := l.sim.Now()
		next := (at/MeterPowerEvery + 1) * MeterPowerEvery
		for _, w := range l.waiters {
			next = min(next, max(w.at, at))
		}
		if next > target {
			break
		}
		l.sim.Step(next - at)
		l.observe()
		l.fireWaiters()
	}
	l.fireWaiters()
}

// observe feeds the meter when the simulation stands on one of its power
// reading points. The caller holds l.mu.
func (l *Live) observe() {
	if l.meter != nil && l.sim.Now()%MeterPowerEvery == 0 {
		l.sim.ObservePower(l.meter)
	}
}

func (l *Live) fireWaiters() {
	now := l.sim.Now()
	kept := l.waiters[:0]
	for _, w := range l.waiters {
		if w.at <= now {
			if w.hold && l.meter != nil {
				// Where a Lockstep loop is about to run a cycle, as the
				// benchmark reads the counter just before each cycle.
				l.counter.Observe(&l.sim, l.meter)
			}
			// The hold starts before the loop can wake: the loop's whole
			// cycle, from the instant it receives, is then held.
			if w.hold && !l.held {
				l.held, l.heldSince = true, time.Now()
			}
			w.ch <- l.sim.WallNow() // buffered: never blocks
			continue
		}
		kept = append(kept, w)
	}
	l.waiters = kept
}

// Speed is virtual seconds per wall second.
func (l *Live) Speed() float64 { return l.speed }

// After returns a channel that receives the virtual time once d of virtual
// time has passed (d/Speed of wall time).
func (l *Live) After(d time.Duration) <-chan time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.wait(d, false)
}

// wait registers a waiter d of virtual time from now (fired at once when d
// is not positive), holding the simulation when it fires if hold is set.
// The caller holds l.mu.
func (l *Live) wait(d time.Duration, hold bool) <-chan time.Time {
	ch := make(chan time.Time, 1)
	l.waiters = append(l.waiters, liveWaiter{at: l.sim.Now() + max(d, 0), ch: ch, hold: hold})
	l.fireWaiters()
	return ch
}

// Lockstep is a clock for one control loop that keeps the loop's own work
// out of simulated time. When a wait it was asked for ends, the simulation
// stands still until the loop asks to wait again, at the end of its cycle.
// A cycle's work (scrape, decision, clock lock) takes about a millisecond;
// on a real server that is 0.3 % of a 300 ms window, but at --speed 60 it
// would pass as 60 ms of serving at the old clock, a fifth of the window.
// Use one Lockstep clock per Live, for the loop only: the simulation
// stands still until that loop waits again.
func (l *Live) Lockstep() *LockstepClock { return &LockstepClock{l: l} }

// LockstepClock is Live's clock for one control loop (see Lockstep).
type LockstepClock struct{ l *Live }

// Now is the simulation's virtual time.
func (c *LockstepClock) Now() time.Time { return c.l.Now() }

// After ends the hold of the previous wait, if any, and returns a channel
// that receives the virtual time once d of it has passed; from then on the
// simulation stands still until the next call.
func (c *LockstepClock) After(d time.Duration) <-chan time.Time {
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held {
		l.wallStart = l.wallStart.Add(time.Since(l.heldSince))
		l.held = false
	}
	return l.wait(d, true)
}

// Sleep waits d of virtual time, or until ctx ends.
func (l *Live) Sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-l.After(d):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *Live) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	var buf bytes.Buffer
	l.mu.Lock()
	err := l.sim.WriteExposition(&buf, l.sim.Flavor())
	l.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	// What prometheus_client ≥ 0.23 (and so current vLLM) sends.
	w.Header().Set("Content-Type", "text/plain; version=1.0.0; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
