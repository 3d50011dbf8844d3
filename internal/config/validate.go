package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gputune/gputune/control/setting"
)

// Validate reports every problem at once, each naming the field, the value
// and the range it must lie in. The result wraps ErrInvalid. Every count and
// duration has a range (tuner.toml states it next to the key), and no float
// may be NaN or infinite: a value outside its range is an error, never
// silently clamped or snapped.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	ints := func(name string, v, lo, hi int, hint string) {
		if v < lo || v > hi {
			bad("%s = %d: must be between %d and %d%s", name, v, lo, hi, hint)
		}
	}
	floats := func(name string, v, lo, hi float64, hint string) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			bad("%s = %v: must be a finite number between %g and %g%s", name, v, lo, hi, hint)
		} else if v < lo || v > hi {
			bad("%s = %g: must be between %g and %g%s", name, v, lo, hi, hint)
		}
	}
	durations := func(name string, v, lo, hi time.Duration, hint string) {
		if v < lo || v > hi {
			bad("%s = %s: must be between %s and %s%s", name, v, lo, hi, hint)
		}
	}

	if _, err := ParseDevices(c.GPU.Devices); err != nil {
		bad("gpu.devices: %v", err)
	}
	ints("gpu.clock_step_mhz", c.GPU.ClockStepMHz, 0, maxMHz, " (0: every supported clock)")
	for _, kv := range []struct {
		name string
		v    int
	}{
		{"gpu.clock_min_mhz", c.GPU.ClockMinMHz}, {"gpu.clock_max_mhz", c.GPU.ClockMaxMHz}, {"gpu.idle_clock_mhz", c.GPU.IdleClockMHz},
	} {
		if kv.v < 0 || kv.v > maxMHz {
			bad("%s = %d: must be 0 (automatic) or a clock between 1 and %d MHz", kv.name, kv.v, maxMHz)
		}
	}
	if c.GPU.ClockMinMHz > 0 && c.GPU.ClockMaxMHz > 0 && c.GPU.ClockMinMHz > c.GPU.ClockMaxMHz {
		bad("gpu.clock_min_mhz (%d) is above gpu.clock_max_mhz (%d)", c.GPU.ClockMinMHz, c.GPU.ClockMaxMHz)
	}
	if idle := c.GPU.IdleClockMHz; idle > 0 {
		if c.GPU.ClockMinMHz > 0 && idle < c.GPU.ClockMinMHz || c.GPU.ClockMaxMHz > 0 && idle > c.GPU.ClockMaxMHz {
			bad("gpu.idle_clock_mhz = %d: must lie within gpu.clock_min_mhz..clock_max_mhz (%d..%d)", idle, c.GPU.ClockMinMHz, c.GPU.ClockMaxMHz)
		}
	}
	for i, g := range c.GPU.Groups {
		if len(g) == 0 {
			bad("gpu.groups[%d] is empty: list the GPU indices that share one clock", i)
		}
	}

	if !isHTTPURL(c.Scrape.MetricsURL) {
		bad("scrape.metrics_url %q: must be an http(s) URL such as http://127.0.0.1:8000/metrics", c.Scrape.MetricsURL)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Scrape.MetricsURLs)) {
		if _, err := ParseGPUIndex(k); err != nil {
			bad("scrape.metrics_urls[%q]: %v", k, err)
		}
		if v := c.Scrape.MetricsURLs[k]; !isHTTPURL(v) {
			bad("scrape.metrics_urls[%q] = %q: must be an http(s) URL such as http://127.0.0.1:8001/metrics", k, v)
		}
	}
	period := c.Control.Period.Duration
	periodOK := period >= MinPeriod && period <= MaxPeriod
	if !periodOK {
		bad("control.period = %s: must be between %s and %s (default 300ms)", period, MinPeriod, MaxPeriod)
	}
	// Fetch and parse share one deadline, the scrape timeout; the rest of
	// the period is the decision's and the clock change's.
	if to := c.Scrape.Timeout.Duration; periodOK && (to < MinScrapeTimeout || to > MaxScrapeTimeout(period)) {
		bad("scrape.timeout = %s: must be between %s and %s, leaving room inside control.period (%s) for the decision (default 250ms with the 300ms period)",
			to, MinScrapeTimeout, MaxScrapeTimeout(period), period)
	}
	durations("scrape.tail_window", c.Scrape.TailWindow.Duration, time.Second, time.Hour, " (default 30s)")
	ints("scrape.tail_min_observations", c.Scrape.TailMinObservations, 1, 1_000_000, " (default 50)")
	// Past stale_after without metrics the clocks go back to the governor;
	// a longer blind spell would hold a locked clock with nothing to judge it by.
	if periodOK {
		durations("scrape.stale_after", c.Scrape.StaleAfter.Duration, period, MaxStaleAfter, " (at least control.period; default 3s)")
	}

	if _, err := setting.ParsePolicy(c.Control.Policy); err != nil {
		bad("control.policy: %v", err)
	}
	if c.Control.Objective != "edp" && c.Control.Objective != "energy" {
		bad("control.objective %q: must be edp or energy", c.Control.Objective)
	}
	ints("control.warmup_windows", c.Control.WarmupWindows, 1, maxWindows, " (the reward baseline needs windows; default 10)")
	ints("control.idle_windows", c.Control.IdleWindows, 1, maxWindows, " (default 3)")
	ints("control.emergency_clear_windows", c.Control.EmergencyClearWindows, 1, maxWindows, " (default 10)")
	floats("control.backlog_charge", c.Control.BacklogCharge, 0, 10, " (0: off; default 1)")
	ints("control.backlog_windows", c.Control.BacklogWindows, 1, maxWindows, " (default 5)")
	floats("control.min_tokens_per_window", c.Control.MinTokensPerWindow, 1, 1e6, " (default 8)")
	if periodOK {
		if ss := c.Control.SwitchSettle.Duration; ss < 0 || ss >= period {
			bad("control.switch_settle = %s: must be at least 0 and shorter than control.period (%s)", ss, period)
		}
		durations("control.watchdog", c.Control.Watchdog.Duration, 2*period, MaxWatchdog, " (at least twice control.period; default 3s)")
	}
	durations("control.save_interval", c.Control.SaveInterval.Duration, time.Second, 24*time.Hour, " (default 30s)")

	if c.SLO.Mode != "slo-aware" && c.SLO.Mode != "edp" {
		bad("slo.mode %q: must be slo-aware or edp", c.SLO.Mode)
	}
	if v := c.SLO.TTFTLimitS; !(v > 0 && v <= 600) {
		bad("slo.ttft_limit_s = %v: must be a positive number of seconds, at most 600 (default 2.0)", v)
	}
	if v := c.SLO.TPOTLimitS; !(v > 0 && v <= 60) {
		bad("slo.tpot_limit_s = %v: must be a positive number of seconds, at most 60 (default 0.25)", v)
	}
	if v := c.SLO.Percentile; !(v > 0 && v < 1) {
		bad("slo.percentile = %v: must be between 0 and 1 exclusive (default 0.9)", v)
	}
	if _, err := setting.ParseTPOTSource(c.SLO.TPOTSignal); err != nil {
		bad("slo.tpot_signal %v", err)
	}

	floats("bandit.initial_alpha", c.Bandit.InitialAlpha, 0, 100, " (0: the policy's default)")
	if v := c.Bandit.Forgetting; !(v >= 0 && v < 1) {
		bad("bandit.forgetting = %v: must be in [0, 1) (0: the policy's default)", v)
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: must be debug, info, warn or error", c.Log.Level)
	}
	ints("log.decision_file_mb", c.Log.DecisionFileMB, 0, 1<<20, " (0: no limit; default 100)")
	ints("log.decision_files", c.Log.DecisionFiles, 0, 100_000, " (0: keep all; default 10)")

	if v := c.Demo.Speed; !(v > 0 && v <= 10000) {
		bad("demo.speed = %v: must be above 0 and at most 10000", v)
	}
	if c.Demo.SimGPUs < 1 || c.Demo.SimGPUs > 16 {
		bad("demo.sim_gpus = %d: must be between 1 and 16", c.Demo.SimGPUs)
	}
	switch c.Demo.SimParams {
	case "nominal", "pessimistic", "optimistic":
	default:
		bad("demo.sim_params %q: must be nominal, pessimistic or optimistic", c.Demo.SimParams)
	}

	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n  %w", ErrInvalid, joinIndented(errs))
}

// Ranges that other checks refer to.
const (
	MinPeriod        = 50 * time.Millisecond
	MaxPeriod        = 60 * time.Second
	MinScrapeTimeout = time.Millisecond
	MaxStaleAfter    = 60 * time.Second
	MaxWatchdog      = 10 * time.Minute
	maxMHz           = 10000
	maxWindows       = 100_000
)

// MaxScrapeTimeout is the longest scrape a period leaves room for: the
// period minus 50 ms, or minus a quarter of it for periods under 200 ms.
func MaxScrapeTimeout(period time.Duration) time.Duration {
	return period - min(50*time.Millisecond, period/4)
}

func joinIndented(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return errors.New(strings.Join(msgs, "\n  "))
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ParseGPUIndex parses one GPU index written in decimal without sign,
// spaces or leading zeros, so "1" and "01" cannot name one GPU twice.
func ParseGPUIndex(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || strconv.Itoa(n) != s {
		return 0, fmt.Errorf("%q is not a GPU index: use a GPU index such as \"0\" or \"1\" (as nvidia-smi numbers them)", s)
	}
	return n, nil
}

// Devices is a parsed gpu.devices value: All, or a list of indices.
type Devices struct {
	All     bool
	Indices []int
}

// ParseDevices parses "all" or a comma-separated list of GPU indices.
func ParseDevices(s string) (Devices, error) {
	s = strings.TrimSpace(s)
	if s == "all" {
		return Devices{All: true}, nil
	}
	if s == "" {
		return Devices{}, errors.New(`empty: give GPU indices such as "0" or "0,1", or "all"`)
	}
	var d Devices
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(part))
		if err != nil || n < 0 {
			return Devices{}, fmt.Errorf("%q is not a GPU index: use indices such as 0,1 or all", part)
		}
		if seen[n] {
			return Devices{}, fmt.Errorf("GPU %d listed twice", n)
		}
		seen[n] = true
		d.Indices = append(d.Indices, n)
	}
	return d, nil
}
