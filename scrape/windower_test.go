package scrape

import (
	"errors"
	"math"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

// ttftBounds is a short layout for hand-checked windows.
var ttftBounds = []float64{0.1, 0.5, 1, math.Inf(1)}

func mkHist(bounds []float64, cum []float64, sum float64) Histogram {
	return Histogram{Upper: bounds, Cumulative: cum, Sum: sum, Count: cum[len(cum)-1]}
}

// sampleAt builds a vLLM-like sample: gen tokens, finished, prefix counters
// and a TTFT histogram with cumulative counts cum.
func sampleAt(at time.Duration, gen float64, cum []float64, sum float64) Sample {
	s := Sample{At: t0.Add(at), Flavor: FlavorVLLMV1, Running: 8, Waiting: 1, KVUsage: 0.5,
		GenTokens: gen, PromptTokens: 2 * gen, PrefixHits: gen / 4, PrefixQueries: gen, Finished: gen / 100,
		TTFT: mkHist(ttftBounds, cum, sum)}
	for _, sig := range []Signal{SigRunning, SigWaiting, SigKVUsage, SigGenTokens, SigPromptTokens,
		SigPrefixHits, SigPrefixQueries, SigFinished, SigTTFT} {
		s.Present = s.Present.With(sig)
	}
	return s
}

func newWindower(t testing.TB, cfg WindowConfig) *Windower {
	t.Helper()
	w, err := NewWindower(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestWindowRatesAndMeans(t *testing.T) {
	w := newWindower(t, WindowConfig{})
	if _, err := w.Next(sampleAt(0, 1000, []float64{1, 2, 3, 3}, 1.0)); !errors.Is(err, ErrNoBaseline) {
		t.Fatalf("first Next: %v, want ErrNoBaseline", err)
	}
	win, err := w.Next(sampleAt(500*time.Millisecond, 1600, []float64{2, 5, 7, 8}, 4.0))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"gen tokens", win.GenTokens, 600},
		{"gen tok/s", win.GenTokPerS, 1200},
		{"prompt tok/s", win.PromptTokPerS, 2400},
		{"finished", win.Finished, 6},
		{"prefix hit rate", win.PrefixHitRate, 0.25},
		{"ttft obs", win.TTFTObs, 5},
		{"ttft mean", win.TTFTMean, 3.0 / 5},
		{"running", win.Running, 8},
		{"kv", win.KVUsage, 0.5},
		// Deltas 1,3,4,5 cumulative: the highest bucket that gained is +Inf.
		{"max ttft upper", win.MaxTTFTUpper, math.Inf(1)},
		// ... so the largest TTFT is known to exceed the last finite bound.
		{"max ttft lower", win.MaxTTFTLower, 1},
		{"itl mean (missing)", win.ITLMean, math.NaN()},
		{"preemptions (missing)", win.Preemptions, math.NaN()},
	}
	for _, c := range checks {
		if !near(c.got, c.want) && c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if win.Reset || win.Dur != 500*time.Millisecond || !win.Present.Has(SigTTFT) || win.Present.Has(SigITL) {
		t.Errorf("reset %v dur %v present %b", win.Reset, win.Dur, win.Present)
	}
}

func TestWindowResets(t *testing.T) {
	tests := []struct {
		name        string
		second      func(s Sample) Sample
		wantGen     float64
		wantTTFTObs float64
	}{
		{"counter goes backwards", func(s Sample) Sample { s.GenTokens = 40; return s }, 40, 2},
		{"histogram count goes backwards", func(s Sample) Sample {
			s.TTFT = mkHist(ttftBounds, []float64{0, 1, 1, 1}, 0.3)
			return s
		}, 100, 1},
		{"bucket layout changes", func(s Sample) Sample {
			s.TTFT = mkHist([]float64{0.2, math.Inf(1)}, []float64{5, 9}, 3)
			return s
		}, 100, 9},
		{"counter vanishes", func(s Sample) Sample { s.Present &^= 1 << SigPrefixHits; return s }, 100, 2},
		{"another server answers", func(s Sample) Sample { s.Flavor = FlavorSGLang; return s }, 100, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWindower(t, WindowConfig{})
			_, _ = w.Next(sampleAt(0, 1000, []float64{1, 2, 3, 3}, 1))
			win, err := w.Next(tc.second(sampleAt(time.Second, 1100, []float64{1, 3, 5, 5}, 2)))
			if err != nil {
				t.Fatal(err)
			}
			if !win.Reset {
				t.Error("Reset not set")
			}
			if win.GenTokens != tc.wantGen || win.TTFTObs != tc.wantTTFTObs {
				t.Errorf("gen %v ttft obs %v, want %v %v", win.GenTokens, win.TTFTObs, tc.wantGen, tc.wantTTFTObs)
			}
		})
	}
}

func TestMissingGaugeIsNoReset(t *testing.T) {
	w := newWindower(t, WindowConfig{})
	_, _ = w.Next(sampleAt(0, 1000, []float64{1, 2, 3, 3}, 1))
	s := sampleAt(time.Second, 1100, []float64{1, 3, 5, 5}, 2)
	s.Present &^= 1 << SigKVUsage
	win, err := w.Next(s)
	if err != nil || win.Reset || !math.IsNaN(win.KVUsage) || win.GenTokens != 100 {
		t.Fatalf("reset %v kv %v gen %v err %v", win.Reset, win.KVUsage, win.GenTokens, err)
	}
}

func TestWindowRejectsTimeGoingBackwards(t *testing.T) {
	w := newWindower(t, WindowConfig{})
	_, _ = w.Next(sampleAt(time.Second, 1000, []float64{1, 2, 3, 3}, 1))
	if _, err := w.Next(sampleAt(time.Second, 1100, []float64{1, 2, 3, 3}, 1)); !errors.Is(err, ErrTimeNotAdvancing) {
		t.Fatalf("err = %v", err)
	}
	// The baseline is kept: the next good sample spans from the first.
	win, err := w.Next(sampleAt(2*time.Second, 1300, []float64{1, 2, 3, 3}, 1))
	if err != nil || win.GenTokens != 300 {
		t.Fatalf("gen %v err %v", win.GenTokens, err)
	}
}

func TestTailNeedsEnoughObservationsAndSlides(t *testing.T) {
	cfg := WindowConfig{TailWindow: 3 * time.Second, TailMinObs: 10, TailQuantile: 0.5}
	w := newWindower(t, cfg)
	cum := []float64{0, 0, 0, 0}
	_, _ = w.Next(sampleAt(0, 0, append([]float64(nil), cum...), 0))
	// Each 1 s window adds 4 observations: 3 in (0.1,0.5], 1 in (0.5,1].
	var win Window
	for i := 1; i <= 5; i++ {
		cum = []float64{0, cum[1] + 3, cum[2] + 4, cum[3] + 4}
		var err error
		win, err = w.Next(sampleAt(time.Duration(i)*time.Second, float64(i), cum, 0))
		if err != nil {
			t.Fatal(err)
		}
		switch i {
		case 1, 2:
			if !math.IsNaN(win.TTFTTail) || win.TTFTTailObs != float64(4*i) {
				t.Fatalf("window %d: tail %v over %v obs, want NaN over %d", i, win.TTFTTail, win.TTFTTailObs, 4*i)
			}
		default:
			// The last 3 windows: 12 observations, 9 below 0.5.
			if win.TTFTTailObs != 12 {
				t.Fatalf("window %d: %v tail observations, want 12", i, win.TTFTTailObs)
			}
			want := HistogramQuantile(0.5, ttftBounds, []float64{0, 9, 12, 12})
			if !near(win.TTFTTail, want) {
				t.Fatalf("window %d: tail %v, want %v", i, win.TTFTTail, want)
			}
		}
	}
	// A long gap empties the tail.
	win, _ = w.Next(sampleAt(60*time.Second, 6, cum, 0))
	if !math.IsNaN(win.TTFTTail) || win.TTFTTailObs != 0 {
		t.Fatalf("after gap: %v over %v", win.TTFTTail, win.TTFTTailObs)
	}
}

func TestWindowConfigValidation(t *testing.T) {
	bad := []WindowConfig{
		{TailQuantile: 1.5}, {TailQuantile: -0.1}, {TailWindow: -time.Second}, {TailMinObs: -1}, {TailCapacity: -3},
	}
	for _, cfg := range bad {
		if _, err := NewWindower(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

func TestWindowNextDoesNotAllocate(t *testing.T) {
	w := newWindower(t, WindowConfig{TailCapacity: 8})
	a := sampleAt(0, 0, []float64{1, 2, 3, 3}, 1)
	b := sampleAt(0, 0, []float64{2, 4, 6, 7}, 2)
	i := 0
	next := func() {
		i++
		s := a
		if i%2 == 0 {
			s = b // alternating forces resets too; both paths must reuse buffers
		}
		s.At = t0.Add(time.Duration(i) * time.Second)
		if _, err := w.Next(s); err != nil && !errors.Is(err, ErrNoBaseline) {
			t.Fatal(err)
		}
	}
	for range 20 {
		next()
	}
	if allocs := testing.AllocsPerRun(100, next); allocs != 0 {
		t.Errorf("Next allocates %v times per call", allocs)
	}
}

func TestWindowOverFixtures(t *testing.T) {
	p := NewParser(WithTPOTBuckets()) // the per-request TPOT tail too
	a, err := p.Parse(readFixture(t, "vllm_v1.prom"), time.Unix(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Parse(readFixture(t, "vllm_v1_later.prom"), time.Unix(1000, 0))
	if err != nil {
		t.Fatal(err)
	}
	b.At = a.At.Add(300 * time.Millisecond)
	w := newWindower(t, WindowConfig{TailMinObs: 1})
	_, _ = w.Next(a)
	win, err := w.Next(b)
	if err != nil {
		t.Fatal(err)
	}
	if win.Reset {
		t.Error("clean fixture pair flagged as reset")
	}
	// 0.1 % more of everything: 3945.3 tokens and 14 TTFT observations
	// (round(9643·0.001) + round(4069·0.001) = 10 + 4).
	if !near(win.GenTokens, (2.7453e6+1.2e6)*0.001) || win.TTFTObs != 14 {
		t.Errorf("gen %v ttft obs %v", win.GenTokens, win.TTFTObs)
	}
	if !near(win.TTFTMean, 0.1426*1.5) {
		t.Errorf("TTFT mean %v, want %v", win.TTFTMean, 0.1426*1.5)
	}
	if math.IsNaN(win.TTFTTail) || math.IsNaN(win.ITLTail) || math.IsNaN(win.TPOTTail) {
		t.Errorf("tails %v %v %v", win.TTFTTail, win.ITLTail, win.TPOTTail)
	}
	// Reversed, every counter goes backwards: a server restart.
	w.Reset()
	a.At, b.At = b.At, a.At
	_, _ = w.Next(b)
	if win, err = w.Next(a); err != nil || !win.Reset {
		t.Errorf("reversed pair: reset %v err %v", win.Reset, err)
	}
}

// The largest TTFT of a window is bracketed by the highest bucket that
// gained observations: the loop's "one TTFT over twice its limit" rule
// reads the lower bound, which proves a request broke the limit.
func TestWindowMaxTTFTBracket(t *testing.T) {
	tests := []struct {
		name         string
		prev, now    []float64
		lower, upper float64
	}{
		{"lowest bucket", []float64{1, 1, 1, 1}, []float64{3, 3, 3, 3}, 0, 0.1},
		{"middle bucket", []float64{1, 1, 1, 1}, []float64{2, 3, 3, 3}, 0.1, 0.5},
		{"above the last finite bound", []float64{1, 1, 1, 1}, []float64{1, 1, 1, 2}, 1, math.Inf(1)},
		{"no observations", []float64{1, 2, 3, 3}, []float64{1, 2, 3, 3}, math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindower(t, WindowConfig{})
			if _, err := w.Next(sampleAt(0, 1000, tt.prev, 1)); !errors.Is(err, ErrNoBaseline) {
				t.Fatal(err)
			}
			win, err := w.Next(sampleAt(300*time.Millisecond, 1100, tt.now, 2))
			if err != nil {
				t.Fatal(err)
			}
			same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
			if !same(win.MaxTTFTLower, tt.lower) || !same(win.MaxTTFTUpper, tt.upper) {
				t.Errorf("max TTFT in (%v, %v], want (%v, %v]", win.MaxTTFTLower, win.MaxTTFTUpper, tt.lower, tt.upper)
			}
		})
	}
}

// The per-request TPOT histogram keeps its buckets only when asked: by
// default its mean is there and its tail is not (the default SLO counts
// inter-token latency), which spares expfmt its bucket lines.
func TestTPOTBucketsOnlyWhenAsked(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opts     []ParserOption
		wantTail bool
	}{
		{"default", nil, false},
		{"WithTPOTBuckets", []ParserOption{WithTPOTBuckets()}, true},
		{"WithAllBuckets", []ParserOption{WithAllBuckets()}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := NewParser(tt.opts...)
			a, err := p.Parse(readFixture(t, "vllm_v1.prom"), time.Unix(1000, 0))
			if err != nil {
				t.Fatal(err)
			}
			b, err := p.Parse(readFixture(t, "vllm_v1_later.prom"), time.Unix(1000, 0).Add(300*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			w := newWindower(t, WindowConfig{TailMinObs: 1})
			_, _ = w.Next(a)
			win, err := w.Next(b)
			if err != nil {
				t.Fatal(err)
			}
			if math.IsNaN(win.TPOTMean) || math.IsNaN(win.ITLTail) {
				t.Errorf("TPOT mean %v, ITL tail %v: both must always be there", win.TPOTMean, win.ITLTail)
			}
			if hasTail := !math.IsNaN(win.TPOTTail); hasTail != tt.wantTail {
				t.Errorf("TPOT tail %v, want a tail: %v", win.TPOTTail, tt.wantTail)
			}
		})
	}
}
