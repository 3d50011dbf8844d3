package bandit

import (
	"errors"
	"fmt"
	"math"
)

// steadyState is the persisted steady-state model. A state written before
// the model existed has none, and the model then starts afresh.
type steadyState struct {
	Throughput ridgeState `json:"throughput"`
	Power      ridgeState `json:"power"`
	// Discounted sums of the rate and prefill, and their common weight.
	// (Builds before 2026-11-27 also wrote "temp_sum" and "capped_sum", the
	// temperature's and the capped windows'; they are ignored.)
	DemandSum  float64 `json:"demand_sum"`
	PrefillSum float64 `json:"prefill_sum"`
	// PrefillSqSum is the discounted sum of the squared prefill rate;
	// absent (0) in states saved before 2026-12-07, which then start from
	// the square of the mean.
	PrefillSqSum float64 `json:"prefill_sq_sum,omitempty"`
	MeanWeight   float64 `json:"mean_weight"`
	LnBatchMax   float64 `json:"ln_batch_max"`
	// LnBatchMin is the smallest ln batch fitted, and LnBatchSum over
	// LnBatchWeight the fitted windows' discounted mean ln batch, where
	// solveHeld starts its search; absent (weight 0) in states saved before
	// 2026-12-07, which then search from ln steadyMinBatch until the model
	// has fitted windows again.
	LnBatchMin    float64   `json:"ln_batch_min"`
	LnBatchSum    float64   `json:"ln_batch_sum,omitempty"`
	LnBatchWeight float64   `json:"ln_batch_weight,omitempty"`
	Windows       int       `json:"windows"`
	FromSteps     bool      `json:"from_steps"`
	Cover         []float64 `json:"cover"`
	// Hold is the arm index being explored and HoldLeft its decisions left.
	Hold     int `json:"hold"`
	HoldLeft int `json:"hold_left"`
	// LockedWindows and CappedWindows are, per core clock, the discounted
	// windows locked there and those a power cap held down (powercap.go);
	// absent in states saved before 2026-12-07 (3284a7f), which then count
	// afresh.
	LockedWindows []float64 `json:"locked_windows,omitempty"`
	CappedWindows []float64 `json:"capped_windows,omitempty"`
}

// state is nil until the model has fitted a window.
func (s *steadyModel) state() *steadyState {
	if s.windows == 0 {
		return nil
	}
	return &steadyState{
		Throughput: s.tput.state(), Power: s.power.state(),
		DemandSum: s.demandSum, PrefillSum: s.preSum, PrefillSqSum: s.preSq,
		MeanWeight: s.meanW, LnBatchMax: s.uMax, Windows: s.windows, FromSteps: s.fromSteps,
		LnBatchMin: s.uMin, LnBatchSum: s.uSum, LnBatchWeight: s.uW,
		Cover: append([]float64(nil), s.cover...), Hold: s.hold, HoldLeft: s.holdLeft,
		LockedWindows: append([]float64(nil), s.locked...), CappedWindows: append([]float64(nil), s.capped...),
	}
}

// restore loads st into s, a fresh model; nil leaves it fresh.
func (s *steadyModel) restore(st *steadyState) error {
	if st == nil {
		return nil
	}
	if otherTerms(st.Throughput, s.tput.p) || otherTerms(st.Power, s.power.p) {
		// An earlier build fitted other terms (the first steady-state model
		// had no p², builds before 2026-11-27 a temperature term in the
		// power fit): its fits do not carry over. This model starts afresh
		// (it is ready again after steadyMinWindows windows); the rest of
		// the policy's state is kept.
		return nil
	}
	sums := []float64{st.DemandSum, st.PrefillSum, st.PrefillSqSum, st.MeanWeight, st.LnBatchMax,
		st.LnBatchMin, st.LnBatchSum, st.LnBatchWeight}
	switch {
	case len(st.Cover) != len(s.cover):
		return fmt.Errorf("it covers %d core clocks, this policy has %d", len(st.Cover), len(s.cover))
	case !lockCounts(st.LockedWindows, st.CappedWindows, len(s.cover)):
		return errors.New("its locked and capped window counts are malformed")
	case !allFinite(sums) || !allFinite(st.Cover) || st.Windows <= 0 || !(st.MeanWeight > 0) ||
		st.DemandSum <= 0 || st.LnBatchWeight < 0 || (st.LnBatchWeight > 0 && st.LnBatchMin > st.LnBatchMax) ||
		st.Hold < -1 || st.Hold >= len(s.value) || st.HoldLeft < 0 || st.HoldLeft >= steadyExploreHold:
		return errors.New("its means or counts are malformed")
	}
	if err := s.tput.restore(st.Throughput); err != nil {
		return fmt.Errorf("throughput fit: %w", err)
	}
	if err := s.power.restore(st.Power); err != nil {
		return fmt.Errorf("power fit: %w", err)
	}
	s.demandSum, s.preSum, s.preSq, s.meanW = st.DemandSum, st.PrefillSum, st.PrefillSqSum, st.MeanWeight
	if !(st.PrefillSqSum > 0) {
		s.preSq = st.PrefillSum * st.PrefillSum / st.MeanWeight
	}
	// The fitted relations are the GPU's and the server's, and carry over;
	// the load they are solved for is another run's, from another time. The
	// means keep only what they keep after a detected shift, so that the
	// first windows here set the demand: at the saved demand, an A100
	// model exported at the end of the conversation trace's first ten
	// minutes ran its first minute at 1,200 MHz against a best static
	// 1,050 (+5.3 % at 60 s, pessimistic parameters); at a stationary load
	// the current windows agree with the saved mean and nothing changes
	// (docs/gputune-policy.md, 2026-12-07).
	s.shorten()
	s.uMax, s.windows, s.fromSteps = st.LnBatchMax, st.Windows, st.FromSteps
	if st.LnBatchWeight > 0 {
		s.uMin, s.uSum, s.uW = st.LnBatchMin, st.LnBatchSum, st.LnBatchWeight
	}
	copy(s.cover, st.Cover)
	s.probe.trustAll(s.uMax)
	copy(s.locked, st.LockedWindows)
	copy(s.capped, st.CappedWindows)
	s.hold, s.holdLeft = st.Hold, st.HoldLeft
	// The levels the design covered are not saved: it ran elsewhere.
	s.repass, s.covLo, s.covHi = 0, math.Inf(1), math.Inf(-1)
	s.varT.stale, s.varP.stale = true, true
	if math.IsInf(s.uMax, 0) {
		return errors.New("its largest batch is not finite")
	}
	return nil
}

// otherTerms reports whether a saved fit is whole but has another number of
// parameters than p: written by a build with other terms, not damaged.
func otherTerms(rs ridgeState, p int) bool {
	n := len(rs.B)
	return n != p && n > 0 && len(rs.G) == n*n && len(rs.P) == n*n && len(rs.Theta) == n
}

// lockCounts reports whether saved per-clock lock counts are whole: both
// absent, or one finite, non-negative count per core clock with no more
// capped windows than locked ones.
func lockCounts(locked, capped []float64, clocks int) bool {
	if len(locked) == 0 && len(capped) == 0 {
		return true
	}
	if len(locked) != clocks || len(capped) != clocks {
		return false
	}
	for i := range locked {
		if !finite(locked[i]) || !finite(capped[i]) || capped[i] < 0 || capped[i] > locked[i] {
			return false
		}
	}
	return true
}
