package sim

import (
	"math"
	"testing"
)

// Shapes and published anchors, asserted numerically for every parameter set.

// llamaDecode is one decode step of Llama-3.1-8B bf16 at batch b with ctx
// tokens of context per sequence: 16 GB of weights plus 128 KiB of KV per
// context token read, 2·8e9 FLOP per token.
func llamaDecode(b, ctx int) Work {
	return Work{FLOPs: float64(b) * 2 * 8e9, Bytes: 16e9 + float64(b*ctx)*128*1024, Tokens: b}
}

// llamaPrefill is one prefill chunk of n tokens (compute bound).
func llamaPrefill(n int) Work {
	return Work{FLOPs: float64(n) * 2 * 8e9, Bytes: 16e9 + float64(n)*128*1024, Tokens: n}
}

// steadyPoint is power and step time for w held at clock lock f (the power
// cap still applies) once the temperature has settled.
type steadyPoint struct{ f, power, step float64 }

func steady(p physics, w Work, lockMHz float64) steadyPoint {
	th := p.prof.Thermal
	mem := p.prof.DefaultMemMHz()
	t := th.AmbientC + 20
	var f, pw float64
	for range 30 {
		f, _ = p.capClock(w, lockMHz, mem, t, p.prof.PowerLimitW)
		pw, _ = p.powerFor(w, f, mem, t)
		t = th.AmbientC + (th.RSinkAmbient+th.RDieSink)*pw
	}
	return steadyPoint{f: f, power: pw, step: p.stepSeconds(w, f, mem)}
}

func allPhysics(t *testing.T) []physics {
	t.Helper()
	var out []physics
	for _, prof := range ProfileNames() {
		for _, set := range ParamSetNames() {
			p, _ := LookupProfile(prof)
			s, _ := LookupParams(set)
			out = append(out, physics{prof: p, set: s})
		}
	}
	return out
}

func TestShapeComputeEnergyIsUShaped(t *testing.T) {
	for _, p := range allPhysics(t) {
		w := llamaPrefill(8192)
		best, bestE := 0, math.Inf(1)
		clocks := p.prof.CoreClocks()
		energy := make([]float64, len(clocks))
		for i, f := range clocks {
			s := steady(p, w, float64(f))
			energy[i] = s.power * s.step
			if energy[i] < bestE {
				best, bestE = i, energy[i]
			}
		}
		lo, hi := energy[0], energy[len(energy)-1]
		t.Logf("%s/%s prefill 8192: J at %d MHz %.1f, min %.1f at %d MHz, at %d MHz %.1f",
			p.prof.Name, p.set.Name, clocks[0], lo, bestE, clocks[best], clocks[len(clocks)-1], hi)
		if best == 0 || best == len(clocks)-1 {
			t.Errorf("%s/%s: energy minimum at the edge (%d MHz)", p.prof.Name, p.set.Name, clocks[best])
		}
		// U-shaped, not flat: both ends cost clearly more than the minimum.
		if lo < 1.05*bestE || hi < 1.05*bestE {
			t.Errorf("%s/%s: ends %.1f and %.1f J not ≥5%% above the minimum %.1f J", p.prof.Name, p.set.Name, lo, hi, bestE)
		}
	}
}

// decodeKneeLoss is the stated bound: small-batch decode throughput stays
// within this fraction of its max-clock value from the max clock down to
// the parameter set's bandwidth knee.
const decodeKneeLoss = 0.10

func TestShapeDecodeThroughputFlatToKnee(t *testing.T) {
	for _, p := range allPhysics(t) {
		w := llamaDecode(8, 1024)
		top := steady(p, w, float64(p.prof.MaxCoreMHz))
		knee := p.set.BWKneeFrac * float64(p.prof.MaxCoreMHz)
		var worstAbove, atHalfKnee float64
		for _, f := range p.prof.CoreClocks() {
			loss := 1 - top.step/steady(p, w, float64(f)).step
			if float64(f) >= knee {
				worstAbove = max(worstAbove, loss)
			}
			if math.Abs(float64(f)-knee/2) < 8 {
				atHalfKnee = loss
			}
		}
		t.Logf("%s/%s decode b8: worst loss above knee %.0f MHz = %.1f%%, at half the knee %.1f%%",
			p.prof.Name, p.set.Name, knee, 100*worstAbove, 100*atHalfKnee)
		if worstAbove > decodeKneeLoss {
			t.Errorf("%s/%s: decode throughput falls %.1f%% above the knee (bound %.0f%%)", p.prof.Name, p.set.Name, 100*worstAbove, 100*decodeKneeLoss)
		}
		if p.set.BWKneeFrac/2*float64(p.prof.MaxCoreMHz) > float64(p.prof.MinCoreMHz) && atHalfKnee < 0.3 {
			t.Errorf("%s/%s: below the knee throughput should fall (only %.1f%% at half the knee)", p.prof.Name, p.set.Name, 100*atHalfKnee)
		}
	}
}

// decodeSaving is the best energy-per-token saving against the max clock
// among clocks that keep ≥97% of max-clock decode throughput.
func decodeSaving(p physics, w Work) (saving float64, atMHz int) {
	top := steady(p, w, float64(p.prof.MaxCoreMHz))
	eTop := top.power * top.step
	best := eTop
	atMHz = p.prof.MaxCoreMHz
	for _, f := range p.prof.CoreClocks() {
		s := steady(p, w, float64(f))
		if top.step/s.step >= 0.97 && s.power*s.step < best {
			best, atMHz = s.power*s.step, f
		}
	}
	return 1 - best/eTop, atMHz
}

// TestAnchorDecodeSavingsBracketPublished checks the three H100 sets against
// the published decode results they were taken from: pessimistic near
// NVIDIA's "up to 15% at ≥97% performance", nominal near the H200 paper's
// "up to 32% at minimal throughput loss", optimistic near the RTX PRO 6000
// paper's "−42% energy at +1–6% latency" (which allowed a little more loss).
func TestAnchorDecodeSavingsBracketPublished(t *testing.T) {
	prof, _ := LookupProfile("h100-sxm")
	want := map[string][2]float64{"pessimistic": {0.05, 0.22}, "nominal": {0.20, 0.40}, "optimistic": {0.30, 0.50}}
	prev := -1.0
	for _, name := range []string{"pessimistic", "nominal", "optimistic"} {
		set, _ := LookupParams(name)
		s, f := decodeSaving(physics{prof: prof, set: set}, llamaDecode(8, 1024))
		t.Logf("h100/%s: decode b8 saving %.1f%% at %d MHz (≥97%% throughput)", name, 100*s, f)
		if s < want[name][0] || s > want[name][1] {
			t.Errorf("%s: saving %.1f%% outside [%.0f%%, %.0f%%]", name, 100*s, 100*want[name][0], 100*want[name][1])
		}
		if s <= prev {
			t.Errorf("%s: saving %.1f%% not above the more pessimistic set's", name, 100*s)
		}
		prev = s
	}
}

// TestAnchorLlamaEnergyAndTPOT reproduces the ML.ENERGY anchor (~0.12 J per
// output token, Llama-3.1-8B, one H100, vLLM, batch 64) and decode TPOT of
// roughly 6–15 ms at low batch, at the default governor. The context is
// 1,536 tokens per sequence (a chat prompt plus half its answer) — an
// assumption, stated in docs/simulator.md.
func TestAnchorLlamaEnergyAndTPOT(t *testing.T) {
	for _, set := range ParamSetNames() {
		p := physics{prof: h100SXM(), set: mustParams(t, set)}
		s := steady(p, llamaDecode(64, 1536), 1980)
		jPerTok := s.power * s.step / 64
		t.Logf("%s: batch 64 decode %.1f ms, %.0f W, %.3f J/token", set, 1000*s.step, s.power, jPerTok)
		// ML.ENERGY's figure includes prefill and engine overheads the GPU
		// model alone does not: hold it to within ±40%.
		if jPerTok < 0.12*0.6 || jPerTok > 0.12*1.4 {
			t.Errorf("%s: %.3f J/token, anchor ~0.12", set, jPerTok)
		}
		for _, b := range []int{1, 4, 16} {
			tpot := steady(p, llamaDecode(b, 1536), 1980).step * 1000
			t.Logf("%s: batch %d TPOT %.2f ms", set, b, tpot)
			if tpot < 6 || tpot > 15 {
				t.Errorf("%s: batch %d TPOT %.2f ms outside 6–15 ms", set, b, tpot)
			}
		}
	}
}

func mustParams(t *testing.T, name string) *ParamSet {
	t.Helper()
	s, err := LookupParams(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
