package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleFileMatchesDefaults(t *testing.T) {
	// tuner.toml documents the defaults: decoding it must change nothing,
	// and it must name every key (strict decoding would fail otherwise).
	data, err := os.ReadFile("../../tuner.toml")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Default()
	if err := Decode(string(data), &cfg); err != nil {
		t.Fatalf("tuner.toml does not decode: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("tuner.toml is invalid: %v", err)
	}
	def := Default()
	cfg.GPU.Groups, def.GPU.Groups = nil, nil
	if got, want := fmtCfg(cfg), fmtCfg(def); got != want {
		t.Errorf("tuner.toml differs from the built-in defaults:\nfile:     %s\ndefaults: %s", got, want)
	}
	for _, key := range []string{"devices", "clock_step_mhz", "clock_min_mhz", "clock_max_mhz", "idle_clock_mhz",
		"memory_clocks", "metrics_url", "period", "policy", "objective", "mode", "ttft_limit_s", "tpot_limit_s",
		"percentile", "tpot_signal", "initial_alpha", "action_pruning", "extreme_pruning", "level"} {
		if !strings.Contains(string(data), "\n"+key+" =") {
			t.Errorf("tuner.toml does not document key %q", key)
		}
	}
}

func fmtCfg(c Config) string {
	var b strings.Builder
	if err := Encode(&b, c); err != nil {
		return err.Error()
	}
	return b.String()
}

func TestDecodeAndValidate(t *testing.T) {
	tests := []struct {
		name    string
		toml    string
		wantErr []string // substrings, all must appear
		check   func(t *testing.T, c Config)
	}{
		{name: "empty keeps defaults", toml: ``, check: func(t *testing.T, c Config) {
			if c.SLO.TTFTLimitS != 2.0 || c.SLO.TPOTLimitS != 0.25 || c.Control.Period.Duration != 300*time.Millisecond {
				t.Errorf("defaults changed: %+v", c.SLO)
			}
		}},
		{name: "overrides", toml: "[slo]\nttft_limit_s = 0.5\n[control]\nperiod = \"1s\"\npolicy = \"static:1500\"\n",
			check: func(t *testing.T, c Config) {
				if c.SLO.TTFTLimitS != 0.5 || c.Control.Period.Duration != time.Second || c.Control.Policy != "static:1500" {
					t.Errorf("not applied: %+v %+v", c.SLO, c.Control)
				}
			}},
		{name: "unknown key named", toml: "[slo]\nttft_limt = 1\n", wantErr: []string{"unknown key", "slo.ttft_limt"}},
		{name: "unknown section named", toml: "[gpus]\ndevices = \"0\"\n", wantErr: []string{"unknown key", "gpus"}},
		{name: "bad duration", toml: "[control]\nperiod = \"fast\"\n", wantErr: []string{"not a duration"}},
		{name: "wrong type", toml: "[slo]\nttft_limit_s = \"two\"\n", wantErr: []string{"ttft_limit_s"}},
		{name: "every problem at once",
			toml:    "[slo]\nmode = \"strict\"\npercentile = 1.5\n[control]\nobjective = \"speed\"\npolicy = \"fast\"\n[gpu]\ndevices = \"x\"\n",
			wantErr: []string{"slo.mode", "slo.percentile", "control.objective", "control.policy", "gpu.devices"}},
		{name: "min above max", toml: "[gpu]\nclock_min_mhz = 1500\nclock_max_mhz = 900\n", wantErr: []string{"clock_min_mhz (1500) is above"}},
		{name: "bad url", toml: "[scrape]\nmetrics_url = \"localhost:8000\"\n", wantErr: []string{"scrape.metrics_url"}},
		{name: "watchdog too short", toml: "[control]\nwatchdog = \"400ms\"\n", wantErr: []string{"control.watchdog"}},
		{name: "negative limit", toml: "[slo]\ntpot_limit_s = -1\n", wantErr: []string{"slo.tpot_limit_s"}},
		{name: "bad static", toml: "[control]\npolicy = \"static:abc\"\n", wantErr: []string{"static:1500"}},
		{name: "bad sim params", toml: "[demo]\nsim_params = \"rosy\"\n", wantErr: []string{"demo.sim_params"}},
		{name: "negative decision log limits", toml: "[log]\ndecision_file_mb = -1\ndecision_files = -3\n",
			wantErr: []string{"log.decision_file_mb = -1", "log.decision_files = -3", "0: no limit"}},
		{name: "escape codes in a key are not echoed", toml: "[slo]\n\"\\u001b]0;owned\\u0007\" = 1\n",
			wantErr: []string{"unknown key", "]0;owned"}},
		{name: "NaN and Inf rejected everywhere",
			toml: "[control]\nmin_tokens_per_window = nan\nbacklog_charge = inf\n[bandit]\ninitial_alpha = nan\nforgetting = nan\n" +
				"[slo]\nttft_limit_s = inf\ntpot_limit_s = nan\npercentile = nan\n[demo]\nspeed = inf\n",
			wantErr: []string{"control.min_tokens_per_window = NaN", "control.backlog_charge = +Inf", "bandit.initial_alpha = NaN",
				"bandit.forgetting = NaN", "slo.ttft_limit_s = +Inf", "slo.tpot_limit_s = NaN", "slo.percentile = NaN", "demo.speed = +Inf"}},
		{name: "idle clock out of range is an error, not a snap", toml: "[gpu]\nidle_clock_mhz = 99999\n",
			wantErr: []string{"gpu.idle_clock_mhz = 99999", "between 1 and 10000 MHz"}},
		{name: "idle clock outside the operator bounds", toml: "[gpu]\nclock_min_mhz = 900\nclock_max_mhz = 1500\nidle_clock_mhz = 600\n",
			wantErr: []string{"gpu.idle_clock_mhz = 600", "900..1500"}},
		{name: "stale_after bounded", toml: "[scrape]\nstale_after = \"87600h\"\n",
			wantErr: []string{"scrape.stale_after = 87600h0m0s", "between 300ms and 1m0s"}},
		{name: "scrape timeout leaves room in the period", toml: "[scrape]\ntimeout = \"2s\"\n",
			wantErr: []string{"scrape.timeout = 2s", "between 1ms and 250ms", "control.period (300ms)"}},
		{name: "scrape timeout follows a short period", toml: "[control]\nperiod = \"100ms\"\n",
			wantErr: []string{"scrape.timeout = 250ms", "between 1ms and 75ms"}},
		{name: "short period with a fitting timeout", toml: "[control]\nperiod = \"100ms\"\n[scrape]\ntimeout = \"75ms\"\n",
			check: func(*testing.T, Config) {}},
		{name: "watchdog bounded", toml: "[control]\nwatchdog = \"24h\"\n", wantErr: []string{"control.watchdog = 24h0m0s", "10m0s"}},
		{name: "counts bounded", toml: "[control]\nwarmup_windows = 0\nidle_windows = 1000000\n[scrape]\ntail_min_observations = 0\n",
			wantErr: []string{"control.warmup_windows = 0", "control.idle_windows = 1000000", "scrape.tail_min_observations = 0"}},
		{name: "metrics urls per GPU",
			toml: "[scrape]\nmetrics_urls = { \"0\" = \"http://127.0.0.1:8000/metrics\", \"3\" = \"https://10.0.0.7:8443/metrics\" }\n",
			check: func(t *testing.T, c Config) {
				if got := c.Scrape.MetricsURLFor(3); got != "https://10.0.0.7:8443/metrics" {
					t.Errorf("GPU 3 reads %q", got)
				}
				if got := c.Scrape.MetricsURLFor(1); got != c.Scrape.MetricsURL {
					t.Errorf("GPU 1 (not listed) reads %q, want metrics_url %q", got, c.Scrape.MetricsURL)
				}
			}},
		{name: "metrics urls as a table", toml: "[scrape.metrics_urls]\n1 = \"http://127.0.0.1:8001/metrics\"\n",
			check: func(t *testing.T, c Config) {
				if got := c.Scrape.MetricsURLFor(1); got != "http://127.0.0.1:8001/metrics" {
					t.Errorf("GPU 1 reads %q", got)
				}
			}},
		{name: "metrics urls key not an index", toml: "[scrape]\nmetrics_urls = { \"gpu1\" = \"http://127.0.0.1:8001/metrics\" }\n",
			wantErr: []string{`scrape.metrics_urls["gpu1"]`, "not a GPU index"}},
		{name: "metrics urls negative key", toml: "[scrape]\nmetrics_urls = { \"-1\" = \"http://127.0.0.1:8001/metrics\" }\n",
			wantErr: []string{`scrape.metrics_urls["-1"]`, "not a GPU index"}},
		{name: "metrics urls leading zero", toml: "[scrape]\nmetrics_urls = { \"01\" = \"http://127.0.0.1:8001/metrics\" }\n",
			wantErr: []string{`scrape.metrics_urls["01"]`, "not a GPU index"}},
		{name: "metrics urls empty key", toml: "[scrape]\nmetrics_urls = { \"\" = \"http://127.0.0.1:8001/metrics\" }\n",
			wantErr: []string{`scrape.metrics_urls[""]`}},
		{name: "metrics urls bad url", toml: "[scrape]\nmetrics_urls = { \"1\" = \"localhost:8001\" }\n",
			wantErr: []string{`scrape.metrics_urls["1"] = "localhost:8001"`, "http(s) URL"}},
		{name: "metrics urls every bad key named",
			toml:    "[scrape]\nmetrics_urls = { \"x\" = \"http://a/metrics\", \"2\" = \"ftp://b/metrics\" }\n",
			wantErr: []string{`scrape.metrics_urls["x"]`, `scrape.metrics_urls["2"] = "ftp://b/metrics"`}},
		{name: "metrics urls wrong type", toml: "[scrape]\nmetrics_urls = { \"1\" = 8001 }\n",
			wantErr: []string{"metrics_urls"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			err := Decode(tt.toml, &cfg)
			if err == nil {
				err = cfg.Validate()
			}
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				tt.check(t, cfg)
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got none", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if strings.ContainsAny(err.Error(), "\x1b\x07") {
				t.Errorf("error %q holds control characters", err)
			}
		})
	}
}

func TestValidateWrapsErrInvalid(t *testing.T) {
	c := Default()
	c.SLO.Mode = "nope"
	if err := c.Validate(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	cfg, path, err := Load("")
	if err != nil || path != "" || cfg.Control.Policy != "gputune" {
		t.Fatalf("no file: want defaults, got %v %q %v", cfg.Control.Policy, path, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tuner.toml"), []byte("[control]\npolicy = \"agft\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, path, err = Load("")
	if err != nil || path != "tuner.toml" || cfg.Control.Policy != "agft" {
		t.Fatalf("./tuner.toml: got %v %q %v", cfg.Control.Policy, path, err)
	}
	if _, _, err := Load(filepath.Join(dir, "missing.toml")); !errors.Is(err, ErrInvalid) {
		t.Fatalf("missing file: want ErrInvalid, got %v", err)
	}
}

func TestParseDevices(t *testing.T) {
	tests := []struct {
		in   string
		want Devices
		err  bool
	}{
		{"0", Devices{Indices: []int{0}}, false},
		{"0, 2,3", Devices{Indices: []int{0, 2, 3}}, false},
		{"all", Devices{All: true}, false},
		{"", Devices{}, true},
		{"-1", Devices{}, true},
		{"0,0", Devices{}, true},
		{"gpu0", Devices{}, true},
	}
	for _, tt := range tests {
		got, err := ParseDevices(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("ParseDevices(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if got.All != tt.want.All || len(got.Indices) != len(tt.want.Indices) {
			t.Errorf("ParseDevices(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseGPUIndex(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"0", 0, false}, {"7", 7, false}, {"15", 15, false},
		{"", 0, true}, {"-1", 0, true}, {"+1", 0, true}, {"01", 0, true}, {" 1", 0, true}, {"1.0", 0, true}, {"all", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseGPUIndex(tt.in)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("ParseGPUIndex(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

// TestMetricsURLsExampleDecodes keeps the commented metrics_urls example in
// tuner.toml valid: uncommented, it decodes and validates.
func TestMetricsURLsExampleDecodes(t *testing.T) {
	data, err := os.ReadFile("../../tuner.toml")
	if err != nil {
		t.Fatal(err)
	}
	var example string
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "# metrics_urls = "); ok {
			example = "metrics_urls = " + rest
		}
	}
	if example == "" {
		t.Fatal("tuner.toml has no commented metrics_urls example")
	}
	cfg := Default()
	if err := Decode("[scrape]\n"+example+"\n", &cfg); err != nil {
		t.Fatalf("the example does not decode: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the example is invalid: %v", err)
	}
	if got := cfg.Scrape.MetricsURLFor(1); got != "http://127.0.0.1:8001/metrics" {
		t.Fatalf("the example gives GPU 1 %q", got)
	}
}
