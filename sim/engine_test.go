package sim

import (
	"math"
	"strings"
	"testing"
	"time"
)

// smallTrace builds an in-memory trace: n requests every gap.
func smallTrace(n int, gap time.Duration, prompt, output int32) *Trace {
	t := &Trace{Name: "fixture"}
	for i := range n {
		t.At = append(t.At, time.Duration(i)*gap)
		t.Prompt = append(t.Prompt, prompt+int32(i%7)*13)
		t.Output = append(t.Output, output+int32(i%5)*17)
	}
	return t
}

func mustNew(t testing.TB, cfg Config) Sim {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDeterministicForSeed(t *testing.T) {
	run := func(seed uint64) Truth {
		s := mustNew(t, Config{Workload: Workload{Name: WorkloadPoisson, Rate: 8, Duration: 20 * time.Second, Seed: seed}})
		if !s.RunUntilDone(10 * time.Minute) {
			t.Fatal("poisson workload did not finish")
		}
		return s.Truth()
	}
	a, b, c := run(7), run(7), run(8)
	if a != b {
		t.Errorf("same seed, different truth:\n%+v\n%+v", a.summary(), b.summary())
	}
	if a.Arrived == c.Arrived && a.OutputTokens == c.OutputTokens {
		t.Errorf("seeds 7 and 8 gave the same workload (%v requests, %v tokens)", a.Arrived, a.OutputTokens)
	}
}

// summary is a short form of Truth for failure messages.
func (t Truth) summary() string {
	var b strings.Builder
	b.WriteString(t.Elapsed.String())
	for _, v := range []float64{t.EnergyJ, t.Arrived, t.Finished, t.OutputTokens, t.TTFT.Quantile(0.99), t.TPOT.Quantile(0.99)} {
		b.WriteString(" ")
		b.WriteString(pyFloat(v))
	}
	return b.String()
}

func TestConservation(t *testing.T) {
	tests := []struct {
		name     string
		kvBlocks int
		seqs     int
	}{
		{"roomy", 0, 0},
		{"few seqs", 0, 4},
		// 300 blocks of 16 tokens cannot hold 40 requests of ~1.5k tokens:
		// requests wait and are preempted.
		{"tight kv", 300, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := smallTrace(40, 50*time.Millisecond, 900, 300)
			var wantPrompt, wantOut float64
			for i := range tr.Len() {
				wantPrompt += float64(tr.Prompt[i])
				wantOut += float64(tr.Output[i])
			}
			s := mustNew(t, Config{
				Engine:   EngineConfig{KVBlocks: tc.kvBlocks, MaxNumSeqs: tc.seqs},
				Workload: Workload{Name: WorkloadAzureConv, Trace: tr},
			})
			if !s.RunUntilDone(time.Hour) {
				t.Fatalf("did not finish: %+v", s.Truth().summary())
			}
			got := s.Truth()
			if got.Finished != 40 || got.Arrived != 40 {
				t.Errorf("arrived %v finished %v, want 40", got.Arrived, got.Finished)
			}
			if got.OutputTokens != wantOut {
				t.Errorf("generated %v tokens, requested %v", got.OutputTokens, wantOut)
			}
			if got.PromptTokens != wantPrompt {
				t.Errorf("prompt tokens %v, want %v", got.PromptTokens, wantPrompt)
			}
			if got.KVUsage != 0 || got.Running != 0 || got.Waiting != 0 {
				t.Errorf("after the end: kv %v running %d waiting %d, want all zero", got.KVUsage, got.Running, got.Waiting)
			}
			if tc.kvBlocks > 0 && got.Preemptions == 0 {
				t.Errorf("tight KV cache caused no preemption")
			}
			if tc.kvBlocks == 0 && got.Preemptions != 0 {
				t.Errorf("roomy KV cache caused %v preemptions", got.Preemptions)
			}
			if got.TTFT.Count() != 40 || got.TPOT.Count() != 40 {
				t.Errorf("latency records: %d TTFT, %d TPOT, want 40", got.TTFT.Count(), got.TPOT.Count())
			}
		})
	}
}

// At low load a request's TPOT is one decode step of batch 1 and its TTFT
// one prefill: check both against the GPU's own step time, so the test
// holds for any calibration, and against loose absolute bounds.
func TestLatencySane(t *testing.T) {
	tr := smallTrace(20, 2*time.Second, 1000, 200)
	s := mustNew(t, Config{Workload: Workload{Name: WorkloadAzureConv, Trace: tr}})
	m := s.engine.model
	decode := stepWork(&m, 1, 1100, 1100)
	g := s.gpu
	g.Advance(time.Second, decode) // at its boost clock under load
	step := g.StepTime(decode).Seconds()
	if !s.RunUntilDone(time.Hour) {
		t.Fatal("did not finish")
	}
	truth := s.Truth()
	tpot := truth.TPOT.Quantile(0.5)
	if tpot < 0.9*step || tpot > 1.2*step {
		t.Errorf("median TPOT %.4fs, want within [0.9, 1.2] × the batch-1 decode step %.4fs", tpot, step)
	}
	// The published range for Llama-3.1-8B on one H100 at low batch.
	if tpot < 0.006 || tpot > 0.015 {
		t.Errorf("median TPOT %.4fs outside 6–15 ms", tpot)
	}
	ttft := truth.TTFT.Quantile(0.5)
	if ttft < step || ttft > 0.5 {
		t.Errorf("median TTFT %.4fs, want above one decode step (%.4fs) and below 0.5 s at low load", ttft, step)
	}
	if e := truth.E2E.Quantile(0.5); e < ttft+150*step {
		t.Errorf("median e2e %.3fs is shorter than TTFT + 150 decode steps", e)
	}
	if truth.EnergyJ <= 0 || math.IsNaN(truth.EnergyJ) {
		t.Errorf("energy %v J", truth.EnergyJ)
	}
}

// Coalescing pure-decode steps must give the results of stepping them one
// by one (up to the documented sub-0.1% Work approximation).
func TestDecodeCoalescingMatchesSingleSteps(t *testing.T) {
	run := func(coalesce time.Duration) Truth {
		s := mustNew(t, Config{
			Engine:   EngineConfig{DecodeCoalesce: coalesce},
			Workload: Workload{Name: WorkloadPoisson, Rate: 6, Duration: 60 * time.Second, Seed: 3},
		})
		if !s.RunUntilDone(time.Hour) {
			t.Fatal("did not finish")
		}
		return s.Truth()
	}
	one, many := run(-1), run(0)
	if one.OutputTokens != many.OutputTokens || one.Finished != many.Finished {
		t.Errorf("tokens/finished: one by one %v/%v, coalesced %v/%v",
			one.OutputTokens, one.Finished, many.OutputTokens, many.Finished)
	}
	near := func(what string, a, b, tol float64) {
		if math.Abs(a-b) > tol*math.Abs(a) {
			t.Errorf("%s: one by one %g, coalesced %g (more than %g%% apart)", what, a, b, 100*tol)
		}
	}
	// Step times differ in the fourth digit, so an arrival can land one
	// step earlier or later: a handful of steps either way.
	near("steps", one.Steps, many.Steps, 0.002)
	near("energy", one.EnergyJ, many.EnergyJ, 0.002)
	near("busy time", one.BusyS, many.BusyS, 0.002)
	near("TTFT p99", one.TTFT.Quantile(0.99), many.TTFT.Quantile(0.99), 0.02)
	// A quantile can move by one fine bucket (2%) when one step lands
	// on the other side of a bucket edge.
	near("TPOT p50", one.TPOT.Quantile(0.5), many.TPOT.Quantile(0.5), 0.0201)
	near("TPOT mean", one.TPOT.Mean(), many.TPOT.Mean(), 0.002)
}

func TestCloneIsIndependent(t *testing.T) {
	s := mustNew(t, Config{Workload: Workload{Name: WorkloadPoisson, Rate: 20, Seed: 1}})
	s.Step(30 * time.Second)
	if len(s.engine.running) == 0 {
		t.Fatal("fixture: nothing running after 30 s at 20 req/s")
	}
	c := s.Clone()
	before := s.Truth()
	c.Step(10 * time.Second)
	if after := s.Truth(); after != before {
		t.Fatalf("stepping the clone changed the original")
	}
	s.Step(10 * time.Second)
	if a, b := s.Truth(), c.Truth(); a != b {
		t.Errorf("original and clone diverged from the same state:\n%s\n%s", a.summary(), b.summary())
	}
	if err := s.GPU().LockCoreClock(t.Context(), 1005); err != nil {
		t.Fatal(err)
	}
	d := s.Clone()
	s.Step(20 * time.Second)
	c.Step(20 * time.Second)
	d.Step(20 * time.Second)
	if s.Truth() != d.Truth() {
		t.Errorf("a clone taken after a clock lock did not follow the original")
	}
	if s.Truth().EnergyJ == c.Truth().EnergyJ {
		t.Errorf("locking the clock at 1005 MHz changed nothing")
	}
}

// CloneInto reuses a scratch state again and again, as the oracle does: each
// copy must behave exactly like a fresh Clone, and never touch the original.
func TestCloneIntoMatchesClone(t *testing.T) {
	s := mustNew(t, Config{Workload: Workload{Name: WorkloadPoisson, Rate: 20, Seed: 3}})
	var scratch Sim
	for round := range 4 {
		s.Step(15 * time.Second)
		before := s.Truth()
		fresh := s.Clone()
		s.CloneInto(&scratch)
		fresh.Step(5 * time.Second)
		scratch.Step(5 * time.Second)
		if a, b := fresh.Truth(), scratch.Truth(); a != b {
			t.Fatalf("round %d: CloneInto diverged from Clone:\n%s\n%s", round, a.summary(), b.summary())
		}
		if s.Truth() != before {
			t.Fatalf("round %d: stepping the scratch copy changed the original", round)
		}
	}
}

func TestStepSplitsDoNotMatter(t *testing.T) {
	cfg := Config{Workload: Workload{Name: WorkloadBursty, Rate: 6, Seed: 5}}
	a, b := mustNew(t, cfg), mustNew(t, cfg)
	a.Step(45 * time.Second)
	for range 150 {
		b.Step(300 * time.Millisecond)
	}
	ta, tb := a.Truth(), b.Truth()
	if ta.OutputTokens != tb.OutputTokens || ta.Finished != tb.Finished || math.Abs(ta.EnergyJ-tb.EnergyJ) > 1e-6*ta.EnergyJ {
		t.Errorf("one 45 s step vs 150 × 0.3 s:\n%s\n%s", ta.summary(), tb.summary())
	}
}

func TestSLOAttainment(t *testing.T) {
	s := mustNew(t, Config{
		Workload: Workload{Name: WorkloadPoisson, Rate: 10, Duration: 30 * time.Second, Seed: 2},
		SLO:      SLO{TTFT: 100 * time.Millisecond, TPOT: time.Second},
	})
	s.RunUntilDone(time.Hour)
	tr := s.Truth()
	if tr.TPOTMet != tr.Finished {
		t.Errorf("every TPOT is under 1 s, but %v of %v met it", tr.TPOTMet, tr.Finished)
	}
	// The exact count and the fine histogram must agree to one 2% bucket.
	frac := tr.TTFTMet / tr.Finished
	lo, hi := tr.TTFT.FractionWithin(0.098), tr.TTFT.FractionWithin(0.1)
	if frac < lo-1e-9 || frac > tr.TTFT.FractionWithin(0.102)+1e-9 || hi > frac+1e-9 {
		t.Errorf("TTFT attainment %v, histogram says %v…%v", frac, lo, hi)
	}
	if a := tr.SLOAttainment(); a != tr.SLOMet/tr.Finished || a > frac {
		t.Errorf("joint attainment %v, TTFT alone %v", a, frac)
	}
}

func TestLatencyDistQuantile(t *testing.T) {
	var d LatencyDist
	if !math.IsNaN(d.Quantile(0.5)) {
		t.Error("empty distribution has a median")
	}
	for i := 1; i <= 1000; i++ {
		d.observe(time.Duration(i) * time.Millisecond)
	}
	for _, tc := range []struct{ q, want float64 }{{0.5, 0.5}, {0.99, 0.99}, {1, 1}, {0.001, 0.001}} {
		got := d.Quantile(tc.q)
		if got < tc.want || got > tc.want*1.0201 {
			t.Errorf("Quantile(%v) = %v, want in [%v, %v]", tc.q, got, tc.want, tc.want*1.0201)
		}
	}
	if got := d.FractionWithin(0.5); got < 0.48 || got > 0.5 {
		t.Errorf("FractionWithin(0.5) = %v", got)
	}
}

func TestRunUntilDoneStopsAtLastFinish(t *testing.T) {
	tr := smallTrace(3, time.Second, 100, 50)
	s := mustNew(t, Config{Workload: Workload{Name: WorkloadAzureConv, Trace: tr}})
	if !s.RunUntilDone(time.Hour) {
		t.Fatal("not done")
	}
	end := s.Now()
	// The last request arrives at 2 s and needs well under a second.
	if end < 2*time.Second || end > 3*time.Second {
		t.Errorf("stopped at %v, want just after the last request finished", end)
	}
	if s.RunUntilDone(time.Hour); s.Now() != end {
		t.Errorf("a done simulation moved from %v to %v", end, s.Now())
	}
	if s.RunUntilDone(-time.Second) != true {
		t.Error("a negative limit changed the answer")
	}
}

func TestBucketSetsFit(t *testing.T) {
	for _, b := range [][]float64{ttftBucketsV1(), itlBucketsV1(), requestLatencyBucketsV1(), iterationTokenBucketsV1(),
		buckets125(131072), ttftBucketsSGLang(), itlBucketsSGLang(), e2eBucketsSGLang()} {
		if len(b) > maxBuckets {
			t.Errorf("%d buckets do not fit in maxBuckets = %d", len(b), maxBuckets)
		}
		h := newHist(b...)
		if h.n != len(b) {
			t.Errorf("histogram kept %d of %d buckets", h.n, len(b))
		}
	}
}
