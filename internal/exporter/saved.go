package exporter

import (
	"math"
	"time"
)

// minBaselineWindows is how many default-governor windows a load band needs
// before its energy per token is trusted as that band's baseline.
const minBaselineWindows = 3

// savedEstimate estimates the energy the tuner saved against the default
// governor, from nothing but the windows the loop published.
//
// How: a window whose clock was the default governor's (no core or memory
// lock in effect: the warm-up, or the "default" policy) adds its energy and
// output tokens to the baseline of its load band; a load band is one octave
// of output-token throughput (tokens/s). A window with a lock in effect
// counts as saved N·(ΣE/ΣN)_band − E: the energy the default governor used
// per token at that load, times the tokens this window produced, minus what
// it measured. A locked window whose band has no baseline yet is skipped and
// counted as such.
//
// Assumptions, stated because they bound how far to trust the number: (1)
// at a given throughput the default governor's energy per token is the one
// measured earlier in that band (the served model, prompt mix and
// temperature have not changed much since); (2) throughput is set by the
// arriving load, not by the clock (true below saturation; a saturated
// server at a lower clock produces fewer tokens and falls in a lower band);
// (3) the baseline comes only from default-governor windows this process
// saw, so a warm-started loop that skips the warm-up has no baseline and its
// estimate stays at zero with every window skipped.
type savedEstimate struct {
	bands   map[int]*band
	savedJ  float64
	counted uint64 // locked windows with a baseline
	skipped uint64 // locked windows without one
}

type band struct {
	energyJ, tokens float64
	windows         int
}

// window is one published window, attributed to the clock that was in
// effect while it ran.
type window struct {
	duration        time.Duration
	energyJ, tokens float64
	defaultClocks   bool
}

func (s *savedEstimate) add(w window) {
	if w.duration <= 0 || !(w.tokens > 0) || !(w.energyJ > 0) || math.IsInf(w.energyJ, 0) {
		return
	}
	key := loadBand(w.tokens / w.duration.Seconds())
	if w.defaultClocks {
		if s.bands == nil {
			s.bands = map[int]*band{}
		}
		b := s.bands[key]
		if b == nil {
			b = &band{}
			s.bands[key] = b
		}
		b.energyJ += w.energyJ
		b.tokens += w.tokens
		b.windows++
		return
	}
	b := s.bands[key]
	if b == nil || b.windows < minBaselineWindows {
		s.skipped++
		return
	}
	s.savedJ += w.tokens*b.energyJ/b.tokens - w.energyJ
	s.counted++
}

// baselineWindows is how many default-governor windows the baseline holds.
func (s *savedEstimate) baselineWindows() int {
	n := 0
	for _, b := range s.bands {
		n += b.windows
	}
	return n
}

// loadBand is the octave of tokens/s a window falls in.
func loadBand(tokensPerSecond float64) int {
	return int(math.Floor(math.Log2(tokensPerSecond)))
}
