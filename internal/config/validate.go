package config

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Validate reports every problem at once, each saying what to fix. The
// result wraps ErrInvalid.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if _, err := ParseDevices(c.GPU.Devices); err != nil {
		bad("gpu.devices: %v", err)
	}
	for _, kv := range []struct {
		name string
		v    int
	}{
		{"gpu.clock_step_mhz", c.GPU.ClockStepMHz}, {"gpu.clock_min_mhz", c.GPU.ClockMinMHz},
		{"gpu.clock_max_mhz", c.GPU.ClockMaxMHz}, {"gpu.idle_clock_mhz", c.GPU.IdleClockMHz},
	} {
		if kv.v < 0 {
			bad("%s = %d: must be 0 (automatic) or a positive MHz value", kv.name, kv.v)
		}
	}
	if c.GPU.ClockMinMHz > 0 && c.GPU.ClockMaxMHz > 0 && c.GPU.ClockMinMHz > c.GPU.ClockMaxMHz {
		bad("gpu.clock_min_mhz (%d) is above gpu.clock_max_mhz (%d)", c.GPU.ClockMinMHz, c.GPU.ClockMaxMHz)
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
	if c.Scrape.Timeout.Duration <= 0 {
		bad("scrape.timeout must be positive")
	}
	if c.Scrape.TailWindow.Duration <= 0 {
		bad("scrape.tail_window must be positive")
	}
	if c.Scrape.TailMinObservations < 1 {
		bad("scrape.tail_min_observations must be at least 1")
	}
	if c.Scrape.StaleAfter.Duration <= 0 {
		bad("scrape.stale_after must be positive")
	}

	if c.Control.Period.Duration < 50e6 || c.Control.Period.Duration > 60e9 {
		bad("control.period %s: must be between 50ms and 60s (default 300ms)", c.Control.Period.Duration)
	}
	if _, _, err := ParsePolicy(c.Control.Policy); err != nil {
		bad("control.policy: %v", err)
	}
	if c.Control.Objective != "edp" && c.Control.Objective != "energy" {
		bad("control.objective %q: must be edp or energy", c.Control.Objective)
	}
	if c.Control.WarmupWindows < 1 {
		bad("control.warmup_windows must be at least 1 (the reward baseline needs windows)")
	}
	if c.Control.IdleWindows < 1 {
		bad("control.idle_windows must be at least 1")
	}
	if c.Control.EmergencyClearWindows < 1 {
		bad("control.emergency_clear_windows must be at least 1")
	}
	if !(c.Control.BacklogCharge >= 0 && c.Control.BacklogCharge <= 10) {
		bad("control.backlog_charge %v: must be between 0 (off) and 10 (default 1)", c.Control.BacklogCharge)
	}
	if c.Control.BacklogWindows < 1 {
		bad("control.backlog_windows must be at least 1")
	}
	if c.Control.MinTokensPerWindow < 1 {
		bad("control.min_tokens_per_window must be at least 1")
	}
	if c.Control.SwitchSettle.Duration < 0 || c.Control.SwitchSettle.Duration >= c.Control.Period.Duration {
		bad("control.switch_settle %s: must be at least 0 and shorter than control.period", c.Control.SwitchSettle.Duration)
	}
	if c.Control.Watchdog.Duration < 2*c.Control.Period.Duration {
		bad("control.watchdog %s: must be at least twice control.period", c.Control.Watchdog.Duration)
	}
	if c.Control.SaveInterval.Duration <= 0 {
		bad("control.save_interval must be positive")
	}

	if c.SLO.Mode != "slo-aware" && c.SLO.Mode != "edp" {
		bad("slo.mode %q: must be slo-aware or edp", c.SLO.Mode)
	}
	if !(c.SLO.TTFTLimitS > 0) {
		bad("slo.ttft_limit_s must be a positive number of seconds (default 2.0)")
	}
	if !(c.SLO.TPOTLimitS > 0) {
		bad("slo.tpot_limit_s must be a positive number of seconds (default 0.25)")
	}
	if !(c.SLO.Percentile > 0 && c.SLO.Percentile < 1) {
		bad("slo.percentile %v: must be between 0 and 1 exclusive (default 0.9)", c.SLO.Percentile)
	}
	if c.SLO.TPOTSignal != "inter-token" && c.SLO.TPOTSignal != "per-request" {
		bad("slo.tpot_signal %q: must be inter-token or per-request", c.SLO.TPOTSignal)
	}

	if c.Bandit.InitialAlpha < 0 {
		bad("bandit.initial_alpha must be 0 (policy default) or positive")
	}
	if c.Bandit.Forgetting < 0 || c.Bandit.Forgetting >= 1 {
		bad("bandit.forgetting %v: must be in [0, 1) (0: policy default)", c.Bandit.Forgetting)
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: must be debug, info, warn or error", c.Log.Level)
	}

	if c.Log.DecisionFileMB < 0 || c.Log.DecisionFiles < 0 {
		bad("log.decision_file_mb %d and log.decision_files %d: must be 0 (no limit) or positive", c.Log.DecisionFileMB, c.Log.DecisionFiles)
	}

	if !(c.Demo.Speed > 0 && c.Demo.Speed <= 10000) {
		bad("demo.speed %v: must be above 0 and at most 10000", c.Demo.Speed)
	}
	if c.Demo.SimGPUs < 1 || c.Demo.SimGPUs > 16 {
		bad("demo.sim_gpus %d: must be between 1 and 16", c.Demo.SimGPUs)
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

// ParsePolicy splits "static:1500" into ("static", 1500). Names: gputune,
// agft, default, static:MHZ.
func ParsePolicy(s string) (name string, mhz int, err error) {
	switch s {
	case "gputune", "agft", "default":
		return s, 0, nil
	}
	if rest, ok := strings.CutPrefix(s, "static:"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 {
			return "", 0, fmt.Errorf("%q: static needs a clock in MHz, such as static:1500", s)
		}
		return "static", n, nil
	}
	return "", 0, fmt.Errorf("%q: must be gputune, agft, default or static:MHZ", s)
}
