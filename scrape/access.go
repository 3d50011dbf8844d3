package scrape

// Value returns a scalar signal's value from s; false for histogram
// signals. It does not check Present.
func (s *Sample) Value(sig Signal) (float64, bool) {
	p := scalarField(s, sig)
	if p == nil {
		return 0, false
	}
	return *p, true
}

// HistogramOf returns a histogram signal from s; false for scalar signals.
// It does not check Present.
func (s *Sample) HistogramOf(sig Signal) (Histogram, bool) {
	p := histField(s, sig)
	if p == nil {
		return Histogram{}, false
	}
	return *p, true
}
