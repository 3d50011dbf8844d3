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

// physics binds a profile to a parameter set.
type physics struct {
	prof *Profile
	set  *ParamSet
	// bwTop is bwShape at the maximum clock (0: not yet computed; a
	// physics built as a literal computes it on each use).
	bwTop float64
}

// newPhysics is physics with its constants precomputed.
func newPhysics(prof *Profile, set *ParamSet) physics {
	m := physics{prof: prof, set: set}
	m.bwTop = m.bwAtMax()
	return m
}

func (m physics) bwAtMax() float64 {
	return bwShape(float64(m.prof.MaxCoreMHz), m.set.BWKneeFrac*float64(m.prof.MaxCoreMHz))
}

// bandwidth is the achievable HBM bandwidth (B/s) at SM clock f and memory
// clock memMHz: the probe's value at max clock, shaped by the parameter
// set's knee, scaled with the memory clock.
func (m physics) bandwidth(fMHz float64, memMHz int) float64 {
	knee := m.set.BWKneeFrac * float64(m.prof.MaxCoreMHz)
	top := m.bwTop
	if top == 0 {
		top = m.bwAtMax()
	}
	rel := bwShape(fMHz, knee) / top
	return m.prof.AchievableBandwidth * rel * float64(memMHz) / float64(m.prof.DefaultMemMHz())
}

// peakFLOPs is the dense tensor peak at f (FLOP/s).
func (m physics) peakFLOPs(fMHz float64) float64 {
	return m.prof.PeakFLOPPerCycle * fMHz * 1e6
}

// gemmEfficiency is the fraction of the tensor peak a GEMM of M tokens
// reaches. Work without a token count is taken to be a large GEMM.
func (m physics) gemmEfficiency(tokens int) float64 {
	if tokens <= 0 {
		return m.prof.GEMMEfficiency
	}
	mt := float64(tokens)
	return m.prof.GEMMEfficiency * mt / (mt + m.prof.GEMMHalfM)
}

// stepParts splits one step of w at f into the time of its main kernels
// (GEMMs, attention and weight streaming, plus the fixed launch overhead),
// the time of its small latency-bound kernels, and the host time during
// which the GPU waits. The last two are zero unless w is a server step.
//
// Main time is a smooth roofline, the p-norm of compute and memory time,
// because real kernels do not overlap the two perfectly near the ridge
// (the probe's batch-256 GEMV ran 29% slower than the plain max). Compute runs at the shape's GEMM efficiency; the
// weights stream at BW(f), the KV cache at KVReadEfficiency·BW(f).
func (m physics) stepParts(w Work, fMHz float64, memMHz int) (main, small, host float64) {
	if w.IsIdle() {
		return 0, 0, 0
	}
	tc := w.FLOPs / (m.gemmEfficiency(w.Tokens) * m.peakFLOPs(fMHz))
	bw := m.bandwidth(fMHz, memMHz)
	kv := min(w.KVReadBytes, w.Bytes)
	tm := (w.Bytes-kv)/bw + kv/(m.prof.KVReadEfficiency*bw)
	main = smoothMax(tc, tm, m.prof.RooflineP) + m.prof.StepOverheadS
	if w.ServerStep {
		small = m.set.SmallKernelS * float64(m.prof.MaxCoreMHz) / fMHz
		host = m.set.HostStepS
	}
	return main, small, host
}

// smoothMax is (a^p + b^p)^(1/p), with a fast path for the cube.
func smoothMax(a, b, p float64) float64 {
	if p == 3 {
		return math.Cbrt(a*a*a + b*b*b)
	}
	if a < b {
		a, b = b, a
	}
	if a == 0 {
		return 0
	}
	r := b / a
	if p == 6 { // the H100 fit; Pow is several times slower
		r2 := r * r
		return a * math.Sqrt(math.Cbrt(1+r2*r2*r2))
	}
	return a * math.Pow(1+math.Pow(r, p), 1/p)
}

// stepSeconds is how long w takes at f.
func (m physics) stepSeconds(w Work, fMHz float64, memMHz int) float64 {
	a, b, c := m.stepParts(w, fMHz, memMHz)
	return a + b + c
}

// activity is what the power model needs to know about the main kernels of
// w at f.
type activity struct {
	tensorUtil float64 // FLOP/s over the tensor peak at f
	traffic    float64 // HBM B/s
	flopRate   float64 // FLOP/s
}

func (m physics) activityOf(w Work, mainS, fMHz float64) activity {
	if w.IsIdle() || mainS <= 0 {
		return activity{}
	}
	return activity{
		tensorUtil: w.FLOPs / mainS / m.peakFLOPs(fMHz),
		traffic:    w.Bytes / mainS,
		flopRate:   w.FLOPs / mainS,
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

// powerFor is the mean power over one step of w at clock f: the main
// kernels at their activity; the small kernels and the host time at the
// idle power of clock f (latency-bound kernels keep the SMs mostly waiting
// on launches and synchronisation, and during host time the GPU waits with
// its clock held).
func (m physics) powerFor(w Work, fMHz float64, memMHz int, tempC float64) (total, mem float64) {
	_, total, mem = m.stepAndPower(w, fMHz, memMHz, tempC)
	return total, mem
}

// stepAndPower is stepSeconds and powerFor together, sharing the work (it
// is the per-step hot path: the terms of power are written out once here
// rather than evaluated twice through power).
func (m physics) stepAndPower(w Work, fMHz float64, memMHz int, tempC float64) (stepS, total, mem float64) {
	main, small, host := m.stepParts(w, fMHz, memMHz)
	c := &m.prof.Power
	phi := m.prof.dynScale(fMHz)
	idleMem := c.MemIdle * float64(memMHz) / float64(m.prof.DefaultMemMHz())
	idle := c.Base + c.Clock*phi + idleMem + m.leak(fMHz, tempC)
	if main == 0 {
		return 0, idle, idleMem
	}
	a := m.activityOf(w, main, fMHz)
	s := m.set.ClockShare
	busyMem := c.MemPerByte*a.traffic + c.MemPerFLOP*a.flopRate
	busy := c.Tensor*a.tensorUtil*phi + c.Traffic*a.traffic/m.prof.SpecBandwidth*(s*phi+1-s) + busyMem
	t := main + small + host
	// Small kernels and host time draw the idle power of clock f.
	return t, idle + busy*main/t, idleMem + busyMem*main/t
}

// capClock is the clock the power cap allows for w when the governor or a
// lock asks for target: target itself when it fits under limitW, else the
// highest clock (continuous, as the firmware dithers between steps) whose
// power meets the cap. capped reports whether the cap bound.
func (m physics) capClock(w Work, target float64, memMHz int, tempC, limitW float64) (f float64, capped bool) {
	p, _ := m.powerFor(w, target, memMHz, tempC)
	if p <= limitW {
		return target, false
	}
	return m.capClockAbove(w, target, p, memMHz, tempC, limitW), true
}

// capClockAbove is capClock for a target whose power pTarget is known to
// exceed limitW.
func (m physics) capClockAbove(w Work, target, pTarget float64, memMHz int, tempC, limitW float64) float64 {
	lo, hi := float64(m.prof.MinCoreMHz), target
	pLo, _ := m.powerFor(w, lo, memMHz, tempC)
	if pLo >= limitW {
		return lo
	}
	pHi := pTarget
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
			return mid
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
	return lo
}
