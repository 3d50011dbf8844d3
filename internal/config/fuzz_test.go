package config

import (
	"math"
	"os"
	"testing"
)

// FuzzDecodeValidate: no TOML text panics the decoder or the validator, and
// a configuration that validates holds the ranges the loop relies on: no
// NaN or infinity, a scrape timeout inside the period, a bounded blind
// spell.
func FuzzDecodeValidate(f *testing.F) {
	if b, err := os.ReadFile("../../tuner.toml"); err == nil {
		f.Add(string(b))
	}
	f.Add("[control]\nperiod = \"100ms\"\n[scrape]\ntimeout = \"75ms\"\n")
	f.Add("[bandit]\ninitial_alpha = nan\nforgetting = inf\n")
	f.Add("[scrape]\nstale_after = \"87600h\"\n")
	f.Add("[gpu]\nidle_clock_mhz = 99999\ngroups = [[0, 1], []]\n")
	f.Fuzz(func(t *testing.T, text string) {
		cfg := Default()
		if err := Decode(text, &cfg); err != nil {
			return
		}
		if err := cfg.Validate(); err != nil {
			return
		}
		for name, v := range map[string]float64{
			"slo.ttft_limit_s": cfg.SLO.TTFTLimitS, "slo.tpot_limit_s": cfg.SLO.TPOTLimitS, "slo.percentile": cfg.SLO.Percentile,
			"bandit.initial_alpha": cfg.Bandit.InitialAlpha, "bandit.forgetting": cfg.Bandit.Forgetting,
			"control.backlog_charge": cfg.Control.BacklogCharge, "control.min_tokens_per_window": cfg.Control.MinTokensPerWindow,
			"demo.speed": cfg.Demo.Speed,
		} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				t.Fatalf("%s = %v validated", name, v)
			}
		}
		p := cfg.Control.Period.Duration
		if cfg.Scrape.Timeout.Duration > MaxScrapeTimeout(p) || cfg.Scrape.Timeout.Duration < MinScrapeTimeout {
			t.Fatalf("scrape.timeout %s validated with period %s", cfg.Scrape.Timeout.Duration, p)
		}
		if cfg.Scrape.StaleAfter.Duration > MaxStaleAfter || cfg.Control.Watchdog.Duration > MaxWatchdog {
			t.Fatalf("stale_after %s / watchdog %s validated", cfg.Scrape.StaleAfter.Duration, cfg.Control.Watchdog.Duration)
		}
	})
}
