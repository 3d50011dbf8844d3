package sim

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

func mustGPU(t testing.TB, profile, params string) GPU {
	t.Helper()
	g, err := NewGPU(profile, params)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNewGPUBadInput(t *testing.T) {
	for _, c := range []struct{ profile, params, want string }{
		{"h200", "nominal", "a100-sxm, h100-sxm"},
		{"h100-sxm", "typical", "nominal, optimistic, pessimistic"},
	} {
		_, err := NewGPU(c.profile, c.params)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewGPU(%q, %q) = %v, want an error listing %q", c.profile, c.params, err, c.want)
		}
	}
	if _, err := NewGPU("", ""); err != nil {
		t.Errorf("defaults: %v", err)
	}
	if _, err := ParamsHash("nope", "nominal"); err == nil {
		t.Error("ParamsHash accepted an unknown profile")
	}
}

func TestParamsHashStableAndDistinct(t *testing.T) {
	a, _ := ParamsHash("h100-sxm", "nominal")
	b, _ := ParamsHash("h100-sxm", "nominal")
	c, _ := ParamsHash("h100-sxm", "pessimistic")
	d, _ := ParamsHash("a100-sxm", "nominal")
	g := mustGPU(t, "h100-sxm", "nominal")
	if a != b || a != g.ParamsHash() || len(a) != 16 {
		t.Errorf("hash not stable: %s %s %s", a, b, g.ParamsHash())
	}
	if a == c || a == d {
		t.Errorf("hash does not separate sets/profiles: %s %s %s", a, c, d)
	}
}

func TestLockErrors(t *testing.T) {
	ctx := context.Background()
	h := mustGPU(t, "h100-sxm", "nominal")
	for _, mhz := range []int{0, 340, 350, 1995, -15} {
		if err := h.LockCoreClock(ctx, mhz); !errors.Is(err, nvgpu.ErrUnsupportedClock) {
			t.Errorf("LockCoreClock(%d) = %v, want ErrUnsupportedClock", mhz, err)
		}
	}
	if err := h.LockMemClock(ctx, 2619); !errors.Is(err, nvgpu.ErrNotSupported) {
		t.Errorf("h100 LockMemClock = %v, want ErrNotSupported", err)
	}
	a := mustGPU(t, "a100-sxm", "nominal")
	if err := a.LockMemClock(ctx, 2619); !errors.Is(err, nvgpu.ErrUnsupportedClock) {
		t.Errorf("a100 LockMemClock(2619) = %v, want ErrUnsupportedClock", err)
	}
	if err := a.LockMemClock(ctx, 1593); err != nil {
		t.Errorf("a100 LockMemClock(1593) = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.LockCoreClock(cctx, 1500); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestFacts(t *testing.T) {
	g := mustGPU(t, "h100-sxm", "nominal")
	f := g.Facts()
	if len(f.CoreClocksMHz) != 110 || f.CoreClocksMHz[0] != 345 || f.CoreClocksMHz[109] != 1980 {
		t.Errorf("h100 clocks: %d values %v…", len(f.CoreClocksMHz), f.CoreClocksMHz[:3])
	}
	if f.PowerLimitW != 700 || f.PowerMinW != 200 || f.MemLockSupported || !f.Simulated {
		t.Errorf("h100 facts: %+v", f)
	}
	ag := mustGPU(t, "a100-sxm", "nominal")
	a := ag.Facts()
	if len(a.CoreClocksMHz) != 81 || a.PowerLimitW != 400 || a.MemClocksMHz[0] != 1593 || !a.MemLockSupported {
		t.Errorf("a100 facts: %+v", a)
	}
}

// TestIdleGovernor: with a context the boost clock holds through idle at
// ~120 W; without one the clock drops to 345 MHz at ~75 W (probe run 2).
func TestIdleGovernor(t *testing.T) {
	for _, c := range []struct {
		ctx        bool
		clk        float64
		loW, hiW   float64
		wantReason uint64
	}{{true, 1980, 105, 135, 0}, {false, 345, 65, 85, nvgpu.ReasonGPUIdle}} {
		g := mustGPU(t, "h100-sxm", "nominal")
		g.SetContextHeld(c.ctx)
		g.Advance(60*time.Second, Work{})
		if g.SMClockMHz() != c.clk || g.PowerW() < c.loW || g.PowerW() > c.hiW || g.EventReasons() != c.wantReason {
			t.Errorf("context %v: %.0f MHz %.1f W reasons %#x", c.ctx, g.SMClockMHz(), g.PowerW(), g.EventReasons())
		}
	}
}

func TestPowerCapThrottles(t *testing.T) {
	g := mustGPU(t, "h100-sxm", "nominal")
	w := llamaPrefill(8192)
	fast := g.StepTime(w)
	g.Advance(5*time.Second, w)
	if g.EventReasons()&nvgpu.ReasonSWPowerCap == 0 || g.SMClockMHz() > 1600 || g.SMClockMHz() < 1200 {
		t.Errorf("GEMM at cap: %.0f MHz reasons %#x", g.SMClockMHz(), g.EventReasons())
	}
	if math.Abs(g.PowerW()-700) > 1 {
		t.Errorf("capped power %.1f W, want 700", g.PowerW())
	}
	if fast <= 0 {
		t.Error("StepTime of work is zero")
	}
	// Decode at small batch never reaches the cap.
	g.Advance(5*time.Second, llamaDecode(1, 1024))
	if g.EventReasons() != 0 || g.SMClockMHz() != 1980 {
		t.Errorf("decode: %.0f MHz reasons %#x", g.SMClockMHz(), g.EventReasons())
	}
}

func TestClockLatency(t *testing.T) {
	ctx := context.Background()
	g := mustGPU(t, "h100-sxm", "nominal")
	w := llamaDecode(8, 1024)
	g.Advance(time.Second, w)
	if err := g.LockCoreClock(ctx, 1200); err != nil {
		t.Fatal(err)
	}
	g.Advance(20*time.Millisecond, w)
	if g.SMClockMHz() != 1980 {
		t.Errorf("lock applied after 20 ms of a 30 ms latency: %.0f MHz", g.SMClockMHz())
	}
	g.Advance(20*time.Millisecond, w)
	if g.SMClockMHz() != 1200 || g.EventReasons() != nvgpu.ReasonAppClocksSetting {
		t.Errorf("after 40 ms: %.0f MHz reasons %#x", g.SMClockMHz(), g.EventReasons())
	}
	_ = g.ResetCoreClock(ctx)
	g.SetClockLatency(0)
	_ = g.ResetCoreClock(ctx)
	g.Advance(time.Millisecond, w)
	if g.SMClockMHz() != 1980 || g.LockedMHz() != 0 {
		t.Errorf("reset with zero latency: %.0f MHz", g.SMClockMHz())
	}
}

// TestNVMLArtefacts: the energy counter steps every 64–128 ms (median ~100)
// and tracks true energy; the instant power steps too; GetPowerUsage is a
// 1 s average that lags a load step.
func TestNVMLArtefacts(t *testing.T) {
	ctx := context.Background()
	g := mustGPU(t, "h100-sxm", "nominal")
	start, _ := g.EnergyCounter(ctx)
	e0 := g.EnergyJ()
	var changes []time.Duration
	last, lastAt := start, g.Now()
	instChanges := 0
	lastInst, _ := g.InstantPower(ctx)
	w := llamaDecode(32, 1024)
	for range 5000 { // 10 s in 2 ms steps
		g.Advance(2*time.Millisecond, w)
		c, _ := g.EnergyCounter(ctx)
		if c != last {
			if last != start {
				changes = append(changes, g.Now()-lastAt)
			}
			last, lastAt = c, g.Now()
		}
		if p, _ := g.InstantPower(ctx); p.MilliWatts != lastInst.MilliWatts {
			instChanges++
			lastInst = p
		}
	}
	var sum time.Duration
	for _, d := range changes {
		if d < 62*time.Millisecond || d > 130*time.Millisecond {
			t.Errorf("counter step interval %v outside 64–128 ms", d)
		}
		sum += d
	}
	if mean := sum / time.Duration(len(changes)); mean < 90*time.Millisecond || mean > 110*time.Millisecond {
		t.Errorf("mean counter interval %v", mean)
	}
	if instChanges < 80 || instChanges > 120 {
		t.Errorf("instant power changed %d times in 10 s, want ~100", instChanges)
	}
	end, _ := g.EnergyCounter(ctx)
	trueJ := g.EnergyJ() - e0
	if counted := float64(end-start) / 1000; math.Abs(counted-trueJ) > 0.13*g.PowerW() {
		t.Errorf("counter %.1f J vs true %.1f J", counted, trueJ)
	}
	if p, _ := g.InstantPower(ctx); math.Abs(float64(p.MilliWatts)/1000-g.PowerW()) > 15 {
		t.Errorf("instant %.1f W vs true %.1f W", float64(p.MilliWatts)/1000, g.PowerW())
	}
	// 1 s average lags: 300 ms after going idle it is still far above idle.
	loaded := g.PowerW()
	g.Advance(300*time.Millisecond, Work{})
	s, _ := g.Sample(ctx)
	if s.PowerAvgW < g.PowerW()+0.5*(loaded-g.PowerW()) {
		t.Errorf("1 s average %.1f W dropped too fast (loaded %.1f, idle %.1f)", s.PowerAvgW, loaded, g.PowerW())
	}
	g.Advance(1200*time.Millisecond, Work{})
	s, _ = g.Sample(ctx)
	if math.Abs(s.PowerAvgW-g.PowerW()) > 5 || s.UtilGPU != 0 || s.SMClockMHz != 1980 || s.MemClockMHz != 2619 {
		t.Errorf("after 1.5 s idle: %+v (true %.1f W)", s, g.PowerW())
	}
}

func TestTemperatureAndLeakage(t *testing.T) {
	g := mustGPU(t, "h100-sxm", "nominal")
	w := llamaDecode(128, 1024) // ~550 W: a heavy decode load
	g.Advance(time.Second, w)
	cool, tCool := g.PowerW(), g.TempC()
	g.Advance(5*time.Minute, w)
	hot, tHot := g.PowerW(), g.TempC()
	if tHot < tCool+10 {
		t.Errorf("temperature %.1f -> %.1f °C under load", tCool, tHot)
	}
	if rise := hot/cool - 1; rise < 0.01 || rise > 0.08 {
		t.Errorf("leakage raised power %.1f%% when hot, want a few percent", 100*rise)
	}
}

func TestDeterministicAndClonesIndependently(t *testing.T) {
	ctx := context.Background()
	run := func(g GPU) (uint64, uint32) {
		for i := range 3000 {
			g.Advance(3*time.Millisecond, llamaDecode(1+i%64, 512))
		}
		c, _ := g.EnergyCounter(ctx)
		p, _ := g.InstantPower(ctx)
		return c, p.MilliWatts
	}
	a, _ := NewGPUSeeded("h100-sxm", "nominal", 42)
	b, _ := NewGPUSeeded("h100-sxm", "nominal", 42)
	ca, pa := run(a)
	cb, pb := run(b)
	if ca != cb || pa != pb {
		t.Errorf("same seed differs: %d/%d %d/%d", ca, cb, pa, pb)
	}
	c, _ := NewGPUSeeded("h100-sxm", "nominal", 43)
	if _, pc := run(c); pc == pa {
		t.Errorf("different seeds gave the same noisy reading %d", pc)
	}
	// A clone continues exactly like the original and does not disturb it.
	orig := a
	orig.Advance(time.Second, llamaDecode(8, 512))
	clone := orig
	clone.Advance(time.Second, llamaPrefill(2048))
	o1, _ := run(orig)
	orig2 := a
	orig2.Advance(time.Second, llamaDecode(8, 512))
	o2, _ := run(orig2)
	if o1 != o2 {
		t.Errorf("advancing a clone changed the original: %d vs %d", o1, o2)
	}
}

func TestZeroAndNegativeDurations(t *testing.T) {
	g := mustGPU(t, "h100-sxm", "nominal")
	g.Advance(0, llamaDecode(1, 1))
	g.Advance(-time.Second, llamaDecode(1, 1))
	if g.Now() != 0 || g.EnergyJ() != 0 {
		t.Errorf("non-positive Advance moved the GPU: %v %.3f", g.Now(), g.EnergyJ())
	}
	if g.StepTime(Work{}) != 0 {
		t.Error("idle work has a step time")
	}
}

func TestGPUMethodsDoNotAllocate(t *testing.T) {
	ctx := context.Background()
	g := mustGPU(t, "h100-sxm", "nominal")
	w := llamaPrefill(4096)
	allocs := testing.AllocsPerRun(200, func() {
		d := g.StepTime(w)
		g.Advance(d, w)
		g.Advance(5*time.Millisecond, Work{})
		_, _ = g.Sample(ctx)
		_, _ = g.EnergyCounter(ctx)
		_, _ = g.InstantPower(ctx)
		_ = g.LockCoreClock(ctx, 1500)
	})
	if allocs != 0 {
		t.Errorf("GPU step methods allocate %.1f times per step", allocs)
	}
}

func BenchmarkGPUStep(b *testing.B) {
	g := mustGPU(b, "h100-sxm", "nominal")
	works := []Work{llamaDecode(16, 1024), llamaPrefill(2048), llamaDecode(128, 2048)}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w := works[i%len(works)]
		g.Advance(g.StepTime(w), w)
	}
}

func BenchmarkGPUClone(b *testing.B) {
	g := mustGPU(b, "h100-sxm", "nominal")
	g.Advance(time.Second, llamaDecode(16, 1024))
	var sink GPU
	for b.Loop() {
		sink = g
	}
	_ = sink
}

func TestPowerAtFollowsTemperature(t *testing.T) {
	steady, err := SteadyState("h100-sxm", DefaultParams, Work{}, 345)
	if err != nil {
		t.Fatal(err)
	}
	atSteady, err := PowerAt("h100-sxm", DefaultParams, Work{}, 345, steady.TempC)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(atSteady-steady.PowerW) > 0.01*steady.PowerW {
		t.Fatalf("idle at 345 MHz and the steady %.1f °C: %.2f W, the steady state says %.2f W", steady.TempC, atSteady, steady.PowerW)
	}
	hot, err := PowerAt("h100-sxm", DefaultParams, Work{}, 345, steady.TempC+20)
	if err != nil {
		t.Fatal(err)
	}
	if !(hot > atSteady) {
		t.Fatalf("20 °C hotter drew %.2f W, not more than %.2f W: leakage must follow the die", hot, atSteady)
	}
	if _, err := PowerAt("no-such-gpu", DefaultParams, Work{}, 345, 40); err == nil {
		t.Fatal("an unknown profile was accepted")
	}
}

// NVML's utilisation counts the time kernels run: a server step's host
// time leaves the GPU idle, a bare kernel loop keeps it busy.
func TestUtilisationLeavesOutHostTime(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name   string
		server bool
	}{{"server step", true}, {"kernel loop", false}} {
		g := mustGPU(t, "h100-sxm", "nominal")
		w := llamaDecode(1, 1024)
		w.ServerStep = c.server
		g.Advance(2*time.Second, w)
		s, err := g.Sample(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := 1.0
		if c.server {
			want = 1 - g.Params().HostStepS/g.StepTime(w).Seconds()
		}
		t.Logf("%s: utilisation %.3f, want %.3f", c.name, s.UtilGPU, want)
		if math.Abs(s.UtilGPU-want) > 0.01 || (c.server && s.UtilGPU > 0.95) {
			t.Errorf("%s: utilisation %.3f, want %.3f", c.name, s.UtilGPU, want)
		}
	}
}
