package bench

import (
	"context"
	"testing"

	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/sim"
)

// BenchmarkScenarioAzureConv runs one whole scenario on the 58-minute
// conversation trace: every policy, the static sweep and the greedy oracle,
// one parameter set, one seed, policies in parallel goroutines.
// target: under 60 s per op on 2 cores
func BenchmarkScenarioAzureConv(b *testing.B) {
	tr, err := sim.AzureConvTrace()
	if err != nil {
		b.Fatal(err)
	}
	sc := Scenario{Name: "azure-conv", Workload: sim.Workload{Name: sim.WorkloadAzureConv, Trace: tr},
		Seed: 1, Config: config.Default(), Oracle: OracleGreedy}
	for b.Loop() {
		if _, err := Run(context.Background(), sc, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
