package bench

import (
	"context"
	"testing"
	"time"

	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/sim"
)

// BenchmarkScenarioAzureConv runs one whole scenario on the 58-minute
// conversation trace: every policy, the static and power-limit sweeps and
// horizon-oracle, one parameter set, one seed, policies in parallel
// goroutines.
// target: under 60 s per op on 2 cores
func BenchmarkScenarioAzureConv(b *testing.B) {
	tr, err := sim.AzureConvTrace()
	if err != nil {
		b.Fatal(err)
	}
	sc := Scenario{Name: "azure-conv", Workload: sim.Workload{Name: sim.WorkloadAzureConv, Trace: tr},
		Seed: 1, Config: config.Default()}
	for b.Loop() {
		if _, err := Run(context.Background(), sc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHorizonDecision is one horizon-oracle decision on one goroutine:
// about 26 candidate clocks, each a 30 s rollout (10 s held, 20 s at the
// static-best clock) from a busy state of the conversation trace.
// target: under 0.1 s per op on one core (about 21 µs per cloned 0.3 s
// window), so that a 30-minute bench run stays under 50 s on 2 cores.
func BenchmarkHorizonDecision(b *testing.B) {
	tr, err := sim.AzureConvTrace()
	if err != nil {
		b.Fatal(err)
	}
	sc := Scenario{Workload: sim.Workload{Name: sim.WorkloadAzureConv, Trace: tr}, Seed: 1, Config: config.Default()}
	s, err := sim.New(sc.simConfig())
	if err != nil {
		b.Fatal(err)
	}
	s.Step(5 * time.Minute)
	d := newDecider(horizonPlan{h: DefaultHorizon(), tailMHz: 990, lambda: 250}, 1)
	cands := candidates(s.GPU().Facts().CoreClocksMHz, DefaultHorizon().Stride, 990)
	ctx := context.Background()
	for b.Loop() {
		d.decide(ctx, &s, cands, 990)
	}
}
