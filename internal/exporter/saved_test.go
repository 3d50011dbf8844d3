package exporter

import (
	"math"
	"testing"
	"time"
)

func TestSavedEstimate(t *testing.T) {
	sec := time.Second
	base := func(e, n float64) window { return window{duration: sec, energyJ: e, tokens: n, defaultClocks: true} }
	locked := func(e, n float64) window { return window{duration: sec, energyJ: e, tokens: n} }
	tests := []struct {
		name                   string
		windows                []window
		wantSaved              float64
		wantCounted, wantSkipd uint64
		wantBaseline           int
	}{
		{
			name: "locked window at a measured load saves the per-token difference",
			// baseline 1000 tokens/s at 0.5 J/token; locked: 1000 tokens for 400 J.
			windows:     []window{base(500, 1000), base(500, 1000), base(500, 1000), locked(400, 1000)},
			wantSaved:   100,
			wantCounted: 1, wantBaseline: 3,
		},
		{
			name:        "tuning that costs energy gives a negative estimate",
			windows:     []window{base(500, 1000), base(500, 1000), base(500, 1000), locked(600, 1000)},
			wantSaved:   -100,
			wantCounted: 1, wantBaseline: 3,
		},
		{
			name:      "a band with too few baseline windows is skipped",
			windows:   []window{base(500, 1000), base(500, 1000), locked(400, 1000)},
			wantSkipd: 1, wantBaseline: 2,
		},
		{
			name: "another throughput octave has no baseline",
			// 1000 tokens/s is octave 9; 100 tokens/s is octave 6.
			windows:   []window{base(500, 1000), base(500, 1000), base(500, 1000), locked(40, 100)},
			wantSkipd: 1, wantBaseline: 3,
		},
		{
			name: "windows without tokens or energy are ignored",
			windows: []window{base(500, 1000), base(500, 1000), base(500, 1000),
				locked(400, 0), locked(math.NaN(), 1000), {duration: 0, energyJ: 1, tokens: 1}},
			wantBaseline: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s savedEstimate
			for _, w := range tt.windows {
				s.add(w)
			}
			if math.Abs(s.savedJ-tt.wantSaved) > 1e-9 || s.counted != tt.wantCounted || s.skipped != tt.wantSkipd ||
				s.baselineWindows() != tt.wantBaseline {
				t.Errorf("saved %.3f J counted %d skipped %d baseline %d; want %.3f J, %d, %d, %d",
					s.savedJ, s.counted, s.skipped, s.baselineWindows(), tt.wantSaved, tt.wantCounted, tt.wantSkipd, tt.wantBaseline)
			}
		})
	}
}
