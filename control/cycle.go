package control

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gputune/gputune/bandit"
	"github.com/gputune/gputune/control/setting"
	"github.com/gputune/gputune/internal/restore"
	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/scrape"
)

// Cycle runs one decision: window statistics, window energy, features,
// reward, policy update, next clock, lock, snapshot. Run calls it every
// period; virtual-time drivers (the benchmark) call it directly after
// advancing their clock.
func (l *Loop) Cycle(ctx context.Context) Snapshot {
	now := l.d.Clock.Now()
	if l.startedAt.IsZero() {
		l.startedAt = now
	}
	start := l.prevCycle
	l.windowStart = start
	l.prevCycle = now
	l.drainCommands(ctx)

	snap := l.baseSnapshot(now)
	win, ok := l.observe(ctx, now)
	if !ok {
		l.enterNoData(ctx, now)
		return l.finish(ctx, snap, now)
	}
	if start.IsZero() {
		// The first sample only primes the windower: no window yet.
		if !l.st.baseline.Ready() {
			l.st.mode = ModeWarmup
		}
		return l.finish(ctx, snap, now)
	}

	l.tellLatencySignals(win)

	// Energy over the window, minus the switching transient.
	from := start
	// A switch at the window's very start counts: a virtual clock stands
	// still through a cycle, so the previous cycle's lock and this window's
	// start share one instant.
	sw := l.lastSwitch()
	switched := !sw.IsZero() && !sw.Before(start)
	if switched {
		from = sw.Add(l.cfg.SwitchSettle)
	}
	dur := now.Sub(start)
	var powerW float64
	energyJ, errJ, err := l.d.Meter.Energy(from, now)
	measured := now.Sub(from)
	if err == nil && measured > 0 {
		powerW = energyJ / measured.Seconds()
		// The same mean power over the whole window: tokens span all of it.
		energyJ, errJ = powerW*dur.Seconds(), errJ*dur.Seconds()/measured.Seconds()
	} else {
		energyJ = math.NaN()
	}
	l.st.totalEnergyJ += finiteOr(energyJ, 0)

	gs, gerr := l.d.Reader.Sample(ctx)
	// A read of the GPU's clocks through NVML. (Energy-window misses
	// are routine around a clock switch and show as a NaN energy.)
	l.errs.set("nvml", errText(gerr))
	inEffect := l.armInEffect(gs)

	var raw, norm [NumFeatures]float64
	rawFeatures(&raw, win)
	_ = l.norm.Add(raw[:NumFeatures-1]) // refuses non-finite vectors whole
	l.norm.NormalizeWithBias(raw[:NumFeatures-1], norm[:0])

	obj, valid := objectiveValue(l.cfg.Objective, energyJ, win, dur, l.cfg.MinTokensPerWindow)
	valid = valid && !win.Reset && gerr == nil
	charge := l.st.carry.charge(win)
	shaped := obj
	if valid && l.policy != setting.PolicyAGFT && l.cfg.Objective == ObjEDP {
		shaped = withCarryover(obj, DelayPerToken(win, dur, win.GenTokens), win.GenTokens, l.cfg.BacklogCharge*charge)
	}
	ttft, tpot := win.TTFTMean, l.tpotMean(win)

	snap.PowerW, snap.EnergyJ, snap.EnergyErrJ = powerW, energyJ, errJ
	snap.Tokens = win.GenTokens
	snap.SMClockMHz, snap.MemClockMHz = gs.SMClockMHz, gs.MemClockMHz
	snap.TTFTTailS, snap.TPOTTailS = win.TTFTTail, l.tpotTail(win)
	snap.Reward = math.NaN()
	if valid {
		snap.EDPPerToken = obj
	} else {
		snap.EDPPerToken = math.NaN()
	}

	// Train on the window that just ended, for the clock that was in effect.
	var weight float64
	if valid {
		weight = l.windowWeight(win.GenTokens)
	}
	prevMode := l.st.mode
	switch {
	case !l.st.baseline.Ready():
		if valid && prevMode == ModeWarmup {
			l.st.baseline.Add(obj)
		}
	case valid && l.trainable(prevMode):
		reward, ok := reward(l.policy, l.st.baseline, shaped)
		if !ok {
			break
		}
		snap.Reward, snap.RewardValid = reward, true
		if l.d.Policy != nil && l.st.haveDecidedCtx {
			l.d.Policy.Update(bandit.Observation{
				Arm: inEffect, Context: l.st.decidedCtx[:], Reward: reward, TTFT: ttft, TPOT: tpot,
				Weight: weight, Steady: l.steadyPoint(win, powerW, switched, gs),
			})
			l.st.round++
		}
	}

	l.st.prevRunning = win.Running
	l.st.havePrevRunning = !math.IsNaN(win.Running) && !math.IsInf(win.Running, 0)
	l.st.prevInServer = win.Running + win.Waiting
	l.st.havePrevInServer = !math.IsNaN(l.st.prevInServer) && !math.IsInf(l.st.prevInServer, 0)

	l.updateIdle(win)
	l.updateEmergency(win, &snap)
	if l.backlog.update(win.Waiting, inEffect, l.arms, l.cfg.BacklogWindows) {
		l.st.message = l.backlog.message()
		l.log.Info(l.st.message)
	}
	target := l.decide(norm[:], &snap)
	l.st.decidedCtx = norm
	l.st.haveDecidedCtx = true

	snap.Features = make([]Feature, NumFeatures)
	for i, name := range FeatureNames() {
		snap.Features[i] = Feature{Name: name, Raw: raw[i], Norm: norm[i]}
	}
	l.st.decided = target
	l.actuate(ctx, target)
	return l.finish(ctx, snap, now)
}

// observe fetches a sample and turns it into a window. It reports false when
// metrics are unreachable, stale or garbage.
func (l *Loop) observe(ctx context.Context, now time.Time) (scrape.Window, bool) {
	if now.Before(l.st.backoffUntil) {
		return scrape.Window{}, false
	}
	fctx, cancel := context.WithTimeout(ctx, l.cfg.ScrapeTimeout)
	sample, err := l.d.Source.Fetch(fctx)
	cancel()
	var win scrape.Window
	if err == nil {
		l.noteServedModel(sample.Model)
		win, err = l.d.Windower.Next(sample)
		if errors.Is(err, scrape.ErrTimeNotAdvancing) {
			// Two scrapes at one instant (a coarse clock): no window to
			// judge, but nothing is wrong with the source. The windower
			// keeps its baseline, so the next window starts where this
			// one would have.
			l.prevCycle = l.windowStart
			return scrape.Window{}, false
		}
		if errors.Is(err, scrape.ErrNoBaseline) {
			// The first sample after a start or a gap only primes the
			// windower: the source is healthy, there is just no window yet.
			l.st.failures = 0
			l.st.lastGood = now
			l.prevCycle = now
			return scrape.Window{}, false
		}
	}
	if err != nil && ctx.Err() != nil {
		// The run is stopping (--duration, a signal): a fetch cut short
		// by that is no metrics error.
		return scrape.Window{}, false
	}
	if err != nil {
		l.st.failures++
		// Back off exponentially up to 5 s so a dead server is not hammered.
		backoff := min(l.cfg.Period<<min(l.st.failures, 5), 5*time.Second)
		l.st.backoffUntil = now.Add(backoff)
		l.st.metricsErr = fmt.Sprintf("metrics: %v (retrying in %s)", err, backoff.Round(time.Millisecond))
		l.errs.set("metrics", err.Error())
		if !l.st.lastGood.IsZero() && now.Sub(l.st.lastGood) < l.cfg.StaleAfter {
			// A blip: keep the clock, skip this window.
			return scrape.Window{}, false
		}
		return scrape.Window{}, false
	}
	l.st.metricsErr = ""
	l.errs.set("metrics", "")
	l.st.failures = 0
	l.st.lastGood = now
	return win, true
}

// enterNoData gives the clocks back once metrics have been missing for
// longer than scrape.stale_after: without metrics no decision is safe.
func (l *Loop) enterNoData(ctx context.Context, now time.Time) {
	if !l.st.lastGood.IsZero() && now.Sub(l.st.lastGood) < l.cfg.StaleAfter {
		return
	}
	l.st.mode = ModeNoData
	l.st.haveDecidedCtx, l.st.havePrevRunning, l.st.havePrevInServer = false, false, false
	l.prevCycle = time.Time{} // the next good sample only primes the windower
	if err := l.act.release(ctx); err != nil {
		l.errs.set("clocks", "giving clocks back: "+err.Error())
	}
}

func (l *Loop) trainable(m Mode) bool {
	if l.st.paused {
		return false
	}
	switch m {
	case ModeExplore, ModeExploit, ModeEmergency:
		return true
	}
	return false
}

// armInEffect is the arm matching the measured clocks: the reward belongs to
// the clock that really ran, which a power cap or a slow switch can make
// differ from the one commanded.
func (l *Loop) armInEffect(gs nvgpu.Sample) bandit.Arm {
	best := l.arms[0]
	bestDist := math.MaxInt
	for _, a := range l.arms {
		d := abs(a.SMMHz-gs.SMClockMHz) + abs(a.MemMHz-gs.MemClockMHz)*4
		if a.MemMHz == 0 {
			d = abs(a.SMMHz - gs.SMClockMHz)
		}
		if d < bestDist {
			best, bestDist = a, d
		}
	}
	return best
}

func (l *Loop) tpotMean(w scrape.Window) float64 {
	if l.cfg.SLO.TPOTSource == setting.TPOTPerRequest {
		return w.TPOTMean
	}
	return w.ITLMean
}

func (l *Loop) tpotTail(w scrape.Window) float64 {
	if l.cfg.SLO.TPOTSource == setting.TPOTPerRequest {
		return w.TPOTTail
	}
	return w.ITLTail
}

func (l *Loop) updateIdle(w scrape.Window) {
	if w.Running == 0 && w.Waiting == 0 && w.GenTokens == 0 && w.PromptTokens == 0 {
		l.st.idleCount++
	} else {
		l.st.idleCount = 0
	}
}

// updateEmergency enters emergency when a sliding-window tail is over its
// limit, or one TTFT is over twice its limit; it leaves after enough clear
// windows. EDP mode ignores SLOs, so it never enters emergency.
func (l *Loop) updateEmergency(w scrape.Window, snap *Snapshot) {
	ttftLim, tpotLim := l.cfg.SLO.TTFTLimitS, l.cfg.SLO.TPOTLimitS
	tpotTail := l.tpotTail(w)
	over := w.TTFTTail > ttftLim || tpotTail > tpotLim || w.MaxTTFTLower > 2*ttftLim
	snap.SLOOK = !over
	if over {
		l.st.violations++
	}
	if l.st.sloMode == bandit.SLOIgnore {
		l.st.emergency = false
		return
	}
	switch {
	case over:
		if !l.st.emergency {
			l.log.Warn("latency limit broken: emergency, highest clock",
				"ttft_tail_s", w.TTFTTail, "tpot_tail_s", tpotTail, "ttft_limit_s", ttftLim, "tpot_limit_s", tpotLim)
		}
		l.st.emergency = true
		l.st.clearCount = 0
	case l.st.emergency:
		l.st.clearCount++
		if l.st.clearCount >= l.cfg.EmergencyClearWindows {
			l.st.emergency = false
			l.log.Info("latency back under limits: leaving emergency")
		}
	}
}

// decide picks the next target arm (zero arm: the default governor) and the
// mode it implies.
func (l *Loop) decide(ctxNorm []float64, snap *Snapshot) bandit.Arm {
	switch {
	// Idle comes before the warm-up: a server started with no traffic would
	// otherwise idle at the governor's boost clock (~120 W on an H100 with a
	// CUDA context) until its first requests, and idle windows never count
	// towards the baseline anyway.
	case l.st.idleCount >= l.cfg.IdleWindows:
		l.st.mode = ModeIdle
		if l.policy == setting.PolicyDefault {
			return bandit.Arm{}
		}
		return l.idleArm
	case !l.st.baseline.Ready() && l.policy != setting.PolicyDefault && l.policy != setting.PolicyStatic:
		l.st.mode = ModeWarmup
		return bandit.Arm{}
	case l.st.emergency:
		l.st.mode = ModeEmergency
		if l.policy == setting.PolicyDefault {
			return bandit.Arm{}
		}
		return l.maxArm
	}
	l.st.decisions++
	switch l.policy {
	case setting.PolicyDefault:
		l.st.mode = ModeExploit
		return bandit.Arm{}
	case setting.PolicyStatic:
		l.st.mode = ModeExploit
		return l.static
	}
	allowed := l.band.filter(l.backlog.allowed(l.arms, &l.allowedBuf))
	dec, scores := l.d.Policy.Decide(ctxNorm, allowed, l.scores[:0])
	l.scores = scores
	snap.Alpha = dec.Alpha
	snap.Held = dec.Held
	if dec.Explore {
		l.st.mode = ModeExplore
	} else {
		l.st.mode = ModeExploit
	}
	return dec.Arm
}

// actuate applies target unless paused, pinned or read-only.
func (l *Loop) actuate(ctx context.Context, target bandit.Arm) {
	switch {
	case l.st.readOnly:
		return
	case l.st.paused:
		return
	case l.st.pinned.SMMHz != 0:
		target = l.st.pinned
	}
	err := l.act.apply(ctx, target, l.d.Clock.Now())
	switch {
	case errors.Is(err, nvgpu.ErrNoPermission):
		l.st.readOnly = true
		l.st.message = "no permission to set clocks (run as root or with CAP_SYS_ADMIN): continuing read-only"
		l.log.Warn(l.st.message)
	case errors.Is(err, restore.ErrNotRecorded):
		// The new lock could not be recorded, so it was not made; keeping
		// the old one would hold a clock the policy no longer wants (even
		// through an SLO emergency). The governor is the safe clock until
		// the state file can be written again; every cycle retries.
		l.st.clockErr = "clocks given back to the default governor: " + err.Error()
		if rerr := l.act.release(ctx); rerr != nil {
			l.log.Error("lock not recorded, and giving the clocks back failed too", "err", err, "reset_err", rerr)
			return
		}
		l.log.Error("lock not recorded (disk full or run directory unwritable?): clocks given back to the default governor until it can be", "err", err)
	case err != nil:
		l.st.clockErr = err.Error()
		l.errs.set("clocks", "setting clocks: "+err.Error())
	default:
		l.st.clockErr = ""
		l.errs.set("clocks", "")
	}
}

func (l *Loop) lastSwitch() time.Time { return l.act.lastSwitch() }

func (l *Loop) baseSnapshot(now time.Time) Snapshot {
	return Snapshot{
		Time:         now,
		StartedAt:    l.startedAt,
		GPU:          l.facts.Index,
		GPUUUID:      l.facts.UUID,
		GPUName:      l.facts.Name,
		Demo:         l.d.Demo || l.facts.Simulated,
		Policy:       l.cfg.Policy.String(),
		Objective:    string(l.cfg.Objective),
		TTFTLimitS:   l.cfg.SLO.TTFTLimitS,
		TPOTLimitS:   l.cfg.SLO.TPOTLimitS,
		TTFTTailS:    math.NaN(),
		TPOTTailS:    math.NaN(),
		PowerW:       math.NaN(),
		EnergyJ:      math.NaN(),
		EDPPerToken:  math.NaN(),
		Reward:       math.NaN(),
		Alpha:        math.NaN(),
		SLOOK:        true,
		SupportedMHz: l.facts.CoreClocksMHz,
		ClockMinMHz:  l.arms[0].SMMHz,
		ClockMaxMHz:  l.maxArm.SMMHz,
		CyclePeriod:  l.cfg.Period,
	}
}

// finish fills the fields every snapshot has, whatever path the cycle took.
func (l *Loop) finish(ctx context.Context, snap Snapshot, now time.Time) Snapshot {
	snap.Ran = l.st.ran
	snap.Round = l.st.round
	snap.Mode = l.st.mode
	snap.SLOMode = string(l.st.sloMode)
	snap.Decisions = l.st.decisions
	snap.SLOViolations = l.st.violations
	snap.TotalEnergyJ = l.st.totalEnergyJ
	cur := l.act.current()
	if l.st.readOnly {
		// Decide and report: show what would be locked.
		cur = l.st.decided
	}
	snap.FreqMHz, snap.MemFreqMHz = cur.SMMHz, cur.MemMHz
	switch {
	case l.st.readOnly:
		snap.Actuation = ActReadOnly
	case l.st.paused:
		snap.Actuation = ActPaused
	case l.st.pinned.SMMHz != 0:
		snap.Actuation = ActPinned
		snap.PinnedMHz = l.st.pinned.SMMHz
	default:
		snap.Actuation = ActAuto
	}
	if l.d.Policy != nil {
		snap.Arms = append([]bandit.ArmScore(nil), l.scores...)
		snap.Pruned = l.d.Policy.Pruned()
	}
	snap.Message = l.st.message
	// Err is the condition now in force (cleared when it ends); Message
	// acknowledges the last command.
	snap.Err = l.st.metricsErr
	if l.st.clockErr != "" {
		snap.Err = l.st.clockErr
	}
	if snap.StartedAt.IsZero() {
		snap.StartedAt = now
	}
	l.st.ran = RanAt{Since: now, FreqMHz: snap.FreqMHz, MemFreqMHz: snap.MemFreqMHz, Mode: snap.Mode}
	return snap
}

func finiteOr(v, alt float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return alt
	}
	return v
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// tellLatencySignals tells a policy that can use it which latency signals
// the server exports: a limit on a signal the server lacks cannot be
// enforced, and one it has must be learned before a low clock is trusted.
func (l *Loop) tellLatencySignals(w scrape.Window) {
	ls, ok := l.d.Policy.(bandit.LatencySignaller)
	if !ok {
		return
	}
	tpotSig := scrape.SigITL
	if l.cfg.SLO.TPOTSource == setting.TPOTPerRequest {
		tpotSig = scrape.SigTPOT
	}
	state := func(s scrape.Signal) bandit.LatencySignal {
		if w.Present.Has(s) {
			return bandit.SignalPresent
		}
		return bandit.SignalAbsent
	}
	ttft, tpot := state(scrape.SigTTFT), state(tpotSig)
	if ttft != l.signals[0] || tpot != l.signals[1] {
		ls.SetLatencySignals(ttft, tpot)
		l.signals = [2]bandit.LatencySignal{ttft, tpot}
	}
}

// noteServedModel records the model the server runs, for the envelope. A
// model learned for another served model is set aside, not carried over:
// what it learned does not transfer. The old one is saved under its served
// model's name first (never overwritten by the fresh one), and a model
// saved earlier for the new served model is resumed.
func (l *Loop) noteServedModel(name string) {
	if name == "" || name == l.servedModel {
		return
	}
	if l.servedModel != "" && l.d.Policy != nil {
		was := l.servedModel
		l.log.Warn("the server now runs another model: setting the learned model aside", "was", was, "now", name)
		l.keepServedModel(was)
		l.d.Policy.Reset()
		if norm, err := bandit.NewNormaliser(NumFeatures-1, bandit.DefaultClip); err == nil {
			l.norm = norm
		}
		l.st.baseline = bandit.RewardBaseline{Target: l.cfg.WarmupWindows, Factor: 0.9}
		l.st.round = 0
		l.st.mode = ModeWarmup
		l.st.message = "served model changed to " + name + ": learning afresh"
		if l.resumeServedModel(name) {
			l.st.message = "served model changed to " + name + ": resuming its saved model"
		}
	}
	l.servedModel = name
}

// keepServedModel saves what was learned for served model was next to the
// model file, when anything was.
func (l *Loop) keepServedModel(was string) {
	if l.d.ModelPath == "" || l.d.Policy.Round() == 0 {
		return
	}
	e, ok, err := l.Envelope()
	if err == nil && ok {
		err = SaveModel(ServedModelPath(l.d.ModelPath, was), e)
	}
	if err == nil {
		err = pruneServedModels(l.d.ModelPath)
	}
	if err != nil {
		l.log.Error("keeping the model of the previous served model", "served_model", was, "err", err)
	}
}

// resumeServedModel restores the model saved for served model name, if any.
func (l *Loop) resumeServedModel(name string) bool {
	if l.d.ModelPath == "" {
		return false
	}
	path := ServedModelPath(l.d.ModelPath, name)
	e, err := LoadModel(path, l.facts.Name, l.d.Clock.Now())
	if err != nil {
		if !errors.Is(err, ErrNoModel) {
			l.log.Warn("saved model for the served model not used", "path", path, "err", err)
		}
		return false
	}
	if e.ServedModel != name {
		return false
	}
	if err := l.Restore(e); err != nil {
		l.log.Warn("saved model for the served model not used", "path", path, "err", err)
		l.d.Policy.Reset() // a restore that failed half-way leaves nothing behind
		return false
	}
	return true
}
