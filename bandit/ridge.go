package bandit

import "math"

// ridge is a discounted ridge regression y ≈ θᵀφ. With discount γ the
// precision is A = λI + Σ γ^(t−s) φ_s φ_sᵀ: the prior is refreshed rather
// than discounted, so A never falls below λI and old data fades.
//
// A⁻¹ is kept by rank-1 Sherman–Morrison updates. Between refactorisations
// the (1−γ)λI refresh is left out of A⁻¹, which makes it slightly too large:
// the confidence bounds err on the wide (safe) side until the next exact
// re-inversion, which also stops round-off from accumulating.
type ridge struct {
	p             int
	lambda, gamma float64
	refactorEvery int

	a, ainv, b, theta []float64
	// n is the discounted count, sumY the discounted sum of targets and
	// sumSq the discounted sum of squared one-step-ahead residuals.
	n, sumY, sumSq float64
	since          int

	u, work []float64
}

func newRidge(p int, lambda, gamma float64, refactorEvery int) *ridge {
	r := &ridge{
		p: p, lambda: lambda, gamma: gamma, refactorEvery: refactorEvery,
		a: make([]float64, p*p), ainv: make([]float64, p*p),
		b: make([]float64, p), theta: make([]float64, p),
		u: make([]float64, p), work: make([]float64, p*p),
	}
	r.reset()
	return r
}

func (r *ridge) reset() {
	clear(r.a)
	clear(r.ainv)
	clear(r.b)
	clear(r.theta)
	for i := 0; i < r.p; i++ {
		r.a[i*r.p+i] = r.lambda
		r.ainv[i*r.p+i] = 1 / r.lambda
	}
	r.n, r.sumY, r.sumSq, r.since = 0, 0, 0, 0
}

// update trains on one finite (φ, y).
func (r *ridge) update(phi []float64, y float64) {
	p, g := r.p, r.gamma
	e := y - dot(r.theta, phi[:p])
	if g < 1 {
		refresh := (1 - g) * r.lambda
		for i := range r.a {
			r.a[i] *= g
		}
		for i := 0; i < p; i++ {
			r.a[i*p+i] += refresh
		}
		for i := range r.b {
			r.b[i] *= g
		}
		inv := 1 / g
		for i := range r.ainv {
			r.ainv[i] *= inv
		}
	}
	for i := 0; i < p; i++ {
		pi := phi[i]
		if pi == 0 {
			continue
		}
		row := r.a[i*p : i*p+p]
		for j := 0; j < p; j++ {
			row[j] += pi * phi[j]
		}
		r.b[i] += y * pi
	}
	r.n = g*r.n + 1
	r.sumY = g*r.sumY + y
	r.sumSq = g*r.sumSq + math.Min(e*e, 1e12)
	r.since++
	if !shermanMorrison(r.ainv, phi, r.u, p) || r.since >= r.refactorEvery {
		r.refactor()
	}
	matVec(r.ainv, r.b, r.theta, p)
	if !allFinite(r.theta) {
		r.reset()
	}
}

// refactor re-inverts A exactly. A is λI plus a Gram matrix, so failure
// means the numbers went bad; the model then restarts from its prior.
func (r *ridge) refactor() {
	r.since = 0
	if !invertSPD(r.a, r.ainv, r.work, r.p) {
		r.reset()
	}
}

// sigma is the residual standard deviation, shrunk towards prior over n0
// pseudo-observations so that the first bounds are neither zero nor wild.
func (r *ridge) sigma(prior, n0 float64) float64 {
	s := math.Sqrt((r.sumSq + n0*prior*prior) / (r.n + n0))
	if !finite(s) || s < 1e-9 {
		return 1e-9
	}
	return s
}

func (r *ridge) meanY() float64 {
	if r.n <= 0 {
		return 0
	}
	return r.sumY / r.n
}

func allFinite(v []float64) bool {
	for _, x := range v {
		if !finite(x) {
			return false
		}
	}
	return true
}

// ridgeState is the persisted part of a ridge model; A⁻¹ and θ are rebuilt.
type ridgeState struct {
	A     []float64 `json:"a"`
	B     []float64 `json:"b"`
	N     float64   `json:"n"`
	SumY  float64   `json:"sum_y"`
	SumSq float64   `json:"sum_sq"`
}

func (r *ridge) state() ridgeState {
	return ridgeState{A: append([]float64(nil), r.a...), B: append([]float64(nil), r.b...), N: r.n, SumY: r.sumY, SumSq: r.sumSq}
}

func (r *ridge) restore(s ridgeState) bool {
	if len(s.A) != r.p*r.p || len(s.B) != r.p || !allFinite(s.A) || !allFinite(s.B) ||
		!finite(s.N) || !finite(s.SumY) || !finite(s.SumSq) || s.N < 0 || s.SumSq < 0 {
		return false
	}
	copy(r.a, s.A)
	copy(r.b, s.B)
	r.n, r.sumY, r.sumSq = s.N, s.SumY, s.SumSq
	r.since = 0
	if !invertSPD(r.a, r.ainv, r.work, r.p) {
		r.reset()
		return false
	}
	matVec(r.ainv, r.b, r.theta, r.p)
	return allFinite(r.theta)
}

// kron writes x ⊗ g (index i·k+l) into dst.
func kron(x, g, dst []float64) {
	k := len(g)
	for i, xi := range x {
		row := dst[i*k : i*k+k]
		for l, gl := range g {
			row[l] = xi * gl
		}
	}
}

// contextMean writes u = Θᵀx where θ is laid out as x ⊗ g, so that the
// prediction at basis vector g is u·g.
func contextMean(theta, x, u []float64) {
	k := len(u)
	clear(u)
	for i, xi := range x {
		row := theta[i*k : i*k+k]
		for l := range u {
			u[l] += xi * row[l]
		}
	}
}

// contextQuad writes K = (x⊗I)ᵀ M (x⊗I) (k×k), so that the variance at basis
// vector g is gᵀKg. It costs O(p²) once per decision instead of O(p²) per arm.
// tmp needs p·k.
func contextQuad(m, x []float64, k int, tmp, kOut []float64) {
	d := len(x)
	p := d * k
	for r := 0; r < p; r++ {
		row := m[r*p : r*p+p]
		out := tmp[r*k : r*k+k]
		clear(out)
		for j, xj := range x {
			if xj == 0 {
				continue
			}
			blk := row[j*k : j*k+k]
			for c := range out {
				out[c] += xj * blk[c]
			}
		}
	}
	clear(kOut[:k*k])
	for i, xi := range x {
		if xi == 0 {
			continue
		}
		for l := 0; l < k; l++ {
			src := tmp[(i*k+l)*k : (i*k+l)*k+k]
			dst := kOut[l*k : l*k+k]
			for c := range dst {
				dst[c] += xi * src[c]
			}
		}
	}
}
