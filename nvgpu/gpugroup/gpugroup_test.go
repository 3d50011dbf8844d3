package gpugroup

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// fakeGPU records its clock and fails locks when told to.
type fakeGPU struct {
	facts    nvgpu.Facts
	sample   nvgpu.Sample
	energyMJ uint64
	powerMW  uint32
	at       time.Time
	lockErr  error
	coreMHz  int // 0: default governor
	resets   int
}

func (f *fakeGPU) Facts() nvgpu.Facts { return f.facts }
func (f *fakeGPU) Sample(context.Context) (nvgpu.Sample, error) {
	return f.sample, nil
}
func (f *fakeGPU) InstantPower(context.Context) (nvgpu.PowerReading, error) {
	return nvgpu.PowerReading{At: f.at, MilliWatts: f.powerMW}, nil
}
func (f *fakeGPU) EnergyCounter(context.Context) (uint64, error) { return f.energyMJ, nil }
func (f *fakeGPU) LockCoreClock(_ context.Context, mhz int) error {
	if f.lockErr != nil {
		return f.lockErr
	}
	f.coreMHz = mhz
	return nil
}
func (f *fakeGPU) ResetCoreClock(context.Context) error    { f.coreMHz = 0; f.resets++; return nil }
func (f *fakeGPU) LockMemClock(context.Context, int) error { return nvgpu.ErrNotSupported }
func (f *fakeGPU) ResetMemClock(context.Context) error     { return nil }

func members(n int) ([]*fakeGPU, []nvgpu.Reader, []nvgpu.Controller) {
	t0 := time.Unix(100, 0)
	var fakes []*fakeGPU
	var rs []nvgpu.Reader
	var cs []nvgpu.Controller
	for i := range n {
		f := &fakeGPU{
			facts: nvgpu.Facts{Index: i, UUID: "GPU-" + string(rune('a'+i)), Name: "H100",
				CoreClocksMHz: []int{1000, 1500, 1980 - 15*i}, PowerLimitW: 700, EnergyCounter: true, InstantPower: true},
			sample:   nvgpu.Sample{SMClockMHz: 1980 - 15*i, MemClockMHz: 2619, PowerAvgW: 300, TempC: 50 + float64(i), UtilGPU: 1, EventReason: 1 << i},
			energyMJ: uint64(1000 * (i + 1)), powerMW: 300_000, at: t0.Add(time.Duration(-i) * time.Millisecond),
		}
		fakes, rs, cs = append(fakes, f), append(rs, f), append(cs, f)
	}
	return fakes, rs, cs
}

func TestGroupReads(t *testing.T) {
	_, rs, cs := members(2)
	g, err := New(rs, cs)
	if err != nil {
		t.Fatal(err)
	}
	f := g.Facts()
	if f.Index != 0 || f.UUID != "GPU-a+GPU-b" || !slices.Equal(f.CoreClocksMHz, []int{1000, 1500}) || f.PowerLimitW != 1400 {
		t.Errorf("facts %+v: want index 0, UUID GPU-a+GPU-b, the shared clocks [1000 1500], 1400 W", f)
	}
	s, _ := g.Sample(t.Context())
	if s.SMClockMHz != 1965 || s.PowerAvgW != 600 || s.TempC != 51 || s.EventReason != 3 || s.UtilGPU != 1 {
		t.Errorf("sample %+v: want the slowest clock, summed power, hottest die, OR-ed reasons", s)
	}
	if mj, _ := g.EnergyCounter(t.Context()); mj != 3000 {
		t.Errorf("energy %d mJ, want the sum 3000", mj)
	}
	p, _ := g.InstantPower(t.Context())
	if p.MilliWatts != 600_000 || !p.At.Equal(time.Unix(100, 0).Add(-time.Millisecond)) {
		t.Errorf("instant power %+v: want 600 W at the oldest read", p)
	}
}

func TestGroupLocksTogether(t *testing.T) {
	tests := []struct {
		name      string
		failOn    int // member whose lock fails; -1 none
		wantClock []int
	}{
		{"all lock", -1, []int{1500, 1500, 1500}},
		{"one refuses: all reset", 1, []int{0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fakes, rs, cs := members(3)
			if tt.failOn >= 0 {
				fakes[tt.failOn].lockErr = nvgpu.ErrNoPermission
			}
			g, err := New(rs, cs)
			if err != nil {
				t.Fatal(err)
			}
			err = g.LockCoreClock(t.Context(), 1500)
			if (tt.failOn >= 0) != errors.Is(err, nvgpu.ErrNoPermission) {
				t.Errorf("lock error %v", err)
			}
			for i, f := range fakes {
				if f.coreMHz != tt.wantClock[i] {
					t.Errorf("member %d at %d MHz, want %d", i, f.coreMHz, tt.wantClock[i])
				}
			}
			if err := g.ResetCoreClock(t.Context()); err != nil {
				t.Fatal(err)
			}
			for i, f := range fakes {
				if f.coreMHz != 0 {
					t.Errorf("member %d not reset", i)
				}
			}
		})
	}
}

func TestGroupRefusals(t *testing.T) {
	fakes, rs, cs := members(2)
	fakes[1].facts.Name = "A100"
	if _, err := New(rs, cs); !errors.Is(err, ErrMixedGroup) {
		t.Errorf("mixed models: %v, want ErrMixedGroup", err)
	}
	fakes[1].facts.Name = "H100"
	fakes[1].facts.CoreClocksMHz = []int{42}
	if _, err := New(rs, cs); !errors.Is(err, ErrMixedGroup) {
		t.Errorf("no shared clock: %v, want ErrMixedGroup", err)
	}
	if _, err := New(nil, nil); err == nil {
		t.Errorf("empty group accepted")
	}
	if _, err := New(rs, cs[:1]); err == nil {
		t.Errorf("controller count mismatch accepted")
	}
	_, rs, _ = members(2)
	g, err := New(rs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.LockCoreClock(t.Context(), 1500); err == nil {
		t.Errorf("read-only group locked")
	}
}
