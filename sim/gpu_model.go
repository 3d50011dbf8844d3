package sim

import "math"

// The pure physics of the simulated GPU: step time and power as functions of
// the work, the SM clock, the memory clock and the die temperature. Nothing
// here has state; gpu.go integrates it over time.

// voltage is V(f): flat at VMin up to the knee, then linear to VMax.
func (p *Profile) voltage(fMHz float64) float64 {
	if fMHz <= p.VKneeMHz {
		return p.VMin
	}
	return p.VMin + (p.VMax-p.VMin)*(fMHz-p.VKneeMHz)/(float64(p.MaxCoreMHz)-p.VKneeMHz)
}

// dynScale is φ(f) = (f/fmax)·(V(f)/Vmax)², the core's dynamic power
// relative to its value at the maximum clock.
func (p *Profile) dynScale(fMHz float64) float64 {
	v := p.voltage(fMHz) / p.VMax
	return fMHz / float64(p.MaxCoreMHz) * v * v
}

// bwShape is 1/(1+(knee/f)^8)^(1/8): ~1 well above the knee, ∝ f well below.
func bwShape(fMHz, kneeMHz float64) float64 {
	x := kneeMHz / fMHz
	x2 := x * x
	x4 := x2 * x2
	return 1 / math.Sqrt(math.Sqrt(math.Sqrt(1+x4*x4)))
}

// physics binds a profile to a parameter set and a memory clock.
type physics struct {
	prof *Profile
	set  *ParamSet
}

// bandwidth is the achievable HBM bandwidth (B/s) at SM clock f and memory
// clock memMHz: the probe's value at max clock, shaped by the parameter
// set's knee, scaled with the memory clock.
func (m physics) bandwidth(fMHz float64, memMHz int) float64 {
	knee := m.set.BWKneeFrac * float64(m.prof.MaxCoreMHz)
	rel := bwShape(fMHz, knee) / bwShape(float64(m.prof.MaxCoreMHz), knee)
	return m.prof.AchievableBandwidth * rel * float64(memMHz) / float64(m.prof.DefaultMemMHz())
}

// peakFLOPs is the dense tensor peak at f (FLOP/s).
func (m physics) peakFLOPs(fMHz float64) float64 {
	return m.prof.PeakFLOPPerCycle * fMHz * 1e6
}

// stepSeconds is how long w takes at f: a smooth roofline (the cube-root
// of the sum of cubes of compute and memory time, because real kernels do
// not overlap the two perfectly near the ridge: the probe's batch-256 GEMV
// ran 29% slower than the plain max) plus a fixed per-step overhead.
func (m physics) stepSeconds(w Work, fMHz float64, memMHz int) float64 {
	if w.IsIdle() {
		return 0
	}
	tc := w.FLOPs / (m.prof.GEMMEfficiency * m.peakFLOPs(fMHz))
	tm := w.Bytes / m.bandwidth(fMHz, memMHz)
	return math.Cbrt(tc*tc*tc+tm*tm*tm) + m.prof.StepOverheadS
}

// activity is what the power model needs to know about running w at f.
type activity struct {
	tensorUtil float64 // FLOP/s over the tensor peak at f
	traffic    float64 // HBM B/s
	flopRate   float64 // FLOP/s
}

func (m physics) activityOf(w Work, fMHz float64, memMHz int) activity {
	if w.IsIdle() {
		return activity{}
	}
	t := m.stepSeconds(w, fMHz, memMHz)
	return activity{
		tensorUtil: w.FLOPs / t / m.peakFLOPs(fMHz),
		traffic:    w.Bytes / t,
		flopRate:   w.FLOPs / t,
	}
}

// power returns total board power and the memory domain's share (W) at
// clock f, die temperature tempC, for activity a.
func (m physics) power(a activity, fMHz float64, memMHz int, tempC float64) (total, mem float64) {
	c := &m.prof.Power
	phi := m.prof.dynScale(fMHz)
	s := m.set.ClockShare
	rho := a.traffic / m.prof.SpecBandwidth
	memRel := float64(memMHz) / float64(m.prof.DefaultMemMHz())
	mem = c.MemIdle*memRel + c.MemPerByte*a.traffic + c.MemPerFLOP*a.flopRate
	rest := c.Base + c.Clock*phi + c.Tensor*a.tensorUtil*phi + c.Traffic*rho*(s*phi+1-s)
	return rest + mem + m.leak(fMHz, tempC), mem
}

// leak is the temperature-dependent part of power at f and tempC.
func (m physics) leak(fMHz, tempC float64) float64 {
	c := &m.prof.Power
	return c.Leak * (tempC - c.TRef) * m.prof.voltage(fMHz) / m.prof.VMax
}

// powerFor is power for work w at clock f.
func (m physics) powerFor(w Work, fMHz float64, memMHz int, tempC float64) (total, mem float64) {
	return m.power(m.activityOf(w, fMHz, memMHz), fMHz, memMHz, tempC)
}

// capClock is the clock the power cap allows for w when the governor or a
// lock asks for target: target itself when it fits under limitW, else the
// highest clock (continuous, as the firmware dithers between steps) whose
// power meets the cap. capped reports whether the cap bound.
func (m physics) capClock(w Work, target float64, memMHz int, tempC, limitW float64) (f float64, capped bool) {
	if p, _ := m.powerFor(w, target, memMHz, tempC); p <= limitW {
		return target, false
	}
	lo, hi := float64(m.prof.MinCoreMHz), target
	pLo, _ := m.powerFor(w, lo, memMHz, tempC)
	if pLo >= limitW {
		return lo, true
	}
	pHi, _ := m.powerFor(w, hi, memMHz, tempC)
	// Power rises monotonically with f for fixed work, and nearly linearly
	// in φ(f): regula falsi with the Illinois fix converges in a handful of
	// evaluations to well under a MHz.
	gLo, gHi := pLo-limitW, pHi-limitW
	side := 0
	for range 24 {
		mid := hi - gHi*(hi-lo)/(gHi-gLo)
		pm, _ := m.powerFor(w, mid, memMHz, tempC)
		gm := pm - limitW
		if math.Abs(gm) < 0.05 || hi-lo < 0.1 {
			return mid, true
		}
		if gm > 0 {
			hi, gHi = mid, gm
			if side == -1 {
				gLo /= 2
			}
			side = -1
		} else {
			lo, gLo = mid, gm
			if side == 1 {
				gHi /= 2
			}
			side = 1
		}
	}
	return lo, true
}
