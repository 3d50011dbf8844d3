package tui

import (
	"time"

	"github.com/gputune/gputune/control"
)

// historyLen is how many snapshots the sparklines remember: enough to fill
// the widest sparkline on a 240-column terminal.
const historyLen = 240

// featureTrendLen is how many samples a feature's small trend shows.
const featureTrendLen = 16

// maxTrackedFeatures bounds the per-feature trend rings if a loop ever
// publishes an unexpected number of features.
const maxTrackedFeatures = 32

// history holds the bounded rings behind the sparklines. The model keeps
// only this and the latest snapshot, so memory stays fixed.
type history struct {
	power, edp, ttft, tpot, clock *ring
	features                      map[string]*ring
	last                          time.Time
	lastRound                     int
	seen                          bool
}

func newHistory(n int) *history {
	return &history{
		power: newRing(n), edp: newRing(n), ttft: newRing(n), tpot: newRing(n), clock: newRing(n),
		features: map[string]*ring{},
	}
}

// add records one snapshot; a republished snapshot (same time and round)
// is not counted twice.
func (h *history) add(s control.Snapshot) {
	if h.seen && s.Time.Equal(h.last) && s.Round == h.lastRound {
		return
	}
	h.seen, h.last, h.lastRound = true, s.Time, s.Round
	h.power.push(s.PowerW)
	h.edp.push(s.EDPPerToken)
	h.ttft.push(s.TTFTTailS)
	h.tpot.push(s.TPOTTailS)
	h.clock.push(float64(s.SMClockMHz))
	for _, f := range s.Features {
		r, ok := h.features[f.Name]
		if !ok {
			if len(h.features) >= maxTrackedFeatures {
				continue
			}
			r = newRing(featureTrendLen)
			h.features[f.Name] = r
		}
		r.push(f.Norm)
	}
}
