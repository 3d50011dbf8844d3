package bandit

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// StateVersion is the version of both policies' JSON state.
const StateVersion = 1

// ErrState is wrapped by every error about persisted state.
var ErrState = errors.New("bandit: bad state")

type prunedState struct {
	Index int `json:"index"`
	Round int `json:"round"`
}

type gputuneState struct {
	Version        int           `json:"version"`
	Policy         string        `json:"policy"`
	Config         Config        `json:"config"`
	Arms           []Arm         `json:"arms"`
	Round          int           `json:"round"`
	Forced         int           `json:"forced"`
	Mode           SLOMode       `json:"mode"`
	TTFTLimit      float64       `json:"ttft_limit_s"`
	TPOTLimit      float64       `json:"tpot_limit_s"`
	Reward         ridgeState    `json:"reward"`
	TTFT           ridgeState    `json:"ttft"`
	TPOT           ridgeState    `json:"tpot"`
	Pulls          []int         `json:"pulls"`
	Last           []float64     `json:"last_reward"`
	Pruned         []prunedState `json:"pruned"`
	Streak         []int         `json:"streak"`
	History        []int         `json:"history"` // sms indices, oldest first
	Converged      bool          `json:"converged"`
	ConvergedRound int           `json:"converged_round"`
	RNG            []byte        `json:"rng"`
	// Incumbent is the settled exploit arm; absent before the first
	// decision and in states written before settling existed.
	Incumbent *Arm `json:"incumbent,omitempty"`
	// Steady is the steady-state model (steady.go); absent before it has
	// fitted a window and in states written before it existed.
	Steady *steadyState `json:"steady,omitempty"`
}

func (t *gputune) MarshalState() ([]byte, error) {
	s := gputuneState{
		Version: StateVersion, Policy: PolicyGPUTune, Config: t.cfg, Arms: t.arms,
		Round: t.round, Forced: t.forced, Mode: t.mode, TTFTLimit: t.ttftLimit, TPOTLimit: t.tpotLimit,
		Reward: t.reward.state(), TTFT: t.ttft.state(), TPOT: t.tpot.state(),
		Pulls: t.pulls, Last: t.last, Streak: t.streak,
		Converged: t.converged, ConvergedRound: t.convergedRound,
		Steady: t.steady.state(),
	}
	for i, r := range t.prunedAt {
		if r >= 0 {
			s.Pruned = append(s.Pruned, prunedState{Index: i, Round: r})
		}
	}
	for j := 0; j < t.histN; j++ {
		s.History = append(s.History, t.hist[(t.histPos-t.histN+j+convergeWindow)%convergeWindow])
	}
	if t.incumbent >= 0 {
		a := t.arms[t.incumbent]
		s.Incumbent = &a
	}
	rng, err := t.pcg.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("bandit: marshal rng: %w", err)
	}
	s.RNG = rng
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("bandit: marshal gputune state: %w", err)
	}
	return b, nil
}

// UnmarshalState restores a state written by MarshalState for the same
// configuration and arms. On error the policy is left unchanged.
func (t *gputune) UnmarshalState(data []byte) error {
	var s gputuneState
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	if err := checkStateHeader(s.Version, s.Policy, PolicyGPUTune, s.Config, t.cfg, s.Arms, t.arms); err != nil {
		return err
	}
	n := len(t.arms)
	if len(s.Pulls) != n || len(s.Last) != n || len(s.Streak) != n || len(s.History) > convergeWindow ||
		!allFinite(s.Last) || s.Round < 0 || s.Forced < 0 ||
		(s.Mode != SLOAware && s.Mode != SLOIgnore) || !finite(s.TTFTLimit) || !finite(s.TPOTLimit) ||
		s.TTFTLimit < 0 || s.TPOTLimit < 0 {
		return fmt.Errorf("%w: gputune per-arm tables or counters are malformed", ErrState)
	}
	for _, p := range s.Pruned {
		if p.Index < 0 || p.Index >= n || p.Round < 0 {
			return fmt.Errorf("%w: pruned arm index %d out of range", ErrState, p.Index)
		}
	}
	for _, h := range s.History {
		if h < 0 || h >= len(t.sms) {
			return fmt.Errorf("%w: history entry %d out of range", ErrState, h)
		}
	}
	incumbent := -1
	if s.Incumbent != nil {
		i, ok := t.index[*s.Incumbent]
		if !ok {
			return fmt.Errorf("%w: incumbent arm (%d, %d) MHz is not in the arm table", ErrState, s.Incumbent.SMMHz, s.Incumbent.MemMHz)
		}
		incumbent = i
	}
	// Restore into a fresh copy first so that a bad matrix leaves t intact.
	fresh := newGPUTune(t.cfg, t.arms, 0)
	for _, m := range []struct {
		name  string
		model *ridge
		state ridgeState
	}{{"reward", fresh.reward, s.Reward}, {"TTFT", fresh.ttft, s.TTFT}, {"TPOT", fresh.tpot, s.TPOT}} {
		if err := m.model.restore(m.state); err != nil {
			return fmt.Errorf("%w: gputune's %s model cannot be used: %v", ErrState, m.name, err)
		}
	}
	if err := fresh.steady.restore(s.Steady); err != nil {
		return fmt.Errorf("%w: gputune's steady-state model cannot be used: %v", ErrState, err)
	}
	if err := fresh.pcg.UnmarshalBinary(s.RNG); err != nil {
		return fmt.Errorf("%w: rng: %w", ErrState, err)
	}
	copy(fresh.pulls, s.Pulls)
	copy(fresh.last, s.Last)
	copy(fresh.streak, s.Streak)
	for _, p := range s.Pruned {
		fresh.prunedAt[p.Index] = p.Round
	}
	for _, h := range s.History {
		fresh.track(h)
	}
	fresh.round, fresh.forced, fresh.mode = s.Round, s.Forced, s.Mode
	fresh.ttftLimit, fresh.tpotLimit = s.TTFTLimit, s.TPOTLimit
	fresh.converged, fresh.convergedRound = s.Converged, s.ConvergedRound
	fresh.incumbent = incumbent
	*t = *fresh
	return nil
}

// checkStateHeader refuses state from another version, policy or model shape.
func checkStateHeader(version int, policy, want string, got, have Config, arms, haveArms []Arm) error {
	switch {
	case version != StateVersion:
		return fmt.Errorf("%w: state version %d, this build reads %d", ErrState, version, StateVersion)
	case policy != want:
		return fmt.Errorf("%w: state is for policy %q, not %q", ErrState, policy, want)
	case got.Features != have.Features || got.Bias != have.Bias || got.MemoryClock != have.MemoryClock ||
		(want == PolicyGPUTune && got.FreqBasis != have.FreqBasis):
		return fmt.Errorf("%w: state has %d features (bias %v, memory %v, basis %d); this policy has %d (bias %v, memory %v, basis %d)",
			ErrState, got.Features, got.Bias, got.MemoryClock, got.FreqBasis, have.Features, have.Bias, have.MemoryClock, have.FreqBasis)
	case !slices.Equal(arms, haveArms):
		return fmt.Errorf("%w: state covers %d arms that differ from this policy's %d; the clock table changed", ErrState, len(arms), len(haveArms))
	}
	return nil
}
