// Package exporter serves gputune's own Prometheus /metrics: per GPU, what
// the latest control.Snapshot says (clocks, power, energy, reward, mode) and
// a few sums the exporter keeps across snapshots (tokens, the estimate of
// energy saved). It reads snapshots only; it never touches a GPU.
//
// Every per-GPU series carries dcgm-exporter's labels, spelt as it spells
// them (gpu, UUID, modelName, Hostname), so that
// `gputune_power_watts * on(UUID) group_left DCGM_FI_DEV_GPU_TEMP` joins
// without label_replace.
package exporter

import (
	"context"
	"math"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gputune/gputune/control"
	"github.com/gputune/gputune/internal/buildinfo"
)

// gpuLabels are dcgm-exporter's names for a GPU's index, UUID, product name
// and host.
var gpuLabels = []string{"gpu", "UUID", "modelName", "Hostname"}

// modes and actuations are the values the state-set gauges enumerate: every
// one is exported, 1 for the current and 0 for the rest, so that a query
// such as gputune_mode{mode="exploit"} == 1 never meets a missing series.
func modes() [6]control.Mode {
	return [...]control.Mode{control.ModeWarmup, control.ModeExplore, control.ModeExploit,
		control.ModeEmergency, control.ModeIdle, control.ModeNoData}
}

func actuations() [4]control.Actuation {
	return [...]control.Actuation{control.ActAuto, control.ActPinned, control.ActPaused, control.ActReadOnly}
}

const mhzToHz = 1e6

// Options configure an Exporter.
type Options struct {
	// Hostname is the Hostname label; default os.Hostname(), as
	// dcgm-exporter does.
	Hostname string
	// Speed is the demo's simulated seconds per wall second; 0 or 1 for a
	// live run. The demo's counters run on simulated time: each is divided
	// by Speed, so that rate() over wall time reads what a live GPU would
	// show (watts, tokens/s), and the last cycle's time is the wall time it
	// was observed at.
	Speed float64
	// Build is what gputune_build_info says; default buildinfo.Read().
	Build *buildinfo.Info
	// Now is the wall clock; default time.Now.
	Now func() time.Time
	// StaleStates counts the state files in the run directory that no
	// live gputune holds: clocks a dead gputune may have left locked
	// (gputune_stale_state_files). Nil leaves the metric out (the demo).
	StaleStates func() (int, error)
}

// Exporter is a prometheus.Collector over the latest snapshot of every GPU
// it has been fed. Observe and Collect are safe for concurrent use.
type Exporter struct {
	mu    sync.Mutex
	gpus  map[string]*gpuState // by UUID
	host  string
	scale float64 // counters are divided by it (the demo's speed)
	build buildinfo.Info
	now   func() time.Time
	stale func() (int, error)

	buildInfo, timeScale, staleStates, staleErr                                  *prometheus.Desc
	info, smCmd, smHz, memCmd, memHz, power, energy, winEnergy, winErr           *prometheus.Desc
	saved, savedWindows, savedSkipped, baselineWindows                           *prometheus.Desc
	reward, violations, mode, actuation, decisions, rounds, pruned, alpha        *prometheus.Desc
	tokens, ttftTail, tpotTail, ttftLimit, tpotLimit, lastCycle, sloOK, cycleErr *prometheus.Desc
}

// gpuState is one GPU's latest snapshot and what the exporter sums over its
// snapshots.
type gpuState struct {
	last       control.Snapshot
	seen       bool
	observedAt time.Time // wall time of the last snapshot
	tokens     float64
	reward     float64 // last valid reward (NaN before one)
	alpha      float64 // last finite α (NaN before one)
	saved      savedEstimate
	// Counts of this process's own work: the snapshot's running totals
	// include rounds restored from a saved model and restart at 0 after a
	// model reset, so only their increases between snapshots are counted.
	rounds, decisions, violations increments
	labelValue                    []string
}

// increments sums the increases of a running total.
type increments struct {
	last, sum int
	started   bool
}

func (c *increments) add(total int) {
	if c.started && total > c.last {
		c.sum += total - c.last
	}
	c.last, c.started = total, true
}

// New returns an empty exporter; feed it with Observe or Follow.
func New(opts Options) *Exporter {
	host := opts.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	scale := opts.Speed
	if !(scale > 0) || math.IsInf(scale, 0) {
		scale = 1
	}
	build := buildinfo.Read()
	if opts.Build != nil {
		build = *opts.Build
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	d := func(name, help string, extra ...string) *prometheus.Desc {
		return prometheus.NewDesc("gputune_"+name, help, append(append([]string(nil), gpuLabels...), extra...), nil)
	}
	simNote := ""
	if scale != 1 {
		simNote = " DEMO: simulated, divided by the demo's speed (gputune_demo_time_scale) so rates are per simulated second."
	}
	return &Exporter{
		gpus: map[string]*gpuState{}, host: host, scale: scale, build: build, now: now, stale: opts.StaleStates,
		staleStates: prometheus.NewDesc("gputune_stale_state_files",
			"State files in the run directory that no live gputune holds: clocks a gputune that died may have left locked. "+
				"The next start or `gputune reset` resets them.", nil, nil),
		staleErr: prometheus.NewDesc("gputune_stale_state_files_error",
			"1 when the run directory could not be read to count stale state files.", nil, nil),
		buildInfo: prometheus.NewDesc("gputune_build_info", "Always 1: the version, VCS revision and Go release of this gputune.",
			[]string{"version", "revision", "goversion"}, nil),
		timeScale: prometheus.NewDesc("gputune_demo_time_scale", "Demo only: simulated seconds per wall second; the counters are divided by it.", nil, nil),
		info: d("gpu_info", "Always 1: how gputune tunes this GPU.",
			"policy", "objective", "slo_mode", "demo"),
		smCmd:     d("sm_clock_commanded_hertz", "SM (core) clock gputune locked the GPU to; 0 means no lock (the default governor)."),
		smHz:      d("sm_clock_hertz", "SM (core) clock measured at the end of the last window."),
		memCmd:    d("memory_clock_commanded_hertz", "Memory clock gputune locked the GPU to; 0 means no lock."),
		memHz:     d("memory_clock_hertz", "Memory clock measured at the end of the last window."),
		power:     d("power_watts", "Mean GPU power over the last window, from the energy counter."),
		energy:    d("energy_joules_total", "GPU energy measured over all windows since gputune started."+simNote),
		winEnergy: d("window_energy_joules", "GPU energy of the last window."),
		winErr:    d("window_energy_error_bound_joules", "Bound on the error of the last window's energy (counter resolution and update period)."),
		saved: d("energy_saved_estimate_joules",
			"ESTIMATE of energy saved against the default governor since start: for each window with a clock lock, tokens times the "+
				"default governor's measured joules per token at the same throughput octave, minus measured energy. "+
				"Negative when tuning cost energy. See docs/fleet.md for the assumptions."+simNote),
		savedWindows:    d("energy_saved_estimate_windows_total", "Windows with a clock lock that the saved-energy estimate counted."+simNote),
		savedSkipped:    d("energy_saved_estimate_skipped_windows_total", "Windows with a clock lock left out of the estimate: no default-governor baseline at their throughput."+simNote),
		baselineWindows: d("energy_baseline_windows", "Default-governor windows measured as the saved-energy estimate's baseline."),
		reward:          d("reward", "Reward of the last valid window (positive: better than the default-governor baseline)."),
		violations:      d("slo_violations_total", "Windows whose latency tail broke a limit, counted by this process."+simNote),
		mode:            d("mode", "1 for the loop's current mode, 0 for the others.", "mode"),
		actuation:       d("actuation", "1 for how decisions reach the GPU now (auto, pinned, paused, readonly), 0 for the others.", "actuation"),
		decisions:       d("decisions_total", "Clock decisions the policy made in this process (warm-up, idle and emergency windows excluded)."+simNote),
		rounds:          d("policy_updates_total", "Windows the policy learned from in this process (rounds restored from a saved model excluded)."+simNote),
		pruned:          d("pruned_arms", "Clock arms the policy has pruned."),
		alpha:           d("exploration_alpha", "The policy's current exploration coefficient (LinUCB alpha)."),
		tokens:          d("generated_tokens_total", "Output tokens the server generated in the windows gputune measured."+simNote),
		ttftTail:        d("ttft_tail_seconds", "Time-to-first-token tail (configured percentile) over the sliding window."),
		tpotTail:        d("tpot_tail_seconds", "Time-per-output-token tail (configured percentile) over the sliding window."),
		ttftLimit:       d("ttft_limit_seconds", "Configured time-to-first-token limit."),
		tpotLimit:       d("tpot_limit_seconds", "Configured time-per-output-token limit."),
		sloOK:           d("slo_ok", "1 while the latency tails are within their limits."),
		lastCycle:       d("last_cycle_timestamp_seconds", "Wall time when the last control cycle's snapshot reached the exporter."),
		cycleErr:        d("cycle_error", "1 while an error is in force (metrics, clocks, NVML; the JSON lines and the log carry its text)."),
	}
}

// Follow observes every snapshot from sub until it is closed or ctx ends.
func (e *Exporter) Follow(ctx context.Context, sub <-chan control.Snapshot) {
	for {
		select {
		case <-ctx.Done():
			return
		case s, ok := <-sub:
			if !ok {
				return
			}
			e.Observe(s)
		}
	}
}

// Observe records one snapshot. Snapshots of one GPU must come in order.
func (e *Exporter) Observe(s control.Snapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.gpus[s.GPUUUID]
	if g == nil {
		g = &gpuState{reward: math.NaN(), alpha: math.NaN(),
			labelValue: []string{strconv.Itoa(s.GPU), s.GPUUUID, s.GPUName, e.host}}
		e.gpus[s.GPUUUID] = g
	}
	// A snapshot published again (same time) ends no new window.
	fresh := !g.seen || s.Time.After(g.last.Time)
	g.last, g.seen, g.observedAt = s, true, e.now()
	g.rounds.add(s.Round)
	g.decisions.add(s.Decisions)
	g.violations.add(s.SLOViolations)
	if s.Tokens > 0 && !math.IsInf(s.Tokens, 0) {
		g.tokens += s.Tokens
	}
	if s.RewardValid && isFinite(s.Reward) {
		g.reward = s.Reward
	}
	if isFinite(s.Alpha) {
		g.alpha = s.Alpha
	}
	// The window that just ended ran at what the snapshot says it ran at.
	if ran := s.Ran; fresh && !ran.Since.IsZero() && s.Time.After(ran.Since) {
		g.saved.add(window{
			duration:      s.Time.Sub(ran.Since),
			energyJ:       s.EnergyJ,
			tokens:        s.Tokens,
			defaultClocks: ran.FreqMHz == 0 && ran.MemFreqMHz == 0,
		})
	}
}

// Describe sends every descriptor.
func (e *Exporter) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{e.buildInfo, e.timeScale, e.staleStates, e.staleErr, e.info, e.smCmd, e.smHz, e.memCmd, e.memHz, e.power, e.energy, e.winEnergy, e.winErr,
		e.saved, e.savedWindows, e.savedSkipped, e.baselineWindows, e.reward, e.violations, e.mode, e.actuation,
		e.decisions, e.rounds, e.pruned, e.alpha, e.tokens, e.ttftTail, e.tpotTail, e.ttftLimit, e.tpotLimit,
		e.sloOK, e.lastCycle, e.cycleErr} {
		ch <- d
	}
}

// Collect sends every GPU's metrics, GPUs in index order. Values not known
// yet (no window measured, no valid reward) are left out rather than sent as
// NaN, so that dashboards show a gap instead of a misleading line.
func (e *Exporter) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(e.buildInfo, prometheus.GaugeValue, 1, e.build.Version, e.build.Revision, e.build.GoVersion)
	if e.scale != 1 {
		ch <- prometheus.MustNewConstMetric(e.timeScale, prometheus.GaugeValue, e.scale)
	}
	if e.stale != nil {
		// Read at scrape time, outside the lock: a slow run directory
		// must not hold up Observe.
		n, err := e.stale()
		ch <- prometheus.MustNewConstMetric(e.staleErr, prometheus.GaugeValue, boolValue(err != nil))
		if err == nil {
			ch <- prometheus.MustNewConstMetric(e.staleStates, prometheus.GaugeValue, float64(n))
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	gpus := make([]*gpuState, 0, len(e.gpus))
	for _, g := range e.gpus {
		gpus = append(gpus, g)
	}
	sort.Slice(gpus, func(i, j int) bool {
		if gpus[i].last.GPU != gpus[j].last.GPU {
			return gpus[i].last.GPU < gpus[j].last.GPU
		}
		return gpus[i].last.GPUUUID < gpus[j].last.GPUUUID
	})
	for _, g := range gpus {
		e.collectGPU(ch, g)
	}
}

func (e *Exporter) collectGPU(ch chan<- prometheus.Metric, g *gpuState) {
	s, lv := g.last, g.labelValue
	n := len(lv)
	gauge := func(d *prometheus.Desc, v float64, extra ...string) {
		if isFinite(v) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(lv[:n:n], extra...)...)
		}
	}
	// counter takes a count of simulated work in the demo: see Options.Speed.
	counter := func(d *prometheus.Desc, v float64) {
		if isFinite(v) && v >= 0 {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v/e.scale, lv...)
		}
	}
	gauge(e.info, 1, s.Policy, s.Objective, s.SLOMode, strconv.FormatBool(s.Demo))
	gauge(e.smCmd, float64(s.FreqMHz)*mhzToHz)
	gauge(e.memCmd, float64(s.MemFreqMHz)*mhzToHz)
	if s.SMClockMHz > 0 {
		gauge(e.smHz, float64(s.SMClockMHz)*mhzToHz)
	}
	if s.MemClockMHz > 0 {
		gauge(e.memHz, float64(s.MemClockMHz)*mhzToHz)
	}
	gauge(e.power, s.PowerW)
	counter(e.energy, s.TotalEnergyJ)
	gauge(e.winEnergy, s.EnergyJ)
	gauge(e.winErr, s.EnergyErrJ)
	gauge(e.saved, g.saved.savedJ/e.scale)
	counter(e.savedWindows, float64(g.saved.counted))
	counter(e.savedSkipped, float64(g.saved.skipped))
	gauge(e.baselineWindows, float64(g.saved.baselineWindows()))
	gauge(e.reward, g.reward)
	counter(e.violations, float64(g.violations.sum))
	for _, m := range modes() {
		gauge(e.mode, boolValue(s.Mode == m), string(m))
	}
	for _, a := range actuations() {
		gauge(e.actuation, boolValue(s.Actuation == a), string(a))
	}
	counter(e.decisions, float64(g.decisions.sum))
	counter(e.rounds, float64(g.rounds.sum))
	gauge(e.pruned, float64(len(s.Pruned)))
	gauge(e.alpha, g.alpha)
	counter(e.tokens, g.tokens)
	gauge(e.ttftTail, s.TTFTTailS)
	gauge(e.tpotTail, s.TPOTTailS)
	if s.TTFTLimitS > 0 {
		gauge(e.ttftLimit, s.TTFTLimitS)
	}
	if s.TPOTLimitS > 0 {
		gauge(e.tpotLimit, s.TPOTLimitS)
	}
	gauge(e.sloOK, boolValue(s.SLOOK))
	// The demo's snapshot times are simulated: use when it arrived.
	if !s.Demo && e.scale == 1 && !s.Time.IsZero() {
		gauge(e.lastCycle, float64(s.Time.UnixNano())/1e9)
	} else if !g.observedAt.IsZero() {
		gauge(e.lastCycle, float64(g.observedAt.UnixNano())/1e9)
	}
	gauge(e.cycleErr, boolValue(s.Err != ""))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
