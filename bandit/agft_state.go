package bandit

import (
	"encoding/json"
	"fmt"
)

// agftState is the persisted agft policy. Its parts are embedded so that
// the JSON stays one flat object, the format every saved model has.
type agftState struct {
	Version int    `json:"version"`
	Policy  string `json:"policy"`
	Config  Config `json:"config"`
	Arms    []Arm  `json:"arms"`
	agftLinUCBState
	agftPruningState
	agftSamplerState
	agftSweepState
	agftConvergenceState
	Round     int     `json:"round"`
	Forced    int     `json:"forced"`
	Mode      SLOMode `json:"mode"`
	TTFTLimit float64 `json:"ttft_limit_s"`
	TPOTLimit float64 `json:"tpot_limit_s"`
	RNG       []byte  `json:"rng"`
}

type agftLinUCBState struct {
	A         []float64 `json:"a"`
	B         []float64 `json:"b"`
	Counts    []int     `json:"counts"`
	RewardSum []float64 `json:"reward_sum"`
	Last      []float64 `json:"last_reward"`
}

type agftPruningState struct {
	ArmEDP         []edpRing `json:"arm_edp"`
	PrunedAt       []int     `json:"pruned_at"`
	Reason         []string  `json:"reason"`
	SLOOff         []bool    `json:"slo_off"`
	LastPruneCheck int       `json:"last_prune_check"`
}

type agftSamplerState struct {
	SMEDP       []edpRing `json:"sm_edp"`
	Cand        []bool    `json:"candidates"`
	Boundary    int       `json:"slo_boundary_mhz"`
	RefineCount int       `json:"refine_count"`
	LastSM      int       `json:"last_sm"`
}

type agftSweepState struct {
	Sweep        []int `json:"sweep"`
	SweepPos     int   `json:"sweep_pos"`
	SweepFrozen  bool  `json:"sweep_frozen"`
	LearningDone bool  `json:"learning_done"`
}

type agftConvergenceState struct {
	Actions        []int     `json:"actions"`
	EDPHist        []float64 `json:"edp_hist"`
	ActPos         int       `json:"act_pos"`
	ActN           int       `json:"act_n"`
	Exploit        bool      `json:"exploit"`
	Converged      bool      `json:"converged"`
	ConvergedRound int       `json:"converged_round"`
}

func (g *agft) MarshalState() ([]byte, error) {
	rng, err := g.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("bandit: marshal rng: %w", err)
	}
	s := agftState{
		Version: StateVersion, Policy: PolicyAGFT, Config: g.cfg, Arms: g.arms,
		agftLinUCBState: agftLinUCBState{A: g.a, B: g.b, Counts: g.counts, RewardSum: g.rewardSum, Last: g.last},
		agftPruningState: agftPruningState{ArmEDP: g.armEDP, PrunedAt: g.prunedAt, Reason: g.reason, SLOOff: g.sloOff,
			LastPruneCheck: g.lastPruneCheck},
		agftSamplerState: agftSamplerState{SMEDP: g.smEDP, Cand: g.cand, Boundary: g.boundary, RefineCount: g.refineCount,
			LastSM: g.lastSM},
		agftSweepState: agftSweepState{Sweep: g.sweep, SweepPos: g.sweepPos, SweepFrozen: g.sweepFrozen,
			LearningDone: g.learningDone},
		agftConvergenceState: agftConvergenceState{Actions: g.actions, EDPHist: g.edpHist, ActPos: g.actPos, ActN: g.actN,
			Exploit: g.exploit, Converged: g.converged, ConvergedRound: g.convergedRound},
		Round: g.round, Forced: g.forced, Mode: g.mode, TTFTLimit: g.ttftLimit, TPOTLimit: g.tpotLimit, RNG: rng,
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
	if err := s.check(len(g.arms), g.d, len(g.sms)); err != nil {
		return err
	}
	n, d := len(g.arms), g.d
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

// check validates the tables and counters of a state for n arms, d features
// and m core clocks; the error names the first field that is wrong.
func (s *agftState) check(n, d, m int) error {
	c := stateCheck{policy: PolicyAGFT}
	c.length("a", len(s.A), n*d*d)
	c.allFinite("a", s.A)
	c.length("b", len(s.B), n*d)
	c.allFinite("b", s.B)
	c.length("counts", len(s.Counts), n)
	c.length("reward_sum", len(s.RewardSum), n)
	c.allFinite("reward_sum", s.RewardSum)
	c.length("last_reward", len(s.Last), n)
	c.allFinite("last_reward", s.Last)
	c.length("arm_edp", len(s.ArmEDP), n)
	c.length("pruned_at", len(s.PrunedAt), n)
	c.length("reason", len(s.Reason), n)
	c.length("slo_off", len(s.SLOOff), n)
	c.length("sm_edp", len(s.SMEDP), m)
	c.length("candidates", len(s.Cand), m)
	c.within("last_sm", s.LastSM, -1, m-1)
	c.indices("sweep", s.Sweep, n)
	c.within("sweep_pos", s.SweepPos, 0, len(s.Sweep))
	c.length("actions", len(s.Actions), agftConvergeWindow)
	c.indices("actions", s.Actions, n)
	c.length("edp_hist", len(s.EDPHist), agftConvergeWindow)
	c.allFinite("edp_hist", s.EDPHist)
	c.within("act_pos", s.ActPos, 0, agftConvergeWindow-1)
	c.within("act_n", s.ActN, 0, agftConvergeWindow)
	c.atLeast("round", s.Round, 0)
	c.atLeast("forced", s.Forced, 0)
	if s.Mode != SLOAware && s.Mode != SLOIgnore {
		c.fail("mode", "is %q, want %q or %q", s.Mode, SLOAware, SLOIgnore)
	}
	c.finite("ttft_limit_s", s.TTFTLimit)
	c.finite("tpot_limit_s", s.TPOTLimit)
	for _, rings := range []struct {
		field string
		v     []edpRing
	}{{"arm_edp", s.ArmEDP}, {"sm_edp", s.SMEDP}} {
		for k, r := range rings.v {
			if len(r.V) > agftEDPCap || r.Pos < 0 || r.Pos >= agftEDPCap || !allFinite(r.V) {
				c.fail(rings.field, "entry %d is not a ring of at most %d finite values with a position inside it", k, agftEDPCap)
			}
		}
	}
	return c.err
}
