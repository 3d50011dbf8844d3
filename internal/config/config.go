// Package config holds gputune's settings: built-in defaults, overridden by a
// TOML file, overridden by command-line flags. Decoding is strict (an unknown
// key is an error naming it) and Validate reports every problem at once.
package config

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/gputune/gputune/internal/printable"
)

// ErrInvalid marks a configuration the user must fix; main exits 2 on it.
var ErrInvalid = errors.New("invalid configuration")

// Duration is a time.Duration written in TOML as a string such as "300ms".
type Duration struct{ time.Duration }

// UnmarshalText parses Go duration syntax.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (use forms like 300ms, 2s, 1m): %w", b, err)
	}
	d.Duration = v
	return nil
}

// MarshalText writes Go duration syntax.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Config is the whole configuration. Field comments give meaning and unit;
// tuner.toml documents every key with its default.
type Config struct {
	GPU     GPU     `toml:"gpu"`
	Scrape  Scrape  `toml:"scrape"`
	Control Control `toml:"control"`
	SLO     SLO     `toml:"slo"`
	Bandit  Bandit  `toml:"bandit"`
	TUI     TUI     `toml:"tui"`
	Log     Log     `toml:"log"`
	Demo    Demo    `toml:"demo"`
}

// GPU selects devices and bounds the clocks gputune may choose.
type GPU struct {
	Devices      string  `toml:"devices"`        // "0", "0,1" or "all"
	ClockStepMHz int     `toml:"clock_step_mhz"` // 0: every supported clock
	ClockMinMHz  int     `toml:"clock_min_mhz"`  // 0: the GPU's lowest
	ClockMaxMHz  int     `toml:"clock_max_mhz"`  // 0: the GPU's highest
	IdleClockMHz int     `toml:"idle_clock_mhz"` // 0: the lowest allowed clock
	MemoryClocks bool    `toml:"memory_clocks"`  // tune the memory clock too
	Takeover     bool    `toml:"takeover"`       // take a GPU another gputune holds
	RunDir       string  `toml:"run_dir"`        // state files; "" = /run/gputune or per-user
	Groups       [][]int `toml:"groups"`         // tensor-parallel groups sharing one clock
}

// Scrape says where and how to read the inference server's metrics.
type Scrape struct {
	MetricsURL string `toml:"metrics_url"`
	// MetricsURLs gives GPUs their own server (one server per GPU on a
	// node), keyed by GPU index ("0", "1"); a GPU not listed reads
	// MetricsURL, and a gpu.groups entry reads its first member's.
	MetricsURLs         map[string]string `toml:"metrics_urls,omitempty"`
	Timeout             Duration          `toml:"timeout"`
	TailWindow          Duration          `toml:"tail_window"`
	TailMinObservations int               `toml:"tail_min_observations"`
	StaleAfter          Duration          `toml:"stale_after"`
}

// Control sets the decision loop.
type Control struct {
	Period                Duration `toml:"period"`
	Policy                string   `toml:"policy"`    // gputune | agft | static:MHZ | default
	Objective             string   `toml:"objective"` // edp | energy
	WarmupWindows         int      `toml:"warmup_windows"`
	IdleWindows           int      `toml:"idle_windows"`
	EmergencyClearWindows int      `toml:"emergency_clear_windows"`
	BacklogWindows        int      `toml:"backlog_windows"`
	BacklogCharge         float64  `toml:"backlog_charge"`
	MinTokensPerWindow    float64  `toml:"min_tokens_per_window"`
	SwitchSettle          Duration `toml:"switch_settle"`
	Watchdog              Duration `toml:"watchdog"`
	SaveInterval          Duration `toml:"save_interval"`
	DryRun                bool     `toml:"dry_run"`
}

// SLO holds the latency limits.
type SLO struct {
	Mode       string  `toml:"mode"` // slo-aware | edp
	TTFTLimitS float64 `toml:"ttft_limit_s"`
	TPOTLimitS float64 `toml:"tpot_limit_s"`
	Percentile float64 `toml:"percentile"`
	TPOTSignal string  `toml:"tpot_signal"` // inter-token | per-request
}

// Bandit tunes the learning policy.
type Bandit struct {
	InitialAlpha   float64 `toml:"initial_alpha"` // 0: the policy's own default
	Forgetting     float64 `toml:"forgetting"`    // per-window discount, 0: policy default
	ActionPruning  bool    `toml:"action_pruning"`
	ExtremePruning bool    `toml:"extreme_pruning"`
	Seed           uint64  `toml:"seed"`
}

// TUI sets the terminal interface.
type TUI struct {
	Enabled bool `toml:"enabled"`
	NoColor bool `toml:"no_color"`
	ASCII   bool `toml:"ascii"`
}

// Log sets logging and where records go.
type Log struct {
	Level string `toml:"level"` // debug | info | warn | error
	Dir   string `toml:"dir"`   // "" = <data_dir>/logs
	// DecisionFileMB starts a new decision-log file when one would pass
	// this size (0: never); DecisionFiles is how many files per GPU are
	// kept, the oldest deleted first (0: all).
	DecisionFileMB int    `toml:"decision_file_mb"`
	DecisionFiles  int    `toml:"decision_files"`
	DataDir        string `toml:"data_dir"`
}

// Demo configures the simulator behind --demo.
type Demo struct {
	Enabled    bool    `toml:"enabled"`
	Speed      float64 `toml:"speed"`
	Workload   string  `toml:"workload"`
	Trace      string  `toml:"trace"`
	GPUProfile string  `toml:"gpu_profile"`
	SimParams  string  `toml:"sim_params"`
	SimGPUs    int     `toml:"sim_gpus"`
}

// Default is the built-in configuration.
func Default() Config {
	return Config{
		GPU: GPU{Devices: "0"},
		Scrape: Scrape{
			MetricsURL:          "http://127.0.0.1:8000/metrics",
			Timeout:             Duration{250 * time.Millisecond},
			TailWindow:          Duration{30 * time.Second},
			TailMinObservations: 50,
			StaleAfter:          Duration{3 * time.Second},
		},
		Control: Control{
			Period:                Duration{300 * time.Millisecond},
			Policy:                "gputune",
			Objective:             "edp",
			WarmupWindows:         10,
			IdleWindows:           3,
			EmergencyClearWindows: 10,
			BacklogWindows:        5,
			BacklogCharge:         1,
			MinTokensPerWindow:    8,
			SwitchSettle:          Duration{50 * time.Millisecond},
			Watchdog:              Duration{3 * time.Second},
			SaveInterval:          Duration{30 * time.Second},
		},
		SLO: SLO{
			Mode:       "slo-aware",
			TTFTLimitS: 2.0,
			TPOTLimitS: 0.25,
			Percentile: 0.9,
			TPOTSignal: "inter-token",
		},
		Bandit: Bandit{ActionPruning: true, ExtremePruning: true, Seed: 1},
		TUI:    TUI{Enabled: true},
		Log:    Log{Level: "info", DecisionFileMB: 100, DecisionFiles: 10},
		Demo: Demo{
			Speed:      1,
			Workload:   "azure-conv",
			GPUProfile: "h100-sxm",
			SimParams:  "nominal",
			SimGPUs:    1,
		},
	}
}

// Load returns the defaults overlaid with the file at path. An empty path
// means: ./tuner.toml when it exists, else the defaults alone.
func Load(path string) (Config, string, error) {
	cfg := Default()
	if path == "" {
		if _, err := os.Stat("tuner.toml"); err != nil {
			return cfg, "", nil
		}
		path = "tuner.toml"
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, path, fmt.Errorf("%w: reading config: %w", ErrInvalid, err)
	}
	if err := Decode(string(data), &cfg); err != nil {
		return cfg, path, fmt.Errorf("%w: %s: %w", ErrInvalid, path, err)
	}
	return cfg, path, nil
}

// Decode overlays TOML text on cfg, strictly: an unknown key is an error
// that names it.
func Decode(text string, cfg *Config) error {
	md, err := toml.Decode(text, cfg)
	if err != nil {
		// The message may quote the file's bytes: printable only.
		return errors.New(printable.String(err.Error(), 1024))
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = printable.String(k.String(), 128)
		}
		return fmt.Errorf("unknown key(s): %s (see tuner.toml for the valid keys)", strings.Join(keys, ", "))
	}
	return nil
}

// MetricsURLFor is the /metrics URL the loop of GPU gpu (or of the group
// whose first member it is) scrapes.
func (s Scrape) MetricsURLFor(gpu int) string {
	if u, ok := s.MetricsURLs[strconv.Itoa(gpu)]; ok {
		return u
	}
	return s.MetricsURL
}
