package bandit

// sloState is the SLO mode and latency limits a policy decides under; both
// policies embed it, so switching modes or limits at run time works the same
// way in each and never touches what was learned.
type sloState struct {
	mode      SLOMode
	ttftLimit float64 // s; 0: no TTFT limit
	tpotLimit float64 // s; 0: no TPOT limit
}

// SetSLOMode switches between SLO-aware and EDP-optimal; other values are
// ignored.
func (s *sloState) SetSLOMode(m SLOMode) {
	if m == SLOAware || m == SLOIgnore {
		s.mode = m
	}
}

// SetLimits sets the latency limits; a negative or non-finite one is
// ignored.
func (s *sloState) SetLimits(ttft, tpot float64) {
	if finite(ttft) && ttft >= 0 {
		s.ttftLimit = ttft
	}
	if finite(tpot) && tpot >= 0 {
		s.tpotLimit = tpot
	}
}
