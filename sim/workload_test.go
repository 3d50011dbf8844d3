package sim

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadNames(t *testing.T) {
	poisson := Workload{Name: WorkloadPoisson}
	tests := []struct {
		name string
		cfg  Config
		is   error  // nil: only the message is checked
		want string // substring of the message
	}{
		{"unknown workload", Config{Workload: Workload{Name: "zipf"}}, ErrUnknownWorkload, `"zipf"`},
		{"no workload", Config{}, ErrUnknownWorkload, "azure-conv, poisson"},
		{"unknown model", Config{Model: "gpt-5", Workload: poisson}, ErrUnknownModel, "llama-3.1-8b"},
		{"unknown GPU", Config{GPUProfile: "tpu-v5", Workload: poisson}, nil, "tpu-v5"},
		{"unknown params", Config{Params: "wishful", Workload: poisson}, nil, "wishful"},
		{"unknown flavor", Config{Flavor: "triton", Workload: poisson}, ErrUnknownFlavor, "triton"},
		{"replay without trace", Config{Workload: Workload{Name: WorkloadAzureConv}}, nil, "TracePath"},
		{"replay missing file", Config{Workload: Workload{Name: WorkloadAzureConv, TracePath: "/nonexistent/conv.csv"}}, nil, "/nonexistent/conv.csv"},
		{"empty trace", Config{Workload: Workload{Name: WorkloadAzureConv, Trace: &Trace{Name: "e.csv"}}}, ErrEmptyTrace, "e.csv"},
		{"offset past end", Config{Workload: Workload{Name: WorkloadAzureConv, Trace: smallTrace(3, time.Second, 10, 10), Offset: time.Hour}}, nil, "past the trace's end"},
		{"negative rate", Config{Workload: Workload{Name: WorkloadPoisson, Rate: -1}}, nil, "negative"},
		{"negative seqs", Config{Engine: EngineConfig{MaxNumSeqs: -1}, Workload: poisson}, nil, "negative"},
		{"utilization above 1", Config{Engine: EngineConfig{GPUMemoryUtilization: 1.5}, Workload: poisson}, nil, "gpu_memory_utilization"},
		{"model too big", Config{Model: "llama-3.1-70b-fp8-tp2", Engine: EngineConfig{GPUMemoryBytes: 40e9}, Workload: poisson}, nil, "no room"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestLargerModelRuns(t *testing.T) {
	small := mustNew(t, Config{Workload: Workload{Name: WorkloadPoisson, Rate: 2, Duration: 20 * time.Second, Seed: 1}})
	large := mustNew(t, Config{Model: "llama-3.1-70b-fp8-tp2", Workload: Workload{Name: WorkloadPoisson, Rate: 2, Duration: 20 * time.Second, Seed: 1}})
	small.RunUntilDone(time.Hour)
	large.RunUntilDone(time.Hour)
	ts, tl := small.Truth(), large.Truth()
	if ts.OutputTokens != tl.OutputTokens {
		t.Fatalf("same workload, different tokens: %v vs %v", ts.OutputTokens, tl.OutputTokens)
	}
	// 35 GB of weights per step against 16 GB: decode is memory-bound, so
	// TPOT should grow roughly with the weight bytes.
	ratio := tl.TPOT.Quantile(0.5) / ts.TPOT.Quantile(0.5)
	if ratio < 1.5 || ratio > 3 {
		t.Errorf("70B/8B median TPOT ratio %.2f, want 1.5–3", ratio)
	}
}

// arrivalTimes drains a workload's first n arrivals (or until it ends).
func arrivalTimes(t *testing.T, wl Workload, n int) []pendingRequest {
	t.Helper()
	a, err := newArrivals(wl)
	if err != nil {
		t.Fatal(err)
	}
	var out []pendingRequest
	for len(out) < n {
		p, ok := a.peek()
		if !ok {
			break
		}
		out = append(out, p)
		a.take()
	}
	return out
}

func TestReplayScalingAndLoop(t *testing.T) {
	tr := smallTrace(5, time.Second, 100, 10) // arrivals at 0..4 s
	tests := []struct {
		name string
		wl   Workload
		want []time.Duration
	}{
		{"plain ends", Workload{}, []time.Duration{0, 1, 2, 3, 4}},
		{"offset", Workload{Offset: 2 * time.Second}, []time.Duration{0, 1, 2}},
		{"time scale 2", Workload{TimeScale: 2}, []time.Duration{0, 2, 4, 6, 8}},
		{"rate scale 2", Workload{RateScale: 2}, []time.Duration{0, 0.5e3, 1e3, 1.5e3, 2e3}},
		{"loop", Workload{Loop: true}, []time.Duration{0, 1, 2, 3, 4, 5, 6, 7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wl := tc.wl
			wl.Name, wl.Trace = WorkloadAzureConv, tr
			got := arrivalTimes(t, wl, 8)
			if len(got) != len(tc.want) {
				t.Fatalf("%d arrivals, want %d", len(got), len(tc.want))
			}
			unit := time.Second
			if tc.name == "rate scale 2" {
				unit = time.Millisecond
			}
			for i, p := range got {
				if p.at != tc.want[i]*unit {
					t.Errorf("arrival %d at %v, want %v", i, p.at, tc.want[i]*unit)
				}
			}
		})
	}
}

func TestSyntheticRates(t *testing.T) {
	const horizon = 1800 * time.Second
	tests := []struct {
		name      string
		rate      float64
		wantMean  float64 // requests per second over the horizon
		tolerance float64
	}{
		{WorkloadPoisson, 5, 5, 0.05},
		{WorkloadBursty, 5, 5, 0.08},
		{WorkloadRamp, 5, 5 * 1.05, 0.08}, // mean of 0.1…2.0 × rate
		{WorkloadPhases, 5, 5 * (0.6*60 + 60) / 150, 0.08},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := arrivalTimes(t, Workload{Name: tc.name, Rate: tc.rate, Duration: horizon, Seed: 11}, 1<<20)
			mean := float64(len(got)) / horizon.Seconds()
			if math.Abs(mean-tc.wantMean) > tc.tolerance*tc.wantMean {
				t.Errorf("mean rate %.3f/s, want %.3f ± %.0f%%", mean, tc.wantMean, 100*tc.tolerance)
			}
			for i := 1; i < len(got); i++ {
				if got[i].at < got[i-1].at {
					t.Fatalf("arrival %d goes back in time", i)
				}
			}
		})
	}
}

func TestSyntheticShapes(t *testing.T) {
	bursty := arrivalTimes(t, Workload{Name: WorkloadBursty, Rate: 5, Duration: 600 * time.Second, Seed: 1}, 1<<20)
	var on, off float64
	for _, p := range bursty {
		if math.Mod(p.at.Seconds(), 30) < 10 {
			on++
		} else {
			off++
		}
	}
	// 2.7r for 10 s against 0.15r for 20 s: 9 times as many in the bursts.
	if ratio := on / off; ratio < 6 || ratio > 13 {
		t.Errorf("bursty: %v arrivals on, %v off (ratio %.1f, want ~9)", on, off, ratio)
	}
	phases := arrivalTimes(t, Workload{Name: WorkloadPhases, Rate: 5, Duration: 1500 * time.Second, Seed: 1}, 1<<20)
	var prefillPrompt, decodeOut, prefillN, decodeN float64
	for _, p := range phases {
		switch ph := math.Mod(p.at.Seconds(), 150); {
		case ph < 60:
			prefillPrompt += float64(p.prompt)
			prefillN++
		case ph < 120:
			decodeOut += float64(p.output)
			decodeN++
		default:
			t.Fatalf("arrival at %v falls in an idle phase", p.at)
		}
	}
	if m := prefillPrompt / prefillN; m < 3000 {
		t.Errorf("prefill-heavy phase: mean prompt %.0f tokens, want ≥3000", m)
	}
	if m := decodeOut / decodeN; m < 450 {
		t.Errorf("decode-heavy phase: mean output %.0f tokens, want ≥450", m)
	}
	ramp := arrivalTimes(t, Workload{Name: WorkloadRamp, Rate: 5, Duration: 600 * time.Second, Seed: 1}, 1<<20)
	var first, last float64
	for _, p := range ramp {
		switch {
		case p.at < 100*time.Second:
			first++
		case p.at >= 500*time.Second:
			last++
		}
	}
	if last < 4*first {
		t.Errorf("ramp: %v arrivals in the first 100 s, %v in the last, want a rising rate", first, last)
	}
}
