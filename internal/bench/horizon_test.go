//go:build !race

package bench

import (
	"context"
	"testing"
	"time"

	"github.com/gputune/gputune/internal/config"
	"github.com/gputune/gputune/sim"
)

// TestHorizonBeatsStaticBest runs horizon-oracle on short versions of every
// suite scenario and fails if it is worse than static-best on any: the
// reference's objective must lie below the best locked clock's at SLO
// attainment within half a point of it. A failure means the method is
// wrong, not that a policy got worse. Outside -race only: the simulator is
// ~30× slower under it.
func TestHorizonBeatsStaticBest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the reference on 24 short scenarios (~30 CPU-seconds)")
	}
	tr, err := sim.AzureConvTrace()
	if err != nil {
		t.Fatal(err)
	}
	const d = 2 * time.Minute
	if tr, err = TracePrefix(tr, d); err != nil {
		t.Fatal(err)
	}
	base := Scenario{Duration: d, Workload: sim.Workload{Name: sim.WorkloadAzureConv, Trace: tr}, Seed: 1, Config: config.Default()}
	opt := Options{Policies: []string{PolicyDefault, PolicyStatic, PolicyOracle}}
	for _, sc := range SuiteScenarios(base) {
		for _, ps := range sim.ParamSetNames() {
			sc.Params = ps
			t.Run(sc.Name+"/"+ps, func(t *testing.T) { checkHorizon(t, sc, opt) })
		}
	}
}

func checkHorizon(t *testing.T, sc Scenario, opt Options) {
	rep, err := Run(context.Background(), sc, opt)
	if err != nil {
		t.Fatal(err)
	}
	sb, ok1 := rep.Policy(NameStaticBest)
	orc, ok2 := rep.Policy(PolicyOracle)
	if !ok1 || !ok2 {
		t.Fatalf("static-best %v, horizon-oracle %v", ok1, ok2)
	}
	t.Logf("horizon-oracle %.5g at %.2f%% SLO, static-best (%d MHz) %.5g at %.2f%%: gap %+.2f%% (%.1f s)",
		orc.Objective, 100*orc.SLOAttainment, sb.MHz, sb.Objective, 100*sb.SLOAttainment, 100*orc.GapVsStaticBest, rep.WallS)
	if !(orc.Objective < sb.Objective) {
		t.Errorf("horizon-oracle %.5g is not below static-best's %.5g", orc.Objective, sb.Objective)
	}
	if d := orc.SLOAttainment - sb.SLOAttainment; d < -0.005 {
		t.Errorf("horizon-oracle's SLO attainment %.2f%% is %.2f points under static-best's", 100*orc.SLOAttainment, -100*d)
	}
}
