package bandit

// bspline writes the nb clamped uniform cubic B-spline functions at u ∈ [0,1]
// into out. They are non-negative, local and sum to one, so a model over
// them shares strength between neighbouring clocks yet can bend locally.
func bspline(u float64, nb int, out []float64) {
	const deg = 3
	u = min(max(u, 0), 1)
	intervals := float64(nb - deg)
	nk := nb + deg + 1
	t := make([]float64, nk)
	for i := range t {
		t[i] = min(max(float64(i-deg)/intervals, 0), 1)
	}
	n := make([]float64, nk-1)
	for i := 0; i < nk-1; i++ {
		if t[i] <= u && u < t[i+1] {
			n[i] = 1
		}
	}
	if u >= 1 {
		n[nb-1] = 1 // the last non-empty interval owns the right end
	}
	for p := 1; p <= deg; p++ {
		for i := 0; i < nk-1-p; i++ {
			var v float64
			if w := t[i+p] - t[i]; w > 0 {
				v += (u - t[i]) / w * n[i]
			}
			if w := t[i+p+1] - t[i+1]; w > 0 {
				v += (t[i+p+1] - u) / w * n[i+1]
			}
			n[i] = v
		}
	}
	copy(out, n[:nb])
}
