package bandit

// heldVar keeps, for every arm, the variance of one steady-state fit's
// prediction at that arm's clock as a 5×5 quadratic form in
// z = [1, u, u², p, p²]: M[a][b] = g_aᵀ P_ab g_b, with P the fit's inverse
// precision in blocks of the clock basis g (g_4 is g with the clock terms
// that p² is not crossed with left out, as steadyModel.kron does). The
// prediction's variance at (u, p) is then zᵀMz: 25 operations per arm
// instead of a 35×35 quadratic form, which was ~90 % of a decision.
//
// After each recursive update P' = (P − vvᵀ/d)/γ with v = Pφ, so
// M' = (M − (g_aᵀv_a)(g_bᵀv_b)/d)/γ per arm; when the fit refactorises
// (every RefactorEvery updates, or on bad numbers) M is recomputed whole.
type heldVar struct {
	k     int
	m     []float64 // per arm: steadyZ×steadyZ, symmetric, row-major
	stale bool      // recompute before the next use
}

func newHeldVar(arms, k int) *heldVar {
	return &heldVar{k: k, m: make([]float64, arms*steadyZ*steadyZ), stale: true}
}

// masked reports whether entry x of the clock basis is left out of block a.
func heldMasked(a, x int) bool { return a == steadyZ-1 && x >= 2 && x <= steadyDegree }

// recompute fills every arm's M from r's inverse precision.
func (h *heldVar) recompute(r *ridge, basis []float64) {
	k, p := h.k, r.p
	for i := range len(h.m) / (steadyZ * steadyZ) {
		g := basis[i*k : (i+1)*k]
		mi := h.m[i*steadyZ*steadyZ : (i+1)*steadyZ*steadyZ]
		for a := range steadyZ {
			for b := a; b < steadyZ; b++ {
				var s float64
				for x, gx := range g {
					if gx == 0 || heldMasked(a, x) {
						continue
					}
					row := a*k + x
					var t float64
					for y, gy := range g {
						if gy == 0 || heldMasked(b, y) {
							continue
						}
						t += r.m[symIndex(row, b*k+y, p)] * gy
					}
					s += gx * t
				}
				s *= r.pScale
				mi[a*steadyZ+b], mi[b*steadyZ+a] = s, s
			}
		}
	}
	h.stale = false
}

// afterUpdate brings M up to date after r.update: a rank-one correction,
// or a recompute at the next use when r refactorised.
func (h *heldVar) afterUpdate(r *ridge, basis []float64) {
	if h.stale {
		return
	}
	if r.since == 0 || !(r.denom > 0) {
		h.stale = true
		return
	}
	k := h.k
	inv, shrink := 1/r.denom, 1/r.gamma
	var w [steadyZ]float64
	for i := range len(h.m) / (steadyZ * steadyZ) {
		g := basis[i*k : (i+1)*k]
		for a := range steadyZ - 1 {
			w[a] = dot(g, r.u[a*k:(a+1)*k])
		}
		// The p² block sees the constant and linear clock terms and the
		// memory indicators only (heldMasked).
		v := r.u[(steadyZ-1)*k : steadyZ*k]
		last := g[0]*v[0] + g[1]*v[1]
		for x := steadyDegree + 1; x < k; x++ {
			last += g[x] * v[x]
		}
		w[steadyZ-1] = last
		// M stays symmetric: each pair is computed once.
		mi := h.m[i*steadyZ*steadyZ : (i+1)*steadyZ*steadyZ]
		for a := range steadyZ {
			for b := a; b < steadyZ; b++ {
				e := (mi[a*steadyZ+b] - w[a]*w[b]*inv) * shrink
				mi[a*steadyZ+b], mi[b*steadyZ+a] = e, e
			}
		}
	}
}

// quad is zᵀMz for arm i: the fit's prediction variance in units of σ².
func (h *heldVar) quad(i int, z []float64) float64 {
	mi := h.m[i*steadyZ*steadyZ : (i+1)*steadyZ*steadyZ]
	var s float64
	for a := range steadyZ {
		row := mi[a*steadyZ : (a+1)*steadyZ]
		var t float64
		for b, zb := range z[:steadyZ] {
			t += row[b] * zb
		}
		s += z[a] * t
	}
	return s
}
