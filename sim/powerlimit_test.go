package sim

import (
	"math"
	"testing"
	"time"

	"github.com/gputune/gputune/nvgpu"
)

// A lower power limit holds the clock down exactly as the default 700 W one
// does: board power at the limit, the power-cap reason set.
func TestSetPowerLimitThrottles(t *testing.T) {
	w := llamaDecode(64, 1024)
	free := mustGPU(t, "h100-sxm", "nominal")
	free.Advance(5*time.Second, w)
	for _, limit := range []float64{300, 450} {
		g := mustGPU(t, "h100-sxm", "nominal")
		if err := g.SetPowerLimitW(limit); err != nil {
			t.Fatal(err)
		}
		g.Advance(5*time.Second, w)
		if g.EventReasons()&nvgpu.ReasonSWPowerCap == 0 || math.Abs(g.PowerW()-limit) > 1 {
			t.Errorf("limit %g W: %.1f W at %.0f MHz, reasons %#x", limit, g.PowerW(), g.SMClockMHz(), g.EventReasons())
		}
		if g.SMClockMHz() >= free.SMClockMHz() || g.Facts().PowerLimitW != limit || g.PowerLimitW() != limit {
			t.Errorf("limit %g W: clock %.0f MHz (uncapped %.0f), facts %g W", limit, g.SMClockMHz(), free.SMClockMHz(), g.Facts().PowerLimitW)
		}
	}
}

func TestSetPowerLimitRejectsOutOfRange(t *testing.T) {
	g := mustGPU(t, "h100-sxm", "nominal")
	for _, w := range []float64{0, 199, 701, math.NaN()} {
		if err := g.SetPowerLimitW(w); err == nil {
			t.Errorf("limit %g W accepted", w)
		}
	}
	if g.PowerLimitW() != 700 {
		t.Errorf("a rejected limit changed it to %g W", g.PowerLimitW())
	}
}

func TestInServerAgeGrowsWithQueue(t *testing.T) {
	s, err := New(Config{Workload: Workload{Name: WorkloadPoisson, Rate: 20, Duration: time.Minute, Seed: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if a := s.InServerAgeS(); a != 0 {
		t.Fatalf("empty server age %g", a)
	}
	s.Step(10 * time.Second)
	tr := s.Truth()
	n := float64(tr.Running + tr.Waiting)
	a := s.InServerAgeS()
	if n == 0 || a <= 0 || a > n*10 {
		t.Errorf("%g requests in server, Σ age %g s", n, a)
	}
}
