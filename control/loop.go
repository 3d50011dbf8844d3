package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

// Deps are what a Loop is built from. Controller is nil in read-only modes
// (--dry-run, no permission). Live, it is the restore.Claim, which records
// every clock in the GPU's state file before locking it.
type Deps struct {
	Config     Config
	Reader     nvgpu.Reader
	Controller nvgpu.Controller
	Source     scrape.Source
	Windower   Windower
	Meter      EnergyMeter
	// Policy chooses clocks for the gputune and agft policies; nil for the
	// default governor and static policies (Config.Policy says).
	Policy bandit.Policy
	Logger *slog.Logger
	Clock  Clock
	// Go starts a goroutine that must not die silently (restore.Group.Go);
	// nil means a plain goroutine.
	Go func(name string, f func(ctx context.Context) error)
	// Demo marks snapshots as simulated.
	Demo bool
	// ModelPath is where the learned model is saved periodically and at
	// exit; empty: not saved.
	ModelPath string
}

// Loop is gputune's decision loop and the only writer of clocks.
type Loop struct {
	d      Deps
	cfg    Config
	log    *slog.Logger
	errs   *conditions // logs the errors in force as they start, change and clear
	facts  nvgpu.Facts
	policy setting.PolicyKind
	static bandit.Arm

	arms []bandit.Arm // every arm the operator bounds allow
	// allowedBuf holds the arms the backlog guard allows (never aliases arms).
	allowedBuf []bandit.Arm
	backlog    backlog
	band       exploreBand
	maxArm     bandit.Arm
	idleArm    bandit.Arm
	scores     []bandit.ArmScore

	cmds chan Command
	subs subscribers
	norm *bandit.Normaliser
	// servedModel is the model name the server reports, for the envelope.
	servedModel string
	// signals is what the policy was last told about latency signals.
	signals [2]bandit.LatencySignal

	startedAt time.Time
	prevCycle time.Time
	// windowStart is when the window being judged began.
	windowStart time.Time

	st  state
	act actuator

	lastCycleDone atomic.Int64 // unix ns, for the watchdog
	running       atomic.Bool  // Run is cycling
	lastSave      time.Time
}

// state is the loop's decision state; only the cycle touches it.
type state struct {
	round, decisions, violations int
	mode                         Mode
	paused, readOnly             bool
	pinned                       bandit.Arm
	decided                      bandit.Arm // the last target, locked or not
	// ran is what the window now running runs at: the last snapshot's
	// clocks and mode, from its time on.
	ran      RanAt
	sloMode  bandit.SLOMode
	baseline bandit.RewardBaseline

	idleCount, clearCount int
	emergency             bool

	lastGood       time.Time
	failures       int
	backoffUntil   time.Time
	decidedCtx     [NumFeatures]float64
	haveDecidedCtx bool
	decidedExplore bool
	totalEnergyJ   float64
	message        string
	// metricsErr and clockErr are the errors in force now, shown as Err.
	metricsErr, clockErr string
	// tokensMean is the recent mean of output tokens per valid window,
	// which a window's training weight is relative to (see windowWeight).
	tokensMean float64
	carry      carryover
	// prevRunning is the running-requests gauge at the previous window's
	// end, the batch the current window started with.
	prevRunning     float64
	havePrevRunning bool
	// prevInServer is the running and waiting requests at the previous
	// window's end, from which a window's arrivals are counted.
	prevInServer     float64
	havePrevInServer bool
}

// New builds a loop. It reads the GPU's facts and derives the arm set.
func New(d Deps) (*Loop, error) {
	if d.Reader == nil || d.Source == nil || d.Windower == nil || d.Meter == nil {
		return nil, errors.New("control: Reader, Source, Windower and Meter are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = WallClock{}
	}
	cfg := d.Config
	name, mhz := cfg.Policy.Kind, cfg.Policy.MHz
	if name.Learns() && d.Policy == nil {
		return nil, fmt.Errorf("control: policy %s needs a bandit.Policy", name)
	}
	l := &Loop{
		d:      d,
		cfg:    cfg,
		log:    d.Logger,
		errs:   newConditions(d.Logger),
		facts:  d.Reader.Facts(),
		policy: name,
		cmds:   make(chan Command, 16),
	}
	var err error
	l.arms, err = Arms(l.facts, cfg.Clocks)
	if err != nil {
		return nil, err
	}
	l.maxArm = l.arms[len(l.arms)-1]
	l.idleArm = l.arms[0]
	if idle := cfg.Clocks.IdleMHz; idle > 0 {
		// Within the allowed range the nearest supported clock is meant;
		// outside it, the operator asked for what cannot be had.
		if idle < l.arms[0].SMMHz || idle > l.maxArm.SMMHz {
			return nil, fmt.Errorf("%w: gpu.idle_clock_mhz = %d: outside the clocks gputune may use on %s (%d..%d MHz)",
				ErrInvalid, idle, l.facts.Name, l.arms[0].SMMHz, l.maxArm.SMMHz)
		}
		l.idleArm = bandit.Arm{SMMHz: nvgpu.Snap(l.facts.CoreClocksMHz, idle)}
	}
	if name == setting.PolicyStatic {
		l.static = bandit.Arm{SMMHz: nvgpu.Snap(l.facts.CoreClocksMHz, mhz)}
		if l.static.SMMHz != mhz {
			return nil, fmt.Errorf("control: static:%d is not a supported clock (nearest: %d MHz)", mhz, l.static.SMMHz)
		}
	}
	l.scores = make([]bandit.ArmScore, 0, len(l.arms))
	l.st.sloMode = cfg.SLO.Mode
	l.st.readOnly = d.Controller == nil || cfg.DryRun
	l.st.mode = ModeWarmup
	l.st.ran = RanAt{Mode: ModeWarmup} // the governor, until the first decision
	l.st.baseline = bandit.RewardBaseline{Target: cfg.WarmupWindows, Factor: 0.9}
	if l.norm, err = bandit.NewNormaliser(NumFeatures-1, bandit.DefaultClip); err != nil {
		return nil, err
	}
	if d.Policy != nil {
		d.Policy.SetSLOMode(l.st.sloMode)
		d.Policy.SetLimits(cfg.SLO.TTFTLimitS, cfg.SLO.TPOTLimitS)
	}
	l.act = actuator{ctl: d.Controller, log: d.Logger, memArms: l.arms[0].MemMHz != 0}
	return l, nil
}

// Arms derives the arm set from the GPU's supported clocks, the operator
// bounds and the clock step; with memory tuning on (and allowed) each core
// clock is paired with each memory clock.
func Arms(f nvgpu.Facts, g ClockBounds) ([]bandit.Arm, error) {
	if len(f.CoreClocksMHz) == 0 {
		return nil, errors.New("control: the GPU lists no supported core clocks")
	}
	lo, hi := f.CoreClocksMHz[0], f.CoreClocksMHz[len(f.CoreClocksMHz)-1]
	if g.MinMHz > 0 {
		lo = max(lo, g.MinMHz)
	}
	if g.MaxMHz > 0 {
		hi = min(hi, g.MaxMHz)
	}
	var core []int
	for _, c := range f.CoreClocksMHz {
		if c < lo || c > hi {
			continue
		}
		if g.StepMHz > 0 && len(core) > 0 && c-core[len(core)-1] < g.StepMHz && c != hi {
			continue
		}
		core = append(core, c)
	}
	if len(core) == 0 {
		return nil, fmt.Errorf("control: no supported core clock within gpu.clock_min_mhz..clock_max_mhz (%d..%d); the GPU supports %d..%d MHz",
			g.MinMHz, g.MaxMHz, f.CoreClocksMHz[0], f.CoreClocksMHz[len(f.CoreClocksMHz)-1])
	}
	mems := []int{0}
	if g.Memory && f.MemLockSupported && len(f.MemClocksMHz) > 1 {
		mems = f.MemClocksMHz
	}
	arms := make([]bandit.Arm, 0, len(core)*len(mems))
	for _, m := range mems {
		for _, c := range core {
			arms = append(arms, bandit.Arm{SMMHz: c, MemMHz: m})
		}
	}
	slices.SortFunc(arms, func(a, b bandit.Arm) int {
		if a.SMMHz != b.SMMHz {
			return a.SMMHz - b.SMMHz
		}
		return a.MemMHz - b.MemMHz
	})
	return arms, nil
}

// Send queues an operator command without blocking. It reports false when
// the queue is full (the command is dropped and the caller should say so).
func (l *Loop) Send(c Command) bool {
	select {
	case l.cmds <- c:
		return true
	default:
		return false
	}
}

// Subscribe returns a channel of snapshots holding at most buf of them; when
// a reader falls behind the oldest is dropped, so the loop never blocks.
func (l *Loop) Subscribe(buf int) <-chan Snapshot { return l.subs.add(buf) }

// Run cycles every configured period until ctx ends, with a watchdog that
// gives the clocks back when no cycle completes in time. On return the
// clocks are given back.
func (l *Loop) Run(ctx context.Context) error {
	l.running.Store(true)
	defer l.running.Store(false)
	period := l.cfg.Period
	clock := l.d.Clock
	l.startedAt = clock.Now()
	l.lastCycleDone.Store(time.Now().UnixNano())
	wctx, stopWatchdog := context.WithCancel(ctx)
	defer stopWatchdog()
	l.goSafe("watchdog", l.watchdog(wctx))

	next := clock.Now()
	for {
		next = next.Add(period)
		// Behind schedule (a slow scrape): skip the missed periods, never
		// burst.
		for !next.After(clock.Now()) {
			next = next.Add(period)
		}
		wait := next.Sub(clock.Now())
		select {
		case <-ctx.Done():
			err := l.Close(context.WithoutCancel(ctx))
			l.saveModel(clock.Now())
			return err
		case <-clock.After(wait):
		}
		now := clock.Now()
		jitter := now.Sub(next)
		if jitter < 0 {
			jitter = -jitter
		}
		snap := l.Cycle(ctx)
		snap.CycleJitter = jitter
		l.lastCycleDone.Store(time.Now().UnixNano())
		l.subs.publish(snap)
		if now.Sub(l.lastSave) >= l.cfg.SaveInterval {
			l.saveModel(now)
		}
	}
}

// saveModel writes the model when there is one and a path to write it to.
// A failed save is logged: the loop keeps its model in memory.
func (l *Loop) saveModel(now time.Time) {
	l.lastSave = now
	if l.d.ModelPath == "" {
		return
	}
	e, ok, err := l.Envelope()
	if err == nil && ok {
		err = SaveModel(l.d.ModelPath, e)
	}
	if err != nil {
		l.log.Error("saving the model", "path", l.d.ModelPath, "err", err)
	}
}

func (l *Loop) goSafe(name string, f func(ctx context.Context) error) {
	if l.d.Go != nil {
		l.d.Go(name, f)
		return
	}
	go func() { _ = f(context.Background()) }()
}

// watchdog gives the clocks back when no cycle completes for the configured
// time (a hung NVML call, a blocked scrape), and lets the loop take them
// again when it recovers. It runs on wall time even in a sped-up demo: what
// it guards against (a hung call) happens in wall time.
func (l *Loop) watchdog(ctx context.Context) func(context.Context) error {
	return func(context.Context) error {
		limit := l.cfg.Watchdog
		tick := time.NewTicker(limit / 4)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
			last := time.Unix(0, l.lastCycleDone.Load())
			if time.Since(last) > limit && l.act.releaseFromWatchdog(ctx) {
				l.log.Warn("watchdog: no cycle completed in time; clocks given back", "limit", limit)
			}
		}
	}
}

// Close gives the clocks back, then saves the model. It is safe to call
// more than once.
//
// Close may run while Run still runs (a panic elsewhere restores at once):
// giving the clocks back is safe from any goroutine, but the model belongs
// to the cycle, so then Run saves it on its way out instead.
func (l *Loop) Close(ctx context.Context) error {
	l.subs.close()
	err := l.act.release(ctx)
	if !l.running.Load() {
		l.saveModel(l.d.Clock.Now())
	}
	return err
}

// Arms returns the arm set (shared; do not modify).
func (l *Loop) Arms() []bandit.Arm { return l.arms }

type subscribers struct {
	mu     sync.Mutex
	chans  []chan Snapshot
	closed bool
}

func (s *subscribers) add(buf int) <-chan Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := make(chan Snapshot, max(buf, 1))
	if s.closed {
		close(c)
		return c
	}
	s.chans = append(s.chans, c)
	return c
}

func (s *subscribers) publish(snap Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	for _, c := range s.chans {
		for {
			select {
			case c <- snap:
			default:
				select {
				case <-c: // drop the oldest
				default:
				}
				continue
			}
			break
		}
	}
}

func (s *subscribers) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	for _, c := range s.chans {
		close(c)
	}
}
