package sim

import (
	"math"
	"testing"
)

// Shapes and published anchors, asserted numerically for every parameter set.

// llamaDecode is one decode step of Llama-3.1-8B bf16 as the simulated
// server runs it: batch b with ctx tokens of context per sequence (host
// time and small kernels included).
func llamaDecode(b, ctx int) Work {
	w, err := DecodeStepWork("llama-3.1-8b", b, ctx)
	if err != nil {
		panic(err)
	}
	return w
}

// llamaPrefill is one server prefill chunk of n tokens (compute bound).
func llamaPrefill(n int) Work {
	w, err := PrefillStepWork("llama-3.1-8b", n)
	if err != nil {
		panic(err)
	}
	return w
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

// TestShapeDecodeEnergyHasMinimum: decode energy per token against the SM
// clock has its minimum strictly inside the clock range, clearly below both
// ends (the published decode sweet spot: clock locking saves energy, and
// too low a clock costs more than it saves).
func TestShapeDecodeEnergyHasMinimum(t *testing.T) {
	for _, p := range allPhysics(t) {
		for _, b := range []int{1, 32} {
			w := llamaDecode(b, 1024)
			clocks := p.prof.CoreClocks()
			energy := make([]float64, len(clocks))
			best := 0
			for i, f := range clocks {
				s := steady(p, w, float64(f))
				energy[i] = s.power * s.step
				if energy[i] < energy[best] {
					best = i
				}
			}
			lo, hi, e := energy[0], energy[len(energy)-1], energy[best]
			t.Logf("%s/%s decode b%d: J/step at %d MHz %.2f, min %.2f at %d MHz, at %d MHz %.2f",
				p.prof.Name, p.set.Name, b, clocks[0], lo, e, clocks[best], clocks[len(clocks)-1], hi)
			if best == 0 || best == len(clocks)-1 || lo < 1.05*e || hi < 1.05*e {
				t.Errorf("%s/%s decode b%d: no interior energy minimum ≥5%% below both ends", p.prof.Name, p.set.Name, b)
			}
		}
	}
}

// TestShapeDecodeThroughputFallsBelowKnee: well below the bandwidth knee
// decode follows the clock (the knee is where it stops being flat).
func TestShapeDecodeThroughputFallsBelowKnee(t *testing.T) {
	for _, p := range allPhysics(t) {
		w := llamaDecode(8, 1024)
		top := steady(p, w, float64(p.prof.MaxCoreMHz))
		knee := p.set.BWKneeFrac * float64(p.prof.MaxCoreMHz)
		if knee/2 < float64(p.prof.MinCoreMHz) {
			continue
		}
		var atHalfKnee float64
		for _, f := range p.prof.CoreClocks() {
			if math.Abs(float64(f)-knee/2) < 8 {
				atHalfKnee = 1 - top.step/steady(p, w, float64(f)).step
			}
		}
		t.Logf("%s/%s decode b8: loss at half the knee (%.0f MHz) %.1f%%", p.prof.Name, p.set.Name, knee/2, 100*atHalfKnee)
		if atHalfKnee < 0.3 {
			t.Errorf("%s/%s: below the knee throughput should fall (only %.1f%% at half the knee)", p.prof.Name, p.set.Name, 100*atHalfKnee)
		}
	}
}

// decodeRatio is server decode throughput at clock f over its value at the
// maximum clock (Llama-3.1-8B, 1,024 tokens of context per sequence).
func decodeRatio(p physics, batch int, fMHz float64) float64 {
	w := llamaDecode(batch, 1024)
	return steady(p, w, float64(p.prof.MaxCoreMHz)).step / steady(p, w, fMHz).step
}

// TestPublishedRangeDecodeClockRatio holds each H100 set inside the range of
// decode throughput at ~1000 MHz that the published clock studies support
// (0.80–0.95 of 1980 MHz, docs/simulator.md): nominal's batch 32 within
// 0.80–0.93 and batch 1 below 0.95, optimistic's batch 32 at most 0.97,
// pessimistic's at least 0.70, and every ratio ordered pessimistic <
// nominal < optimistic.
func TestPublishedRangeDecodeClockRatio(t *testing.T) {
	prof, _ := LookupProfile("h100-sxm")
	const near1005 = 1005 // a supported clock: 345 + 44·15
	if !prof.SupportsCoreClock(near1005) {
		t.Fatalf("%d MHz is not an H100 clock", near1005)
	}
	type bound struct {
		batch  int
		lo, hi float64
	}
	want := map[string][]bound{
		"pessimistic": {{32, 0.70, 1}},
		"nominal":     {{32, 0.80, 0.93}, {1, 0, 0.95}},
		"optimistic":  {{32, 0, 0.97}},
	}
	prev := map[int]float64{}
	for _, name := range []string{"pessimistic", "nominal", "optimistic"} {
		p := physics{prof: prof, set: mustParams(t, name)}
		for _, b := range []int{1, 8, 32, 128} {
			r := decodeRatio(p, b, near1005)
			t.Logf("h100/%s: decode b%d at %d MHz = %.3f of 1980 MHz", name, b, near1005, r)
			if r <= prev[b] {
				t.Errorf("%s: batch %d ratio %.3f not above the more pessimistic set's %.3f", name, b, r, prev[b])
			}
			prev[b] = r
			for _, w := range want[name] {
				if w.batch == b && (r < w.lo || r > w.hi) {
					t.Errorf("%s: batch %d ratio %.3f outside [%.2f, %.2f]", name, b, r, w.lo, w.hi)
				}
			}
		}
	}
}

// TestPublishedDecodePower: a real-like decode stream (host gaps and small
// kernels included) draws what published serving measurements show, not
// what a saturated GEMV loop draws: nominal batch 1 at 1980 MHz at most
// 420 W, and every set's batch 1–128 inside the 267–680 W a public vLLM
// benchmark lists for an H100 SXM from batch 1 to 128.
func TestPublishedDecodePower(t *testing.T) {
	prof, _ := LookupProfile("h100-sxm")
	for _, name := range ParamSetNames() {
		p := physics{prof: prof, set: mustParams(t, name)}
		for _, b := range []int{1, 8, 32, 128} {
			pw := steady(p, llamaDecode(b, 1024), 1980).power
			t.Logf("h100/%s: decode b%d at 1980 MHz draws %.0f W", name, b, pw)
			if pw < 267 || pw > 680 {
				t.Errorf("%s: batch %d decode %.0f W outside the published 267–680 W", name, b, pw)
			}
			if name == "nominal" && b == 1 && pw > 420 {
				t.Errorf("nominal: batch 1 decode %.0f W at 1980 MHz, want at most 420 W", pw)
			}
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
// the published decode savings of clock-only control: NVIDIA's workload
// power profiles claim up to 15% energy at ≥97% performance, the H200
// clock-locking study up to 32% at minimal throughput loss. At ≥97% of
// max-clock throughput no set may exceed 32%; pessimistic stays at or below
// NVIDIA's 15%, nominal between them, optimistic above nominal.
func TestAnchorDecodeSavingsBracketPublished(t *testing.T) {
	prof, _ := LookupProfile("h100-sxm")
	want := map[string][2]float64{"pessimistic": {0.03, 0.15}, "nominal": {0.12, 0.25}, "optimistic": {0.15, 0.32}}
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
