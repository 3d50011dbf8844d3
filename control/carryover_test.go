package control

import (
	"math"
	"testing"

	"github.com/gputune/gputune/scrape"
)

// window is a busy 0.3 s window: N output tokens, F completions, L requests
// in the server, end-to-end latency e2e.
func window(l, finished, tokens, e2e float64) scrape.Window {
	return scrape.Window{Running: l, GenTokens: tokens, Finished: finished, E2EMean: e2e, E2EObs: finished}
}

func TestCarryoverChargesBacklogGrowth(t *testing.T) {
	tests := []struct {
		name string
		// after 200 steady windows (L = 40, 2 completions and 400 tokens
		// each), one window with these values:
		l, finished, tokens float64
		sign                int // sign of the charge
	}{
		{"steady", 40, 2, 400, 0},
		{"too slow: half the tokens, the batch grows", 41, 1, 200, +1},
		{"draining: more tokens than usual", 39, 3, 600, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c carryover
			for range 200 {
				c.charge(window(40, 2, 400, 2.0))
			}
			got := c.charge(window(tt.l, tt.finished, tt.tokens, 2.0))
			switch {
			case tt.sign == 0 && math.Abs(got) > 0.05:
				t.Errorf("steady window charged %v request-seconds, want about 0", got)
			case tt.sign > 0 && !(got > 0.5):
				t.Errorf("slow window charged %v, want a clear positive charge (about 2 s: one request × 2 s)", got)
			case tt.sign < 0 && !(got < -0.5):
				t.Errorf("draining window charged %v, want a credit", got)
			}
		})
	}
}

func TestCarryoverNeedsItsSignals(t *testing.T) {
	var c carryover
	w := window(40, 2, 400, 2.0)
	c.charge(w)
	reset := w
	reset.Reset = true
	if got := c.charge(reset); got != 0 {
		t.Errorf("a counter reset charged %v", got)
	}
	noE2E := scrape.Window{Running: 40, GenTokens: 400, Finished: 2}
	var d carryover
	for range 10 {
		if got := d.charge(noE2E); got != 0 {
			t.Fatalf("without end-to-end latency the charge must be 0, got %v", got)
		}
	}
}

func TestWithCarryover(t *testing.T) {
	tests := []struct {
		name                   string
		obj, dpt, tokens, want float64
		charge                 float64
	}{
		{"no charge", 1, 0.01, 100, 1, 0},
		{"charge doubles the delay", 1, 0.01, 100, 2, 1}, // own delay 1 request-second
		{"credit halves it", 1, 0.01, 100, 0.5, -0.5},    // 1 − 0.5
		{"credit floored at a quarter", 1, 0.01, 100, 0.25, -5},
		{"NaN charge ignored", 1, 0.01, 100, 1, math.NaN()},
	}
	for _, tt := range tests {
		if got := withCarryover(tt.obj, tt.dpt, tt.tokens, tt.charge); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s: withCarryover = %v, want %v", tt.name, got, tt.want)
		}
	}
}
