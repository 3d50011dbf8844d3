package fakegpu

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

func TestControllerRecordsCalls(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name                string
		cfg                 Config
		coreErr, memErr     error
		wantCore, wantMem   int
		wantCallsAfterReset int
	}{
		{"H100 defaults", Config{}, nil, nil, 1410, 1593, 4},
		{"memory lock refused", Config{RefuseMemLock: true}, nil, nvgpu.ErrNotSupported, 1410, 0, 4},
		{"no permission", Config{NoPermission: true}, nvgpu.ErrNoPermission, nvgpu.ErrNoPermission, 0, 0, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := New(tc.cfg)
			if err := g.LockCoreClock(ctx, 1410); !errors.Is(err, tc.coreErr) {
				t.Errorf("core lock err = %v, want %v", err, tc.coreErr)
			}
			if err := g.LockMemClock(ctx, 1593); !errors.Is(err, tc.memErr) {
				t.Errorf("mem lock err = %v, want %v", err, tc.memErr)
			}
			core, mem := g.Locked()
			if core != tc.wantCore || mem != tc.wantMem {
				t.Errorf("locked %d/%d, want %d/%d", core, mem, tc.wantCore, tc.wantMem)
			}
			if s, _ := g.Sample(ctx); tc.wantCore != 0 && s.SMClockMHz != tc.wantCore {
				t.Errorf("sample clock %d, want the lock %d", s.SMClockMHz, tc.wantCore)
			}
			g.ResetCoreClock(ctx)
			g.ResetMemClock(ctx)
			calls := g.Calls()
			if len(calls) != tc.wantCallsAfterReset || calls[0].Op != "lock-core" || calls[0].MHz != 1410 || calls[3].Op != "reset-mem" {
				t.Errorf("calls = %+v", calls)
			}
			if f := g.Facts(); f.MemLockSupported == tc.cfg.RefuseMemLock || len(f.CoreClocksMHz) != 110 {
				t.Errorf("facts = %+v", f)
			}
		})
	}
	if err := New(Config{}).LockCoreClock(ctx, 1411); !errors.Is(err, nvgpu.ErrUnsupportedClock) {
		t.Errorf("unsupported clock err = %v", err)
	}
}

// TestArtefacts checks the fake has the measured H100 behaviour the meter
// must cope with.
func TestArtefacts(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_800_000_000, 0)
	square := func(d time.Duration) float64 { // 0.5 s on/off
		if math.Mod(d.Seconds(), 1) < 0.5 {
			return 750
		}
		return 150
	}
	g := New(Config{Power: square, Now: func() time.Time { return now }, Seed: 3})
	var lastMJ uint64
	var lastChange time.Time
	var gaps []time.Duration
	minAvg, maxAvg := math.Inf(1), math.Inf(-1)
	minInst, maxInst := uint32(math.MaxUint32), uint32(0)
	for i := range 1000 { // 10 s in 10 ms steps
		now = now.Add(10 * time.Millisecond)
		mJ, _ := g.EnergyCounter(ctx)
		if mJ != lastMJ {
			if !lastChange.IsZero() {
				gaps = append(gaps, now.Sub(lastChange))
			}
			lastMJ, lastChange = mJ, now
		}
		p, _ := g.InstantPower(ctx)
		s, _ := g.Sample(ctx)
		if i > 200 {
			minAvg, maxAvg = min(minAvg, s.PowerAvgW), max(maxAvg, s.PowerAvgW)
			minInst, maxInst = min(minInst, p.MilliWatts), max(maxInst, p.MilliWatts)
		}
	}
	for _, gap := range gaps[1:] {
		if gap < 60*time.Millisecond || gap > 140*time.Millisecond {
			t.Errorf("counter stepped after %v, want 64–128 ms", gap)
		}
	}
	if maxAvg-minAvg > 60 {
		t.Errorf("GetPowerUsage swung %.0f–%.0f W: not a 1 s average", minAvg, maxAvg)
	}
	if maxInst < 700000 || minInst > 200000 {
		t.Errorf("instant power %d–%d mW does not follow the bursts", minInst, maxInst)
	}
	if e := g.TrueEnergyJ(g.Start(), g.Start().Add(time.Second)); math.Abs(e-450) > 0.5 {
		t.Errorf("true energy of one burst period = %.2f J, want 450", e)
	}
}
