package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"strings"
	"time"

	"github.com/gputune/gputune/internal/config"
)

// errHelp: the user asked for --help; usage was printed (exit 0).
var errHelp = errors.New("help requested")

// runFlags are the flags of the tuning command. Config-backed flags are
// applied over the file only when given, so the precedence is
// defaults < file < flags.
type runFlags struct {
	fs         *flag.FlagSet
	configPath string
	// configRead is the file the configuration came from ("" for the
	// built-in defaults), logged at start.
	configRead string
	resetModel bool
	duration   time.Duration
	listen     string
	webConfig  string // --web.config.file

	// Config-backed values, applied by apply when set.
	noTUI, demo, dryRun, takeover, noColor, ascii, memClocks bool
	logLevel, logDir, dataDir, gpu, metricsURL, workload     string
	trace, gpuProfile, simParams, sloMode, objective, policy string
	speed, sloTTFT, sloTPOT                                  float64
	simGPUs                                                  int
	// gpuMetricsURLs are the --gpu-metrics-url values, GPU index to URL.
	gpuMetricsURLs map[string]string
}

func newRunFlags(name string) *runFlags {
	f := &runFlags{fs: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs := f.fs
	fs.StringVar(&f.configPath, "config", "", configFlagHelp)
	fs.BoolVar(&f.noTUI, "no-tui", false, "headless: one JSON object per decision on stdout, logs on stderr")
	fs.BoolVar(&f.demo, "demo", false, "run against the built-in simulator (simulated GPU and vLLM; no GPU or root needed)")
	fs.BoolVar(&f.dryRun, "dry-run", false, "decide and report, never lock a clock")
	fs.BoolVar(&f.resetModel, "reset-model", false, "start from a fresh model instead of the saved one")
	fs.StringVar(&f.logLevel, "log-level", "", "log level: debug, info, warn or error (default info)")
	fs.StringVar(&f.logDir, "log-dir", "", "folder for decision logs (default <data-dir>/logs)")
	fs.StringVar(&f.dataDir, "data-dir", "", "folder for models (default /var/lib/gputune as root, else ~/.local/state/gputune)")
	fs.StringVar(&f.gpu, "gpu", "", `GPUs to tune: indices such as 0 or 0,1, or "all" (default 0)`)
	fs.StringVar(&f.metricsURL, "metrics-url", "", "the inference server's Prometheus endpoint (default http://127.0.0.1:8000/metrics)")
	fs.Func("gpu-metrics-url", "GPU=URL: this GPU's (or group's first member's) own server, e.g. 1=http://127.0.0.1:8001/metrics; repeat per GPU (default: --metrics-url for all)",
		func(v string) error {
			key, url, err := parseGPUMetricsURL(v)
			if err != nil {
				return err
			}
			if f.gpuMetricsURLs == nil {
				f.gpuMetricsURLs = map[string]string{}
			}
			f.gpuMetricsURLs[key] = url
			return nil
		})
	fs.DurationVar(&f.duration, "duration", 0, "stop after this long (wall time live, simulated time in the demo); 0 runs until stopped")
	fs.Float64Var(&f.speed, "speed", 0, "demo: run simulated time this many times faster than real time (default 1)")
	fs.StringVar(&f.workload, "workload", "", "demo: azure-conv, poisson, bursty, ramp or phases (default azure-conv)")
	fs.StringVar(&f.trace, "trace", "", "demo: replay a trace in the Azure CSV format (TIMESTAMP,ContextTokens,GeneratedTokens)")
	fs.StringVar(&f.gpuProfile, "gpu-profile", "", "demo: simulated GPU, h100-sxm or a100-sxm (default h100-sxm)")
	fs.StringVar(&f.simParams, "sim-params", "", "demo: simulator parameter set, nominal, pessimistic or optimistic")
	fs.IntVar(&f.simGPUs, "sim-gpus", 0, "demo: number of simulated GPUs (default 1)")
	fs.Float64Var(&f.sloTTFT, "slo-ttft", 0, "time-to-first-token limit in seconds (default 2.0)")
	fs.Float64Var(&f.sloTPOT, "slo-tpot", 0, "time-per-output-token limit in seconds (default 0.25)")
	fs.StringVar(&f.sloMode, "slo-mode", "", "slo-aware (default) or edp (ignore latency limits)")
	fs.StringVar(&f.objective, "objective", "", "edp (energy-delay product per token, default) or energy (joules per token)")
	fs.StringVar(&f.policy, "policy", "", "gputune (default), agft, default (the GPU's governor) or static:MHZ")
	fs.BoolVar(&f.takeover, "takeover", false, "take over a GPU that another gputune holds")
	fs.BoolVar(&f.noColor, "no-color", false, "no colours in the terminal UI (NO_COLOR is honoured too)")
	fs.BoolVar(&f.ascii, "ascii", false, "ASCII sparklines in the terminal UI")
	fs.BoolVar(&f.memClocks, "memory-clocks", false, "tune the memory clock too, where the GPU allows it")
	fs.StringVar(&f.listen, "listen", "", "serve gputune's own Prometheus /metrics on ADDR (e.g. 127.0.0.1:10220); off by default")
	fs.StringVar(&f.webConfig, "web.config.file", "", "with --listen: exporter-toolkit web config (TLS, basic auth) for /metrics")
	return f
}

// configFlagHelp is every command's --config description.
const configFlagHelp = "config file (default /etc/gputune/tuner.toml as root, ./tuner.toml otherwise, each only if present)"

// help is `gputune --help`: the overview, then the tuning command's flags.
func (f *runFlags) help(w io.Writer) {
	fmt.Fprint(w, usage)
	fmt.Fprintln(w, "\nFlags of the tuning command (gputune [flags]):")
	printFlags(w, f.fs)
}

// demoOnly are the flags that mean something only with --demo.
var demoOnly = []string{"speed", "workload", "trace", "gpu-profile", "sim-params", "sim-gpus"}

// realOnly are the flags that mean nothing to the demo, whose simulated
// GPUs each bring their own simulated server.
var realOnly = []string{"metrics-url", "gpu-metrics-url", "takeover"}

// parse parses args and returns the effective, validated configuration.
func (f *runFlags) parse(args []string, out io.Writer) (config.Config, error) {
	pos, err := parseArgs(f.fs, args, out, f.help)
	if err != nil {
		return config.Config{}, err
	}
	if len(pos) > 0 {
		return config.Config{}, usagef("unexpected argument %q (see gputune --help)", pos[0])
	}
	cfg, path, err := loadConfig(f.configPath)
	if err != nil {
		return cfg, err
	}
	f.configRead = path
	f.apply(&cfg)
	if f.duration < 0 {
		return cfg, usagef("--duration must not be negative")
	}
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if err := f.checkApplicable(cfg); err != nil {
		return cfg, err
	}
	if f.listen != "" {
		if err := checkListen(f.listen); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// checkApplicable refuses flags the chosen mode would silently ignore.
func (f *runFlags) checkApplicable(cfg config.Config) error {
	set := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	if !cfg.Demo.Enabled {
		for _, name := range demoOnly {
			if set[name] {
				return usagef("--%s applies only to the demo: add --demo, or drop --%s", name, name)
			}
		}
		return nil
	}
	for _, name := range realOnly {
		if set[name] {
			return usagef("--%s does not apply to --demo (each simulated GPU has its own simulated server): drop --%s", name, name)
		}
	}
	d, err := config.ParseDevices(cfg.GPU.Devices)
	if err != nil {
		return usagef("--gpu: %v", err)
	}
	for _, i := range d.Indices {
		if i >= cfg.Demo.SimGPUs {
			return usagef("--gpu %s: the demo simulates %d GPU(s), numbered 0 to %d; add --sim-gpus %d or pick another",
				cfg.GPU.Devices, cfg.Demo.SimGPUs, cfg.Demo.SimGPUs-1, i+1)
		}
	}
	return nil
}

// demoGPUs are the simulated GPUs the demo runs: those named with --gpu,
// or every one of --sim-gpus.
func (f *runFlags) demoGPUs(cfg config.Config) []int {
	given := false
	f.fs.Visit(func(fl *flag.Flag) { given = given || fl.Name == "gpu" })
	if d, err := config.ParseDevices(cfg.GPU.Devices); err == nil && given && !d.All {
		return d.Indices
	}
	out := make([]int, cfg.Demo.SimGPUs)
	for i := range out {
		out[i] = i
	}
	return out
}

// apply overlays the flags the user set.
func (f *runFlags) apply(c *config.Config) {
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "no-tui":
			c.TUI.Enabled = !f.noTUI
		case "demo":
			c.Demo.Enabled = f.demo
		case "dry-run":
			c.Control.DryRun = f.dryRun
		case "log-level":
			c.Log.Level = strings.ToLower(f.logLevel)
		case "log-dir":
			c.Log.Dir = f.logDir
		case "data-dir":
			c.Log.DataDir = f.dataDir
		case "gpu":
			c.GPU.Devices = f.gpu
		case "metrics-url":
			c.Scrape.MetricsURL = f.metricsURL
		case "gpu-metrics-url":
			// Per GPU over the file's entries; cloned so the flags never
			// write into a map the file's configuration shares.
			urls := maps.Clone(c.Scrape.MetricsURLs)
			if urls == nil {
				urls = map[string]string{}
			}
			maps.Copy(urls, f.gpuMetricsURLs)
			c.Scrape.MetricsURLs = urls
		case "speed":
			c.Demo.Speed = f.speed
		case "workload":
			c.Demo.Workload = f.workload
		case "trace":
			c.Demo.Trace = f.trace
		case "gpu-profile":
			c.Demo.GPUProfile = f.gpuProfile
		case "sim-params":
			c.Demo.SimParams = f.simParams
		case "sim-gpus":
			c.Demo.SimGPUs = f.simGPUs
		case "slo-ttft":
			c.SLO.TTFTLimitS = f.sloTTFT
		case "slo-tpot":
			c.SLO.TPOTLimitS = f.sloTPOT
		case "slo-mode":
			c.SLO.Mode = f.sloMode
		case "objective":
			c.Control.Objective = f.objective
		case "policy":
			c.Control.Policy = f.policy
		case "takeover":
			c.GPU.Takeover = f.takeover
		case "no-color":
			c.TUI.NoColor = f.noColor
		case "ascii":
			c.TUI.ASCII = f.ascii
		case "memory-clocks":
			c.GPU.MemoryClocks = f.memClocks
		}
	})
}
