package sim

import "time"

// GPU is the simulated GPU's state: a value type that clones by assignment.
//
// PLACEHOLDER: a crude roofline so the engine half compiles while the GPU
// half (profiles, calibrated power model, cap, governor, artefacts) is built.
// The GPU half replaces this file; keep these method signatures.
type GPU struct {
	now       time.Duration // virtual time since start
	clockMHz  int
	energyJ   float64
	lastPower float64
}

// NewGPU builds a GPU from a profile name ("h100-sxm", "a100-sxm") and a
// parameter-set name ("nominal", "pessimistic", "optimistic").
func NewGPU(profile, params string) (GPU, error) {
	return GPU{clockMHz: 1980}, nil
}

// StepTime is how long w takes at the clock in effect now.
func (g *GPU) StepTime(w Work) time.Duration {
	if w.IsIdle() {
		return 0
	}
	f := float64(g.clockMHz) / 1980
	compute := w.FLOPs / (989e12 * 0.7 * f)
	mem := w.Bytes / 2.6e12
	return time.Duration((max(compute, mem) + 0.002) * float64(time.Second))
}

// Advance runs w (zero Work: idle with a CUDA context held) for d.
func (g *GPU) Advance(d time.Duration, w Work) {
	p := 120.0
	if !w.IsIdle() {
		p = 500
	}
	g.lastPower = p
	g.energyJ += p * d.Seconds()
	g.now += d
}

// Now is the GPU's virtual time since start.
func (g *GPU) Now() time.Duration { return g.now }
