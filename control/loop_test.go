package control

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

// stepClock is a virtual clock the test advances by hand.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *stepClock) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- c.Now().Add(d)
	return ch
}
func (c *stepClock) advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// gpu is a fake Reader+Controller that records lock and reset calls.
type gpu struct {
	mu          sync.Mutex
	locked      int // 0: governor
	calls       []string
	denyLocks   error
	clocks      []int
	governorMHz int
}

func newGPU() *gpu {
	g := &gpu{governorMHz: 1980}
	for c := 345; c <= 1980; c += 15 {
		g.clocks = append(g.clocks, c)
	}
	return g
}

func (g *gpu) Facts() nvgpu.Facts {
	return nvgpu.Facts{Index: 0, UUID: "GPU-test", Name: "Test H100", CoreClocksMHz: g.clocks,
		MemClocksMHz: []int{1593, 2619}, PowerLimitW: 700}
}
func (g *gpu) Sample(context.Context) (nvgpu.Sample, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.locked
	if c == 0 {
		c = g.governorMHz
	}
	return nvgpu.Sample{SMClockMHz: c, MemClockMHz: 2619}, nil
}
func (g *gpu) InstantPower(context.Context) (nvgpu.PowerReading, error) {
	return nvgpu.PowerReading{}, nil
}
func (g *gpu) EnergyCounter(context.Context) (uint64, error) { return 0, nil }
func (g *gpu) LockCoreClock(_ context.Context, mhz int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.denyLocks != nil {
		return g.denyLocks
	}
	g.locked = mhz
	g.calls = append(g.calls, "lock")
	return nil
}
func (g *gpu) ResetCoreClock(context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.locked = 0
	g.calls = append(g.calls, "reset")
	return nil
}
func (g *gpu) LockMemClock(context.Context, int) error { return nvgpu.ErrNotSupported }
func (g *gpu) ResetMemClock(context.Context) error     { return nil }
func (g *gpu) lockedMHz() int                          { g.mu.Lock(); defer g.mu.Unlock(); return g.locked }
func (g *gpu) nCalls() int                             { g.mu.Lock(); defer g.mu.Unlock(); return len(g.calls) }

// feed serves windows the test sets; Fetch fails while err is set.
type feed struct {
	mu    sync.Mutex
	win   scrape.Window
	err   error
	model string
}

func (f *feed) Fetch(context.Context) (scrape.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return scrape.Sample{Model: f.model}, f.err
}
func (f *feed) Next(scrape.Sample) (scrape.Window, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.win, nil
}
func (f *feed) set(w scrape.Window, err error) { f.mu.Lock(); f.win, f.err = w, err; f.mu.Unlock() }

// meter reports a constant power.
type meter struct{ watts float64 }

func (m meter) Energy(start, end time.Time) (float64, float64, error) {
	return m.watts * end.Sub(start).Seconds(), 1, nil
}

// fixedPolicy always exploits one arm and counts updates.
type fixedPolicy struct {
	arm     bandit.Arm
	allowed []bandit.Arm // the arms offered at the last decision
	updates []bandit.Observation
	mode    bandit.SLOMode
	explore int
	resets  int
}

func (p *fixedPolicy) Name() string { return "fixed" }
func (p *fixedPolicy) Decide(x []float64, allowed []bandit.Arm, s []bandit.ArmScore) (bandit.Decision, []bandit.ArmScore) {
	p.allowed = append(p.allowed[:0], allowed...)
	for _, a := range allowed {
		s = append(s, bandit.ArmScore{Arm: a, Pred: 0, UCB: 0, State: bandit.StateOK})
	}
	return bandit.Decision{Arm: p.arm, Explore: p.explore > 0, Alpha: 1}, s
}
func (p *fixedPolicy) Update(o bandit.Observation) {
	if p.explore > 0 {
		p.explore--
	}
	p.updates = append(p.updates, o)
}
func (p *fixedPolicy) SetSLOMode(m bandit.SLOMode)   { p.mode = m }
func (p *fixedPolicy) SetLimits(float64, float64)    {}
func (p *fixedPolicy) ForceExplore(n int)            { p.explore = n }
func (p *fixedPolicy) Pruned() []bandit.Pruned       { return nil }
func (p *fixedPolicy) Round() int                    { return len(p.updates) }
func (p *fixedPolicy) Converged() (bool, int)        { return false, 0 }
func (p *fixedPolicy) MarshalState() ([]byte, error) { return []byte("{}"), nil }
func (p *fixedPolicy) UnmarshalState([]byte) error   { return nil }
func (p *fixedPolicy) Reset()                        { p.resets++; p.updates = nil }

func busy() scrape.Window {
	return scrape.Window{Running: 32, GenTokens: 600, PromptTokens: 900, GenTokPerS: 2000, PromptTokPerS: 3000,
		TTFTMean: 0.2, ITLMean: 0.015, TTFTTail: 0.3, ITLTail: 0.02, TPOTTail: 0.02,
		PrefixHitRate: math.NaN(), MeanIterTokens: math.NaN()}
}

type rig struct {
	loop   *Loop
	gpu    *gpu
	feed   *feed
	clock  *stepClock
	policy *fixedPolicy
}

func newRig(t testing.TB, mutate func(*Config), readOnly bool) *rig {
	t.Helper()
	cfg := testConfig()
	cfg.WarmupWindows = 3
	if mutate != nil {
		mutate(&cfg)
	}
	r := &rig{gpu: newGPU(), feed: &feed{}, clock: &stepClock{now: time.Unix(1_700_000_000, 0)},
		policy: &fixedPolicy{arm: bandit.Arm{SMMHz: 1200}}}
	r.feed.set(busy(), nil)
	d := Deps{Config: cfg, Reader: r.gpu, Controller: r.gpu, Source: r.feed, Windower: r.feed,
		Meter: meter{watts: 400}, Policy: r.policy, Clock: r.clock}
	if readOnly {
		d.Controller = nil
	}
	l, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	r.loop = l
	return r
}

func (r *rig) cycle() Snapshot {
	r.clock.advance(300 * time.Millisecond)
	return r.loop.Cycle(context.Background())
}

func (r *rig) cycles(n int) Snapshot {
	var s Snapshot
	for range n {
		s = r.cycle()
	}
	return s
}

func TestWarmupThenExploit(t *testing.T) {
	r := newRig(t, nil, false)
	s := r.cycles(3) // priming + 2 warm-up windows
	if s.Mode != ModeWarmup || r.gpu.lockedMHz() != 0 {
		t.Fatalf("during warm-up: mode %s locked %d, want warmup at the governor", s.Mode, r.gpu.lockedMHz())
	}
	s = r.cycles(2)
	if s.Mode != ModeExploit || r.gpu.lockedMHz() != 1200 || s.FreqMHz != 1200 {
		t.Fatalf("after warm-up: mode %s locked %d freq %d, want exploit at 1200", s.Mode, r.gpu.lockedMHz(), s.FreqMHz)
	}
	s = r.cycle()
	if len(r.policy.updates) == 0 || !s.RewardValid {
		t.Fatalf("no policy update after exploiting (updates %d, reward valid %v)", len(r.policy.updates), s.RewardValid)
	}
	if got := r.policy.updates[len(r.policy.updates)-1].Arm.SMMHz; got != 1200 {
		t.Errorf("reward went to %d MHz, want the clock in effect, 1200", got)
	}
	if len(s.Features) != NumFeatures || s.Features[NumFeatures-1].Name != "bias" {
		t.Errorf("features: %+v", s.Features)
	}
}

func TestRewardGoesToMeasuredClock(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	// A power cap holds the clock below the one commanded.
	r.gpu.mu.Lock()
	r.gpu.governorMHz = 1425
	r.gpu.mu.Unlock()
	r.loop.Send(Command{Kind: CmdPause})
	r.cycle()
	r.loop.Send(Command{Kind: CmdResume})
	r.gpu.mu.Lock()
	r.gpu.locked = 0 // pretend the lock was lost: the governor runs
	r.gpu.mu.Unlock()
	r.loop.act.released.Store(true)
	n := len(r.policy.updates)
	r.cycle()
	if len(r.policy.updates) != n+1 {
		t.Fatalf("want one update, got %d", len(r.policy.updates)-n)
	}
	if got := r.policy.updates[n].Arm.SMMHz; got != 1425 {
		t.Errorf("reward credited to %d MHz, want the measured 1425", got)
	}
}

func TestInvalidWindowsDoNotTrain(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	n := len(r.policy.updates)
	w := busy()
	w.GenTokens = 2 // below min_tokens_per_window
	r.feed.set(w, nil)
	s := r.cycle()
	if len(r.policy.updates) != n || s.RewardValid {
		t.Errorf("a window with too few tokens trained the policy")
	}
	w = busy()
	w.Reset = true
	r.feed.set(w, nil)
	r.cycle()
	if len(r.policy.updates) != n {
		t.Errorf("a window with a counter reset trained the policy")
	}
}

func TestIdleLocksLowClockAndLoadBringsItBack(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	r.feed.set(scrape.Window{}, nil)
	s := r.cycles(3)
	if s.Mode != ModeIdle || r.gpu.lockedMHz() != 345 {
		t.Fatalf("idle: mode %s locked %d, want idle at 345", s.Mode, r.gpu.lockedMHz())
	}
	n := len(r.policy.updates)
	r.cycle()
	if len(r.policy.updates) != n {
		t.Errorf("idle windows trained the policy")
	}
	r.feed.set(busy(), nil)
	s = r.cycle()
	if s.Mode == ModeIdle || r.gpu.lockedMHz() != 1200 {
		t.Errorf("first busy window: mode %s locked %d, want the learned 1200 back within one cycle", s.Mode, r.gpu.lockedMHz())
	}
}

// A server with no traffic when gputune starts gets the idle clock at once,
// not the governor's boost clock until a baseline exists (found on a real
// H100: 118 W at 1980 MHz for the first 23 s of a dry run).
func TestIdleAtStartBeforeWarmup(t *testing.T) {
	r := newRig(t, nil, false)
	r.feed.set(scrape.Window{}, nil)
	s := r.cycles(4) // priming + idle_windows (3)
	if s.Mode != ModeIdle || r.gpu.lockedMHz() != 345 {
		t.Fatalf("idle server at start: mode %s locked %d, want idle at 345", s.Mode, r.gpu.lockedMHz())
	}
	r.feed.set(busy(), nil)
	s = r.cycle()
	if s.Mode != ModeWarmup || r.gpu.lockedMHz() != 0 {
		t.Fatalf("first busy window: mode %s locked %d, want warm-up at the governor", s.Mode, r.gpu.lockedMHz())
	}
	s = r.cycles(3)
	if s.Mode != ModeExploit || r.gpu.lockedMHz() != 1200 {
		t.Errorf("after warm-up: mode %s locked %d, want exploit at 1200", s.Mode, r.gpu.lockedMHz())
	}
}

func TestEmergencyMaxClockAndPinHolds(t *testing.T) {
	r := newRig(t, func(c *Config) { c.SLO.TPOTLimitS = 0.025 }, false)
	r.cycles(6)
	w := busy()
	w.ITLTail = 0.05
	r.feed.set(w, nil)
	s := r.cycle()
	if s.Mode != ModeEmergency || r.gpu.lockedMHz() != 1980 || s.SLOOK {
		t.Fatalf("tail over limit: mode %s locked %d slo_ok %v, want emergency at 1980", s.Mode, r.gpu.lockedMHz(), s.SLOOK)
	}
	r.loop.Send(Command{Kind: CmdPin, MHz: 900})
	s = r.cycle()
	if s.Mode != ModeEmergency || s.Actuation != ActPinned || r.gpu.lockedMHz() != 900 {
		t.Fatalf("pin in emergency: mode %s act %s locked %d, want the pin to hold", s.Mode, s.Actuation, r.gpu.lockedMHz())
	}
	r.loop.Send(Command{Kind: CmdUnpin})
	r.feed.set(busy(), nil)
	s = r.cycles(10)
	if s.Mode == ModeEmergency {
		t.Errorf("still in emergency after %d clear windows", 10)
	}
}

func TestOneTTFTOverTwiceTheLimitIsEmergency(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	w := busy()
	w.MaxTTFTLower = 5 // limit 2 s
	r.feed.set(w, nil)
	if s := r.cycle(); s.Mode != ModeEmergency {
		t.Fatalf("mode %s, want emergency", s.Mode)
	}
}

func TestEDPModeIgnoresSLO(t *testing.T) {
	r := newRig(t, func(c *Config) { c.SLO.TPOTLimitS = 0.025 }, false)
	r.cycles(6)
	r.loop.Send(Command{Kind: CmdSetSLOMode, SLOMode: bandit.SLOIgnore})
	w := busy()
	w.ITLTail = 0.05
	r.feed.set(w, nil)
	s := r.cycle()
	if s.Mode == ModeEmergency || r.policy.mode != bandit.SLOIgnore || s.SLOMode != "edp" {
		t.Fatalf("edp mode: mode %s policy mode %s snapshot %s", s.Mode, r.policy.mode, s.SLOMode)
	}
}

func TestNoDataGivesClocksBack(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	if r.gpu.lockedMHz() == 0 {
		t.Fatal("precondition: a clock is locked")
	}
	r.feed.set(scrape.Window{}, errors.New("connection refused"))
	var s Snapshot
	for range 20 { // well past stale_after (3 s)
		s = r.cycle()
	}
	if s.Mode != ModeNoData || r.gpu.lockedMHz() != 0 {
		t.Fatalf("metrics gone: mode %s locked %d, want nodata with clocks given back", s.Mode, r.gpu.lockedMHz())
	}
	if !strings.Contains(s.Err, "connection refused") {
		t.Errorf("nodata snapshot does not say why: err %q", s.Err)
	}
	r.feed.set(busy(), nil)
	s = r.cycles(30) // back-off ≤ 5 s, then a priming window
	if s.Mode == ModeNoData || r.gpu.lockedMHz() != 1200 || s.Err != "" {
		t.Errorf("metrics back: mode %s locked %d err %q", s.Mode, r.gpu.lockedMHz(), s.Err)
	}
}

func TestCommands(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	tests := []struct {
		cmd     Command
		wantAct Actuation
		wantMHz int
		wantMsg string
	}{
		{Command{Kind: CmdPin, MHz: 1500}, ActPinned, 1500, "pinned 1500 MHz"},
		{Command{Kind: CmdPin, MHz: 1501}, ActPinned, 1500, "not a supported clock"},
		{Command{Kind: CmdPin, MHz: 5000}, ActPinned, 1500, "outside the allowed"},
		{Command{Kind: CmdUnpin}, ActAuto, 1200, "unpinned"},
		{Command{Kind: CmdPause}, ActPaused, 1200, "paused"},
		{Command{Kind: CmdResume}, ActAuto, 1200, "resumed"},
		{Command{Kind: CmdForceExplore, Rounds: 5}, ActAuto, 1200, "exploring for 5"},
		{Command{Kind: CmdResetModel}, ActAuto, 1200, "model reset"},
	}
	for _, tt := range tests {
		if !r.loop.Send(tt.cmd) {
			t.Fatal("send refused")
		}
		s := r.cycle()
		if s.Actuation != tt.wantAct || r.gpu.lockedMHz() != tt.wantMHz || !contains(s.Message, tt.wantMsg) {
			t.Errorf("%v: act %s locked %d msg %q; want %s %d %q", tt.cmd, s.Actuation, r.gpu.lockedMHz(), s.Message, tt.wantAct, tt.wantMHz, tt.wantMsg)
		}
	}
	if r.policy.resets != 1 {
		t.Errorf("reset-model reached the policy %d times", r.policy.resets)
	}
}

func TestPausedHoldsClockAndDoesNotTrain(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	r.loop.Send(Command{Kind: CmdPause})
	r.cycle()
	n := len(r.policy.updates)
	r.policy.arm = bandit.Arm{SMMHz: 600}
	r.cycles(3)
	if r.gpu.lockedMHz() != 1200 || len(r.policy.updates) != n {
		t.Errorf("paused: locked %d (want 1200 held), %d updates (want none)", r.gpu.lockedMHz(), len(r.policy.updates)-n)
	}
}

func TestReadOnlyNeverTouchesSetters(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mutate func(*Config)
		ro     bool
	}{
		{"no controller", nil, true},
		{"dry-run", func(c *Config) { c.DryRun = true }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.mutate, tt.ro)
			r.cycles(8)
			r.loop.Send(Command{Kind: CmdPin, MHz: 900})
			s := r.cycle()
			_ = r.loop.Close(context.Background())
			if r.gpu.nCalls() != 0 {
				t.Errorf("read-only loop made %d lock/reset calls", r.gpu.nCalls())
			}
			if s.Actuation != ActReadOnly || !contains(s.Message, "read-only") {
				t.Errorf("actuation %s message %q", s.Actuation, s.Message)
			}
			if len(r.policy.updates) == 0 {
				t.Error("read-only windows must still train (the clock in effect is known)")
			}
			if s.FreqMHz != 1200 {
				t.Errorf("read-only snapshot reports freq %d, want the decided 1200 (decide and report)", s.FreqMHz)
			}
		})
	}
}

func TestNoPermissionFallsBackToReadOnly(t *testing.T) {
	r := newRig(t, nil, false)
	r.gpu.denyLocks = nvgpu.ErrNoPermission
	s := r.cycles(6)
	if s.Actuation != ActReadOnly || !contains(s.Message, "CAP_SYS_ADMIN") {
		t.Fatalf("actuation %s message %q", s.Actuation, s.Message)
	}
}

func TestCloseGivesClocksBack(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	if err := r.loop.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r.gpu.lockedMHz() != 0 {
		t.Errorf("clock still locked at %d after Close", r.gpu.lockedMHz())
	}
}

func TestWatchdogReleasesAndLoopRelocks(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	// The last cycle ended 4 s ago (wall time): longer than the 3 s watchdog.
	r.loop.lastCycleDone.Store(time.Now().Add(-4 * time.Second).UnixNano())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = r.loop.watchdog(ctx)(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for r.gpu.lockedMHz() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if r.gpu.lockedMHz() != 0 {
		t.Fatal("watchdog did not give the clock back")
	}
	r.cycle()
	if r.gpu.lockedMHz() != 1200 {
		t.Errorf("after recovery locked %d, want 1200 again", r.gpu.lockedMHz())
	}
}

func TestArms(t *testing.T) {
	f := newGPU().Facts()
	f.MemLockSupported = true
	tests := []struct {
		name      string
		g         ClockBounds
		n         int
		lo, hi    int
		wantError bool
	}{
		{"all", ClockBounds{}, 110, 345, 1980, false},
		{"bounds", ClockBounds{MinMHz: 900, MaxMHz: 1500}, 41, 900, 1500, false},
		{"step 90", ClockBounds{StepMHz: 90}, 20, 345, 1980, false},
		{"memory pairs", ClockBounds{Memory: true}, 220, 345, 1980, false},
		{"empty range", ClockBounds{MinMHz: 2000}, 0, 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arms, err := Arms(f, tt.g)
			if (err != nil) != tt.wantError {
				t.Fatalf("err %v", err)
			}
			if err != nil {
				return
			}
			if len(arms) != tt.n || arms[0].SMMHz != tt.lo || arms[len(arms)-1].SMMHz != tt.hi {
				t.Errorf("got %d arms %d..%d, want %d arms %d..%d", len(arms), arms[0].SMMHz, arms[len(arms)-1].SMMHz, tt.n, tt.lo, tt.hi)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestBacklogGuardRaisesAndLiftsTheFloor(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6) // exploiting 1200 MHz
	w := busy()
	for i := range 5 { // the queue grows for backlog_windows windows
		w.Waiting = float64(10 + i)
		r.feed.set(w, nil)
		r.cycle()
	}
	s := r.cycle()
	if lo := r.policy.allowed[0].SMMHz; lo != 1260 {
		t.Fatalf("after a growing queue the lowest allowed clock is %d MHz, want 1260 (1200 + 4 steps)", lo)
	}
	if !strings.Contains(s.Message, "queueing") {
		t.Errorf("message %q does not say why clocks are held off", s.Message)
	}
	w.Waiting = 0
	r.feed.set(w, nil)
	r.cycles(6)
	if lo := r.policy.allowed[0].SMMHz; lo != 345 {
		t.Errorf("after the queue cleared the lowest allowed clock is %d MHz, want every clock back", lo)
	}
	// A queue that drains is the clock keeping up: no floor.
	for i := range 8 {
		w.Waiting = float64(20 - 2*i)
		r.feed.set(w, nil)
		r.cycle()
	}
	if lo := r.policy.allowed[0].SMMHz; lo != 345 {
		t.Errorf("a shrinking queue raised the floor to %d MHz", lo)
	}
	if arms := r.loop.Arms(); len(arms) != 110 || arms[0].SMMHz != 345 {
		t.Errorf("the guard changed the loop's own arm set: %d arms from %d MHz", len(arms), arms[0].SMMHz)
	}
}

// recordingMeter reports a constant power and remembers the start of each
// window it was asked about.
type recordingMeter struct {
	watts  float64
	starts *[]time.Time
}

func (m recordingMeter) Energy(start, end time.Time) (float64, float64, error) {
	*m.starts = append(*m.starts, start)
	return m.watts * end.Sub(start).Seconds(), 1, nil
}

// A clock switch commanded at the end of one cycle runs into the next
// window: that window is flagged switched and its energy starts after the
// settle. Under a virtual clock, as the benchmark and the tests run, the
// switch and the window's start share one instant, which must still count.
func TestSwitchedWindowFlaggedUnderVirtualClock(t *testing.T) {
	r := newRig(t, nil, false)
	var starts []time.Time
	r.loop.d.Meter = recordingMeter{watts: 400, starts: &starts}
	settle := r.loop.cfg.SwitchSettle
	r.cycles(4) // priming, warm-up, then the lock to 1200 MHz
	if r.gpu.lockedMHz() != 1200 {
		t.Fatalf("locked %d MHz after warm-up, want 1200", r.gpu.lockedMHz())
	}
	check := func(wantSwitched bool) {
		t.Helper()
		n := len(r.policy.updates)
		start := r.clock.Now()
		r.cycle()
		if len(r.policy.updates) != n+1 {
			t.Fatalf("no update for the window")
		}
		if got := r.policy.updates[n].Steady.Switched; got != wantSwitched {
			t.Errorf("window switched = %v, want %v", got, wantSwitched)
		}
		from := starts[len(starts)-1]
		if want := start.Add(map[bool]time.Duration{true: settle}[wantSwitched]); !from.Equal(want) {
			t.Errorf("energy measured from %v after the window's start, want %v", from.Sub(start), want.Sub(start))
		}
	}
	check(true)
	check(false)
	r.policy.arm = bandit.Arm{SMMHz: 1500}
	check(false) // decided at this window's end
	check(true)
	check(false)
}

// Each window tells the policy the clock locked over it (the lock, not the
// clock in effect, which a power cap holds below it), and none in read-only
// mode, where nothing is locked.
func TestWindowCarriesItsLock(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(4) // priming, warm-up, then the lock to 1200 MHz
	lockOf := func() int {
		t.Helper()
		n := len(r.policy.updates)
		r.cycle()
		if len(r.policy.updates) != n+1 {
			t.Fatalf("no update for the window")
		}
		return r.policy.updates[n].Steady.LockMHz
	}
	if got := lockOf(); got != 1200 {
		t.Errorf("window at the 1200 MHz lock: LockMHz = %d", got)
	}
	r.policy.arm = bandit.Arm{SMMHz: 1500}
	if got := lockOf(); got != 1200 {
		t.Errorf("window that ran before the switch to 1500 MHz: LockMHz = %d, want 1200", got)
	}
	if got := lockOf(); got != 1500 {
		t.Errorf("window after the switch: LockMHz = %d, want 1500", got)
	}

	ro := newRig(t, nil, true)
	ro.cycles(6)
	if n := len(ro.policy.updates); n == 0 {
		t.Fatal("read-only: no update")
	} else if got := ro.policy.updates[n-1].Steady.LockMHz; got != 0 {
		t.Errorf("read-only: LockMHz = %d, want 0 (nothing locked)", got)
	}
}

// A lock the state file cannot record (disk full) is not made: the loop gives
// the old lock back to the governor instead of keeping it, and locks again
// once the file can be written.
func TestUnrecordedLockGivesTheClockBack(t *testing.T) {
	r := newRig(t, nil, false)
	r.cycles(6)
	if r.gpu.lockedMHz() != 1200 {
		t.Fatalf("locked %d, want 1200 before the disk fills", r.gpu.lockedMHz())
	}
	r.policy.arm = bandit.Arm{SMMHz: 1500}
	r.gpu.denyLocks = fmt.Errorf("%w: write state: %w", restore.ErrNotRecorded, syscall.ENOSPC)
	s := r.cycle()
	if r.gpu.lockedMHz() != 0 {
		t.Fatalf("locked %d with an unrecordable lock, want the governor (0)", r.gpu.lockedMHz())
	}
	if !strings.Contains(s.Err, "recorded") || !strings.Contains(s.Err, "given back") {
		t.Errorf("snapshot does not say why the clock was given back: %q", s.Err)
	}
	r.gpu.denyLocks = nil
	r.cycle()
	if r.gpu.lockedMHz() != 1500 {
		t.Errorf("after space returned locked %d, want 1500", r.gpu.lockedMHz())
	}
}

// TestSnapshotSaysWhatTheWindowRanAt: each snapshot's Ran is what the
// previous one left in force, so that readers judge a window by the clocks
// it ran at without pairing snapshots themselves.
func TestSnapshotSaysWhatTheWindowRanAt(t *testing.T) {
	r := newRig(t, nil, false)
	prev := r.cycle()
	if !prev.Ran.Since.IsZero() || prev.Ran.FreqMHz != 0 || prev.Ran.Mode != ModeWarmup {
		t.Fatalf("first snapshot ran at %+v, want the governor in warm-up with no window", prev.Ran)
	}
	locked := false
	for range 20 {
		s := r.cycle()
		want := RanAt{Since: prev.Time, FreqMHz: prev.FreqMHz, MemFreqMHz: prev.MemFreqMHz, Mode: prev.Mode}
		if s.Ran != want {
			t.Fatalf("round %d ran at %+v, want %+v (the previous snapshot's)", s.Round, s.Ran, want)
		}
		locked = locked || s.Ran.FreqMHz != 0
		prev = s
	}
	if !locked {
		t.Fatal("no window ran at a locked clock: the test saw only the governor")
	}
}
