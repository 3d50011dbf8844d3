package nvgpu_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu"
	"github.com/gputune/gputune/nvgpu/fakegpu"
)

// mixedLoad walks through the shapes an inference server produces, 8 s
// each: idle with a context open, steady decode, compute-bound prefill at
// the cap, 0.5 s on/off bursts, fast 130 ms bursts, a slow swell, and a
// random step every 37 ms.
func mixedLoad(t time.Duration) float64 {
	s := t.Seconds()
	switch phase := int(s / 8); phase % 7 {
	case 0:
		return 120
	case 1:
		return 480
	case 2:
		return 700
	case 3:
		if math.Mod(s, 1) < 0.5 {
			return 750
		}
		return 150
	case 4:
		if math.Mod(s, 0.13) < 0.065 {
			return 650
		}
		return 250
	case 5:
		return 400 + 200*math.Sin(2*math.Pi*1.3*s)
	default:
		k := uint64(s / 0.037)
		k ^= k >> 33
		k *= 0xff51afd7ed558ccd
		k ^= k >> 33
		return 200 + float64(k%500)
	}
}

// TestMeterAgainstFakeH100 drives the meter in virtual time against a fake
// with the H100's artefacts and checks its 0.3 s windows against the exact
// energy of the true power trace.
func TestMeterAgainstFakeH100(t *testing.T) {
	cases := []struct {
		name       string
		sensorGain float64
		seed       uint64
	}{
		{"unbiased sensor", 1, 1},
		{"sensor reads 6% high", 1.06, 2},
		{"sensor reads 5% low", 0.95, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			gpu := fakegpu.New(fakegpu.Config{Power: mixedLoad, Now: func() time.Time { return now }, Seed: tc.seed, SensorGain: tc.sensorGain})
			m, err := nvgpu.NewMeter(nvgpu.MeterConfig{})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			const poll = 20 * time.Millisecond
			const window = 300 * time.Millisecond
			warmup := 20 * time.Second // calibration needs >= 10 s of counter span
			total := 2*time.Minute + warmup
			var rel, absJ []float64
			within, n := 0, 0
			for el := time.Duration(0); el < total; el += poll {
				now = now.Add(poll)
				r, _ := gpu.InstantPower(ctx)
				m.Observe(r)
				if int(el/poll)%250 == 0 { // every 5 s, as the Sampler
					mJ, _ := gpu.EnergyCounter(ctx)
					m.ObserveCounter(now, mJ)
				}
				if el < warmup || int(el/poll)%int(window/poll) != 0 {
					continue
				}
				// Ask for the window that ended 100 ms ago, once its
				// readings have settled.
				end := now.Add(-100 * time.Millisecond)
				start := end.Add(-window)
				got, bound, err := m.Energy(start, end)
				if err != nil {
					t.Fatal(err)
				}
				truth := gpu.TrueEnergyJ(start, end)
				d := math.Abs(got - truth)
				absJ = append(absJ, d)
				rel = append(rel, d/truth)
				if d <= bound {
					within++
				}
				n++
			}
			q := func(xs []float64, p float64) float64 {
				s := slices.Sorted(slices.Values(xs))
				return s[int(p*float64(len(s)-1))]
			}
			t.Logf("%d windows, gain %.3f: |err| median %.2f J (%.2f%%), p90 %.2f J, p99 %.2f J (%.1f%%), max %.2f J; within bound %.1f%%",
				n, m.Gain(), q(absJ, .5), 100*q(rel, .5), q(absJ, .9), q(absJ, .99), 100*q(rel, .99), slices.Max(absJ), 100*float64(within)/float64(n))
			if g := m.Gain() * tc.sensorGain; math.Abs(g-1) > 0.02 {
				t.Errorf("calibration left a %.1f%% gain error (gain %.3f for a sensor gain %.2f)", 100*(g-1), m.Gain(), tc.sensorGain)
			}
			if frac := float64(within) / float64(n); frac < 0.99 {
				t.Errorf("error within the reported bound for %.1f%% of windows, want >= 99%%", 100*frac)
			}
			if med := q(rel, .5); med > 0.02 {
				t.Errorf("median relative error %.2f%%, want <= 2%%", 100*med)
			}
		})
	}
}

func TestMeterErrors(t *testing.T) {
	m, err := nvgpu.NewMeter(nvgpu.MeterConfig{Capacity: 16})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(100, 0)
	if _, _, err := m.Energy(t0, t0.Add(time.Second)); !errors.Is(err, nvgpu.ErrNoPowerData) {
		t.Errorf("empty meter err = %v", err)
	}
	for i := range 100 {
		m.Observe(nvgpu.PowerReading{At: t0.Add(time.Duration(i) * 100 * time.Millisecond), MilliWatts: uint32(100000 + 1000*(i%2))})
	}
	last := t0.Add(9900 * time.Millisecond)
	cases := []struct {
		name       string
		start, end time.Time
		want       error
	}{
		{"reversed", last, last.Add(-time.Second), nvgpu.ErrBadWindow},
		{"empty", last, last, nvgpu.ErrBadWindow},
		{"evicted from the ring", t0, t0.Add(time.Second), nvgpu.ErrNoPowerData},
		{"after the readings stopped", last, last.Add(2 * time.Second), nvgpu.ErrNoPowerData},
		{"fine", last.Add(-time.Second), last, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j, b, err := m.Energy(tc.start, tc.end)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == nil && (math.Abs(j-100.5) > 1 || b <= 0) {
				t.Errorf("1 s at ~100.5 W = %.2f J ± %.2f", j, b)
			}
		})
	}
	for _, bad := range []nvgpu.MeterConfig{{Capacity: 3}, {Lag: -time.Second}, {MinCalibrationSpan: time.Hour}} {
		if _, err := nvgpu.NewMeter(bad); err == nil {
			t.Errorf("NewMeter(%+v) accepted a bad config", bad)
		}
	}
}

func TestMeterCounterReset(t *testing.T) {
	m, _ := nvgpu.NewMeter(nvgpu.MeterConfig{MinCalibrationSpan: time.Second, CalibrationSpan: 10 * time.Second})
	t0 := time.Unix(100, 0)
	var mJ uint64
	for i := range 300 {
		at := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		m.Observe(nvgpu.PowerReading{At: at, MilliWatts: 200000})
		mJ += 2 * 20 * 200 // the counter says 2x the sensor: the gain clamps at 1.25
		if i%25 == 0 {
			if i == 150 {
				mJ = 5 // driver reload
			}
			m.ObserveCounter(at, mJ)
		}
	}
	st := m.Stats()
	if st.CounterResets != 1 {
		t.Errorf("counter resets = %d, want 1", st.CounterResets)
	}
	if st.Gain != 1.25 {
		t.Errorf("gain = %v, want clamped to 1.25", st.Gain)
	}
}

// TestMeterDoesNotAllocate: Observe runs 50 times a second for as long as
// gputune runs; it must not feed the garbage collector.
func TestMeterDoesNotAllocate(t *testing.T) {
	m, _ := nvgpu.NewMeter(nvgpu.MeterConfig{})
	at := time.Unix(100, 0)
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		at = at.Add(20 * time.Millisecond)
		i++
		m.Observe(nvgpu.PowerReading{At: at, MilliWatts: uint32(100000 + (i/5)%7*1000)})
		if i%250 == 0 {
			m.ObserveCounter(at, uint64(i)*2000)
		}
		if i > 20 {
			m.Energy(at.Add(-300*time.Millisecond), at)
		}
	})
	if allocs != 0 {
		t.Errorf("%.1f allocations per observation, want 0", allocs)
	}
}

func BenchmarkMeterObserve(b *testing.B) {
	m, _ := nvgpu.NewMeter(nvgpu.MeterConfig{})
	at := time.Unix(100, 0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		at = at.Add(20 * time.Millisecond)
		m.Observe(nvgpu.PowerReading{At: at, MilliWatts: uint32(100000 + (i/5)%7*1000)})
	}
}

func BenchmarkMeterEnergy(b *testing.B) {
	m, _ := nvgpu.NewMeter(nvgpu.MeterConfig{})
	at := time.Unix(100, 0)
	for i := range 20000 { // fill the ring
		at = at.Add(20 * time.Millisecond)
		m.Observe(nvgpu.PowerReading{At: at, MilliWatts: uint32(100000 + (i/5)%7*1000)})
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Energy(at.Add(-400*time.Millisecond), at.Add(-100*time.Millisecond))
	}
}

func TestSamplerFeedsMeter(t *testing.T) {
	var clock atomic.Int64 // the sampler goroutine reads it while the test advances it
	clock.Store(time.Unix(1_800_000_000, 0).UnixNano())
	nowFn := func() time.Time { return time.Unix(0, clock.Load()) }
	gpu := fakegpu.New(fakegpu.Config{Power: fakegpu.Constant(300), Now: nowFn, Seed: 7})
	m, _ := nvgpu.NewMeter(nvgpu.MeterConfig{})
	ticks := make(chan time.Time)
	s, err := nvgpu.NewSampler(gpu, m, nvgpu.SamplerConfig{Ticks: ticks, CounterEvery: 50, Now: nowFn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	for range 1000 { // 20 s of virtual time
		ticks <- time.Unix(0, clock.Add(int64(20*time.Millisecond)))
	}
	cancel()
	now := nowFn()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	j, bound, err := m.Energy(now.Add(-1100*time.Millisecond), now.Add(-100*time.Millisecond))
	if err != nil || math.Abs(j-300) > bound || bound > 15 {
		t.Errorf("1 s at 300 W = %.2f J ± %.2f, %v", j, bound, err)
	}
	if st := m.Stats(); st.CounterReads < 10 {
		t.Errorf("counter read %d times in 20 s at every 50 ticks", st.CounterReads)
	}
	if _, err := nvgpu.NewSampler(nil, m, nvgpu.SamplerConfig{}, nil); err == nil {
		t.Error("NewSampler accepted a nil Reader")
	}
}
