package sim

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/gputune/gputune/nvgpu"
)

func TestLiveServesMetricsAndClock(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l, err := StartLive(ctx, Config{Workload: Workload{Name: WorkloadPoisson, Rate: 20, Seed: 1}},
		LiveOptions{Speed: 50, Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := l.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	if !strings.HasPrefix(l.URL(), "http://127.0.0.1:") || !strings.HasSuffix(l.URL(), "/metrics") {
		t.Errorf("URL %q", l.URL())
	}

	// Virtual time runs at 50×: 2 s of it pass in about 40 ms.
	start := l.Now()
	wallStart := time.Now()
	if err := l.Sleep(ctx, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if got := l.Now().Sub(start); got < 2*time.Second {
		t.Errorf("Sleep(2s) returned after %v of virtual time", got)
	}
	if wall := time.Since(wallStart); wall > 2*time.Second {
		t.Errorf("2 s of virtual time at 50× took %v of wall time", wall)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("served exposition does not parse: %v", err)
	}
	gen := fams["vllm:generation_tokens_total"]
	if gen == nil || gen.Metric[0].GetCounter().GetValue() <= 0 {
		t.Errorf("no tokens generated after 2 virtual seconds at 20 req/s")
	}

	// The in-process source agrees with the clock.
	smp, err := l.Fetch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if smp.At.Before(start.Add(2 * time.Second)) {
		t.Errorf("sample at %v, before the sleep ended", smp.At)
	}

	// Reader and Controller reach the simulated GPU.
	var r nvgpu.Reader = l
	var c nvgpu.Controller = l
	if f := r.Facts(); !f.Simulated || len(f.CoreClocksMHz) == 0 {
		t.Errorf("facts %+v", f)
	}
	e0, err := r.EnergyCounter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := r.InstantPower(ctx)
	if err != nil || pw.MilliWatts == 0 {
		t.Errorf("instant power %+v, %v", pw, err)
	}
	if now := l.Now(); pw.At.After(now) || now.Sub(pw.At) > time.Second {
		t.Errorf("instant power stamped %v, clock says %v", pw.At, now)
	}
	if err := c.LockCoreClock(ctx, 1200); err != nil {
		t.Fatal(err)
	}
	<-l.After(500 * time.Millisecond)
	s, err := r.Sample(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if s.SMClockMHz > 1200 {
		t.Errorf("SM clock %d MHz after a lock at 1200", s.SMClockMHz)
	}
	if err := c.LockCoreClock(ctx, 1201); !errors.Is(err, nvgpu.ErrUnsupportedClock) {
		t.Errorf("lock at 1201 MHz: %v, want ErrUnsupportedClock", err)
	}
	if err := c.ResetCoreClock(ctx); err != nil {
		t.Fatal(err)
	}
	if e1, _ := r.EnergyCounter(ctx); e1 <= e0 {
		t.Errorf("energy counter did not advance: %d then %d mJ", e0, e1)
	}
	if tr := l.Truth(); tr.EnergyJ <= 0 || tr.Arrived == 0 {
		t.Errorf("truth %s", tr.summary())
	}

	// Cancelling the context stops the clock.
	cancel()
	time.Sleep(20 * time.Millisecond)
	stopped := l.Now()
	time.Sleep(50 * time.Millisecond)
	if l.Now() != stopped {
		t.Errorf("virtual time moved after cancel: %v then %v", stopped, l.Now())
	}
}

func TestLiveSleepHonoursContext(t *testing.T) {
	l, err := StartLive(t.Context(), Config{Workload: Workload{Name: WorkloadPoisson, Seed: 1}}, LiveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := l.Sleep(ctx, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Sleep: %v, want deadline exceeded", err)
	}
}

func TestStartLiveBadInput(t *testing.T) {
	if _, err := StartLive(t.Context(), Config{Workload: Workload{Name: "nope"}}, LiveOptions{}); !errors.Is(err, ErrUnknownWorkload) {
		t.Errorf("unknown workload: %v", err)
	}
	if _, err := StartLive(t.Context(), Config{Workload: Workload{Name: WorkloadPoisson}}, LiveOptions{Speed: -1}); err == nil {
		t.Error("negative speed accepted")
	}
	if _, err := StartLive(t.Context(), Config{Workload: Workload{Name: WorkloadPoisson}}, LiveOptions{Addr: "256.0.0.1:1"}); err == nil {
		t.Error("bad address accepted")
	}
}

// A Lockstep clock's loop runs its cycle with the simulation standing
// still, and the wall time of the cycle does not turn into simulated time
// afterwards.
func TestLiveLockstepHoldsTimeDuringCycle(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	l, err := StartLive(ctx, Config{Workload: Workload{Name: WorkloadPoisson, Rate: 20, Seed: 1}},
		LiveOptions{Speed: 50, Tick: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c := l.Lockstep()
	t1 := <-c.After(300 * time.Millisecond)
	wall0 := l.wallStart
	time.Sleep(60 * time.Millisecond) // a slow cycle: 3 s of virtual time at 50×
	if now := c.Now(); !now.Equal(t1) {
		t.Fatalf("the simulation moved %v during the cycle; want it still", now.Sub(t1))
	}
	ch := c.After(300 * time.Millisecond)
	l.mu.Lock()
	shift := l.wallStart.Sub(wall0)
	l.mu.Unlock()
	if shift < 60*time.Millisecond {
		t.Errorf("the held wall time moved the virtual start by %v; want at least the 60 ms held", shift)
	}
	if t2 := <-ch; t2.Sub(t1) != 300*time.Millisecond {
		t.Errorf("the next wait ended %v after the last; want 300ms", t2.Sub(t1))
	}
	// Plain waits do not hold: once the loop waits again (far ahead),
	// time goes on past one plain wait to the next.
	c.After(time.Hour)
	for range 2 {
		select {
		case <-l.After(time.Millisecond):
		case <-time.After(5 * time.Second):
			t.Fatal("the simulation stood still after a plain wait")
		}
	}
}

// readings records what a Live feeds its meter.
type readings struct {
	mu       sync.Mutex
	power    []nvgpu.PowerReading
	counters []time.Time
}

func (r *readings) Observe(p nvgpu.PowerReading) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.power = append(r.power, p)
}

func (r *readings) ObserveCounter(at time.Time, _ uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counters = append(r.counters, at)
}

// TestLiveIsTheSameRunAtAnySpeed drives a Live with a Lockstep loop that
// locks a clock partway, at two speeds ten times apart, and wants the same
// meter readings at the same simulated instants: where the simulation
// stops, and so what it computes, must not depend on wall time.
func TestLiveIsTheSameRunAtAnySpeed(t *testing.T) {
	run := func(speed float64) (*readings, time.Time) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		rec := &readings{}
		l, err := StartLive(ctx, Config{Workload: Workload{Name: WorkloadPoisson, Rate: 20, Seed: 3}},
			LiveOptions{Speed: speed, Meter: rec, StartHeld: true})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		start := l.Now()
		// Held at the start: nothing moves until the loop first waits.
		time.Sleep(20 * time.Millisecond)
		if moved := l.Now().Sub(start); moved != 0 {
			t.Errorf("speed %v: the simulation ran %v before the loop's first wait", speed, moved)
		}
		clock := l.Lockstep()
		for k := range 40 {
			<-clock.After(300 * time.Millisecond)
			if k == 10 {
				if err := l.LockCoreClock(ctx, 1200); err != nil {
					t.Fatal(err)
				}
			}
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return &readings{power: slices.Clone(rec.power), counters: slices.Clone(rec.counters)}, start
	}
	slow, slowStart := run(40)
	fast, fastStart := run(400)
	if len(slow.power) < 500 {
		t.Fatalf("12 simulated seconds gave %d power readings; want one every 20 ms", len(slow.power))
	}
	n := min(len(slow.power), len(fast.power))
	for i := range n {
		a, b := slow.power[i], fast.power[i]
		if a.At.Sub(slowStart) != b.At.Sub(fastStart) || a.MilliWatts != b.MilliWatts {
			t.Fatalf("power reading %d: %v mW at +%v at speed 40, %v mW at +%v at speed 400",
				i, a.MilliWatts, a.At.Sub(slowStart), b.MilliWatts, b.At.Sub(fastStart))
		}
	}
	// The counter is read where the loop wakes (every 300 ms here), once
	// 5 s have passed since the last read: at +0.3 s, +5.4 s and +10.5 s.
	want := []time.Duration{300 * time.Millisecond, 5400 * time.Millisecond, 10500 * time.Millisecond}
	for _, run := range []struct {
		name     string
		counters []time.Time
		start    time.Time
	}{{"speed 40", slow.counters, slowStart}, {"speed 400", fast.counters, fastStart}} {
		var got []time.Duration
		for _, at := range run.counters {
			got = append(got, at.Sub(run.start))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: counter read at %v; want %v", run.name, got, want)
		}
	}
}
