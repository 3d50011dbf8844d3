package bandit

import (
	"encoding/json"
	"fmt"
)

type agftState struct {
	Version        int       `json:"version"`
	Policy         string    `json:"policy"`
	Config         Config    `json:"config"`
	Arms           []Arm     `json:"arms"`
	A              []float64 `json:"a"`
	B              []float64 `json:"b"`
	Counts         []int     `json:"counts"`
	RewardSum      []float64 `json:"reward_sum"`
	Last           []float64 `json:"last_reward"`
	ArmEDP         []edpRing `json:"arm_edp"`
	SMEDP          []edpRing `json:"sm_edp"`
	PrunedAt       []int     `json:"pruned_at"`
	Reason         []string  `json:"reason"`
	SLOOff         []bool    `json:"slo_off"`
	Cand           []bool    `json:"candidates"`
	Boundary       int       `json:"slo_boundary_mhz"`
	RefineCount    int       `json:"refine_count"`
	LastSM         int       `json:"last_sm"`
	Sweep          []int     `json:"sweep"`
	SweepPos       int       `json:"sweep_pos"`
	SweepFrozen    bool      `json:"sweep_frozen"`
	LearningDone   bool      `json:"learning_done"`
	Actions        []int     `json:"actions"`
	EDPHist        []float64 `json:"edp_hist"`
	ActPos         int       `json:"act_pos"`
	ActN           int       `json:"act_n"`
	Exploit        bool      `json:"exploit"`
	Converged      bool      `json:"converged"`
	ConvergedRound int       `json:"converged_round"`
	Round          int       `json:"round"`
	LastPruneCheck int       `json:"last_prune_check"`
	Forced         int       `json:"forced"`
	Mode           SLOMode   `json:"mode"`
	TTFTLimit      float64   `json:"ttft_limit_s"`
	TPOTLimit      float64   `json:"tpot_limit_s"`
	RNG            []byte    `json:"rng"`
}

func (g *agft) MarshalState() ([]byte, error) {
	rng, err := g.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("bandit: marshal rng: %w", err)
	}
	s := agftState{
		Version: StateVersion, Policy: PolicyAGFT, Config: g.cfg, Arms: g.arms,
		A: g.a, B: g.b, Counts: g.counts, RewardSum: g.rewardSum, Last: g.last,
		ArmEDP: g.armEDP, SMEDP: g.smEDP, PrunedAt: g.prunedAt, Reason: g.reason, SLOOff: g.sloOff,
		Cand: g.cand, Boundary: g.boundary, RefineCount: g.refineCount, LastSM: g.lastSM,
		Sweep: g.sweep, SweepPos: g.sweepPos, SweepFrozen: g.sweepFrozen, LearningDone: g.learningDone,
		Actions: g.actions, EDPHist: g.edpHist, ActPos: g.actPos, ActN: g.actN,
		Exploit: g.exploit, Converged: g.converged, ConvergedRound: g.convergedRound,
		Round: g.round, LastPruneCheck: g.lastPruneCheck, Forced: g.forced,
		Mode: g.mode, TTFTLimit: g.ttftLimit, TPOTLimit: g.tpotLimit, RNG: rng,
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("bandit: marshal agft state: %w", err)
	}
	return b, nil
}

// UnmarshalState restores state written by MarshalState for the same
// configuration and arms; on error the policy is unchanged.
func (g *agft) UnmarshalState(data []byte) error {
	var s agftState
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := checkStateHeader(s.Version, s.Policy, PolicyAGFT, s.Config, g.cfg, s.Arms, g.arms); err != nil {
		return err
	}
	n, d, m := len(g.arms), g.d, len(g.sms)
	if len(s.A) != n*d*d || len(s.B) != n*d || len(s.Counts) != n || len(s.RewardSum) != n || len(s.Last) != n ||
		len(s.ArmEDP) != n || len(s.SMEDP) != m || len(s.PrunedAt) != n || len(s.Reason) != n || len(s.SLOOff) != n ||
		len(s.Cand) != m || len(s.Actions) != agftConvergeWindow || len(s.EDPHist) != agftConvergeWindow ||
		!allFinite(s.A) || !allFinite(s.B) || !allFinite(s.RewardSum) || !allFinite(s.Last) || !allFinite(s.EDPHist) ||
		s.ActPos < 0 || s.ActPos >= agftConvergeWindow || s.ActN < 0 || s.ActN > agftConvergeWindow ||
		s.LastSM < -1 || s.LastSM >= m || s.SweepPos < 0 || s.SweepPos > len(s.Sweep) || s.Round < 0 || s.Forced < 0 ||
		(s.Mode != SLOAware && s.Mode != SLOIgnore) || !finite(s.TTFTLimit) || !finite(s.TPOTLimit) {
		return fmt.Errorf("%w: agft tables or counters are malformed", ErrState)
	}
	for _, rings := range [][]edpRing{s.ArmEDP, s.SMEDP} {
		for _, r := range rings {
			if len(r.V) > agftEDPCap || r.Pos < 0 || r.Pos >= agftEDPCap || !allFinite(r.V) {
				return fmt.Errorf("%w: an EDP history is malformed", ErrState)
			}
		}
	}
	for _, i := range append(append([]int(nil), s.Sweep...), s.Actions...) {
		if i < 0 || i >= n {
			return fmt.Errorf("%w: arm index %d out of range", ErrState, i)
		}
	}
	fresh := newAGFT(g.cfg, g.arms, 0)
	if err := fresh.pcg.UnmarshalBinary(s.RNG); err != nil {
		return fmt.Errorf("%w: rng: %w", ErrState, err)
	}
	copy(fresh.a, s.A)
	copy(fresh.b, s.B)
	for i := 0; i < n; i++ {
		if !invertSPD(fresh.a[i*d*d:(i+1)*d*d], fresh.ainv[i*d*d:(i+1)*d*d], fresh.work, d) {
			return fmt.Errorf("%w: arm %d's matrix is not positive definite", ErrState, i)
		}
		matVec(fresh.ainv[i*d*d:(i+1)*d*d], fresh.b[i*d:(i+1)*d], fresh.theta[i*d:(i+1)*d], d)
		for j := i * d; j < (i+1)*d; j++ {
			fresh.theta[j] = float64(float32(fresh.theta[j]))
		}
	}
	copy(fresh.counts, s.Counts)
	copy(fresh.rewardSum, s.RewardSum)
	copy(fresh.last, s.Last)
	copy(fresh.armEDP, s.ArmEDP)
	copy(fresh.smEDP, s.SMEDP)
	copy(fresh.prunedAt, s.PrunedAt)
	copy(fresh.reason, s.Reason)
	copy(fresh.sloOff, s.SLOOff)
	copy(fresh.cand, s.Cand)
	copy(fresh.actions, s.Actions)
	copy(fresh.edpHist, s.EDPHist)
	clear(fresh.actCount)
	for k := 0; k < s.ActN; k++ {
		fresh.actCount[s.Actions[(s.ActPos-s.ActN+k+agftConvergeWindow)%agftConvergeWindow]]++
	}
	fresh.boundary, fresh.refineCount, fresh.lastSM = s.Boundary, s.RefineCount, s.LastSM
	fresh.sweep, fresh.sweepPos, fresh.sweepFrozen, fresh.learningDone = s.Sweep, s.SweepPos, s.SweepFrozen, s.LearningDone
	fresh.actPos, fresh.actN = s.ActPos, s.ActN
	fresh.exploit, fresh.converged, fresh.convergedRound = s.Exploit, s.Converged, s.ConvergedRound
	fresh.round, fresh.lastPruneCheck, fresh.forced = s.Round, s.LastPruneCheck, s.Forced
	fresh.mode, fresh.ttftLimit, fresh.tpotLimit = s.Mode, s.TTFTLimit, s.TPOTLimit
	*g = *fresh
	return nil
}
