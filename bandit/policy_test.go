package bandit

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func newTestPolicy(t testing.TB, name string, memory bool) Policy {
	cfg := DefaultConfig(name, envFeatures)
	cfg.TTFTLimit, cfg.TPOTLimit = 2, 0.1
	mems := []int{0}
	if memory {
		cfg.MemoryClock = true
		mems = []int{1593, 2619}
	}
	p, err := New(name, cfg, benchArms(mems), 7)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func checkFinite(t *rapid.T, d Decision, scores []ArmScore) {
	if !finite(d.Alpha) {
		t.Fatalf("alpha %v", d.Alpha)
	}
	for _, s := range scores {
		for _, v := range []float64{s.Pred, s.Bonus, s.UCB, s.LastReward} {
			if !finite(v) {
				t.Fatalf("non-finite score %+v", s)
			}
		}
		// Latency columns are NaN where unmodelled, never Inf.
		for _, v := range []float64{s.PredTTFT, s.TTFTUpper, s.PredTPOT, s.TPOTUpper} {
			if math.IsInf(v, 0) {
				t.Fatalf("infinite latency column %+v", s)
			}
		}
	}
}

// TestNoNaNLeaves drives both policies with arbitrary contexts, rewards
// and latencies, constant, huge and NaN included.
func TestNoNaNLeaves(t *testing.T) {
	special := []float64{0, 1, -1, 1e300, -1e300, math.NaN(), math.Inf(1), math.Inf(-1), 1e-300}
	value := rapid.OneOf(rapid.Float64Range(-5, 5), rapid.SampledFrom(special))
	for _, name := range []string{PolicyGPUTune, PolicyAGFT} {
		t.Run(name, func(t *testing.T) {
			rapid.Check(t, func(rt *rapid.T) {
				p := newTestPolicy(t, name, rapid.Bool().Draw(rt, "memory"))
				constant := rapid.Bool().Draw(rt, "constant")
				fixed := rapid.SliceOfN(value, envFeatures, envFeatures).Draw(rt, "fixed")
				var scores []ArmScore
				maxSteps := 150
				if raceEnabled {
					maxSteps = 25
				}
				steps := rapid.IntRange(1, maxSteps).Draw(rt, "steps")
				for i := 0; i < steps; i++ {
					x := fixed
					if !constant {
						x = rapid.SliceOfN(value, envFeatures, envFeatures).Draw(rt, "x")
					}
					var d Decision
					d, scores = p.Decide(x, nil, scores)
					checkFinite(rt, d, scores)
					p.Update(Observation{Arm: d.Arm, Context: x, Reward: value.Draw(rt, "r"),
						TTFT: value.Draw(rt, "ttft"), TPOT: value.Draw(rt, "tpot"), EDP: value.Draw(rt, "edp")})
				}
				if _, err := p.MarshalState(); err != nil {
					rt.Fatalf("state cannot be saved: %v", err)
				}
			})
		})
	}
}

func TestNaNUpdateIsIgnored(t *testing.T) {
	for _, name := range []string{PolicyGPUTune, PolicyAGFT} {
		p := newTestPolicy(t, name, false)
		x := []float64{0.1, 0.2, 0, 0, 0, 0, 0, 1}
		before, _ := p.MarshalState()
		p.Update(Observation{Arm: Arm{SMMHz: 1500}, Context: x, Reward: math.NaN()})
		x[2] = math.NaN()
		p.Update(Observation{Arm: Arm{SMMHz: 1500}, Context: x, Reward: 1})
		p.Update(Observation{Arm: Arm{SMMHz: 1500}, Context: x[:3], Reward: 1})
		after, _ := p.MarshalState()
		if string(before) != string(after) || p.Round() != 0 {
			t.Errorf("%s: a NaN or malformed observation changed the state", name)
		}
	}
}

func trainSome(p Policy, n int) {
	env := newSynthEnv(3, smoothRegime(0), 0.05)
	var x []float64
	var scores []ArmScore
	for i := 0; i < n; i++ {
		x = env.context(x)
		d, s := p.Decide(x, nil, scores)
		scores = s
		p.Update(env.step(d.Arm, x))
	}
}

func TestStateRoundTrip(t *testing.T) {
	for _, name := range []string{PolicyGPUTune, PolicyAGFT} {
		t.Run(name, func(t *testing.T) {
			p := newTestPolicy(t, name, false)
			trainSome(p, 250)
			data, err := p.MarshalState()
			if err != nil {
				t.Fatal(err)
			}
			q := newTestPolicy(t, name, false)
			if err := q.UnmarshalState(data); err != nil {
				t.Fatal(err)
			}
			// Same state, same seeded source: identical futures.
			env := newSynthEnv(9, smoothRegime(0), 0.05)
			var x []float64
			for i := 0; i < 50; i++ {
				x = env.context(x)
				dp, sp := p.Decide(x, nil, nil)
				dq, sq := q.Decide(x, nil, nil)
				if dp.Arm != dq.Arm || math.Abs(sp[10].UCB-sq[10].UCB) > 1e-6*(1+math.Abs(sp[10].UCB)) {
					t.Fatalf("round %d: restored policy diverges: %v vs %v", i, dp.Arm, dq.Arm)
				}
				obs := env.step(dp.Arm, x)
				p.Update(obs)
				q.Update(obs)
			}
		})
	}
}

func TestStateCorruption(t *testing.T) {
	for _, name := range []string{PolicyGPUTune, PolicyAGFT} {
		p := newTestPolicy(t, name, false)
		trainSome(p, 120)
		good, _ := p.MarshalState()
		var m map[string]any
		_ = json.Unmarshal(good, &m)
		m["version"] = 99
		wrongVersion, _ := json.Marshal(m)
		nanInside := strings.Replace(string(good), `"round":120`, `"round":NaN`, 1)
		otherShape := newTestPolicy(t, name, true)
		for label, data := range map[string][]byte{
			"truncated": good[:len(good)/2], "wrong version": wrongVersion,
			"NaN inside": []byte(nanInside), "empty": nil,
		} {
			q := newTestPolicy(t, name, false)
			if err := q.UnmarshalState(data); !errors.Is(err, ErrState) {
				t.Errorf("%s %s: err = %v, want ErrState", name, label, err)
			}
		}
		if err := otherShape.UnmarshalState(good); !errors.Is(err, ErrState) {
			t.Errorf("%s: state for other arms accepted: %v", name, err)
		}
	}
}

// A gputune state whose models have another number of parameters (an early
// build of 2026-11-26, before 846b237, had 80, without the constant column) is refused with
// a message that says so, not as a corrupt matrix.
func TestStateOtherModelSize(t *testing.T) {
	p := newTestPolicy(t, PolicyGPUTune, false)
	trainSome(p, 50)
	good, _ := p.MarshalState()
	var m map[string]any
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	reward := m["reward"].(map[string]any)
	b := reward["b"].([]any)
	n := len(b) - 8
	reward["b"] = b[:n]
	reward["g"] = reward["g"].([]any)[:n*n]
	old, _ := json.Marshal(m)
	q := newTestPolicy(t, PolicyGPUTune, false)
	err := q.UnmarshalState(old)
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), fmt.Sprintf("it has %d parameters, this build's model has %d", n, len(b))) {
		t.Errorf("err = %v, want ErrState naming %d and %d parameters", err, n, len(b))
	}
}

func TestEnvelope(t *testing.T) {
	p := newTestPolicy(t, PolicyGPUTune, false)
	trainSome(p, 50)
	n, _ := NewNormaliser(7, DefaultClip)
	_ = n.Add([]float64{1, 2, 3, 4, 5, 6, 7})
	_ = n.Add([]float64{2, 2, 3, 4, 5, 6, 9})
	b := NewRewardBaseline()
	e, err := NewEnvelope("NVIDIA H100 80GB HBM3", "llama-3-8b", p, n, b, "explore")
	if err != nil {
		t.Fatal(err)
	}
	data, err := MarshalEnvelope(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalEnvelope(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Check("NVIDIA H100 80GB HBM3", "llama-3-8b"); err != nil {
		t.Fatal(err)
	}
	if err := back.Check("NVIDIA A100-SXM4-80GB", "llama-3-8b"); !errors.Is(err, ErrWrongModel) {
		t.Errorf("other GPU accepted: %v", err)
	}
	if err := back.Check("NVIDIA H100 80GB HBM3", "mistral-7b"); !errors.Is(err, ErrWrongModel) {
		t.Errorf("other served model accepted: %v", err)
	}
	q := newTestPolicy(t, PolicyGPUTune, false)
	if err := back.Restore(q); err != nil || q.Round() != 50 {
		t.Fatalf("restore: %v, round %d", err, q.Round())
	}
	if back.Normaliser.Stats[6].N != 2 || back.Meta.Rounds != 50 {
		t.Errorf("envelope lost data: %+v", back.Meta)
	}
	bad := strings.Replace(string(data), `"format_version": 1`, `"format_version": 2`, 1)
	for label, d := range map[string]string{
		"truncated": string(data[:len(data)-40]), "wrong version": bad,
		"NaN inside":  strings.Replace(string(data), `"clip": 3`, `"clip": NaN`, 1),
		"negative M2": strings.Replace(string(data), `"m2": 0`, `"m2": -1`, 1),
	} {
		if _, err := UnmarshalEnvelope([]byte(d)); !errors.Is(err, ErrState) {
			t.Errorf("%s: err = %v, want ErrState", label, err)
		}
	}
}

func TestNormaliser(t *testing.T) {
	n, err := NewNormaliser(2, 3)
	if err != nil {
		t.Fatal(err)
	}
	_ = n.Add([]float64{5, 5})
	if got := n.NormalizeWithBias([]float64{5, 5}, nil); got[0] != 0 || got[2] != 1 {
		t.Errorf("fresh normaliser gives %v, want zeros and a bias", got)
	}
	n, _ = NewNormaliser(2, 3)
	for _, v := range []float64{1, 2, 3, 4, 5} {
		if err := n.Add([]float64{v, 10}); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Add([]float64{math.NaN(), 1}); err == nil || n.Stats[0].N != 5 {
		t.Error("NaN vector accepted")
	}
	got := n.Normalize([]float64{3 + math.Sqrt(2.5), 1e9}, nil)
	if math.Abs(got[0]-1) > 1e-6 || got[1] != 3 {
		t.Errorf("Normalize = %v, want [1 3]", got)
	}
}

func TestSafety(t *testing.T) {
	// TPOT = 0.02·(0.55+0.45/u): with a 0.03 s limit clocks below
	// u ≈ 0.6 (≈ 1190 MHz) violate; gputune must not go there once it knows.
	cfg := DefaultConfig(PolicyGPUTune, envFeatures)
	cfg.TPOTLimit = 0.03
	p, err := New(PolicyGPUTune, cfg, envArms(), 5)
	if err != nil {
		t.Fatal(err)
	}
	env := newSynthEnv(5, smoothRegime(0), 0.05)
	var x []float64
	var scores []ArmScore
	violations := 0
	first := -1
	for r := 0; r < 400; r++ {
		x = env.context(x)
		d, s := p.Decide(x, nil, scores)
		scores = s
		if r == 0 && d.Arm.SMMHz != 1980 {
			t.Errorf("with no latency data the first choice is %d MHz, want the highest clock", d.Arm.SMMHz)
		}
		obs := env.step(d.Arm, x)
		// The bound is on the mean latency; single windows scatter 5 %.
		if env.reg.tpot(float64(d.Arm.SMMHz)/1980) > cfg.TPOTLimit {
			violations++
			if first < 0 {
				first = r
			}
		}
		p.Update(obs)
	}
	if violations > 20 {
		t.Errorf("%d of 400 windows broke the TPOT limit (first at %d)", violations, first)
	}
	t.Logf("SLO violations: %d/400", violations)
	// The EDP optimum (1050 MHz) is unsafe here; in EDP mode it is chosen.
	p.SetSLOMode(SLOIgnore)
	low := 0
	for r := 0; r < 200; r++ {
		x = env.context(x)
		d, s := p.Decide(x, nil, scores)
		scores = s
		if d.Arm.SMMHz < 1150 {
			low++
		}
		p.Update(env.step(d.Arm, x))
	}
	if low < 100 {
		t.Errorf("EDP mode chose below 1150 MHz only %d/200 times", low)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	arms := envArms()
	cfg := DefaultConfig(PolicyGPUTune, envFeatures)
	if _, err := New("nope", cfg, arms, 1); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown policy: %v", err)
	}
	if _, err := New("", cfg, nil, 1); !errors.Is(err, ErrConfig) {
		t.Errorf("no arms: %v", err)
	}
	if _, err := New("", cfg, []Arm{{SMMHz: 900}, {SMMHz: 900}}, 1); !errors.Is(err, ErrConfig) {
		t.Errorf("duplicate arms: %v", err)
	}
	bad := cfg
	bad.Forgetting = 2
	if _, err := New("", bad, arms, 1); !errors.Is(err, ErrConfig) {
		t.Errorf("forgetting 2: %v", err)
	}
	bad = cfg
	bad.SLOMode = "fast"
	if _, err := New("", bad, arms, 1); !errors.Is(err, ErrConfig) {
		t.Errorf("bad mode: %v", err)
	}
}

// TestLatencySignals checks the never-observed rule (LatencySignal): with a
// TTFT limit and no TTFT ever reported, a declared signal holds the highest
// clock for as long as it is missing, an absent one is not enforced, and an
// undeclared one is enforced for latencyBlindRounds windows only.
func TestLatencySignals(t *testing.T) {
	tests := []struct {
		name    string
		sig     LatencySignal
		blocked func(round int) bool
	}{
		{"present", SignalPresent, func(int) bool { return true }},
		{"absent", SignalAbsent, func(int) bool { return false }},
		{"unknown", SignalUnknown, func(r int) bool { return r < latencyBlindRounds }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig(PolicyGPUTune, envFeatures)
			cfg.TTFTLimit = 1
			p, err := New(PolicyGPUTune, cfg, envArms(), 3)
			if err != nil {
				t.Fatal(err)
			}
			p.(LatencySignaller).SetLatencySignals(tt.sig, SignalUnknown)
			env := newSynthEnv(3, smoothRegime(0), 0.05)
			var x []float64
			var scores []ArmScore
			for r := 0; r < 40; r++ {
				x = env.context(x)
				d, s := p.Decide(x, nil, scores)
				scores = s
				if blocked := d.SafeArms == 0; blocked != tt.blocked(r) {
					t.Fatalf("round %d: blocked = %v (arm %d MHz), want %v", r, blocked, d.Arm.SMMHz, tt.blocked(r))
				}
				if tt.blocked(r) && d.Arm.SMMHz != 1980 {
					t.Fatalf("round %d: blocked yet chose %d MHz, want the highest clock", r, d.Arm.SMMHz)
				}
				obs := env.step(d.Arm, x)
				obs.TTFT = math.NaN() // the server never reports TTFT
				p.Update(obs)
			}
			// The first observation makes the model decide, whatever was declared.
			x = env.context(x)
			obs := env.step(Arm{SMMHz: 1980}, x)
			p.Update(obs)
			if d, _ := p.Decide(x, nil, scores); d.SafeArms == 0 {
				t.Errorf("after a TTFT observation nothing is safe")
			}
		})
	}
}
