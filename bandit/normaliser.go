package bandit

import (
	"fmt"
	"math"
)

// DefaultClip is AGFT's z-score clip.
const DefaultClip = 3

// Welford is one feature's running mean and sum of squared deviations.
type Welford struct {
	N    int64   `json:"n"`
	Mean float64 `json:"mean"`
	M2   float64 `json:"m2"`
}

func (w *Welford) add(x float64) {
	w.N++
	d := x - w.Mean
	w.Mean += d / float64(w.N)
	w.M2 += d * (x - w.Mean)
}

// Std is the sample standard deviation, 1 while fewer than two values
// have been seen (AGFT's convention).
func (w Welford) Std() float64 {
	if w.N < 2 {
		return 1
	}
	return math.Sqrt(max(w.M2, 0) / float64(w.N-1))
}

// Normaliser z-scores raw context features with per-feature Welford
// statistics and clips the result. Its state goes into the Envelope so a
// reloaded model sees features on the scale it learned (AGFT persists
// neither, so its rewards after a restart are all 0).
type Normaliser struct {
	Clip  float64   `json:"clip"`
	Stats []Welford `json:"stats"`
}

// NewNormaliser returns a normaliser for n raw features (no bias).
func NewNormaliser(n int, clip float64) (*Normaliser, error) {
	if n < 1 || n > 64 {
		return nil, fmt.Errorf("%w: normaliser for %d features, want 1..64", ErrConfig, n)
	}
	if !finite(clip) || clip <= 0 {
		return nil, fmt.Errorf("%w: normaliser clip %v, want a finite value > 0", ErrConfig, clip)
	}
	return &Normaliser{Clip: clip, Stats: make([]Welford, n)}, nil
}

// Add folds one raw vector into the statistics. A vector of the wrong
// length or with a NaN or Inf is refused whole, so it cannot skew them.
func (n *Normaliser) Add(raw []float64) error {
	if len(raw) != len(n.Stats) {
		return fmt.Errorf("%w: %d features, normaliser has %d", ErrConfig, len(raw), len(n.Stats))
	}
	for i, v := range raw {
		if !finite(v) || math.Abs(v) > 1e150 {
			return fmt.Errorf("%w: feature %d is %v", ErrConfig, i, v)
		}
	}
	for i, v := range raw {
		n.Stats[i].add(v)
	}
	return nil
}

// Normalize writes the clipped z-scores of raw into dst (grown if needed)
// and returns it. Non-finite inputs map to 0.
func (n *Normaliser) Normalize(raw, dst []float64) []float64 {
	dst = dst[:0]
	for i, w := range n.Stats {
		z := 0.0
		if i < len(raw) && finite(raw[i]) {
			z = (raw[i] - w.Mean) / (w.Std() + 1e-8)
			z = min(max(z, -n.Clip), n.Clip)
			if !finite(z) {
				z = 0
			}
		}
		dst = append(dst, z)
	}
	return dst
}

// NormalizeWithBias is Normalize followed by the constant 1 the policies
// expect as their last feature.
func (n *Normaliser) NormalizeWithBias(raw, dst []float64) []float64 {
	return append(n.Normalize(raw, dst), 1)
}

func (n *Normaliser) validate() error {
	if !finite(n.Clip) || n.Clip <= 0 || len(n.Stats) < 1 || len(n.Stats) > 64 {
		return fmt.Errorf("%w: normaliser clip %v over %d features", ErrState, n.Clip, len(n.Stats))
	}
	for i, w := range n.Stats {
		if w.N < 0 || !finite(w.Mean) || !finite(w.M2) || w.M2 < 0 {
			return fmt.Errorf("%w: normaliser feature %d has n=%d mean=%v m2=%v", ErrState, i, w.N, w.Mean, w.M2)
		}
	}
	return nil
}

// RewardBaseline is AGFT's reward reference: the mean EDP of the first
// Target valid windows at the default clocks, times Factor (0.9). The
// reward is 2·(1 − min(2, EDP/baseline)), in [−2, 2].
type RewardBaseline struct {
	Target int     `json:"target"`
	Factor float64 `json:"factor"`
	N      int     `json:"n"`
	Mean   float64 `json:"mean_edp"`
}

// NewRewardBaseline returns AGFT's shipped baseline (10 windows, ×0.9).
func NewRewardBaseline() RewardBaseline { return RewardBaseline{Target: 10, Factor: 0.9} }

// Add folds one default-clock EDP in; it reports whether it was used.
func (b *RewardBaseline) Add(edp float64) bool {
	if b.Ready() || !finite(edp) || edp <= 0 {
		return false
	}
	b.N++
	b.Mean += (edp - b.Mean) / float64(b.N)
	return true
}

// Ready says whether enough windows were seen.
func (b RewardBaseline) Ready() bool { return b.Target > 0 && b.N >= b.Target }

// EDP is the reference EDP (Factor × mean).
func (b RewardBaseline) EDP() float64 { return b.Factor * b.Mean }

// Reward maps a window's EDP to AGFT's reward; ok is false before the
// baseline is ready or for a non-finite or non-positive EDP.
func (b RewardBaseline) Reward(edp float64) (reward float64, ok bool) {
	ref := b.EDP()
	if !b.Ready() || !finite(edp) || edp < 0 || !(ref > 0) {
		return 0, false
	}
	return 2 * (1 - min(2, edp/ref)), true
}

func (b RewardBaseline) validate() error {
	if b.Target < 0 || b.N < 0 || !finite(b.Factor) || b.Factor <= 0 || !finite(b.Mean) || b.Mean < 0 {
		return fmt.Errorf("%w: reward baseline target=%d n=%d factor=%v mean=%v", ErrState, b.Target, b.N, b.Factor, b.Mean)
	}
	return nil
}
