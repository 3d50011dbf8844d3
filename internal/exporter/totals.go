package exporter

import "time"

// Totals is what a run amounted to over every GPU fed so far, for the
// one-line summary gputune prints when it stops.
type Totals struct {
	Duration time.Duration // longest span of snapshots among the GPUs
	EnergyJ  float64       // measured energy, summed over GPUs
	// SavedJ is the saved-energy estimate (savedEstimate) summed over the
	// GPUs; Counted and Skipped are its windows with and without a
	// default-governor baseline.
	SavedJ           float64
	Counted, Skipped uint64
}

// Totals sums every GPU's latest state.
func (e *Exporter) Totals() Totals {
	e.mu.Lock()
	defer e.mu.Unlock()
	var t Totals
	for _, g := range e.gpus {
		s := g.last
		if !s.StartedAt.IsZero() && s.Time.After(s.StartedAt) {
			t.Duration = max(t.Duration, s.Time.Sub(s.StartedAt))
		}
		if isFinite(s.TotalEnergyJ) {
			t.EnergyJ += s.TotalEnergyJ
		}
		t.SavedJ += g.saved.savedJ
		t.Counted += g.saved.counted
		t.Skipped += g.saved.skipped
	}
	return t
}
