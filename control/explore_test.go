package control

import (
	"testing"

	"github.com/gputune/gputune/bandit"
)

// `x` and a model reset keep the policy's choice within the stated distance
// of the clock in effect for the stated number of decisions, then give the
// whole range back: a policy that would jump to the lowest clock cannot.
func TestExploreAndResetStayNearTheClock(t *testing.T) {
	for _, tt := range []struct {
		name string
		cmd  Command
		n    int // decisions the band lasts
	}{
		{"explore", Command{Kind: CmdForceExplore, Rounds: 5, SpanMHz: 150}, 5},
		{"reset", Command{Kind: CmdResetModel, SpanMHz: 100}, relearnDecisions},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil, false)
			r.cycles(6) // warm-up done, exploiting 1200 MHz
			if got := r.gpu.lockedMHz(); got != 1200 {
				t.Fatalf("locked %d MHz before the command, want 1200", got)
			}
			full := len(r.policy.allowed)
			r.loop.Send(tt.cmd)
			for i := range tt.n {
				r.cycle()
				lo, hi := r.policy.allowed[0].SMMHz, r.policy.allowed[len(r.policy.allowed)-1].SMMHz
				if lo < 1200-tt.cmd.SpanMHz || hi > 1200+tt.cmd.SpanMHz {
					t.Fatalf("decision %d offered %d–%d MHz, want within ±%d of 1200", i, lo, hi, tt.cmd.SpanMHz)
				}
			}
			if tt.cmd.Kind == CmdForceExplore {
				r.cycle()
				if len(r.policy.allowed) != full {
					t.Errorf("after %d decisions %d clocks offered, want all %d back", tt.n, len(r.policy.allowed), full)
				}
				return
			}
			// After a reset the band widens step by step: the lowest clock
			// offered falls by at most the growth per decision, until
			// every clock is offered again.
			grow := r.loop.relearnGrowMHz()
			lowest := r.policy.allowed[0].SMMHz
			for i := 0; len(r.policy.allowed) < full; i++ {
				if i > 1000 {
					t.Fatalf("the band never reopened to every clock: %d of %d offered", len(r.policy.allowed), full)
				}
				r.cycle()
				lo := r.policy.allowed[0].SMMHz
				if lo < lowest-grow-15 {
					t.Fatalf("decision %d after the band: lowest clock offered fell from %d to %d MHz at once", i, lowest, lo)
				}
				lowest = lo
			}
			r.cycle()
			if len(r.policy.allowed) != full {
				t.Errorf("the band closed, yet %d of %d clocks offered", len(r.policy.allowed), full)
			}
		})
	}
}

func TestExploreBandFallsBackWhenEmpty(t *testing.T) {
	var b exploreBand
	b.start(500, 50, 1, 0)
	arms := []bandit.Arm{{SMMHz: 1200}, {SMMHz: 1215}}
	if got := b.filter(arms); len(got) != 2 {
		t.Errorf("a band with no allowed arm in it offered %v, want every allowed arm", got)
	}
}
